/**
 * The dead-letter consumer: a send message that exhausted its retries ends
 * here, and every delivery it still owed is closed with the reason, so the
 * mailing can finish and the operator sees why.
 */
import type { Env } from "../env";
import { log } from "../log";
import { finishMailings } from "../scheduler/sweep";
import type { SendMessage } from "./message";

export async function consumeDeadLetters(batch: MessageBatch<SendMessage>, env: Env) {
  const now = Date.now();
  for (const message of batch.messages) {
    const { mailingId, batchId } = message.body;
    const [failed, uncertain] = await env.DB.batch([
      env.DB.prepare(
        `UPDATE deliveries SET state = 'failed', updated_at = ?1,
                last_error = COALESCE(last_error || '; ', '') || 'retries exhausted'
          WHERE batch_id = ?2 AND state = 'queued'`,
      ).bind(now, batchId),
      env.DB.prepare(
        `UPDATE deliveries SET state = 'uncertain', updated_at = ?1,
                last_error = 'worker stopped during the SMTP transaction; retries exhausted'
          WHERE batch_id = ?2 AND state = 'sending'`,
      ).bind(now, batchId),
    ]);
    await finishMailings(env.DB, now, mailingId);

    log.error("send batch dead-lettered", {
      mailingId,
      batchId,
      failed: failed.meta.changes,
      uncertain: uncertain.meta.changes,
    });
    message.ack();
  }
}
