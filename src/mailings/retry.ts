/**
 * Retrying the failed deliveries of a mailing: `POST /api/mailings/:id/retry-failed`.
 *
 * Only `failed` deliveries go back to `pending`, and only those whose
 * subscriber is still active: a bounced, complained or unsubscribed address
 * stays failed. `sent` and `uncertain` deliveries are never touched, so a
 * retry cannot send anyone a second copy. Attempts start again from zero;
 * last_error keeps the reason of the earlier failure until the next attempt
 * records its own outcome.
 */
import { Hono } from "hono";
import type { AppEnv } from "../http/app";
import { AppError } from "../http/errors";
import { log } from "../log";

/** Mailings whose failed deliveries may be retried; a draft has none, a cancelled one stays cancelled. */
const RETRYABLE_STATUSES = ["wait", "sending", "paused", "done"];

export interface RetryResult {
  mailing: { id: number; status: string };
  /** Deliveries moved from `failed` to `pending`. */
  retried: number;
}

/**
 * Moves the mailing's failed deliveries back to `pending` and a `done`
 * mailing back to `sending`, in one atomic D1 batch.
 */
export async function retryFailedDeliveries(
  db: D1Database,
  mailingId: number,
  now: number,
): Promise<RetryResult> {
  const marks = RETRYABLE_STATUSES.map(() => "?").join(", ");

  const results = await db.batch([
    db
      .prepare(
        `UPDATE deliveries SET state = 'pending', attempts = 0, batch_id = NULL, queued_at = NULL,
                updated_at = ?1
          WHERE mailing_id = ?2 AND state = 'failed'
            AND EXISTS (SELECT 1 FROM subscribers s
                         WHERE s.id = deliveries.subscriber_id AND s.status = 'active')
            AND EXISTS (SELECT 1 FROM mailings m WHERE m.id = ?2 AND m.status IN (${marks}))`,
      )
      .bind(now, mailingId, ...RETRYABLE_STATUSES),
    // Runs after the first statement of the same batch, so the new pending
    // rows count: a done mailing with something to send is sending again.
    db
      .prepare(
        `UPDATE mailings SET status = 'sending', finished_at = NULL
          WHERE id = ?1 AND status = 'done'
            AND EXISTS (SELECT 1 FROM deliveries d WHERE d.mailing_id = ?1 AND d.state = 'pending')`,
      )
      .bind(mailingId),
    db.prepare("SELECT id, status FROM mailings WHERE id = ?").bind(mailingId),
  ]);

  const mailing = (results[2].results as { id: number; status: string }[])[0];
  if (!mailing)
    throw new AppError(404, "mailing_not_found", `Mailing ${mailingId} does not exist.`);
  if (!RETRYABLE_STATUSES.includes(mailing.status)) {
    throw new AppError(
      409,
      "mailing_status_conflict",
      `Cannot retry the failed deliveries of mailing ${mailingId} while it is ${mailing.status}; retry applies to ${RETRYABLE_STATUSES.join(", ")}.`,
    );
  }

  const retried = results[0].meta.changes ?? 0;
  log.info("failed deliveries retried", { mailingId, retried, status: mailing.status });
  return { mailing, retried };
}

export const retryRoutes = new Hono<AppEnv>();

retryRoutes.post("/mailings/:id{[0-9]+}/retry-failed", async (c) => {
  const result = await retryFailedDeliveries(c.env.DB, Number(c.req.param("id")), Date.now());
  return c.json(result);
});
