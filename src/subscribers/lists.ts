/** Subscriber lists: creation, summaries with member counts, and member pages. */
import { asc, count, eq, sql } from "drizzle-orm";
import type { Db } from "../db";
import { listMembers, lists, subscribers } from "../db/schema";
import { AppError } from "../http/errors";

export type List = typeof lists.$inferSelect;

/** A list with its member counts. */
export interface ListSummary extends List {
  /** Members of the list in any status. */
  subscribers: number;
  /** Members whose status is `active`, the ones a mailing sends to. */
  active: number;
}

/** Inserts a list; throws AppError 409 when a list of that name exists. */
export async function createList(db: Db, name: string, now = Date.now()): Promise<List> {
  const created = await db
    .insert(lists)
    .values({ name, createdAt: now })
    .onConflictDoNothing({ target: lists.name })
    .returning()
    .get();
  if (created) return created;

  const existing = await db.select({ id: lists.id }).from(lists).where(eq(lists.name, name)).get();
  throw new AppError(
    409,
    "list_exists",
    `A list named "${name}" already exists (id ${existing?.id}). Choose another name, or import into list ${existing?.id}.`,
    [{ field: "name", message: "already used by another list" }],
  );
}

/** Returns every list with its member counts, oldest first. */
export async function listSummaries(db: Db): Promise<ListSummary[]> {
  return db
    .select({
      id: lists.id,
      name: lists.name,
      createdAt: lists.createdAt,
      subscribers: count(listMembers.subscriberId),
      active: sql<number>`count(CASE WHEN ${subscribers.status} = 'active' THEN 1 END)`,
    })
    .from(lists)
    .leftJoin(listMembers, eq(listMembers.listId, lists.id))
    .leftJoin(subscribers, eq(subscribers.id, listMembers.subscriberId))
    .groupBy(lists.id)
    .orderBy(asc(lists.id));
}

/** Returns list `id`; throws AppError 404 when it does not exist. */
export async function requireList(db: Db, id: number): Promise<List> {
  const list = await db.select().from(lists).where(eq(lists.id, id)).get();
  if (!list) {
    throw new AppError(
      404,
      "list_not_found",
      `List ${id} does not exist. GET /api/lists shows the lists.`,
    );
  }
  return list;
}

/** Returns one page of a list's members, ordered by subscriber id, and the member count. */
export async function listMemberPage(db: Db, listId: number, limit: number, offset: number) {
  const [page, total] = await db.batch([
    db
      .select({
        id: subscribers.id,
        email: subscribers.email,
        firstName: subscribers.firstName,
        lastName: subscribers.lastName,
        attributes: subscribers.attributes,
        status: subscribers.status,
        addedAt: listMembers.addedAt,
      })
      .from(listMembers)
      .innerJoin(subscribers, eq(subscribers.id, listMembers.subscriberId))
      .where(eq(listMembers.listId, listId))
      .orderBy(asc(subscribers.id))
      .limit(limit)
      .offset(offset),
    db.select({ total: count() }).from(listMembers).where(eq(listMembers.listId, listId)),
  ]);
  return { subscribers: page, total: total[0]?.total ?? 0 };
}
