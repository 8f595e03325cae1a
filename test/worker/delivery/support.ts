/**
 * Helpers for the delivery tests: a claimed mailing, a queue consumer run
 * with its result, and access to any of the loopback mailboxes by control
 * port (the shared one, the fault mailbox and the chaos mailbox).
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { inject } from "vitest";
import type { Fault, ReceivedMessage } from "../../../scripts/lib/mailbox-types";
import type { Env } from "../../../src/env";
import worker from "../../../src/index";
import { startMailing } from "../../../src/mailings/start";
import { claimBatch } from "../../../src/scheduler/claim";
import type { SendMessage } from "../../../src/sender/message";
import { seedLetter, seedList, seedMailing, type SeededSubscriber } from "../support/seed";

export const LETTER = `<!doctype html><html><body>
<p>Hi {{ first_name }},</p>
<p><a href="https://example.com/spring?ref=letter">Spring sale</a></p>
<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>
</body></html>`;

export interface ClaimedMailing {
  mailingId: number;
  listId: number;
  subscribers: SeededSubscriber[];
  emails: string[];
  /** The text that every address of this mailing contains and no other test's does. */
  tag: string;
  /** One queue message per claimed batch, in order. */
  batches: SendMessage[];
}

/**
 * Starts a mailing to a new list of `count` subscribers and claims it into
 * batches of `batchSize` (one batch of everything by default).
 */
export async function claimedMailing(
  count: number,
  options: { batchSize?: number; letter?: string } = {},
): Promise<ClaimedMailing> {
  const { listId, subscribers } = await seedList(count);
  const mailingId = await startedMailing(listId, options.letter);

  const batchSize = options.batchSize ?? count;
  const batches: SendMessage[] = [];
  for (let claimed = 0; claimed < count; claimed += batchSize) {
    const claim = await claimBatch(env.DB, mailingId, batchSize, Date.now());
    batches.push({ mailingId, batchId: claim.batchId, deliveryIds: claim.deliveryIds });
  }

  const emails = subscribers.map((subscriber) => subscriber.email);
  return { mailingId, listId, subscribers, emails, tag: addressTag(emails[0]), batches };
}

/** Starts a mailing of LETTER (or `letter`) to a list and marks it sending. */
export async function startedMailing(listId: number, letter = LETTER): Promise<number> {
  const letterId = await seedLetter(letter);
  const mailingId = await seedMailing(letterId, listId);
  await startMailing(env.DB, mailingId, Date.now());
  await env.DB.prepare(
    "UPDATE mailings SET status = 'sending', started_at = unixepoch() * 1000 WHERE id = ?",
  )
    .bind(mailingId)
    .run();
  return mailingId;
}

/** `.abcd1234@` from `user1.abcd1234@example.com`: unique to one seeded list. */
function addressTag(email: string): string {
  return email.slice(email.indexOf("."), email.indexOf("@") + 1);
}

/** Runs the Worker's queue handler on one message and returns what it acked or retried. */
export async function consume(
  queue: string,
  body: SendMessage,
  attempts = 1,
  overrides: Partial<Env> = {},
) {
  const batch = createMessageBatch<SendMessage>(queue, [
    { id: `message-${crypto.randomUUID()}`, timestamp: new Date(), attempts, body },
  ]);
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, ...overrides }, ctx);
  return getQueueResult(batch, ctx);
}

/** Control API of one of the loopback mailboxes. */
export class MailboxControl {
  constructor(private readonly controlPort: number) {}

  /** The shared mailbox; fault rules there need a `match` unique to the test. */
  static shared() {
    return new MailboxControl(inject("mailboxControlPort"));
  }

  /** The mailbox only test/worker/delivery/faults.test.ts uses, so greeting faults are safe. */
  static faults() {
    return new MailboxControl(inject("faultMailbox").controlPort);
  }

  private get url() {
    return `http://127.0.0.1:${this.controlPort}`;
  }

  async messages(): Promise<ReceivedMessage[]> {
    const response = await fetch(`${this.url}/messages`);
    return (await response.json()) as ReceivedMessage[];
  }

  /** Messages whose recipients include one of `addresses`. */
  async receivedFor(addresses: string[]): Promise<ReceivedMessage[]> {
    const wanted = new Set(addresses.map((address) => address.toLowerCase()));
    const messages = await this.messages();
    return messages.filter((message) => message.to.some((to) => wanted.has(to.toLowerCase())));
  }

  /** Counts the messages each address received, in the order given. */
  async countsFor(addresses: string[]): Promise<number[]> {
    const received = await this.receivedFor(addresses);
    return addresses.map(
      (address) => received.filter((message) => message.to.includes(address)).length,
    );
  }

  async addFaults(faults: Fault[]): Promise<void> {
    const response = await fetch(`${this.url}/faults`, {
      method: "POST",
      body: JSON.stringify(faults),
    });
    if (!response.ok) throw new Error(`Adding faults failed: ${response.status}`);
  }

  /** Removes the rules with this match, or every rule when match is omitted. */
  async clearFaults(match?: string): Promise<void> {
    if (match === undefined) {
      await fetch(`${this.url}/faults`, { method: "PUT", body: "[]" });
      return;
    }
    await fetch(`${this.url}/faults?match=${encodeURIComponent(match)}`, { method: "DELETE" });
  }
}

/** Loads each delivery of a mailing with its state, attempts and last error, in id order. */
export async function deliveryRows(mailingId: number) {
  const { results } = await env.DB.prepare(
    `SELECT d.id, d.subscriber_id, d.state, d.attempts, d.last_error, d.message_id, s.email
       FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
      WHERE d.mailing_id = ? ORDER BY d.id`,
  )
    .bind(mailingId)
    .all<{
      id: number;
      subscriber_id: number;
      state: string;
      attempts: number;
      last_error: string | null;
      message_id: string | null;
      email: string;
    }>();
  return results;
}

export async function mailingRow(mailingId: number) {
  return env.DB.prepare("SELECT status, paused_reason, total FROM mailings WHERE id = ?")
    .bind(mailingId)
    .first<{ status: string; paused_reason: string | null; total: number }>();
}

export async function subscriberStatus(subscriberId: number) {
  const row = await env.DB.prepare("SELECT status FROM subscribers WHERE id = ?")
    .bind(subscriberId)
    .first<{ status: string }>();
  return row?.status;
}
