/**
 * `POST /api/mailings/:id/retry-failed`: failed deliveries of active
 * subscribers go back to pending; sent, uncertain and bounced ones stay.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../../src/index";
import { claimBatch } from "../../../src/scheduler/claim";
import { seedLetter, seedList, seedMailing, stateCounts } from "../support/seed";
import { claimedMailing, consume, deliveryRows, MailboxControl, mailingRow } from "./support";

const mailbox = MailboxControl.shared();

async function retryFailed(mailingId: number) {
  const response = await worker.fetch(
    new Request(`https://t.example.net/api/mailings/${mailingId}/retry-failed`, {
      method: "POST",
      headers: { authorization: "Bearer test-admin-token" },
    }),
    env,
    createExecutionContext(),
  );
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

describe("retry failed deliveries", () => {
  it("resends only failed deliveries of active subscribers", async () => {
    // Recipients: 1 and 2 sent, 3 and 4 rejected after DATA, 5 a hard
    // bounce, 6 lost after DATA (uncertain).
    const { mailingId, batches, emails } = await claimedMailing(6);
    const faults = [
      { stage: "data" as const, code: 554, match: emails[2] },
      { stage: "data" as const, code: 554, match: emails[3] },
      { stage: "rcpt" as const, code: 550, message: "5.1.1 User unknown", match: emails[4] },
      { stage: "after-data" as const, code: 0, match: emails[5] },
    ];
    await mailbox.addFaults(faults);
    try {
      await consume("trickle-send", batches[0]);
    } finally {
      for (const fault of faults) await mailbox.clearFaults(fault.match);
    }
    expect(await stateCounts(mailingId)).toEqual({ sent: 2, failed: 3, uncertain: 1 });
    expect((await mailingRow(mailingId))?.status).toBe("done");

    const response = await retryFailed(mailingId);

    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body).toEqual({ mailing: { id: mailingId, status: "sending" }, retried: 2 });
    const rows = await deliveryRows(mailingId);
    expect(rows.map((row) => [row.state, row.attempts])).toEqual([
      ["sent", 1],
      ["sent", 1],
      ["pending", 0],
      ["pending", 0],
      ["failed", 1],
      ["uncertain", 1],
    ]);
    // The earlier reason stays visible until the next attempt records its own.
    expect(rows[2].last_error).toContain("554");

    const claim = await claimBatch(env.DB, mailingId, 10, Date.now());
    expect(claim.deliveryIds).toEqual([rows[2].id, rows[3].id]);
    await consume("trickle-send", {
      mailingId,
      batchId: claim.batchId,
      deliveryIds: claim.deliveryIds,
    });

    expect(await mailbox.countsFor(emails)).toEqual([1, 1, 1, 1, 0, 1]);
    expect(await stateCounts(mailingId)).toEqual({ sent: 4, failed: 1, uncertain: 1 });
    expect((await mailingRow(mailingId))?.status).toBe("done");
  });

  it("leaves a mailing without failures as it is", async () => {
    const { mailingId, batches } = await claimedMailing(2);
    await consume("trickle-send", batches[0]);

    const response = await retryFailed(mailingId);

    expect(response.body).toEqual({ mailing: { id: mailingId, status: "done" }, retried: 0 });
    expect(await stateCounts(mailingId)).toEqual({ sent: 2 });
  });

  it("rejects a draft with 409", async () => {
    const { listId } = await seedList(1);
    const mailingId = await seedMailing(await seedLetter("<p>Hi</p>"), listId);

    const response = await retryFailed(mailingId);

    expect(response.status).toBe(409);
    expect(response.body.errors[0].code).toBe("mailing_status_conflict");
  });

  it("rejects an unknown mailing with 404", async () => {
    const response = await retryFailed(999_999);

    expect(response.status).toBe(404);
    expect(response.body.errors[0].code).toBe("mailing_not_found");
  });
});
