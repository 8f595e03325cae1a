import PostalMime from "postal-mime";
import { describe, expect, it } from "vitest";
import colorlib from "../../fixtures/templates/colorlib--14-business.html?raw";
import { buildMessage, deliveryMessageId, MimeError } from "../../../src/mime";
import { chooseBoundary } from "../../../src/mime/boundary";
import { decodeQuotedPrintable, splitMessage } from "./strict-decoder";
import { onlyField, sampleMessage } from "./support";

/** Returns the boundary parameter of a multipart Content-Type value. */
function boundaryOf(contentType: string): string {
  const match = /^multipart\/alternative; boundary="([^"]+)"$/.exec(contentType);
  if (!match) throw new Error(`unexpected Content-Type ${contentType}`);
  return match[1];
}

/** Splits a multipart body into parts of headers and body, checking the delimiters. */
function splitParts(body: string, boundary: string): Array<{ headers: string[]; body: string }> {
  const closing = `\r\n--${boundary}--\r\n`;
  expect(body.startsWith(`--${boundary}\r\n`)).toBe(true);
  expect(body.endsWith(closing)).toBe(true);

  const inner = body.slice(`--${boundary}\r\n`.length, body.length - closing.length);
  return inner.split(`\r\n--${boundary}\r\n`).map((part) => {
    const end = part.indexOf("\r\n\r\n");
    return { headers: part.slice(0, end).split("\r\n"), body: part.slice(end + 4) };
  });
}

describe("buildMessage", () => {
  const message = sampleMessage({
    replyTo: { name: "Replies", email: "reply@example.org" },
    html: "<p>Hello <b>Jane</b></p>\n<p>Zoë</p>\n",
    text: "Hello Jane\nZoë\n",
  });
  const raw = buildMessage(message);
  const { headerLines, fields, body } = splitMessage(raw);

  it("writes the header fields in order", () => {
    expect(headerLines).toEqual([
      "MIME-Version: 1.0",
      "Date: Thu, 04 Dec 2025 15:56:07 +0000",
      "Message-ID: <d42.m7@example.org>",
      "From: Trickle News <news@example.org>",
      "To: Jane Doe <jane@example.org>",
      "Reply-To: Replies <reply@example.org>",
      "Subject: Weekly digest",
      "List-Unsubscribe: <https://t.example.net/u/abc>",
      expect.stringMatching(
        /^Content-Type: multipart\/alternative; boundary="=_trickle_[0-9a-f]{16}"$/,
      ),
    ]);
  });

  it("writes text/plain then text/html in quoted-printable", () => {
    const boundary = boundaryOf(onlyField(fields, "Content-Type"));
    const parts = splitParts(body, boundary);

    expect(parts.map((part) => part.headers)).toEqual([
      ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable"],
      ["Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: quoted-printable"],
    ]);
    expect(decodeQuotedPrintable(parts[0].body)).toBe("Hello Jane\r\nZoë\r\n");
    expect(decodeQuotedPrintable(parts[1].body)).toBe("<p>Hello <b>Jane</b></p>\r\n<p>Zoë</p>\r\n");
  });

  it("omits Reply-To when it is null or missing", () => {
    for (const replyTo of [null, undefined]) {
      const names = splitMessage(buildMessage(sampleMessage({ replyTo }))).fields.map(
        (f) => f.name,
      );

      expect(names).not.toContain("Reply-To");
    }
  });

  it("omits extra headers when there are none", () => {
    const names = splitMessage(buildMessage(sampleMessage({ headers: undefined }))).fields.map(
      (field) => field.name,
    );

    expect(names).toEqual([
      "MIME-Version",
      "Date",
      "Message-ID",
      "From",
      "To",
      "Subject",
      "Content-Type",
    ]);
  });

  it("round-trips through postal-mime", async () => {
    const parsed = await PostalMime.parse(raw);

    expect(parsed.subject).toBe("Weekly digest");
    expect(parsed.messageId).toBe("<d42.m7@example.org>");
    expect(parsed.date).toBe("2025-12-04T15:56:07.000Z");
    expect(parsed.from).toEqual({ name: "Trickle News", address: "news@example.org" });
    expect(parsed.to).toEqual([{ name: "Jane Doe", address: "jane@example.org" }]);
    expect(parsed.replyTo).toEqual([{ name: "Replies", address: "reply@example.org" }]);
    expect(parsed.text).toBe(message.text);
    expect(parsed.html).toBe(message.html);
    expect(parsed.attachments).toEqual([]);
  });
});

describe("buildMessage determinism", () => {
  it("gives the same bytes for the same input", () => {
    const message = sampleMessage({ html: colorlib, subject: "🎉 News for Jane" });

    expect(buildMessage(message)).toBe(buildMessage(structuredClone(message)));
  });

  it("derives the boundary from the Message-ID", () => {
    const first = splitMessage(buildMessage(sampleMessage({ messageId: "d1.m1@example.org" })));
    const second = splitMessage(buildMessage(sampleMessage({ messageId: "d2.m1@example.org" })));

    expect(onlyField(first.fields, "Content-Type")).not.toBe(
      onlyField(second.fields, "Content-Type"),
    );
  });
});

describe("chooseBoundary", () => {
  it("varies the boundary when a body contains it", () => {
    const first = chooseBoundary("d1.m1@example.org", []);
    const second = chooseBoundary("d1.m1@example.org", [`text\r\n--${first}\r\nmore`]);

    expect(second).not.toBe(first);
    expect(second).toMatch(/^=_trickle_[0-9a-f]{16}$/);
  });

  it("is stable for the same seed and bodies", () => {
    const bodies = ["<p>one</p>", "one"];

    expect(chooseBoundary("d1.m1@example.org", bodies)).toBe(
      chooseBoundary("d1.m1@example.org", bodies),
    );
  });
});

describe("buildMessage on an 80 KB letter", () => {
  const raw = buildMessage(sampleMessage({ html: colorlib }));
  const { headerLines, fields, body } = splitMessage(raw);

  it("keeps every line within 78", () => {
    for (const line of headerLines) expect(line.length).toBeLessThanOrEqual(78);
    for (const line of body.split("\r\n")) expect(line.length).toBeLessThanOrEqual(76);
  });

  it("decodes the HTML part to the letter", () => {
    const boundary = boundaryOf(onlyField(fields, "Content-Type"));
    const html = splitParts(body, boundary)[1].body;

    expect(decodeQuotedPrintable(html)).toBe(colorlib.replace(/\r?\n/g, "\r\n"));
  });
});

describe("deliveryMessageId", () => {
  it("joins the ids and the domain", () => {
    expect(deliveryMessageId(12, 3, "mail.example.org")).toBe("d12.m3@mail.example.org");
  });

  it("is accepted by buildMessage", () => {
    const messageId = deliveryMessageId(9007199254740991, 0, "example.org");

    expect(() => buildMessage(sampleMessage({ messageId }))).not.toThrow();
  });

  it.each([
    ["a negative delivery id", -1, 3, "example.org", "deliveryId"],
    ["a fractional mailing id", 1, 1.5, "example.org", "mailingId"],
    ["a NaN delivery id", Number.NaN, 3, "example.org", "deliveryId"],
    ["a domain with a space", 1, 3, "example .org", "domain"],
    ["a domain with CR LF", 1, 3, "example.org\r\nBcc: x@example.org", "domain"],
    ["a non-ASCII domain", 1, 3, "exämple.org", "domain"],
    ["an empty domain", 1, 3, "", "domain"],
  ])("rejects %s", (_label, deliveryId, mailingId, domain, field) => {
    expect(() => deliveryMessageId(deliveryId, mailingId, domain)).toThrow(MimeError);
    expect(() => deliveryMessageId(deliveryId, mailingId, domain)).toThrow(
      expect.objectContaining({ field }),
    );
  });
});
