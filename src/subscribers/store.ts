/** Reading, unsubscribing and deleting one subscriber. */
import { asc, eq } from "drizzle-orm";
import type { Db } from "../db";
import { listMembers, lists, subscribers } from "../db/schema";
import { AppError } from "../http/errors";

/** `status_reason` stored when the operator unsubscribes someone through the API. */
export const OPERATOR_UNSUBSCRIBE_REASON = "unsubscribed by the operator";

export type Subscriber = typeof subscribers.$inferSelect;

/** Returns subscriber `id` with the lists they belong to; throws AppError 404 when missing. */
export async function getSubscriber(db: Db, id: number) {
  const subscriber = await requireSubscriber(db, id);
  const memberOf = await db
    .select({ id: lists.id, name: lists.name, addedAt: listMembers.addedAt })
    .from(listMembers)
    .innerJoin(lists, eq(lists.id, listMembers.listId))
    .where(eq(listMembers.subscriberId, id))
    .orderBy(asc(lists.id));

  return { ...subscriber, lists: memberOf };
}

/**
 * Unsubscribes an active subscriber and skips their deliveries that are not
 * yet with the SMTP relay, in one atomic batch. A subscriber who is already
 * suppressed keeps their status, reason and time. Returns the subscriber as
 * stored afterwards and whether this call changed the status.
 */
export async function unsubscribeSubscriber(db: D1Database, id: number, now = Date.now()) {
  const [statusChange] = await db.batch([
    db
      .prepare(
        `UPDATE subscribers
            SET status = 'unsubscribed', status_reason = ?, status_changed_at = ?
          WHERE id = ? AND status = 'active'`,
      )
      .bind(OPERATOR_UNSUBSCRIBE_REASON, now, id),
    db
      .prepare(
        `UPDATE deliveries SET state = 'skipped', updated_at = ?
          WHERE subscriber_id = ? AND state IN ('pending', 'queued')`,
      )
      .bind(now, id),
  ]);
  return { changed: statusChange.meta.changes > 0 };
}

/**
 * Deletes subscriber `id` with their list memberships, deliveries, clicks
 * and opens, in one atomic batch. Throws AppError 404 when missing.
 *
 * A subscriber who is not active (unsubscribed, bounced, complained) leaves
 * their email, status and reason in `suppressions`, written in the same
 * batch. An import that contains the address again creates the subscriber
 * with that status, so deleting never turns a suppressed address back on.
 * Deleting an active subscriber leaves no trace, so a later import creates
 * them active.
 *
 * NOTE: no API removes a row of `suppressions`. To mail such an address
 * again, delete its row in D1 by hand.
 */
export async function deleteSubscriber(
  db: D1Database,
  id: number,
  now = Date.now(),
): Promise<void> {
  // Clicks and opens have no foreign key to subscribers. The other tables are
  // cleared explicitly as well, so the result does not depend on whether
  // PRAGMA foreign_keys is on. The suppression is written before the
  // subscriber row is deleted, because it is copied from that row.
  const outcomes = await db.batch([
    db
      .prepare(
        `INSERT INTO suppressions (email, status, reason, created_at)
         SELECT email, status, status_reason, ?2 FROM subscribers
          WHERE id = ?1 AND status <> 'active'
         ON CONFLICT (email) DO UPDATE
            SET status = excluded.status, reason = excluded.reason, created_at = excluded.created_at`,
      )
      .bind(id, now),
    db.prepare("DELETE FROM clicks WHERE subscriber_id = ?").bind(id),
    db.prepare("DELETE FROM opens WHERE subscriber_id = ?").bind(id),
    db.prepare("DELETE FROM deliveries WHERE subscriber_id = ?").bind(id),
    db.prepare("DELETE FROM list_members WHERE subscriber_id = ?").bind(id),
    db.prepare("DELETE FROM subscribers WHERE id = ?").bind(id),
  ]);

  if (outcomes[outcomes.length - 1].meta.changes === 0) throw subscriberNotFound(id);
}

/** Returns subscriber `id`; throws AppError 404 when missing. */
export async function requireSubscriber(db: Db, id: number): Promise<Subscriber> {
  const subscriber = await db.select().from(subscribers).where(eq(subscribers.id, id)).get();
  if (!subscriber) throw subscriberNotFound(id);
  return subscriber;
}

function subscriberNotFound(id: number): AppError {
  return new AppError(
    404,
    "subscriber_not_found",
    `Subscriber ${id} does not exist. GET /api/lists/{id}/subscribers lists the members of a list.`,
  );
}
