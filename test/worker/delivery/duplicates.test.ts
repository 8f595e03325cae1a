/**
 * Queue messages delivered more than once. Two consumers at once and a
 * redelivery after a lost ack are tested in test/worker/sender/consume.test.ts.
 * These tests add a race in which one consumer dies, and a copy that arrives
 * after its deliveries were handed to another batch.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { claimBatch } from "../../../src/scheduler/claim";
import { requeueStaleDeliveries, STALE_QUEUED_MS } from "../../../src/scheduler/sweep";
import { openSendSession, processSendMessage } from "../../../src/sender/consume";
import type { SendMessage } from "../../../src/sender/message";
import { stateCounts } from "../support/seed";
import { claimedMailing, deliveryRows, MailboxControl, mailingRow } from "./support";

const mailbox = MailboxControl.shared();

async function deliver(body: SendMessage, attempt: number, dieAfterSends?: number) {
  const session = await openSendSession(env);
  let sends = 0;
  if (dieAfterSends !== undefined) {
    session.afterSend = () => {
      if (++sends === dieAfterSends) throw new Error("worker stopped");
    };
  }
  try {
    return await processSendMessage(session, body, attempt);
  } finally {
    await session.connection?.close();
  }
}

describe("message delivered twice", () => {
  it("race in which one consumer dies sends each mail at most once", async () => {
    const { mailingId, batches, emails } = await claimedMailing(8);

    const [survivor, victim] = await Promise.allSettled([
      deliver(batches[0], 1),
      deliver(batches[0], 1, 2),
    ]);
    expect(survivor.status).toBe("fulfilled");
    expect(victim.status).toBe("rejected");
    // The queue delivers the message again because the dead consumer never acked it.
    await deliver(batches[0], 2);

    const counts = await mailbox.countsFor(emails);
    const rows = await deliveryRows(mailingId);
    expect(Math.max(...counts)).toBe(1);
    for (const row of rows.filter((row) => row.state === "sent")) {
      expect(counts[emails.indexOf(row.email)], row.email).toBe(1);
    }
    const states = await stateCounts(mailingId);
    expect(states.uncertain ?? 0).toBeLessThanOrEqual(1);
    expect((states.sent ?? 0) + (states.uncertain ?? 0)).toBe(8);
    expect((await mailingRow(mailingId))?.status).toBe("done");
  });

  it("late copy sends nothing once its deliveries moved to another batch", async () => {
    // The first message was lost: an hour later the sweep returns its
    // deliveries to pending and the next tick claims them under a new batch.
    const { mailingId, batches, emails } = await claimedMailing(3);
    const later = Date.now() + STALE_QUEUED_MS + 60_000;
    expect(await requeueStaleDeliveries(env.DB, later)).toBe(3);
    const claim = await claimBatch(env.DB, mailingId, 3, later);
    const replacement = { mailingId, batchId: claim.batchId, deliveryIds: claim.deliveryIds };

    const late = await deliver(batches[0], 1);
    expect(late).toEqual({ ack: true });
    expect(await mailbox.countsFor(emails)).toEqual([0, 0, 0]);

    await deliver(replacement, 1);
    await deliver(batches[0], 2);
    expect(await mailbox.countsFor(emails)).toEqual([1, 1, 1]);
    expect(await stateCounts(mailingId)).toEqual({ sent: 3 });
  });
});
