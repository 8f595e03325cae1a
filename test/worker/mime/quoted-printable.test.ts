import PostalMime from "postal-mime";
import { describe, expect, it } from "vitest";
import cerberus from "../../fixtures/templates/cerberus--cerberus-hybrid.html?raw";
import colorlib from "../../fixtures/templates/colorlib--14-business.html?raw";
import leemunroe from "../../fixtures/templates/leemunroe--email-inlined.html?raw";
import sendgrid from "../../fixtures/templates/sendgrid--special_sale.html?raw";
import { buildMessage, encodeQuotedPrintable } from "../../../src/mime";
import { assertCrlfOnly, decodeQuotedPrintable } from "./strict-decoder";
import { randomText, sampleMessage, seededRandom } from "./support";

/** Returns the text with every LF that is not already part of CRLF turned into CRLF. */
function withCrlf(text: string): string {
  return text.replace(/\r?\n/g, "\r\n");
}

const LONG_HREF = `https://example.org/track?${"utm_source=news&id=42&".repeat(55)}`.slice(0, 1200);

/** HTML with a 1,200-character href, `=` near column 76, trailing spaces, LF breaks and non-ASCII. */
const HARD_HTML = [
  "<html>",
  `<body><a href="${LONG_HREF}">Read more</a>`,
  `<p>${"x".repeat(70)}a=b c=d</p>`,
  `${"y".repeat(74)}=`,
  `${"z".repeat(75)}=`,
  "trailing space ",
  "trailing tab\t",
  "<p>Zoë Ørsted wrote: 日本語 🎉 — “quoted”</p>",
  "</body></html>",
  "",
].join("\n");

describe("encodeQuotedPrintable on hard HTML", () => {
  const encoded = encodeQuotedPrintable(HARD_HTML);
  const lines = encoded.split("\r\n");

  it("keeps every line within 76 characters", () => {
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(76);
  });

  it("writes every = as =3D", () => {
    expect(encoded).toContain("c=3Dd");
    expect(encoded).not.toMatch(/=(?![0-9A-F]{2}|\r\n|$)/);
  });

  it("never splits an =XX across lines", () => {
    for (const line of lines) {
      const withoutSoftBreak = line.endsWith("=") ? line.slice(0, -1) : line;
      expect(withoutSoftBreak).toMatch(/^(?:[^=]|=[0-9A-F]{2})*$/);
    }
  });

  it("encodes whitespace before a line break", () => {
    expect(encoded).toContain("trailing space=20\r\n");
    expect(encoded).toContain("trailing tab=09\r\n");
    for (const line of lines) expect(line).not.toMatch(/[ \t]$/);
  });

  it("uses CRLF line breaks only", () => {
    expect(() => assertCrlfOnly(encoded)).not.toThrow();
  });

  it("encodes non-ASCII as UTF-8 bytes", () => {
    expect(encoded).toContain("Zo=C3=AB =C3=98rsted");
    expect(encoded).not.toMatch(/[^\x00-\x7f]/);
  });

  it("decodes to the input with CRLF breaks", () => {
    expect(decodeQuotedPrintable(encoded)).toBe(withCrlf(HARD_HTML));
  });

  it("round-trips through postal-mime", async () => {
    const parsed = await PostalMime.parse(buildMessage(sampleMessage({ html: HARD_HTML })));

    expect(parsed.html?.replace(/\r\n/g, "\n")).toBe(HARD_HTML);
  });
});

describe.each([
  ["empty text", ""],
  ["one LF", "\n"],
  ["CRLF input", "a\r\nb\r\n"],
  ["mixed LF and CRLF", "a\nb\r\nc\n"],
  ["a bare CR", "a\rb\r"],
  ["CR before CRLF", "a\r\r\nb"],
  ["a trailing space at the end", "end "],
  ["only spaces", "   \n\t\t"],
  ["= at column 74", `${"a".repeat(73)}=bcd`],
  ["= at column 75", `${"a".repeat(74)}=bcd`],
  ["= at column 76", `${"a".repeat(75)}=bcd`],
  ["= at column 77", `${"a".repeat(76)}=bcd`],
  ["76 plain characters", "a".repeat(76)],
  ["77 plain characters", "a".repeat(77)],
  ["76 characters ending in a space", `${"a".repeat(75)} `],
  ["a space at column 76 before more text", `${"a".repeat(75)} b`],
  ["a 4-byte character at the wrap", `${"a".repeat(70)}😀😀😀`],
  ["a dot at line start", ".\n..\n.hidden"],
  ["a dot after a soft break", `${"a".repeat(75)}.b`],
  ["From at line start", "From here\nFrom\nFromage"],
  ["From after a soft break", `${"a".repeat(75)}From here`],
  ["a NUL and controls", "a\u0000b\u0007c\u007f"],
  ["a 5,000-character line", "word ".repeat(1000)],
])("encodeQuotedPrintable with %s", (_label, input) => {
  const encoded = encodeQuotedPrintable(input);

  it("decodes to the input with CRLF breaks", () => {
    expect(decodeQuotedPrintable(encoded)).toBe(withCrlf(input));
  });

  it("keeps lines within 76 characters", () => {
    for (const line of encoded.split("\r\n")) expect(line.length).toBeLessThanOrEqual(76);
  });

  it("starts no line with a dot or From", () => {
    for (const line of encoded.split("\r\n")) {
      expect(line.startsWith(".")).toBe(false);
      expect(line.startsWith("From ")).toBe(false);
    }
  });
});

describe("encodeQuotedPrintable on fixture letters", () => {
  it.each([
    ["cerberus", cerberus],
    ["colorlib", colorlib],
    ["leemunroe", leemunroe],
    ["sendgrid", sendgrid],
  ])("round-trips the %s template", (_name, html) => {
    expect(decodeQuotedPrintable(encodeQuotedPrintable(html))).toBe(withCrlf(html));
  });
});

describe("encodeQuotedPrintable on random text", () => {
  it("round-trips 500 random texts", () => {
    const random = seededRandom(76);

    for (let i = 0; i < 500; i++) {
      const text = randomText(random, 400).replace(/\t/g, random() < 0.5 ? "\n" : "\t");
      const encoded = encodeQuotedPrintable(text);

      expect(decodeQuotedPrintable(encoded), JSON.stringify(text)).toBe(withCrlf(text));
    }
  });
});
