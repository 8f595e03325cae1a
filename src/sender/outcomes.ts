/**
 * D1 statements that record what happened to a delivery. The sender queues
 * them and writes them together with its next claim, so recording costs no
 * extra round trip.
 */
import type { SendOutcome } from "./smtp";

/**
 * Replies stating that the address itself does not exist (enhanced status
 * 5.1.0 to 5.1.3, or the usual wording). A 550 for spam or policy is not one.
 */
const ADDRESS_INVALID =
  /\b5\.1\.[0-3]\b|\b(user|mailbox|recipient|address)\b[^.]*\b(unknown|not found|does not exist|invalid|unavailable|disabled)\b|\bno such (user|mailbox)\b/i;

/** True when a permanent failure means the subscriber's address is dead. */
export function isHardBounce(code: number, reply: string): boolean {
  // worker-mailer names the failed step first. A rejected MAIL FROM is about
  // the return path ("5.1.0 Sender address rejected"), not the subscriber.
  if (reply.startsWith("Invalid MAIL FROM")) return false;
  return code >= 550 && code <= 553 && ADDRESS_INVALID.test(reply);
}

export interface DeliveryRef {
  id: number;
  subscriberId: number;
  batchId: string;
}

/**
 * Claims a queued delivery right before its SMTP transaction: `sending` for
 * an active subscriber, `skipped` for one suppressed since the batch was
 * claimed. Returns the new state and attempts; no row when another consumer
 * took it or the mailing stopped sending.
 */
export function claimStatement(db: D1Database, delivery: DeliveryRef, now: number) {
  return db
    .prepare(
      `UPDATE deliveries
          SET state = CASE WHEN s.status = 'active' THEN 'sending' ELSE 'skipped' END,
              attempts = attempts + CASE WHEN s.status = 'active' THEN 1 ELSE 0 END,
              last_error = CASE WHEN s.status = 'active' THEN last_error
                                ELSE 'subscriber is ' || s.status END,
              updated_at = ?1
         FROM (SELECT status FROM subscribers WHERE id = ?4) AS s
        WHERE id = ?2 AND state = 'queued' AND batch_id = ?3
          AND EXISTS (SELECT 1 FROM mailings m WHERE m.id = deliveries.mailing_id AND m.status = 'sending')
        RETURNING state, attempts`,
    )
    .bind(now, delivery.id, delivery.batchId, delivery.subscriberId);
}

/**
 * Statements recording one send. A transient failure with attempts left puts
 * the delivery back to `queued` in the same batch, for the message's retry.
 */
export function outcomeStatements(
  db: D1Database,
  delivery: DeliveryRef,
  outcome: SendOutcome,
  context: { now: number; messageId: string; attempts: number; maxAttempts: number },
): D1PreparedStatement[] {
  const { now } = context;

  // A second copy of the queue message, consumed while this send was in
  // flight, takes the `sending` row for a dead worker's and marks it
  // `uncertain`. The claimant knows better: a definite `sent` or `failed`
  // replaces that mark. Only the claimant reaches this statement.
  const update = (state: string, error: string | null) =>
    db
      .prepare(
        `UPDATE deliveries SET state = ?1, last_error = ?2, updated_at = ?3,
                message_id = CASE WHEN ?1 IN ('sent', 'uncertain') THEN ?4 ELSE message_id END,
                sent_at = CASE WHEN ?1 = 'sent' THEN ?3 ELSE sent_at END
          WHERE id = ?5 AND batch_id = ?6
            AND (state = 'sending' OR (state = 'uncertain' AND ?1 IN ('sent', 'failed')))`,
      )
      .bind(state, error, now, context.messageId, delivery.id, delivery.batchId);

  switch (outcome.kind) {
    case "sent":
      return [update("sent", null)];
    case "uncertain":
      return [update("uncertain", `outcome unknown: ${outcome.reply}`)];
    case "transient": {
      const exhausted = context.attempts >= context.maxAttempts;
      const error = `attempt ${context.attempts}: ${outcome.reply}`;
      return [update(exhausted ? "failed" : "queued", error)];
    }
    case "permanent": {
      const statements = [update("failed", outcome.reply)];
      if (isHardBounce(outcome.code, outcome.reply)) {
        statements.push(
          suppressStatement(db, delivery.subscriberId, "bounced", outcome.reply, now),
        );
      }
      return statements;
    }
  }
}

/** Suppresses a subscriber; an unsubscribe is never overwritten by a bounce. */
export function suppressStatement(
  db: D1Database,
  subscriberId: number,
  status: "bounced" | "complained" | "unsubscribed",
  reason: string,
  now: number,
) {
  return db
    .prepare(
      `UPDATE subscribers SET status = ?1, status_reason = ?2, status_changed_at = ?3
        WHERE id = ?4 AND status = 'active'`,
    )
    .bind(status, reason.slice(0, 500), now, subscriberId);
}
