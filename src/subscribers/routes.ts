/**
 * Subscriber API under /api: lists, CSV import into a list, and single
 * subscribers. Every route is behind the bearer token checked in api.ts.
 */
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import { getDb } from "../db";
import type { AppEnv } from "../http/app";
import { AppError } from "../http/errors";
import { validationHook } from "../http/validation";
import { log } from "../log";
import { parseSubscriberCsv, type CsvFileError } from "./csv";
import { importSubscribers, ImportIncompleteError } from "./import";
import { createList, listMemberPage, listSummaries, requireList } from "./lists";
import { deleteSubscriber, getSubscriber, unsubscribeSubscriber } from "./store";
import { MAX_UPLOAD_BYTES, readCsvUpload } from "./upload";

/** Maximum entries in each row list of an import response; `counts` has the totals. */
const MAX_REPORTED_ROWS = 1000;

const createListSchema = z.object({
  name: z
    .string({ error: "name must be a string" })
    .trim()
    .min(1, "name must not be empty")
    .max(200, "name must be at most 200 characters"),
});

const pageSchema = z.object({
  limit: z.coerce
    .number({ error: "limit must be a number" })
    .int("limit must be a whole number")
    .min(1, "limit must be at least 1")
    .max(500, "limit must be at most 500")
    .default(50),
  offset: z.coerce
    .number({ error: "offset must be a number" })
    .int("offset must be a whole number")
    .min(0, "offset must not be negative")
    .default(0),
});

export const subscriberRoutes = new Hono<AppEnv>();

subscriberRoutes.post("/lists", async (c) => {
  const input = createListSchema.safeParse(await readJsonBody(c));
  validationHook(input);

  const list = await createList(getDb(c.env), input.data!.name);
  log.info("list created", { listId: list.id });
  return c.json({ list }, 201);
});

subscriberRoutes.get("/lists", async (c) => {
  return c.json({ lists: await listSummaries(getDb(c.env)) });
});

subscriberRoutes.post(
  "/lists/:id{[0-9]+}/import",
  bodyLimit({
    maxSize: MAX_UPLOAD_BYTES,
    onError: () => {
      throw new AppError(
        413,
        "payload_too_large",
        `The upload is larger than ${MAX_UPLOAD_BYTES / 1024 / 1024} MB. Split the file into smaller files and import them one after the other.`,
      );
    },
  }),
  async (c) => {
    const listId = Number(c.req.param("id"));
    await requireList(getDb(c.env), listId);

    const parsed = parseSubscriberCsv(await readCsvUpload(c.req.raw));
    if (!parsed.ok) throw csvFileError(parsed.error);

    const result = await runImport(c.env.DB, listId, parsed.rows);
    log.info("subscribers imported", {
      listId,
      created: result.created,
      updated: result.updated,
      invalid: parsed.counts.invalid,
      duplicates: parsed.counts.duplicates,
      warnings: parsed.warnings.map((warning) => warning.code),
    });

    return c.json({
      listId,
      imported: result.imported,
      created: result.created,
      updated: result.updated,
      suppressed: result.suppressed.length,
      addedToList: result.addedToList,
      invalid: parsed.invalid.slice(0, MAX_REPORTED_ROWS),
      duplicates: parsed.duplicates.slice(0, MAX_REPORTED_ROWS),
      suppressedSubscribers: result.suppressed.slice(0, MAX_REPORTED_ROWS),
      warnings: parsed.warnings,
      counts: parsed.counts,
      columns: parsed.columns,
      delimiter: parsed.delimiter,
    });
  },
);

subscriberRoutes.get("/lists/:id{[0-9]+}/subscribers", async (c) => {
  const listId = Number(c.req.param("id"));
  const page = parseQuery(pageSchema, c.req.query());

  const db = getDb(c.env);
  await requireList(db, listId);
  const { subscribers, total } = await listMemberPage(db, listId, page.limit, page.offset);
  return c.json({ subscribers, total, limit: page.limit, offset: page.offset });
});

subscriberRoutes.get("/subscribers/:id{[0-9]+}", async (c) => {
  const subscriber = await getSubscriber(getDb(c.env), Number(c.req.param("id")));
  return c.json({ subscriber });
});

subscriberRoutes.post("/subscribers/:id{[0-9]+}/unsubscribe", async (c) => {
  const id = Number(c.req.param("id"));
  const db = getDb(c.env);
  await getSubscriber(db, id);

  const { changed } = await unsubscribeSubscriber(c.env.DB, id);
  if (changed) log.info("subscriber unsubscribed by operator", { subscriberId: id });
  return c.json({ subscriber: await getSubscriber(db, id), changed });
});

subscriberRoutes.delete("/subscribers/:id{[0-9]+}", async (c) => {
  const id = Number(c.req.param("id"));
  await deleteSubscriber(c.env.DB, id);
  log.info("subscriber deleted", { subscriberId: id });
  return c.body(null, 204);
});

/** Runs the import and turns a database failure into an AppError that reports what was kept. */
async function runImport(
  db: D1Database,
  listId: number,
  rows: Parameters<typeof importSubscribers>[2],
) {
  try {
    return await importSubscribers(db, listId, rows);
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (error instanceof ImportIncompleteError) {
      const through = error.lastCommittedLine ? ` (through line ${error.lastCommittedLine})` : "";
      throw new AppError(
        500,
        "import_incomplete",
        `The import stopped after ${error.committedRows} of ${error.totalRows} rows${through} were saved, because the database rejected a write. Import the same file again to finish: rows already saved are updated, not duplicated.`,
        [],
        { cause: error },
      );
    }
    throw new AppError(
      500,
      "import_failed",
      "Nothing was imported because the database rejected the write. Try again; if it fails again, see the Worker logs.",
      [],
      { cause: error },
    );
  }
}

function csvFileError(error: CsvFileError): AppError {
  const details =
    error.line === undefined ? [] : [{ field: `line ${error.line}`, message: error.message }];
  return new AppError(400, error.code, error.message, details);
}

async function readJsonBody(c: Context<AppEnv>): Promise<unknown> {
  try {
    return await c.req.json();
  } catch (error) {
    throw new AppError(
      400,
      "invalid_json",
      "The request body is not valid JSON. Send a JSON object with Content-Type application/json.",
      [],
      { cause: error },
    );
  }
}

function parseQuery<T extends z.ZodType>(schema: T, query: Record<string, string>): z.output<T> {
  const result = schema.safeParse(query);
  if (result.success) return result.data;

  const details = result.error.issues.map((issue) => ({
    field: issue.path.map(String).join("."),
    message: issue.message,
  }));
  const fields = details.map((detail) => detail.field).join(", ");
  throw new AppError(400, "invalid_query", `The query string is invalid at: ${fields}.`, details);
}
