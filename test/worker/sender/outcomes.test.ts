import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { outcomeStatements } from "../../../src/sender/outcomes";
import type { SendOutcome } from "../../../src/sender/smtp";
import { seedDeliveries, seedLetter, seedList, seedMailing } from "../support/seed";

/** One delivery in the given state, claimed under batch "batch-1". */
async function deliveryIn(state: string) {
  const { listId, subscribers } = await seedList(1);
  const mailingId = await seedMailing(await seedLetter("<p>Hi</p>"), listId, { status: "sending" });
  await seedDeliveries(mailingId, listId);
  const row = await env.DB.prepare(
    "UPDATE deliveries SET state = ?, batch_id = 'batch-1' WHERE mailing_id = ? RETURNING id",
  )
    .bind(state, mailingId)
    .first<{ id: number }>();
  return { id: row!.id, subscriberId: subscribers[0].id, batchId: "batch-1" };
}

async function record(
  delivery: { id: number; subscriberId: number; batchId: string },
  outcome: SendOutcome,
) {
  const context = { now: Date.now(), messageId: "d1.m1@example.com", attempts: 1, maxAttempts: 5 };
  await env.DB.batch(outcomeStatements(env.DB, delivery, outcome, context));
  const row = await env.DB.prepare("SELECT state FROM deliveries WHERE id = ?")
    .bind(delivery.id)
    .first<{ state: string }>();
  return row!.state;
}

describe("recording an outcome", () => {
  it.each([
    [{ kind: "sent", reply: "250" }, "sent"],
    [{ kind: "permanent", code: 554, reply: "554 rejected" }, "failed"],
    [{ kind: "transient", code: 451, reply: "451 later" }, "queued"],
    [{ kind: "uncertain", reply: "connection lost" }, "uncertain"],
  ] as [SendOutcome, string][])("moves sending on %j", async (outcome, expected) => {
    const delivery = await deliveryIn("sending");

    expect(await record(delivery, outcome)).toBe(expected);
  });

  // A racing copy of the queue message marked the in-flight row uncertain.
  it.each([
    [{ kind: "sent", reply: "250" }, "sent"],
    [{ kind: "permanent", code: 554, reply: "554 rejected" }, "failed"],
    [{ kind: "transient", code: 451, reply: "451 later" }, "uncertain"],
  ] as [SendOutcome, string][])(
    "replaces a racing uncertain mark on %j",
    async (outcome, expected) => {
      const delivery = await deliveryIn("uncertain");

      expect(await record(delivery, outcome)).toBe(expected);
    },
  );

  it("leaves rows of another batch alone", async () => {
    const delivery = await deliveryIn("sending");

    const state = await record({ ...delivery, batchId: "batch-2" }, { kind: "sent", reply: "250" });

    expect(state).toBe("sending");
  });
});
