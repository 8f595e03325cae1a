/**
 * Housekeeping run at every tick: returning deliveries whose queue message
 * was lost to `pending`, and closing mailings that have nothing left to do.
 */
import { log } from "../log";

/**
 * A delivery stays `queued` only while its queue message is on its way or
 * being retried. One queued for longer than this lost its message (an
 * enqueue that failed after the claim), so it goes back to `pending`. The
 * sender claims rows by batch id, so a late copy of the old message can no
 * longer send them.
 */
export const STALE_QUEUED_MS = 60 * 60_000;

export async function requeueStaleDeliveries(db: D1Database, now: number): Promise<number> {
  const result = await db
    .prepare(
      `UPDATE deliveries SET state = 'pending', batch_id = NULL, updated_at = ?1
        WHERE state = 'queued' AND queued_at < ?2
          AND mailing_id IN (SELECT id FROM mailings WHERE status = 'sending')`,
    )
    .bind(now, now - STALE_QUEUED_MS)
    .run();

  const count = result.meta.changes ?? 0;
  if (count > 0) log.warn("stale deliveries requeued", { deliveries: count });
  return count;
}

/** Marks `done` every sending mailing whose deliveries are all final. */
export async function finishMailings(db: D1Database, now: number, mailingId?: number) {
  const result = await db
    .prepare(
      `UPDATE mailings SET status = 'done', finished_at = ?1
        WHERE status = 'sending' AND (?2 IS NULL OR id = ?2)
          AND NOT EXISTS (
            SELECT 1 FROM deliveries d
             WHERE d.mailing_id = mailings.id AND d.state IN ('pending', 'queued', 'sending')
          )
       RETURNING id`,
    )
    .bind(now, mailingId ?? null)
    .all<{ id: number }>();

  for (const row of result.results) log.info("mailing done", { mailingId: row.id });
  return result.results.map((row) => row.id);
}
