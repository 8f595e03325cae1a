/**
 * Seeding helpers for workerd tests: plain SQL against the test D1, so a
 * test sets up exactly the rows it needs.
 */
import { env } from "cloudflare:test";

export interface SeededSubscriber {
  id: number;
  email: string;
  firstName: string;
}

/** Creates a list with `count` active subscribers named after their position. */
export async function seedList(count: number, name = `list-${crypto.randomUUID()}`) {
  const now = Date.now();
  const list = await env.DB.prepare(
    "INSERT INTO lists (name, created_at) VALUES (?, ?) RETURNING id",
  )
    .bind(name, now)
    .first<{ id: number }>();

  const tag = crypto.randomUUID().slice(0, 8);
  const subscribers: SeededSubscriber[] = [];
  for (let start = 0; start < count; start += 20) {
    const chunk = Array.from(
      { length: Math.min(20, count - start) },
      (_, offset) => start + offset + 1,
    );
    const marks = chunk.map(() => "(?, ?, ?, '{}', 'active', ?)").join(", ");
    const values = chunk.flatMap((n) => [`user${n}.${tag}@example.com`, `User${n}`, "Test", now]);
    const { results } = await env.DB.prepare(
      `INSERT INTO subscribers (email, first_name, last_name, attributes, status, created_at)
       VALUES ${marks} RETURNING id, email, first_name AS firstName`,
    )
      .bind(...values)
      .all<SeededSubscriber>();
    subscribers.push(...results);
  }

  for (const subscriber of subscribers) {
    await env.DB.prepare(
      "INSERT INTO list_members (list_id, subscriber_id, added_at) VALUES (?, ?, ?)",
    )
      .bind(list!.id, subscriber.id, now)
      .run();
  }
  return { listId: list!.id, subscribers };
}

/** Inserts a letter row; `layout` is the whole letter when no blocks are given. */
export async function seedLetter(layout: string, overrides: Record<string, unknown> = {}) {
  const now = Date.now();
  const settings = overrides.settings ?? { trackClicks: true, trackOpens: false, utm: null };
  const row = await env.DB.prepare(
    `INSERT INTO letters (name, subject, preheader, from_name, from_email, layout, blocks,
                          settings, created_at, updated_at)
     VALUES (?, ?, '', ?, ?, ?, '[]', ?, ?, ?) RETURNING id`,
  )
    .bind(
      (overrides.name as string) ?? "Test letter",
      (overrides.subject as string) ?? "Hello {{ first_name }}",
      "Trickle Test",
      "news@example.com",
      layout,
      JSON.stringify(settings),
      now,
      now,
    )
    .first<{ id: number }>();
  return row!.id;
}

/**
 * Inserts a mailing of a letter to a list, a draft unless `status` is given. A
 * mailing seeded as `sending`, `paused` or `done` has a start time, as one
 * that sent its first batch has.
 */
export async function seedMailing(
  letterId: number,
  listId: number,
  overrides: { startAt?: number; status?: string; ratePerMinute?: number | null } = {},
) {
  const now = Date.now();
  const status = overrides.status ?? "draft";
  const startedAt = ["sending", "paused", "done"].includes(status) ? now : null;
  const row = await env.DB.prepare(
    `INSERT INTO mailings (name, letter_id, list_id, status, start_at, rate_per_minute,
                           created_at, started_at)
     VALUES ('Test mailing', ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
  )
    .bind(
      letterId,
      listId,
      status,
      overrides.startAt ?? now - 1000,
      overrides.ratePerMinute ?? null,
      now,
      startedAt,
    )
    .first<{ id: number }>();
  return row!.id;
}

/** Creates `pending` deliveries for every member of the list, as a started mailing has. */
export async function seedDeliveries(mailingId: number, listId: number) {
  await env.DB.prepare(
    `INSERT INTO deliveries (mailing_id, subscriber_id, state)
     SELECT ?, subscriber_id, 'pending' FROM list_members WHERE list_id = ?`,
  )
    .bind(mailingId, listId)
    .run();
}

/** Number of deliveries of a mailing in each state. */
export async function stateCounts(mailingId: number): Promise<Record<string, number>> {
  const { results } = await env.DB.prepare(
    "SELECT state, COUNT(*) AS count FROM deliveries WHERE mailing_id = ? GROUP BY state",
  )
    .bind(mailingId)
    .all<{ state: string; count: number }>();
  return Object.fromEntries(results.map((row) => [row.state, row.count]));
}

/** Returns a seeded pseudo-random source (mulberry32) for reproducible picks. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
