import { simpleParser, type AddressObject } from "mailparser";
import { describe, expect, it } from "vitest";
import { buildMessage, type Address, type MimeMessage } from "../../../src/mime";

const LONG_EMOJI_SUBJECT = "🎉 News for Jane: " + "Ünïcödé 😀 ".repeat(25);

function message(overrides: Partial<MimeMessage> = {}): MimeMessage {
  return {
    from: { name: "Trickle News", email: "news@example.org" },
    to: { name: "Jane Doe", email: "jane@example.org" },
    subject: "Weekly digest",
    messageId: "d42.m7@example.org",
    date: new Date(Date.UTC(2025, 11, 4, 15, 56, 7)),
    html: "<p>Hello Jane</p>\n",
    text: "Hello Jane\n",
    ...overrides,
  };
}

/** Returns the only mailbox of a mailparser address field. */
function onlyMailbox(field: AddressObject | AddressObject[] | undefined): Address {
  let objects: AddressObject[] = [];
  if (Array.isArray(field)) objects = field;
  else if (field) objects = [field];

  const mailboxes = objects.flatMap((object) => object.value);
  expect(mailboxes).toHaveLength(1);
  return { name: mailboxes[0].name, email: mailboxes[0].address ?? "" };
}

describe.each([
  ["Smith, John"],
  ['"Quoted" Name'],
  ["O'Brien"],
  ["Zoë Ørsted"],
  ["Alexandra Konstantina Wilhelmina ".repeat(7).slice(0, 200).trim()],
  ["Zoë Ørsted-Åkesson ".repeat(11).slice(0, 200).trim()],
  ["x".repeat(200)],
  ["🎉 Party Team 😀"],
  ["Back\\slash <boss> @home"],
])("mailparser with display name %s", (name) => {
  it("reads From, To and Reply-To back", async () => {
    const address = { name, email: "jane@example.org" };
    const parsed = await simpleParser(
      buildMessage(message({ from: address, to: address, replyTo: address })),
    );

    expect(onlyMailbox(parsed.from)).toEqual(address);
    expect(onlyMailbox(parsed.to)).toEqual(address);
    expect(onlyMailbox(parsed.replyTo)).toEqual(address);
  });
});

describe("mailparser with hostile input", () => {
  it("finds no Bcc after CR LF in a name and the subject", async () => {
    const to = { name: "Jane\r\nBcc: x@example.org", email: "jane@example.org" };
    const parsed = await simpleParser(
      buildMessage(message({ to, subject: "Hi\r\nBcc: y@example.org" })),
    );

    expect(parsed.bcc).toBeUndefined();
    expect(parsed.headers.has("bcc")).toBe(false);
    expect(onlyMailbox(parsed.to)).toEqual({ name: "Jane Bcc: x@example.org", email: to.email });
    expect(parsed.subject).toBe("Hi Bcc: y@example.org");
  });
});

describe("mailparser with the long emoji subject", () => {
  it("reads the subject and bodies back", async () => {
    const html = `<a href="https://example.org/?${"a=1&".repeat(300)}">x</a>\ntrailing \nZoë 🎉\n`;
    const text = "Line one \nLine two\n.dot\nFrom here\n";
    const parsed = await simpleParser(
      buildMessage(message({ subject: LONG_EMOJI_SUBJECT, html, text })),
    );

    expect(parsed.subject).toBe(LONG_EMOJI_SUBJECT);
    expect(parsed.html).toBe(html);
    expect(parsed.text).toBe(text);
  });
});
