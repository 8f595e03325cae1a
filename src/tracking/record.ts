/**
 * The `trickle-events` queue consumer: writes a batch of clicks and opens to
 * D1 in one `db.batch()`, set-based, and then acks the batch.
 *
 * Each INSERT reads its rows from a VALUES list joined in SQL with mailings
 * (events of a deleted mailing are dropped) and with deliveries (for the
 * recipient's variant and the time the message was sent). A hit less than
 * `MACHINE_DELAY_MS` after the delivery's `sent_at` is stored as a machine.
 */
import type { Env } from "../env";
import { log } from "../log";
import type { TrackingEvent } from "./events";
import { MACHINE_DELAY_MS } from "./machine";

/** D1 allows at most 100 bound parameters per statement. */
const MAX_PARAMS = 100;
const OPEN_PARAMS = 5;
const CLICK_PARAMS = 6;
const PAIR_PARAMS = 2;

/** Seconds before a batch whose INSERT failed is delivered again. */
const RETRY_DELAY_SECONDS = 30;

/**
 * Inserts a batch of tracking events into D1 and acks each message. Messages
 * whose body is not a valid TrackingEvent are logged and acked so that they
 * are not retried forever. When the D1 batch fails, every valid message is
 * retried after `RETRY_DELAY_SECONDS`.
 */
export async function recordTrackingEvents(
  batch: MessageBatch<TrackingEvent>,
  env: Env,
): Promise<void> {
  const valid: Message<TrackingEvent>[] = [];
  for (const message of batch.messages) {
    if (isTrackingEvent(message.body)) {
      valid.push(message);
    } else {
      log.warn("tracking event invalid", { queue: batch.queue, messageId: message.id });
      message.ack();
    }
  }
  if (valid.length === 0) return;

  const events = valid.map((message) => message.body);
  try {
    await env.DB.batch(eventStatements(env.DB, events));
  } catch (error) {
    log.error("tracking events insert failed", { queue: batch.queue, count: events.length, error });
    for (const message of valid) message.retry({ delaySeconds: RETRY_DELAY_SECONDS });
    return;
  }

  for (const message of valid) message.ack();
}

/**
 * Builds the statements for one batch, in the order they must run: pixel
 * opens first, then clicks, then implied opens, so that an open seen in the
 * same batch as a click keeps the click from adding an implied one.
 */
export function eventStatements(db: D1Database, events: TrackingEvent[]): D1PreparedStatement[] {
  const opens = events.filter((event) => event.type === "open");
  const clicks = events.filter((event) => event.type === "click");

  return [
    ...chunk(opens, Math.floor(MAX_PARAMS / OPEN_PARAMS)).map((rows) => openInsert(db, rows)),
    ...chunk(clicks, Math.floor(MAX_PARAMS / CLICK_PARAMS)).map((rows) => clickInsert(db, rows)),
    ...chunk(distinctRecipients(clicks), Math.floor(MAX_PARAMS / PAIR_PARAMS)).map((pairs) =>
      impliedOpenInsert(db, pairs),
    ),
  ];
}

// The machine flag of a stored row: set by the route, or by arriving sooner
// than MACHINE_DELAY_MS after the delivery was sent (also when the hit came
// before `sent_at` was written).
const MACHINE_EXPRESSION = `CASE WHEN v.column4 = 1 OR (d.sent_at IS NOT NULL AND v.column5 - d.sent_at < ${MACHINE_DELAY_MS}) THEN 1 ELSE 0 END`;

function openInsert(db: D1Database, rows: TrackingEvent[]): D1PreparedStatement {
  const values = rows.map(() => "(?, ?, ?, ?, ?)").join(", ");
  const params = rows.flatMap((event) => [
    event.mailingId,
    event.subscriberId,
    event.variant,
    event.machine ? 1 : 0,
    event.at,
  ]);

  return db
    .prepare(
      `INSERT INTO opens (mailing_id, subscriber_id, variant, machine, implied, at)
       SELECT v.column1, v.column2, COALESCE(d.variant, v.column3), ${MACHINE_EXPRESSION}, 0, v.column5
         FROM (VALUES ${values}) AS v
         JOIN mailings m ON m.id = v.column1
         LEFT JOIN deliveries d ON d.mailing_id = v.column1 AND d.subscriber_id = v.column2`,
    )
    .bind(...params);
}

function clickInsert(db: D1Database, rows: TrackingEvent[]): D1PreparedStatement {
  const values = rows.map(() => "(?, ?, ?, ?, ?, ?)").join(", ");
  const params = rows.flatMap((event) => [
    event.mailingId,
    event.subscriberId,
    event.variant,
    event.machine ? 1 : 0,
    event.at,
    event.linkIdx,
  ]);

  return db
    .prepare(
      `INSERT INTO clicks (mailing_id, subscriber_id, variant, link_idx, machine, at)
       SELECT v.column1, v.column2, COALESCE(d.variant, v.column3), v.column6, ${MACHINE_EXPRESSION}, v.column5
         FROM (VALUES ${values}) AS v
         JOIN mailings m ON m.id = v.column1
         LEFT JOIN deliveries d ON d.mailing_id = v.column1 AND d.subscriber_id = v.column2`,
    )
    .bind(...params);
}

/**
 * Adds the opens implied by clicks: one per recipient and machine flag of
 * their clicks. A human click adds none when the recipient has a human open,
 * and a machine click adds none when the recipient has any open.
 */
function impliedOpenInsert(
  db: D1Database,
  pairs: { mailingId: number; subscriberId: number }[],
): D1PreparedStatement {
  const values = pairs.map(() => "(?, ?)").join(", ");
  const params = pairs.flatMap((pair) => [pair.mailingId, pair.subscriberId]);

  return db
    .prepare(
      `INSERT INTO opens (mailing_id, subscriber_id, variant, machine, implied, at)
       SELECT c.mailing_id, c.subscriber_id, MIN(c.variant), c.machine, 1, MIN(c.at)
         FROM clicks c
        WHERE (c.mailing_id, c.subscriber_id) IN (VALUES ${values})
          AND NOT EXISTS (
                SELECT 1 FROM opens o
                 WHERE o.mailing_id = c.mailing_id
                   AND o.subscriber_id = c.subscriber_id
                   AND o.machine <= c.machine)
        GROUP BY c.mailing_id, c.subscriber_id, c.machine`,
    )
    .bind(...params);
}

function distinctRecipients(
  clicks: TrackingEvent[],
): { mailingId: number; subscriberId: number }[] {
  const seen = new Map<string, { mailingId: number; subscriberId: number }>();
  for (const click of clicks) {
    seen.set(`${click.mailingId}:${click.subscriberId}`, {
      mailingId: click.mailingId,
      subscriberId: click.subscriberId,
    });
  }
  return [...seen.values()];
}

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) {
    chunks.push(items.slice(start, start + size));
  }
  return chunks;
}

/** Maximum variant length accepted from a queue message. */
const MAX_VARIANT_LENGTH = 64;

/** Checks the shape of a queue message body; the queue carries JSON, so nothing is trusted. */
function isTrackingEvent(value: unknown): value is TrackingEvent {
  if (!value || typeof value !== "object") return false;

  const event = value as Record<string, unknown>;
  const typeValid = event.type === "click" || event.type === "open";
  const idsValid = isPositiveInteger(event.mailingId) && isPositiveInteger(event.subscriberId);
  const variantValid =
    typeof event.variant === "string" && event.variant.length <= MAX_VARIANT_LENGTH;
  const linkValid =
    event.type === "click"
      ? Number.isInteger(event.linkIdx) && (event.linkIdx as number) >= 0
      : event.linkIdx === -1;
  const restValid = typeof event.machine === "boolean" && Number.isSafeInteger(event.at);

  return typeValid && idsValid && variantValid && linkValid && restValid;
}

function isPositiveInteger(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) > 0;
}
