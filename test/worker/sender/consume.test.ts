import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../../src/index";
import { startMailing } from "../../../src/mailings/start";
import { claimBatch } from "../../../src/scheduler/claim";
import { openSendSession, processSendMessage } from "../../../src/sender/consume";
import type { SendMessage } from "../../../src/sender/message";
import { addFaults, clearFaults, receivedFor } from "../support/mailbox";
import { seedLetter, seedList, seedMailing, stateCounts } from "../support/seed";

const LETTER = `<!doctype html><html><body>
<p>Hi {{ first_name }},</p>
<p><a href="https://example.com/spring?ref=letter">Spring sale</a></p>
<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>
</body></html>`;

/** A started mailing with `count` recipients, all claimed into one batch. */
async function claimedMailing(count: number) {
  const { listId, subscribers } = await seedList(count);
  const letterId = await seedLetter(LETTER);
  const mailingId = await seedMailing(letterId, listId);
  await startMailing(env.DB, mailingId, Date.now());
  await env.DB.prepare(
    "UPDATE mailings SET status = 'sending', started_at = unixepoch() * 1000 WHERE id = ?",
  )
    .bind(mailingId)
    .run();

  const claim = await claimBatch(env.DB, mailingId, count, Date.now());
  const body: SendMessage = { mailingId, batchId: claim.batchId, deliveryIds: claim.deliveryIds };
  return { mailingId, subscribers, body, emails: subscribers.map((s) => s.email) };
}

async function consume(body: SendMessage, attempts = 1) {
  const batch = createMessageBatch<SendMessage>("trickle-send", [
    { id: `message-${crypto.randomUUID()}`, timestamp: new Date(), attempts, body },
  ]);
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

async function mailingStatus(id: number) {
  const row = await env.DB.prepare("SELECT status FROM mailings WHERE id = ?")
    .bind(id)
    .first<{ status: string }>();
  return row?.status;
}

describe("sender", () => {
  it("sends a batch and records every outcome", async () => {
    const { mailingId, body, emails, subscribers } = await claimedMailing(5);

    const result = await consume(body);

    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toHaveLength(0);
    const received = await receivedFor(emails);
    expect(received.map((message) => message.to[0]).sort()).toEqual([...emails].sort());
    expect(await stateCounts(mailingId)).toEqual({ sent: 5 });
    expect(await mailingStatus(mailingId)).toBe("done");

    const jane = received.find((message) => message.to[0] === subscribers[0].email)!;
    expect(jane.raw).toContain(`Hi ${subscribers[0].firstName}`);
    expect(jane.raw).not.toContain("{{");
    expect(jane.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
  });

  it("records the Message-ID of each sent delivery", async () => {
    const { mailingId, body, emails } = await claimedMailing(2);

    await consume(body);

    const { results } = await env.DB.prepare(
      "SELECT id, message_id FROM deliveries WHERE mailing_id = ? ORDER BY id",
    )
      .bind(mailingId)
      .all<{ id: number; message_id: string }>();
    const received = await receivedFor(emails);
    for (const row of results) {
      expect(row.message_id).toBe(`d${row.id}.m${mailingId}@example.com`);
      expect(received.some((message) => message.raw.includes(`<${row.message_id}>`))).toBe(true);
    }
  });

  it("sends each mail once when a message is consumed twice", async () => {
    const { mailingId, body, emails } = await claimedMailing(4);

    await consume(body);
    const second = await consume(body, 2);

    expect(second.explicitAcks).toHaveLength(1);
    expect(await receivedFor(emails)).toHaveLength(4);
    expect(await stateCounts(mailingId)).toEqual({ sent: 4 });
  });

  it("sends each mail once when two consumers race", async () => {
    const { mailingId, body, emails } = await claimedMailing(6);

    await Promise.all([consume(body), consume(body)]);

    expect(await receivedFor(emails)).toHaveLength(6);
    expect(await stateCounts(mailingId)).toEqual({ sent: 6 });
  });

  it("skips a subscriber who unsubscribed after the claim", async () => {
    const { mailingId, body, emails, subscribers } = await claimedMailing(3);
    await env.DB.prepare("UPDATE subscribers SET status = 'unsubscribed' WHERE id = ?")
      .bind(subscribers[1].id)
      .run();

    await consume(body);

    const received = await receivedFor(emails);
    expect(received.map((message) => message.to[0])).not.toContain(subscribers[1].email);
    expect(await stateCounts(mailingId)).toEqual({ sent: 2, skipped: 1 });
  });

  it("hands queued deliveries back when the mailing is paused", async () => {
    const { mailingId, body, emails } = await claimedMailing(3);
    await env.DB.prepare("UPDATE mailings SET status = 'paused' WHERE id = ?")
      .bind(mailingId)
      .run();

    const result = await consume(body);

    expect(result.explicitAcks).toHaveLength(1);
    expect(await receivedFor(emails)).toHaveLength(0);
    expect(await stateCounts(mailingId)).toEqual({ pending: 3 });
  });
});

describe("sender after a crash", () => {
  it("resumes a batch without resending what was sent", async () => {
    // 10 recipients in batches of 4; the worker dies in batch 2 after
    // sending recipients 5 and 6, before anything after 5 was recorded.
    const { listId, subscribers } = await seedList(10);
    const letterId = await seedLetter(LETTER);
    const mailingId = await seedMailing(letterId, listId);
    await startMailing(env.DB, mailingId, Date.now());
    await env.DB.prepare(
      "UPDATE mailings SET status = 'sending', started_at = unixepoch() * 1000 WHERE id = ?",
    )
      .bind(mailingId)
      .run();
    const emails = subscribers.map((subscriber) => subscriber.email);

    const batches = [];
    for (let index = 0; index < 3; index++) {
      const claim = await claimBatch(env.DB, mailingId, 4, Date.now());
      batches.push({ mailingId, batchId: claim.batchId, deliveryIds: claim.deliveryIds });
    }
    await consume(batches[0]);

    const session = await openSendSession({ ...env });
    let sends = 0;
    session.afterSend = () => {
      if (++sends === 2) throw new Error("worker stopped");
    };
    await expect(processSendMessage(session, batches[1], 1)).rejects.toThrow("worker stopped");
    await session.connection?.close();
    expect(await receivedFor(emails)).toHaveLength(6);

    await consume(batches[1], 2);
    await consume(batches[2]);

    const received = await receivedFor(emails);
    const perRecipient = emails.map((email) => received.filter((m) => m.to[0] === email).length);
    expect(perRecipient).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    // Recipient 6 was sent but not recorded: its outcome is unknown to us.
    expect(await stateCounts(mailingId)).toEqual({ sent: 9, uncertain: 1 });
    expect(await mailingStatus(mailingId)).toBe("done");
  });

  it("marks a send lost after DATA uncertain and never resends it", async () => {
    const { mailingId, body, emails, subscribers } = await claimedMailing(3);
    const victim = subscribers[1].email;
    await addFaults([{ stage: "after-data", code: 0, match: victim }]);

    try {
      const first = await consume(body);
      expect(first.explicitAcks).toHaveLength(1);
      await consume(body, 2);
    } finally {
      await clearFaults(victim);
    }

    const received = await receivedFor(emails);
    expect(received.filter((message) => message.to[0] === victim)).toHaveLength(1);
    expect(await stateCounts(mailingId)).toEqual({ sent: 2, uncertain: 1 });
  });
});
