/**
 * The headless demo as a user runs it: wrangler dev, the loopback mailbox
 * and the cron ticker on free ports, the fixture list and a fixture letter,
 * and the summary line checked against what the demo promises.
 */
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const PROJECT = join(import.meta.dirname, "../../..");

describe("npm run demo", () => {
  it("sends the fixture mailing and counts what it did", { timeout: 300_000 }, async () => {
    const { stdout } = await run("npx", ["tsx", "scripts/demo.ts"], {
      cwd: PROJECT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      maxBuffer: 16 * 1024 * 1024,
    });

    const summary = JSON.parse(stdout.trim().split("\n").at(-1)!);
    expect(summary.sent).toBe(196);
    expect(summary.failed).toBe(0);
    expect(summary.uncertain).toBe(0);
    expect(summary.clicks_followed).toBe(20);
    expect(summary.clicks_recorded).toBe(20);
    expect(summary.opens_recorded).toBe(30);
    expect(summary.unsubscribed).toBe(3);

    const files = readdirSync(join(PROJECT, summary.mailbox)).filter((name) =>
      name.endsWith(".eml"),
    );
    expect(files).toHaveLength(196);
  });
});
