/**
 * Loading recipients for rendering: subscriber fields, attributes and list
 * memberships, for many subscribers in one D1 round trip.
 */
import type { Recipient } from "../render";
import type { SubscriberStatus } from "../db/schema";

export interface RecipientRow extends Recipient {
  status: SubscriberStatus;
}

/** Columns of a subscribers row that rendering needs. */
export interface SubscriberRecord {
  id: number;
  email: string;
  first_name: string;
  last_name: string;
  attributes: string;
}

/** D1 allows 100 bound parameters per statement. */
const IDS_PER_QUERY = 90;

/** Loads the given subscribers; ids that do not exist are absent from the map. */
export async function loadRecipients(
  db: D1Database,
  subscriberIds: number[],
): Promise<Map<number, RecipientRow>> {
  const recipients = new Map<number, RecipientRow>();
  if (subscriberIds.length === 0) return recipients;

  const statements: D1PreparedStatement[] = [];
  for (let start = 0; start < subscriberIds.length; start += IDS_PER_QUERY) {
    const chunk = subscriberIds.slice(start, start + IDS_PER_QUERY);
    const marks = chunk.map(() => "?").join(", ");
    statements.push(
      db
        .prepare(
          `SELECT id, email, first_name, last_name, attributes, status
             FROM subscribers WHERE id IN (${marks})`,
        )
        .bind(...chunk),
      db
        .prepare(
          `SELECT subscriber_id, list_id FROM list_members WHERE subscriber_id IN (${marks})`,
        )
        .bind(...chunk),
    );
  }

  const results = await db.batch(statements);
  for (let index = 0; index < results.length; index += 2) {
    for (const row of results[index].results as (SubscriberRecord & {
      status: SubscriberStatus;
    })[]) {
      recipients.set(row.id, { ...toRecipient(row, []), status: row.status });
    }
  }
  for (let index = 1; index < results.length; index += 2) {
    for (const row of results[index].results as { subscriber_id: number; list_id: number }[]) {
      recipients.get(row.subscriber_id)?.listIds.push(row.list_id);
    }
  }
  return recipients;
}

/** Loads one subscriber as a recipient, or null when it does not exist. */
export async function loadRecipient(db: D1Database, subscriberId: number) {
  return (await loadRecipients(db, [subscriberId])).get(subscriberId) ?? null;
}

/** Maps a subscribers row and its list ids to the renderer's Recipient. */
export function toRecipient(row: SubscriberRecord, listIds: number[]): Recipient {
  return {
    id: row.id,
    email: row.email,
    firstName: row.first_name,
    lastName: row.last_name,
    attributes: parseAttributes(row.attributes),
    listIds,
  };
}

function parseAttributes(text: string): Record<string, string> {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === "object" ? (value as Record<string, string>) : {};
  } catch {
    return {};
  }
}
