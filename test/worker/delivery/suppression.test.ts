/**
 * Suppression: an unsubscribed, bounced or complained address gets no
 * further mailing from any list. It is checked when a mailing starts, when
 * a batch is claimed, and again right before each send.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { claimBatch } from "../../../src/scheduler/claim";
import { seedList, stateCounts } from "../support/seed";
import {
  claimedMailing,
  consume,
  deliveryRows,
  MailboxControl,
  startedMailing,
  subscriberStatus,
} from "./support";

const mailbox = MailboxControl.shared();
const STATUSES = ["unsubscribed", "bounced", "complained"] as const;

async function suppress(subscriberId: number, status: string) {
  await env.DB.prepare("UPDATE subscribers SET status = ? WHERE id = ?")
    .bind(status, subscriberId)
    .run();
}

/** Adds existing subscribers to a second list. */
async function secondList(subscriberIds: number[]) {
  const { listId } = await seedList(1);
  for (const id of subscriberIds) {
    await env.DB.prepare(
      "INSERT INTO list_members (list_id, subscriber_id, added_at) VALUES (?, ?, ?)",
    )
      .bind(listId, id, Date.now())
      .run();
  }
  return listId;
}

async function claimAll(mailingId: number) {
  const claim = await claimBatch(env.DB, mailingId, 100, Date.now());
  return { mailingId, batchId: claim.batchId, deliveryIds: claim.deliveryIds };
}

describe("suppressed address", () => {
  it("hard bounce keeps it out of later mailings to other lists", async () => {
    const first = await claimedMailing(3);
    const bouncing = first.subscribers[0];
    const otherList = await secondList(first.subscribers.map((subscriber) => subscriber.id));
    // Started before the bounce: its delivery to the address already exists.
    const startedEarlier = await startedMailing(otherList);
    await mailbox.addFaults([
      { stage: "rcpt", code: 550, message: "5.1.1 User unknown", match: bouncing.email },
    ]);

    try {
      await consume("trickle-send", first.batches[0]);
    } finally {
      await mailbox.clearFaults(bouncing.email);
    }
    expect(await subscriberStatus(bouncing.id)).toBe("bounced");

    // Started after the bounce: no delivery is created for the address.
    const startedLater = await startedMailing(otherList);
    await consume("trickle-send", await claimAll(startedEarlier));
    await consume("trickle-send", await claimAll(startedLater));

    expect(await mailbox.countsFor(first.emails)).toEqual([0, 3, 3]);
    const earlier = await deliveryRows(startedEarlier);
    const skipped = earlier.find((row) => row.subscriber_id === bouncing.id);
    expect(skipped?.state).toBe("skipped");
    expect(skipped?.last_error).toBe("subscriber is bounced");
    const later = await deliveryRows(startedLater);
    expect(later.some((row) => row.subscriber_id === bouncing.id)).toBe(false);
  });

  it.each(STATUSES)("%s before the claim is skipped at the claim", async (status) => {
    const { listId, subscribers } = await seedList(3);
    const mailingId = await startedMailing(listId);
    await suppress(subscribers[1].id, status);

    const batch = await claimAll(mailingId);
    await consume("trickle-send", batch);

    expect(batch.deliveryIds).toHaveLength(2);
    expect(await mailbox.countsFor(subscribers.map((subscriber) => subscriber.email))).toEqual([
      1, 0, 1,
    ]);
    expect(await stateCounts(mailingId)).toEqual({ sent: 2, skipped: 1 });
  });

  it.each(STATUSES)("%s after the claim is skipped before sending", async (status) => {
    const { mailingId, batches, subscribers, emails } = await claimedMailing(3);
    await suppress(subscribers[2].id, status);

    await consume("trickle-send", batches[0]);

    expect(await mailbox.countsFor(emails)).toEqual([1, 1, 0]);
    const rows = await deliveryRows(mailingId);
    expect(rows.map((row) => row.state)).toEqual(["sent", "sent", "skipped"]);
    expect(rows[2].last_error).toBe(`subscriber is ${status}`);
  });

  it.each(STATUSES)("%s in one list gets nothing from another", async (status) => {
    const { listId, subscribers } = await seedList(2);
    await suppress(subscribers[0].id, status);
    const otherList = await secondList(subscribers.map((subscriber) => subscriber.id));

    for (const list of [listId, otherList]) {
      const mailingId = await startedMailing(list);
      await consume("trickle-send", await claimAll(mailingId));
    }

    expect(await mailbox.countsFor(subscribers.map((subscriber) => subscriber.email))).toEqual([
      0, 2,
    ]);
  });
});
