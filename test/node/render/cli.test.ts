/**
 * `npm run render` as a user runs it: a real process, real fixture files,
 * and the printed message parsed by mailparser.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { simpleParser } from "mailparser";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const FIXTURES = join(import.meta.dirname, "../../fixtures/templates");

async function render(args: string[]) {
  try {
    const { stdout, stderr } = await run("npx", ["tsx", "scripts/render.ts", ...args], {
      cwd: join(import.meta.dirname, "../../.."),
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

function writeJson(value: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "trickle-render-"));
  const path = join(dir, "input.json");
  writeFileSync(path, JSON.stringify(value));
  return path;
}

describe("render command", () => {
  it("prints a message a mail parser reads", async () => {
    const subscriber = writeJson({
      email: "jane.doe@example.com",
      first_name: "Jane",
      city: "Oslo",
    });
    const settings = writeJson({
      trackClicks: true,
      trackOpens: true,
      utm: { source: "newsletter" },
    });

    const result = await render([
      "--letter",
      join(FIXTURES, "cerberus--cerberus-hybrid.html"),
      "--subject",
      "Hi {{ first_name }} 🎉",
      "--from",
      "Zoë Ørsted <news@example.com>",
      "--subscriber",
      subscriber,
      "--settings",
      settings,
    ]);

    expect(result.code, result.stderr).toBe(0);
    const parsed = await simpleParser(result.stdout);
    expect(parsed.subject).toBe("Hi Jane 🎉");
    expect(parsed.from?.value[0]).toEqual({ name: "Zoë Ørsted", address: "news@example.com" });
    const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
    expect(to?.value[0].address).toBe("jane.doe@example.com");
    expect(parsed.html).toContain("https://trickle.invalid/c/");
    expect(parsed.text).toBeTruthy();
    expect(result.stderr).toContain("https://trickle.invalid");
  });

  it("prints the same bytes twice", async () => {
    const args = [
      "--letter",
      join(FIXTURES, "leemunroe--email-inlined.html"),
      "--date",
      "2026-12-01T10:00:00Z",
    ];

    const first = await render(args);
    const second = await render(args);

    expect(first.code).toBe(0);
    expect(second.stdout).toBe(first.stdout);
  });

  it.each([
    [["--letter", "/nonexistent/letter.html"], 2, "letter.html"],
    [["--subject", "x"], 2, "--letter"],
    [
      [
        "--letter",
        join(FIXTURES, "leemunroe--email-inlined.html"),
        "--settings",
        "/nonexistent.json",
      ],
      2,
      "nonexistent.json",
    ],
    [["--letter", join(FIXTURES, "sendgrid--special_sale.html")], 1, "special_sale.html:"],
  ])("rejects bad input %j", async (args, code, message) => {
    const result = await render(args);

    expect(result.code).toBe(code);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe("");
  });

  it.each([["--help"], ["-h"]])("prints the usage for %s", async (flag) => {
    const result = await render([flag]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Usage: npm run render");
    expect(result.stdout).toContain("--letter");
    expect(result.stderr).not.toContain("Unknown option");
  });

  it("rejects a binary letter without printing its bytes", async () => {
    const path = writeFile("letter.png", Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x1a, 0xff]));
    const result = await render(["--letter", path]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`The letter file ${path} is not a text/HTML file`);
    expect(result.stderr).not.toContain("PNG");
    expect(result.stdout).toBe("");
  });

  it.each([[""], ["  \n\t\n"]])("rejects the empty letter %j", async (content) => {
    const path = writeFile("letter.html", content);
    const result = await render(["--letter", path]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`letter file ${path} is empty`);
    expect(result.stdout).toBe("");
  });

  it("rejects an invalid subscriber email", async () => {
    const subscriber = writeJson({ email: "not-an-email" });
    const result = await render([
      "--letter",
      join(FIXTURES, "leemunroe--email-inlined.html"),
      "--subscriber",
      subscriber,
    ]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is not a valid email address: "not-an-email"');
    expect(result.stderr).not.toContain("needs an");
    expect(result.stdout).toBe("");
  });
});

function writeFile(name: string, content: string | Buffer): string {
  const path = join(mkdtempSync(join(tmpdir(), "trickle-render-")), name);
  writeFileSync(path, content);
  return path;
}
