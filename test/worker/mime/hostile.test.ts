import PostalMime from "postal-mime";
import { describe, expect, it } from "vitest";
import { buildMessage, MimeError, type MimeMessage } from "../../../src/mime";
import { decodeUnstructured, parseMailbox, splitMessage } from "./strict-decoder";
import { onlyField, sampleMessage } from "./support";

const EXPECTED_FIELDS = [
  "MIME-Version",
  "Date",
  "Message-ID",
  "From",
  "To",
  "Reply-To",
  "Subject",
  "List-Unsubscribe",
  "Content-Type",
];

/** Returns the MimeError that building `message` raises, or fails the test. */
function mimeErrorOf(message: MimeMessage): MimeError {
  try {
    buildMessage(message);
  } catch (error) {
    if (error instanceof MimeError) return error;
    throw error;
  }
  throw new Error("buildMessage did not raise MimeError");
}

describe.each([
  ["CR LF and Bcc", "Hello\r\nBcc: x@example.org", "Hello Bcc: x@example.org"],
  ["LF and Bcc", "Hello\nBcc: x@example.org", "Hello Bcc: x@example.org"],
  ["a bare CR", "Hello\rBcc: x@example.org", "Hello Bcc: x@example.org"],
  ["an empty line and a body", "Hi\r\n\r\n<h1>Injected</h1>", "Hi <h1>Injected</h1>"],
  ["a NUL", "Hi\u0000there", "Hi there"],
  ["other controls", "a\u0007\u001b\u007fb", "a b"],
  ["a 5,000-character ASCII subject", "spam ".repeat(1000), "spam ".repeat(1000)],
  ["a 5,000-character word", "x".repeat(5000), "x".repeat(5000)],
  ["a 5,000-character emoji subject", "😀 ".repeat(1666) + "xx", "😀 ".repeat(1666) + "xx"],
])("subject with %s", (_label, subject, expected) => {
  const replyTo = { name: "Replies", email: "reply@example.org" };
  const raw = buildMessage(sampleMessage({ subject, replyTo }));
  const { headerLines, fields } = splitMessage(raw);

  it("adds no header field", () => {
    expect(fields.map((field) => field.name)).toEqual(EXPECTED_FIELDS);
  });

  it("keeps header lines within 78", () => {
    for (const line of headerLines) expect(line.length).toBeLessThanOrEqual(78);
  });

  it("decodes to the subject with controls as spaces", () => {
    expect(decodeUnstructured(onlyField(fields, "Subject"))).toBe(expected);
  });

  it("gives postal-mime no Bcc", async () => {
    const parsed = await PostalMime.parse(raw);

    expect(parsed.bcc).toBeUndefined();
    expect(parsed.subject).toBe(expected);
  });
});

describe.each([
  ["CR LF and Bcc", "Jane\r\nBcc: x@example.org", "Jane Bcc: x@example.org"],
  ["LF and a header", "Jane\nX-Evil: 1", "Jane X-Evil: 1"],
  ["CR LF CR LF and a body", "Jane\r\n\r\nbody", "Jane body"],
  ["a NUL", "Ja\u0000ne", "Ja ne"],
  ["non-ASCII and CR LF", "Zoë\r\nBcc: x@example.org", "Zoë Bcc: x@example.org"],
  [
    "an encoded CR LF",
    "=?UTF-8?Q?Jane=0D=0ABcc:_x@example.org?=",
    "=?UTF-8?Q?Jane=0D=0ABcc:_x@example.org?=",
  ],
])("display name with %s", (_label, name, expected) => {
  const address = { name, email: "jane@example.org" };
  const raw = buildMessage(sampleMessage({ from: address, to: address, replyTo: address }));
  const { fields } = splitMessage(raw);

  it("adds no header field", () => {
    expect(fields.map((field) => field.name)).toEqual(EXPECTED_FIELDS);
  });

  it("decodes to the name with controls as spaces", () => {
    for (const header of ["From", "To", "Reply-To"]) {
      expect(parseMailbox(onlyField(fields, header))).toEqual({
        name: expected,
        email: address.email,
      });
    }
  });

  it("gives postal-mime one recipient and no Bcc", async () => {
    const parsed = await PostalMime.parse(raw);

    expect(parsed.bcc).toBeUndefined();
    expect(parsed.to).toEqual([{ name: expected, address: address.email }]);
  });
});

describe.each([
  ["a colon", "List-ID:"],
  ["a space", "X Mailer"],
  ["a leading space", " X-Mailer"],
  ["CR LF", "X-A\r\nBcc"],
  ["a NUL", "X-A\u0000"],
  ["non-ASCII", "X-Ünsubscribe"],
  ["an empty name", ""],
  ["Bcc", "Bcc"],
  ["From in lower case", "from"],
  ["Subject", "Subject"],
  ["Content-Type", "Content-Type"],
  ["Content-Transfer-Encoding", "content-transfer-encoding"],
  ["MIME-Version", "MIME-Version"],
  ["Message-ID", "Message-Id"],
])("extra header name with %s", (_label, name) => {
  it("raises MimeError naming the name", () => {
    const error = mimeErrorOf(
      sampleMessage({
        headers: [
          ["X-Ok", "1"],
          [name, "value"],
        ],
      }),
    );

    expect(error.field).toBe("headers[1].name");
  });
});

describe.each([
  ["CR LF and Bcc", "<https://x.example>\r\nBcc: x@example.org"],
  ["a bare LF", "a\nb"],
  ["a bare CR", "a\rb"],
  ["a NUL", "a\u0000b"],
  ["an escape character", "a\u001bb"],
  ["DEL", "a\u007fb"],
  ["non-ASCII", "Zoë"],
  ["an empty value", ""],
  ["only spaces", "   "],
  ["a 1,200-character word", `<https://example.org/${"u".repeat(1200)}>`],
])("extra header value with %s", (_label, value) => {
  it("raises MimeError naming the value", () => {
    const error = mimeErrorOf(sampleMessage({ headers: [["List-Unsubscribe", value]] }));

    expect(error.field).toBe("headers[0].value");
  });
});

describe.each([
  ["angle brackets", "<d1.m2@example.org>"],
  ["no at sign", "d1.m2"],
  ["a space", "d1 m2@example.org"],
  ["CR LF and Bcc", "d1@example.org\r\nBcc: x@example.org"],
  ["an empty string", ""],
  ["a 251-character id", `${"a".repeat(239)}@example.org`],
  ["non-ASCII", "d1@exämple.org"],
])("Message-ID with %s", (_label, messageId) => {
  it("raises MimeError naming messageId", () => {
    expect(mimeErrorOf(sampleMessage({ messageId })).field).toBe("messageId");
  });
});

describe.each([
  ["an invalid Date", { date: new Date(Number.NaN) }, "date"],
  ["a string date", { date: "2025-12-04" as unknown as Date }, "date"],
  ["a missing subject", { subject: undefined as unknown as string }, "subject"],
  ["a missing html", { html: undefined as unknown as string }, "html"],
  ["a missing text", { text: null as unknown as string }, "text"],
  ["a missing To", { to: undefined as unknown as MimeMessage["to"] }, "to"],
  ["a numeric name", { to: { name: 42 as unknown as string, email: "a@example.org" } }, "to.name"],
  [
    "headers that are not an array",
    { headers: {} as unknown as MimeMessage["headers"] },
    "headers",
  ],
  [
    "a header that is not a pair",
    { headers: [["X-A"]] as unknown as MimeMessage["headers"] },
    "headers[0]",
  ],
])("message with %s", (_label, overrides, field) => {
  it("raises MimeError naming the field", () => {
    expect(mimeErrorOf(sampleMessage(overrides)).field).toBe(field);
  });
});

describe("extra header values", () => {
  it("are folded at spaces and kept in order", () => {
    const unsubscribe = `<https://t.example.net/u/${"a".repeat(60)}>, <mailto:u@example.org?subject=unsubscribe>`;
    const headers: Array<[string, string]> = [
      ["List-Unsubscribe", unsubscribe],
      ["List-Unsubscribe-Post", "List-Unsubscribe=One-Click"],
      ["List-ID", "Garden club <garden.example.org>"],
      ["Feedback-ID", "7:42:newsletter:trickle"],
      ["X-Trickle-Delivery", "42"],
    ];
    const { fields, headerLines } = splitMessage(buildMessage(sampleMessage({ headers })));

    const extra = fields.filter((field) => headers.some(([name]) => name === field.name));
    expect(extra).toEqual(headers.map(([name, value]) => ({ name, value })));
    expect(headerLines).toContain(" <mailto:u@example.org?subject=unsubscribe>");
  });
});
