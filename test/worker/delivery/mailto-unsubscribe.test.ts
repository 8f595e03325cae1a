/**
 * Unsubscribe requests by email: the List-Unsubscribe mailto address of a
 * sent message, used the way a mail client uses it, through the Worker's
 * `email` handler.
 */
import { env } from "cloudflare:test";
import PostalMime from "postal-mime";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import worker from "../../../src/index";
import { loadLinkKeys, signRecipient } from "../../../src/tracking/ids";
import { getMailingStats } from "../../../src/tracking/stats";
import { unsubscribeReason } from "../../../src/tracking/unsubscribe";
import { inboundEmail } from "./reports";
import {
  claimedMailing,
  consume,
  deliveryRows,
  MailboxControl,
  startedMailing,
  subscriberStatus,
} from "./support";

const mailbox = MailboxControl.shared();

/** A client's From address, unrelated to the subscriber's: the signed id is the authority. */
const CLIENT_FROM = "reader.private@mail.example.org";

let logLines: Record<string, unknown>[] = [];

beforeEach(() => {
  logLines = [];
  const capture = (line: unknown) => {
    if (typeof line === "string" && line.startsWith("{")) logLines.push(JSON.parse(line));
  };
  vi.spyOn(console, "log").mockImplementation(capture);
  vi.spyOn(console, "warn").mockImplementation(capture);
  vi.spyOn(console, "error").mockImplementation(capture);
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Sends a one-recipient mailing and returns its List-Unsubscribe mailto address and subject. */
async function sentMailto() {
  const mailing = await claimedMailing(1);
  await consume("trickle-send", mailing.batches[0]);
  const [received] = await mailbox.receivedFor(mailing.emails);

  const parsed = await PostalMime.parse(received.raw);
  const header = parsed.headers.find((entry) => entry.key === "list-unsubscribe")?.value ?? "";
  const mailto = /<mailto:([^?>]+)\?subject=([^>]+)>/.exec(header);
  if (!mailto) throw new Error(`List-Unsubscribe has no mailto URI: ${header}`);

  return {
    ...mailing,
    subscriber: mailing.subscribers[0],
    to: mailto[1],
    subject: decodeURIComponent(mailto[2]),
    token: decodeURIComponent(mailto[2]).replace(/^unsubscribe /, ""),
  };
}

/** Builds the message a mail client sends to a mailto URI and passes it to the `email` handler. */
async function sendRequest(to: string, subject: string, from = CLIENT_FROM) {
  const raw = [
    `From: Reader <${from}>`,
    `To: ${to}`,
    `Subject: ${subject}`,
    "Date: Tue, 3 Mar 2026 10:15:03 +0000",
    `Message-ID: <${crypto.randomUUID()}@mail.example.org>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "This message was sent automatically to unsubscribe.",
    "",
  ].join("\r\n");
  const { message } = inboundEmail(raw, { from, to });
  await worker.email(message as unknown as ForwardableEmailMessage, env);
}

async function subscriberRow(subscriberId: number) {
  return env.DB.prepare(
    "SELECT status, status_reason, status_changed_at FROM subscribers WHERE id = ?",
  )
    .bind(subscriberId)
    .first<{ status: string; status_reason: string | null; status_changed_at: number | null }>();
}

function linesWith(message: string) {
  return logLines.filter((line) => line.message === message);
}

describe("mailto unsubscribe", () => {
  it("unsubscribes with the sent mailto", async () => {
    const { mailingId, listId, subscriber, to, subject } = await sentMailto();
    const nextMailingId = await startedMailing(listId);

    await sendRequest(to, subject);

    const row = await subscriberRow(subscriber.id);
    expect(to).toBe(env.SENDER_EMAIL);
    expect(row?.status).toBe("unsubscribed");
    expect(row?.status_reason).toBe(unsubscribeReason(mailingId, "mailto"));
    expect(row?.status_reason).toContain("mailto");
    expect(row?.status_changed_at).toEqual(expect.any(Number));
    expect((await deliveryRows(nextMailingId)).map((delivery) => delivery.state)).toEqual([
      "skipped",
    ]);
    expect((await getMailingStats(env.DB, mailingId))?.unsubscribes).toBe(1);
  });

  it("logs one line with the From domain only", async () => {
    const { mailingId, subscriber, to, subject } = await sentMailto();

    await sendRequest(to, subject);

    const lines = linesWith("subscriber unsubscribed");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: "info",
      channel: "mailto",
      mailingId,
      subscriberId: subscriber.id,
      fromDomain: "mail.example.org",
      changed: true,
    });
    expect(JSON.stringify(logLines)).not.toContain(CLIENT_FROM);
  });

  it("repeated request changes nothing", async () => {
    const { subscriber, to, subject } = await sentMailto();

    await sendRequest(to, subject);
    const first = await subscriberRow(subscriber.id);
    await sendRequest(to, subject);
    const second = await subscriberRow(subscriber.id);

    expect(second).toEqual(first);
    expect(linesWith("subscriber unsubscribed").map((line) => line.changed)).toEqual([true, false]);
  });

  it("keeps a bounced subscriber bounced", async () => {
    const { subscriber, to, subject } = await sentMailto();
    await env.DB.prepare("UPDATE subscribers SET status = 'bounced' WHERE id = ?")
      .bind(subscriber.id)
      .run();

    await sendRequest(to, subject);

    expect(await subscriberStatus(subscriber.id)).toBe("bounced");
  });

  it.each([
    ["uppercase", (token: string) => `UNSUBSCRIBE ${token}`],
    ["a reply prefix", (token: string) => `Re: unsubscribe ${token}`],
    ["repeated reply prefixes", (token: string) => `RE:Re:  Unsubscribe ${token}`],
    ["surrounding whitespace", (token: string) => `   unsubscribe \t ${token}   `],
  ])("accepts a subject with %s", async (_name, subjectFor) => {
    const { subscriber, to, token } = await sentMailto();

    await sendRequest(to, subjectFor(token));

    expect(await subscriberStatus(subscriber.id)).toBe("unsubscribed");
  });

  it("accepts an encoded-word subject", async () => {
    const { subscriber, to, subject } = await sentMailto();
    const encoded = `=?utf-8?B?${btoa(`Re: ${subject}`)}?=`;

    await sendRequest(to, encoded);

    expect(await subscriberStatus(subscriber.id)).toBe("unsubscribed");
  });
});

describe("mailto unsubscribe rejected", () => {
  async function forgedSubjects() {
    const sent = await sentMailto();
    const keys = await loadLinkKeys(env.LINK_SECRET!, env.LINK_SECRET_PREVIOUS ?? "");
    const ids = await signRecipient(keys, sent.mailingId, sent.subscriber.id);
    const otherKeys = await loadLinkKeys("1:another-secret-of-enough-length", "");
    const otherIds = await signRecipient(otherKeys, sent.mailingId, sent.subscriber.id);
    const last = sent.token.at(-1) === "A" ? "B" : "A";

    return {
      sent,
      subjects: {
        "a changed last character": `unsubscribe ${sent.token.slice(0, -1)}${last}`,
        "an open-pixel id": `unsubscribe ${ids.open()}`,
        "an id signed with another key": `unsubscribe ${otherIds.unsubscribe()}`,
        "text that is no id": "unsubscribe me please",
      },
    };
  }

  it("forged token changes nothing", async () => {
    const { sent, subjects } = await forgedSubjects();
    const nextMailingId = await startedMailing(sent.listId);

    for (const [name, subject] of Object.entries(subjects)) {
      logLines = [];

      await sendRequest(sent.to, subject);

      expect(await subscriberStatus(sent.subscriber.id), name).toBe("active");
      expect(linesWith("mailto unsubscribe rejected"), name).toEqual([
        {
          level: "warn",
          message: "mailto unsubscribe rejected",
          reason: "token_invalid",
          fromDomain: "mail.example.org",
        },
      ]);
    }
    expect((await deliveryRows(nextMailingId)).map((delivery) => delivery.state)).toEqual([
      "pending",
    ]);
  });

  it("missing token changes nothing", async () => {
    const { subscriber, to } = await sentMailto();

    await sendRequest(to, "Re: unsubscribe");

    expect(await subscriberStatus(subscriber.id)).toBe("active");
    expect(linesWith("mailto unsubscribe rejected")).toEqual([
      {
        level: "warn",
        message: "mailto unsubscribe rejected",
        reason: "token_missing",
        fromDomain: "mail.example.org",
      },
    ]);
  });

  it("ignores a subject that only mentions unsubscribe", async () => {
    const { subscriber, to, token } = await sentMailto();

    await sendRequest(to, `How do I unsubscribe ${token}?`);

    expect(await subscriberStatus(subscriber.id)).toBe("active");
    expect(linesWith("mailto unsubscribe rejected")).toEqual([]);
    expect(linesWith("inbound email is neither a report nor an unsubscribe request")).toHaveLength(
      1,
    );
  });
});
