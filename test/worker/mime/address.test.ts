import PostalMime from "postal-mime";
import { describe, expect, it } from "vitest";
import { buildMessage, formatAddress, MimeError } from "../../../src/mime";
import { parseMailbox, splitMessage, unfold } from "./strict-decoder";
import { onlyField, sampleMessage } from "./support";

const LONG_ASCII_NAME = "Alexandra Konstantina Wilhelmina ".repeat(7).slice(0, 200).trim();
const LONG_WORD_NAME = "x".repeat(200);
const LONG_NON_ASCII_NAME = "Zoë Ørsted-Åkesson ".repeat(11).slice(0, 200).trim();

describe.each([
  ["a comma", "Smith, John", '"Smith, John"'],
  ["quotes", '"Quoted" Name', '"\\"Quoted\\" Name"'],
  ["an apostrophe", "O'Brien", "O'Brien"],
  ["non-ASCII letters", "Zoë Ørsted", "=?UTF-8?"],
  ["a backslash", "Back\\slash", '"Back\\\\slash"'],
  ["angle brackets", "Jane <boss>", '"Jane <boss>"'],
  ["an at sign", "jane@home", '"jane@home"'],
  ["a dot", "J. R. Smith", '"J. R. Smith"'],
  ["parentheses and a semicolon", "Team (news); updates", '"Team (news); updates"'],
  ["emoji", "🎉 Party Team 😀", "=?UTF-8?"],
  ["a 200-character ASCII name", LONG_ASCII_NAME, "Alexandra Konstantina"],
  ["a 200-character word", LONG_WORD_NAME, "=?UTF-8?Q?xxx"],
  ["a 200-character non-ASCII name", LONG_NON_ASCII_NAME, "=?UTF-8?"],
  ["text that looks encoded", "=?UTF-8?B?QmNjOg==?=", "=?UTF-8?"],
  ["a tab", "Jane\tDoe", "=?UTF-8?"],
])("display name with %s", (_label, name, expectedStart) => {
  const email = "jane@example.org";

  it("is written in the expected form", () => {
    const formatted = formatAddress({ name, email }, "To");

    expect(formatted.slice(0, expectedStart.length)).toBe(expectedStart);
  });

  it("round-trips through the strict parser", () => {
    const parsed = parseMailbox(unfold(formatAddress({ name, email }, "To")));

    expect(parsed).toEqual({ name, email });
  });

  it("folds To, From and Reply-To within 78", () => {
    const address = { name, email };
    const raw = buildMessage(sampleMessage({ from: address, to: address, replyTo: address }));
    const { headerLines, fields } = splitMessage(raw);

    for (const line of headerLines) expect(line.length).toBeLessThanOrEqual(78);
    for (const header of ["From", "To", "Reply-To"]) {
      expect(parseMailbox(onlyField(fields, header))).toEqual(address);
    }
  });

  it("round-trips through postal-mime", async () => {
    const address = { name, email };
    const parsed = await PostalMime.parse(
      buildMessage(sampleMessage({ from: address, to: address })),
    );

    expect(parsed.from).toEqual({ name, address: email });
    expect(parsed.to).toEqual([{ name, address: email }]);
  });
});

describe("formatAddress", () => {
  it.each([
    ["no name", undefined],
    ["an empty name", ""],
    ["a whitespace name", " \t "],
    ["a control-character name", "\r\n"],
  ])("writes a bare address for %s", (_label, name) => {
    expect(formatAddress({ name, email: "jane@example.org" })).toBe("jane@example.org");
  });

  it("trims whitespace around the name", () => {
    expect(formatAddress({ name: "  Jane Doe ", email: "jane@example.org" })).toBe(
      "Jane Doe <jane@example.org>",
    );
  });

  it("accepts atext in the local part", () => {
    const email = "o'brien+news_2025.x!#$%&*=?^`{|}~-/@mail.example-domain.org";

    expect(formatAddress({ email })).toBe(email);
  });
});

describe.each([
  ["an empty string", ""],
  ["no at sign", "jane.example.org"],
  ["no local part", "@example.org"],
  ["no domain", "jane@"],
  ["two at signs", "jane@home@example.org"],
  ["a space", "jane doe@example.org"],
  ["a leading space", " jane@example.org"],
  ["CR LF and Bcc", "jane@example.org\r\nBcc: x@example.org"],
  ["an LF", "jane\n@example.org"],
  ["a NUL", "jane\u0000@example.org"],
  ["angle brackets", "<jane@example.org>"],
  ["a display name", "Jane <jane@example.org>"],
  ["a comma", "jane@example.org,x@example.org"],
  ["a quoted local part", '"jane doe"@example.org'],
  ["a leading dot", ".jane@example.org"],
  ["two dots", "jane..doe@example.org"],
  ["a trailing dot", "jane.@example.org"],
  ["an underscore in the domain", "jane@exa_mple.org"],
  ["a label starting with a hyphen", "jane@-example.org"],
  ["an empty label", "jane@example..org"],
  ["a domain literal", "jane@[192.0.2.1]"],
  ["a non-ASCII local part", "zoë@example.org"],
  ["a non-ASCII domain", "jane@exämple.org"],
  ["a 65-character local part", `${"a".repeat(65)}@example.org`],
  ["a 64-character label", `jane@${"a".repeat(64)}.org`],
  ["a 255-character address", `jane@${"abcdefghi.".repeat(25)}org`],
])("email address with %s", (_label, email) => {
  it("raises MimeError naming the field", () => {
    const message = sampleMessage({ to: { name: "Jane", email } });
    let error: unknown;
    try {
      buildMessage(message);
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(MimeError);
    expect((error as MimeError).field).toBe("to.email");
  });
});

describe("email address validation messages", () => {
  it("mentions SMTPUTF8 for a non-ASCII address", () => {
    expect(() => formatAddress({ email: "zoë@example.org" })).toThrow(/SMTPUTF8/);
  });

  it("names the Reply-To field", () => {
    const message = sampleMessage({ replyTo: { email: "not an address" } });

    expect(() => buildMessage(message)).toThrow(
      expect.objectContaining({ field: "replyTo.email" }),
    );
  });

  it("names the From field", () => {
    const message = sampleMessage({ from: { name: "News", email: "news@" } });

    expect(() => buildMessage(message)).toThrow(expect.objectContaining({ field: "from.email" }));
  });
});
