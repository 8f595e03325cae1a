/**
 * Recording a bounce or complaint: tie it to a delivery, store it in the
 * `bounces` table and suppress the subscriber when it calls for that. A hard
 * bounce makes the subscriber `bounced`, a complaint `complained`; a soft
 * bounce is only stored. Suppression never overwrites an earlier one, so an
 * unsubscribed address stays unsubscribed.
 */
import type { BounceKind } from "../db/schema";
import { log } from "../log";
import { suppressStatement } from "../sender/outcomes";

/** A bounce or complaint as it arrived, before matching. */
export interface BounceEvent {
  kind: BounceKind;
  source: "email" | "webhook";
  /** The recipient address the report names, if any. */
  email: string | null;
  status: string | null;
  diagnostic: string | null;
  /** Delivery id from a verified VERP return path. */
  verifiedDeliveryId?: number | null;
  /** Message-ID of the reported message, without angle brackets. */
  messageId?: string | null;
  /**
   * Whether the event itself is authenticated (a signed webhook). An
   * unauthenticated report matched by Message-ID must also name the
   * subscriber's address, because Message-IDs are easy to guess.
   */
  trusted: boolean;
}

export type MatchMethod = "verp" | "message_id" | "email";

/** Result of recording one event. */
export interface RecordedBounce {
  id: number;
  kind: BounceKind;
  matchedBy: MatchMethod | null;
  deliveryId: number | null;
  mailingId: number | null;
  subscriberId: number | null;
  /** The subscriber status set by this event, or null when none was changed. */
  suppressedAs: "bounced" | "complained" | null;
}

interface MatchedDelivery {
  deliveryId: number | null;
  mailingId: number | null;
  subscriberId: number;
  email: string;
  matchedBy: MatchMethod;
}

/** Trickle's Message-ID: `d<delivery id>.m<mailing id>@<domain>`. */
const MESSAGE_ID = /^d(\d{1,15})\.m(\d{1,15})@/i;

/**
 * Kind of a bounce from its enhanced status code, or from the reply code at
 * the start of the diagnostic when the status is missing. A bounce with
 * neither is taken as hard, because a report without a reason still reports
 * the message as not delivered.
 */
export function bounceKind(status: string | null, diagnostic: string | null): "hard" | "soft" {
  const code = status ?? /^\s*([245])\d\d\b/.exec(diagnostic ?? "")?.[1] ?? "5";
  return code.startsWith("4") ? "soft" : "hard";
}

/** Matches, stores and applies one event. */
export async function recordBounce(
  db: D1Database,
  event: BounceEvent,
  now: number,
): Promise<RecordedBounce> {
  const match = await matchEvent(db, event);
  const email = event.email?.toLowerCase() ?? match?.email ?? null;
  const suppressAs =
    match && event.kind === "hard"
      ? "bounced"
      : match && event.kind === "complaint"
        ? "complained"
        : null;

  const statements = [
    db
      .prepare(
        `INSERT INTO bounces (kind, source, email, status, diagnostic, matched_by, delivery_id,
                              mailing_id, subscriber_id, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      )
      .bind(
        event.kind,
        event.source,
        email,
        event.status,
        event.diagnostic?.slice(0, 1000) ?? null,
        match?.matchedBy ?? null,
        match?.deliveryId ?? null,
        match?.mailingId ?? null,
        match?.subscriberId ?? null,
        now,
      ),
  ];
  if (match && suppressAs) {
    const reason = [
      event.kind === "complaint" ? "complaint" : "bounce",
      event.status,
      event.diagnostic,
    ]
      .filter(Boolean)
      .join(": ");
    statements.push(suppressStatement(db, match.subscriberId, suppressAs, reason, now));
  }

  const results = await db.batch(statements);
  const id = (results[0].results as { id: number }[])[0].id;
  const changed = (results[1]?.meta.changes ?? 0) > 0;

  const recorded: RecordedBounce = {
    id,
    kind: event.kind,
    matchedBy: match?.matchedBy ?? null,
    deliveryId: match?.deliveryId ?? null,
    mailingId: match?.mailingId ?? null,
    subscriberId: match?.subscriberId ?? null,
    suppressedAs: changed ? suppressAs : null,
  };
  logRecorded(recorded, event);
  return recorded;
}

async function matchEvent(db: D1Database, event: BounceEvent): Promise<MatchedDelivery | null> {
  if (event.verifiedDeliveryId) {
    const delivery = await loadDelivery(db, event.verifiedDeliveryId);
    if (delivery) return { ...delivery, matchedBy: "verp" };
  }

  const byMessageId = event.messageId ? await matchMessageId(db, event.messageId) : null;
  if (byMessageId) {
    const sameAddress = event.email !== null && byMessageId.email === event.email.toLowerCase();
    if (sameAddress || (event.trusted && event.email === null)) return byMessageId;
  }

  // Only an authenticated source may name a subscriber by address alone.
  if (event.trusted && event.email) return matchEmail(db, event.email);
  return null;
}

async function matchMessageId(db: D1Database, messageId: string): Promise<MatchedDelivery | null> {
  const parsed = MESSAGE_ID.exec(messageId.trim());
  if (!parsed) return null;

  // The id inside the Message-ID finds the row by primary key. The stored
  // Message-ID must then be the same, so an id taken from another domain or
  // mailing does not match.
  const delivery = await loadDelivery(db, Number(parsed[1]));
  if (!delivery || delivery.messageId?.toLowerCase() !== messageId.trim().toLowerCase()) {
    return null;
  }
  return { ...delivery, matchedBy: "message_id" };
}

async function matchEmail(db: D1Database, email: string): Promise<MatchedDelivery | null> {
  // Subscriber addresses are stored trimmed, NFC-normalised and lowercased.
  const row = await db
    .prepare("SELECT id, email FROM subscribers WHERE email = ?")
    .bind(email.trim().normalize("NFC").toLowerCase())
    .first<{ id: number; email: string }>();
  if (!row) return null;

  return {
    deliveryId: null,
    mailingId: null,
    subscriberId: row.id,
    email: row.email.toLowerCase(),
    matchedBy: "email",
  };
}

async function loadDelivery(db: D1Database, deliveryId: number) {
  const row = await db
    .prepare(
      `SELECT d.id, d.mailing_id, d.subscriber_id, d.message_id, s.email
         FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
        WHERE d.id = ?`,
    )
    .bind(deliveryId)
    .first<{
      id: number;
      mailing_id: number;
      subscriber_id: number;
      message_id: string | null;
      email: string;
    }>();
  if (!row) return null;

  return {
    deliveryId: row.id,
    mailingId: row.mailing_id,
    subscriberId: row.subscriber_id,
    email: row.email.toLowerCase(),
    messageId: row.message_id,
  };
}

function logRecorded(recorded: RecordedBounce, event: BounceEvent) {
  const fields = {
    bounceId: recorded.id,
    kind: recorded.kind,
    source: event.source,
    status: event.status,
    matchedBy: recorded.matchedBy,
    deliveryId: recorded.deliveryId,
    mailingId: recorded.mailingId,
    subscriberId: recorded.subscriberId,
    suppressedAs: recorded.suppressedAs,
  };
  if (recorded.matchedBy === null) log.warn("bounce not matched", fields);
  else log.info("bounce recorded", fields);
}
