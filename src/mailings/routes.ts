/**
 * Mailings API: create a draft, start it, watch its progress, pause, resume
 * or cancel it.
 */
import { zValidator } from "@hono/zod-validator";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/app";
import { AppError } from "../http/errors";
import { readOptionalJson, validationHook } from "../http/validation";
import { changeMailingStatus } from "./control";
import { startMailing } from "./start";
import { DELIVERY_STATES } from "../db/schema";

/** The latest instant a JavaScript Date can hold, in Unix ms (year 275760). */
const MAX_TIME = 8_640_000_000_000_000;

const createSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    letterId: z.number().int().positive(),
    listId: z.number().int().positive(),
    /** ISO 8601 time or Unix ms; defaults to now. */
    startAt: z
      .union([z.iso.datetime({ offset: true }), z.number().int().nonnegative().max(MAX_TIME)])
      .optional(),
    ratePerMinute: z.number().int().min(1).max(100_000).nullable().default(null),
    windowMinutes: z
      .number()
      .int()
      .min(1)
      .max(60 * 24 * 14)
      .nullable()
      .default(null),
  })
  .strict();

const pauseSchema = z.object({ reason: z.string().max(500).optional() }).strict();

export const mailingRoutes = new Hono<AppEnv>();

mailingRoutes.post("/mailings", zValidator("json", createSchema, validationHook), async (c) => {
  const input = c.req.valid("json");
  const db = c.env.DB;
  await requireRow(db, "letters", input.letterId, "letter_not_found", "Letter");
  await requireRow(db, "lists", input.listId, "list_not_found", "List");

  const now = Date.now();
  const startAt =
    input.startAt === undefined
      ? now
      : typeof input.startAt === "number"
        ? input.startAt
        : Date.parse(input.startAt);

  const row = await db
    .prepare(
      `INSERT INTO mailings (name, letter_id, list_id, status, start_at, rate_per_minute,
                             window_minutes, created_at)
       VALUES (?, ?, ?, 'draft', ?, ?, ?, ?) RETURNING *`,
    )
    .bind(
      input.name,
      input.letterId,
      input.listId,
      startAt,
      input.ratePerMinute,
      input.windowMinutes,
      now,
    )
    .first<MailingRecord>();
  return c.json({ mailing: publicMailing(row!) }, 201);
});

mailingRoutes.get("/mailings", async (c) => {
  const { results } = await c.env.DB.prepare(
    "SELECT * FROM mailings ORDER BY id DESC LIMIT 200",
  ).all<MailingRecord>();
  return c.json({ mailings: results.map(publicMailing) });
});

mailingRoutes.get("/mailings/:id{[0-9]+}", async (c) => {
  const id = Number(c.req.param("id"));
  const row = await c.env.DB.prepare("SELECT * FROM mailings WHERE id = ?")
    .bind(id)
    .first<MailingRecord>();
  if (!row) throw new AppError(404, "mailing_not_found", `Mailing ${id} does not exist.`);

  return c.json({ mailing: publicMailing(row), counts: await deliveryCounts(c.env.DB, id) });
});

mailingRoutes.post("/mailings/:id{[0-9]+}/start", async (c) => {
  const mailing = await startMailing(c.env.DB, Number(c.req.param("id")), Date.now());
  return c.json({ mailing });
});

// The body is optional here, so an empty one is read as `{}` instead of
// being rejected as malformed JSON.
mailingRoutes.post("/mailings/:id{[0-9]+}/pause", async (c) => {
  const input = pauseSchema.safeParse(await readOptionalJson(c.req.raw));
  validationHook(input, c);

  const reason = input.data?.reason ?? "paused by the operator";
  const id = Number(c.req.param("id"));
  return c.json({ mailing: await changeMailingStatus(c.env.DB, id, "pause", Date.now(), reason) });
});

mailingRoutes.post("/mailings/:id{[0-9]+}/resume", async (c) => {
  const id = Number(c.req.param("id"));
  return c.json({ mailing: await changeMailingStatus(c.env.DB, id, "resume", Date.now()) });
});

mailingRoutes.post("/mailings/:id{[0-9]+}/cancel", async (c) => {
  const id = Number(c.req.param("id"));
  return c.json({ mailing: await changeMailingStatus(c.env.DB, id, "cancel", Date.now()) });
});

interface MailingRecord {
  id: number;
  name: string;
  letter_id: number;
  list_id: number;
  status: string;
  start_at: number;
  rate_per_minute: number | null;
  window_minutes: number | null;
  total: number;
  paused_reason: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

function publicMailing(row: MailingRecord) {
  return {
    id: row.id,
    name: row.name,
    letterId: row.letter_id,
    listId: row.list_id,
    status: row.status,
    startAt: row.start_at,
    ratePerMinute: row.rate_per_minute,
    windowMinutes: row.window_minutes,
    total: row.total,
    pausedReason: row.paused_reason,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

/** Number of deliveries in each state, every state present. */
export async function deliveryCounts(db: D1Database, mailingId: number) {
  const { results } = await db
    .prepare("SELECT state, COUNT(*) AS count FROM deliveries WHERE mailing_id = ? GROUP BY state")
    .bind(mailingId)
    .all<{ state: string; count: number }>();

  const counts = Object.fromEntries(DELIVERY_STATES.map((state) => [state, 0]));
  for (const row of results) counts[row.state] = row.count;
  return counts as Record<(typeof DELIVERY_STATES)[number], number>;
}

async function requireRow(
  db: D1Database,
  table: "letters" | "lists",
  id: number,
  code: string,
  label: string,
) {
  const row = await db.prepare(`SELECT id FROM ${table} WHERE id = ?`).bind(id).first();
  if (!row) throw new AppError(404, code, `${label} ${id} does not exist.`);
}
