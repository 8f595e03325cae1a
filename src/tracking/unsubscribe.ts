/**
 * Unsubscribing through a mailing's signed link or its mailto address: the
 * data shown on the confirmation page and the change itself.
 */

/** Data about the recipient and the mailing shown on the unsubscribe page. */
export interface UnsubscribeContext {
  /** Null when the subscriber no longer exists. */
  email: string | null;
  status: string | null;
  /** Null when the mailing has been deleted; unsubscribing still works. */
  mailingName: string | null;
  listName: string | null;
}

/** Loads the subscriber, mailing and list shown on the page, in one round trip. */
export async function loadUnsubscribeContext(
  db: D1Database,
  mailingId: number,
  subscriberId: number,
): Promise<UnsubscribeContext> {
  const [subscriberResult, mailingResult] = await db.batch([
    db.prepare("SELECT email, status FROM subscribers WHERE id = ?").bind(subscriberId),
    db
      .prepare(
        `SELECT m.name AS mailing_name, l.name AS list_name
           FROM mailings m LEFT JOIN lists l ON l.id = m.list_id
          WHERE m.id = ?`,
      )
      .bind(mailingId),
  ]);

  const subscriber = (subscriberResult.results as { email: string; status: string }[])[0];
  const mailing = (
    mailingResult.results as { mailing_name: string; list_name: string | null }[]
  )[0];
  return {
    email: subscriber?.email ?? null,
    status: subscriber?.status ?? null,
    mailingName: mailing?.mailing_name ?? null,
    listName: mailing?.list_name ?? null,
  };
}

/**
 * How a request to unsubscribe arrived: the signed /u/ link (a click or a
 * one-click POST) or an email to the List-Unsubscribe mailto address.
 */
export type UnsubscribeChannel = "link" | "mailto";

/** Every channel, for statistics that count the unsubscribes of a mailing. */
export const UNSUBSCRIBE_CHANNELS: readonly UnsubscribeChannel[] = ["link", "mailto"];

/**
 * Returns the `status_reason` stored when a subscriber unsubscribes through a
 * mailing's link or mailto address; statistics count unsubscribes of a
 * mailing by it.
 */
export function unsubscribeReason(mailingId: number, channel: UnsubscribeChannel = "link"): string {
  return `unsubscribe ${channel} in mailing ${mailingId}`;
}

/** The outcome of one unsubscribe request. */
export interface UnsubscribeResult {
  /** True when this request changed the status from active to unsubscribed. */
  changed: boolean;
  /** Deliveries of this subscriber moved from pending or queued to skipped. */
  skipped: number;
}

/**
 * Unsubscribes a subscriber at once and skips their deliveries that have not
 * been sent yet, in one atomic `db.batch`. Idempotent: a repeated call
 * changes nothing and keeps the first reason and time. A subscriber who is
 * bounced or complained keeps that status, since it suppresses mail as well.
 */
export async function unsubscribe(
  db: D1Database,
  mailingId: number,
  subscriberId: number,
  now: number,
  channel: UnsubscribeChannel = "link",
): Promise<UnsubscribeResult> {
  const [statusResult, skipResult] = await db.batch([
    db
      .prepare(
        `UPDATE subscribers
            SET status = 'unsubscribed', status_reason = ?, status_changed_at = ?
          WHERE id = ? AND status = 'active'`,
      )
      .bind(unsubscribeReason(mailingId, channel), now, subscriberId),
    // Rows in 'sending' are already with the SMTP relay, so they are left alone.
    db
      .prepare(
        `UPDATE deliveries SET state = 'skipped', updated_at = ?
          WHERE subscriber_id = ? AND state IN ('pending', 'queued')`,
      )
      .bind(now, subscriberId),
  ]);

  return { changed: statusResult.meta.changes > 0, skipped: skipResult.meta.changes };
}

/** Masks an address for display: `jane@example.com` becomes `j***@example.com`. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf("@");
  if (at <= 0) return "***";
  return `${email[0]}***${email.slice(at)}`;
}
