/**
 * Claiming: moving the next pending deliveries of a mailing to `queued`
 * under a fresh batch id. The claim is one UPDATE ... RETURNING statement,
 * and D1 runs each statement atomically on its single writer, so two cron
 * runs that overlap can never claim the same delivery.
 */

export interface ClaimResult {
  batchId: string;
  deliveryIds: number[];
  /** Deliveries skipped because their subscriber is suppressed. */
  skipped: number;
}

const SKIP_SUPPRESSED = `
  UPDATE deliveries
     SET state = 'skipped', last_error = 'subscriber is ' || (
           SELECT status FROM subscribers WHERE subscribers.id = deliveries.subscriber_id
         ), updated_at = ?1
   WHERE id IN (
     SELECT d.id FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
      WHERE d.mailing_id = ?2 AND d.state = 'pending' AND s.status <> 'active'
      ORDER BY d.id LIMIT ?3
   )`;

const CLAIM_PENDING = `
  UPDATE deliveries
     SET state = 'queued', batch_id = ?1, queued_at = ?2, updated_at = ?2
   WHERE id IN (
     SELECT d.id FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
      WHERE d.mailing_id = ?3 AND d.state = 'pending' AND s.status = 'active'
      ORDER BY d.id LIMIT ?4
   )
  RETURNING id`;

/**
 * Claims up to `limit` deliveries of a mailing. Suppressed subscribers
 * (unsubscribed, bounced, complained since the mailing started) are marked
 * skipped in the same D1 batch, so they never reach the queue.
 */
export async function claimBatch(
  db: D1Database,
  mailingId: number,
  limit: number,
  now: number,
): Promise<ClaimResult> {
  const batchId = crypto.randomUUID();
  const [skip, claim] = await db.batch([
    db.prepare(SKIP_SUPPRESSED).bind(now, mailingId, Math.max(limit, 100)),
    db.prepare(CLAIM_PENDING).bind(batchId, now, mailingId, limit),
  ]);

  const ids = (claim.results as { id: number }[]).map((row) => row.id).sort((a, b) => a - b);
  return { batchId, deliveryIds: ids, skipped: skip.meta.changes ?? 0 };
}
