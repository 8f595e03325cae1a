/**
 * The dead-letter consumer: a send message that exhausted its queue retries
 * arrives on trickle-send-dead, and every delivery it still owed is closed.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { claimedMailing, consume, deliveryRows, MailboxControl, mailingRow } from "./support";

const mailbox = MailboxControl.shared();

describe("dead-letter consumer", () => {
  it("fails queued deliveries with the reason", async () => {
    const { mailingId, batches, emails } = await claimedMailing(4);
    // Delivery 1 sent, 2 left in `sending` by a worker that died, 3 and 4 queued.
    const [first, second] = await deliveryRows(mailingId);
    await env.DB.batch([
      env.DB.prepare("UPDATE deliveries SET state = 'sent' WHERE id = ?").bind(first.id),
      env.DB.prepare("UPDATE deliveries SET state = 'sending', attempts = 1 WHERE id = ?").bind(
        second.id,
      ),
      env.DB.prepare(
        "UPDATE deliveries SET last_error = 'attempt 5: 451 try later' WHERE mailing_id = ? AND state = 'queued'",
      ).bind(mailingId),
    ]);

    const result = await consume("trickle-send-dead", batches[0]);

    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toHaveLength(0);
    const rows = await deliveryRows(mailingId);
    expect(rows.map((row) => row.state)).toEqual(["sent", "uncertain", "failed", "failed"]);
    expect(rows[2].last_error).toBe("attempt 5: 451 try later; retries exhausted");
    expect(rows[3].last_error).toBe("attempt 5: 451 try later; retries exhausted");
    expect(rows[1].last_error).toMatch(/retries exhausted/);
    expect((await mailingRow(mailingId))?.status).toBe("done");
    expect(await mailbox.countsFor(emails)).toEqual([0, 0, 0, 0]);
  });

  it("leaves a late copy of a finished batch alone", async () => {
    const { mailingId, batches } = await claimedMailing(2);
    await env.DB.prepare(
      "UPDATE deliveries SET state = 'sent', last_error = NULL WHERE mailing_id = ?",
    )
      .bind(mailingId)
      .run();

    const result = await consume("trickle-send-dead", batches[0]);

    expect(result.explicitAcks).toHaveLength(1);
    const rows = await deliveryRows(mailingId);
    expect(rows.map((row) => [row.state, row.last_error])).toEqual([
      ["sent", null],
      ["sent", null],
    ]);
  });
});
