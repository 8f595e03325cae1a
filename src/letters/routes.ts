/**
 * Letters API: create, read, update and list letters. Saving checks the
 * letter (tokens, foreign placeholders, block conditions) and returns the
 * warnings; a letter with errors is saved so the author can fix it, but no
 * mailing can start with it.
 */
import { zValidator } from "@hono/zod-validator";
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { getDb } from "../db";
import { letters } from "../db/schema";
import type { AppEnv } from "../http/app";
import { AppError } from "../http/errors";
import { validationHook } from "../http/validation";
import { validateLetter } from "../render";
import { letterSource } from "./source";

const utmSchema = z
  .object({
    source: z.string().max(200).optional(),
    medium: z.string().max(200).optional(),
    campaign: z.string().max(200).optional(),
    content: z.string().max(200).optional(),
    term: z.string().max(200).optional(),
  })
  .nullable();

const settingsSchema = z.object({
  trackClicks: z.boolean().default(true),
  trackOpens: z.boolean().default(true),
  utm: utmSchema.default(null),
});

const blockSchema = z.object({
  id: z.string().min(1).max(100),
  html: z.string().max(1_000_000),
  condition: z.unknown().optional(),
});

const letterSchema = z.object({
  name: z.string().trim().min(1).max(200),
  subject: z.string().min(1).max(998),
  preheader: z.string().max(500).default(""),
  fromName: z.string().max(200).default(""),
  fromEmail: z.email(),
  replyTo: z.email().nullable().default(null),
  layout: z.string().min(1).max(2_000_000),
  blocks: z.array(blockSchema).max(200).default([]),
  textBody: z.string().max(1_000_000).nullable().default(null),
  settings: settingsSchema.default({ trackClicks: true, trackOpens: true, utm: null }),
});

export const letterRoutes = new Hono<AppEnv>();

letterRoutes.post("/letters", zValidator("json", letterSchema, validationHook), async (c) => {
  const input = c.req.valid("json");
  const now = Date.now();
  const [row] = await getDb(c.env)
    .insert(letters)
    .values({ ...input, createdAt: now, updatedAt: now })
    .returning();

  return c.json({ letter: row, issues: validateLetter(letterSource(row)) }, 201);
});

letterRoutes.get("/letters", async (c) => {
  const rows = await getDb(c.env)
    .select({
      id: letters.id,
      name: letters.name,
      subject: letters.subject,
      updatedAt: letters.updatedAt,
    })
    .from(letters)
    .orderBy(letters.id);
  return c.json({ letters: rows });
});

letterRoutes.get("/letters/:id{[0-9]+}", async (c) => {
  const row = await findLetter(c.env, Number(c.req.param("id")));
  return c.json({ letter: row, issues: validateLetter(letterSource(row)) });
});

letterRoutes.put(
  "/letters/:id{[0-9]+}",
  zValidator("json", letterSchema, validationHook),
  async (c) => {
    const id = Number(c.req.param("id"));
    await findLetter(c.env, id);

    const [row] = await getDb(c.env)
      .update(letters)
      .set({ ...c.req.valid("json"), updatedAt: Date.now() })
      .where(eq(letters.id, id))
      .returning();
    return c.json({ letter: row, issues: validateLetter(letterSource(row)) });
  },
);

async function findLetter(env: AppEnv["Bindings"], id: number) {
  const row = await getDb(env).select().from(letters).where(eq(letters.id, id)).get();
  if (!row) throw new AppError(404, "letter_not_found", `Letter ${id} does not exist.`);
  return row;
}
