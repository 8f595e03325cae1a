/**
 * Writes parsed subscriber rows to D1 with set-based SQL: each statement
 * takes a chunk of rows as one JSON array parameter and expands it with
 * `json_each`. That keeps every statement at three bound parameters or
 * fewer, far below D1's limit of 100, whatever the chunk size.
 *
 * Atomicity: the statements of up to `rowsPerBatch` rows go to D1 in one
 * `db.batch()`, which D1 runs as one transaction. A file with at most
 * `rowsPerBatch` unique rows (10,000 by default) is therefore imported all
 * or nothing. A larger file is written in several batches, one after the
 * other. Each batch is all or nothing, and a failed batch stops the import
 * with an ImportIncompleteError that reports how many rows were committed.
 * Importing the same file again is safe and finishes the job, because rows
 * are upserted on email and memberships are added only when missing.
 */
import { AppError } from "../http/errors";
import { log } from "../log";
import type { SubscriberStatus } from "../db/schema";
import type { SubscriberRow } from "./csv/types";

/**
 * Rows per statement. Each chunk is one JSON string parameter and D1 limits
 * a string to 2,000,000 bytes, so a chunk is also cut at MAX_CHUNK_BYTES.
 */
const DEFAULT_ROWS_PER_STATEMENT = 1000;
const MAX_CHUNK_BYTES = 1_000_000;
/**
 * Rows per D1 batch, which D1 runs as one transaction.
 * NOTE: 10,000 is an estimate. D1 documents a 30-second limit per query but
 * no limit on the size of a batch. A batch of 10,000 rows like the fixture's
 * is 30 statements and about 1.5 MB of parameters, and took about 0.1 s in
 * local workerd.
 */
const DEFAULT_ROWS_PER_BATCH = 10_000;

/** A subscriber to write; `line` only labels the row in the result. */
export type ImportRow = Omit<SubscriberRow, "line"> & { line?: number };

/** Progress after each committed batch. */
export interface ImportProgress {
  rowsDone: number;
  rowsTotal: number;
  batchesDone: number;
  batchesTotal: number;
}

export interface ImportOptions {
  /** Timestamp for new subscribers and memberships, Unix ms. */
  now?: number;
  rowsPerStatement?: number;
  rowsPerBatch?: number;
  /** Called after each batch is committed. */
  onProgress?: (progress: ImportProgress) => void;
}

/**
 * A subscriber in the file whose status keeps them from receiving mail: an
 * existing suppressed subscriber, or a new one created from `suppressions`.
 */
export interface SuppressedSubscriber {
  line?: number;
  email: string;
  status: SubscriberStatus;
}

export interface ImportResult {
  /** Rows written: created plus updated. */
  imported: number;
  created: number;
  /** Existing subscribers whose names and attributes were updated from the file. */
  updated: number;
  /**
   * Subscribers that stay suppressed (unsubscribed, bounced, complained):
   * existing ones, and new ones whose address is in `suppressions`.
   */
  suppressed: SuppressedSubscriber[];
  /** Memberships of the list that did not exist before. */
  addedToList: number;
  batches: number;
}

/**
 * The import stopped after some batches were committed. `committedRows`
 * rows (in file order) are in the database; the rest are not.
 */
export class ImportIncompleteError extends Error {
  constructor(
    readonly committedRows: number,
    readonly totalRows: number,
    readonly lastCommittedLine: number | undefined,
    options: { cause: unknown },
  ) {
    super(
      `Import stopped after ${committedRows} of ${totalRows} rows were committed: ${errorMessage(options.cause)}`,
      options,
    );
    this.name = "ImportIncompleteError";
  }
}

/**
 * Upserts `rows` into subscribers and adds each to list `listId`.
 *
 * A new email creates an active subscriber, unless the address is in
 * `suppressions` because a suppressed subscriber with it was deleted: then
 * the subscriber is created with the stored status and reason, counted as
 * created and listed as suppressed. An existing subscriber gets the
 * file's names (only for name columns the file has) and the file's
 * attributes merged over the stored ones. Their status never changes, so a
 * suppressed address stays suppressed and is listed in the result. Rows with
 * an email seen earlier in `rows` are ignored. Emails must already be
 * normalised (see `normalizeEmail`).
 *
 * Throws AppError 404 when the list does not exist, and ImportIncompleteError
 * when a batch fails after earlier batches were committed.
 */
export async function importSubscribers(
  db: D1Database,
  listId: number,
  rows: readonly ImportRow[],
  options: ImportOptions = {},
): Promise<ImportResult> {
  await checkListExists(db, listId);

  const now = options.now ?? Date.now();
  const unique = uniqueByEmail(rows);
  const chunks = chunkRows(unique, options.rowsPerStatement ?? DEFAULT_ROWS_PER_STATEMENT);
  const batches = groupChunks(chunks, options.rowsPerBatch ?? DEFAULT_ROWS_PER_BATCH);
  const lineByEmail = new Map(unique.map((row) => [row.email, row.line]));

  const result: ImportResult = {
    imported: 0,
    created: 0,
    updated: 0,
    suppressed: [],
    addedToList: 0,
    batches: batches.length,
  };
  const progress: ImportProgress = {
    rowsDone: 0,
    rowsTotal: unique.length,
    batchesDone: 0,
    batchesTotal: batches.length,
  };

  for (const batch of batches) {
    const statements = batch.flatMap((chunk) => chunkStatements(db, chunk.json, listId, now));

    let outcomes: D1Result[];
    try {
      outcomes = await db.batch(statements);
    } catch (error) {
      throw importFailure(error, listId, progress, unique);
    }

    addOutcomes(result, outcomes, lineByEmail);
    progress.rowsDone += batch.reduce((sum, chunk) => sum + chunk.size, 0);
    progress.batchesDone++;
    log.info("subscriber import batch committed", { listId, ...progress });
    options.onProgress?.({ ...progress });
  }

  result.imported = result.created + result.updated;
  return result;
}

interface Chunk {
  json: string;
  size: number;
}

async function checkListExists(db: D1Database, listId: number): Promise<void> {
  const list = await db.prepare("SELECT id FROM lists WHERE id = ?").bind(listId).first();
  if (!list) {
    throw new AppError(
      404,
      "list_not_found",
      `List ${listId} does not exist. Create it with POST /api/lists first.`,
    );
  }
}

/** Keeps the first row of each email, so no statement receives an email twice. */
function uniqueByEmail(rows: readonly ImportRow[]): ImportRow[] {
  const seen = new Set<string>();
  return rows.filter((row) => {
    if (seen.has(row.email)) return false;
    seen.add(row.email);
    return true;
  });
}

/** Serialises rows into JSON arrays of at most `maxRows` rows and MAX_CHUNK_BYTES bytes. */
function chunkRows(rows: readonly ImportRow[], maxRows: number): Chunk[] {
  const chunks: Chunk[] = [];
  let parts: string[] = [];
  let bytes = 2;

  for (const row of rows) {
    const part = JSON.stringify({
      email: row.email,
      firstName: row.firstName,
      lastName: row.lastName,
      attributes: row.attributes,
    });
    const partBytes = utf8Length(part) + 1;

    if (parts.length > 0 && (parts.length >= maxRows || bytes + partBytes > MAX_CHUNK_BYTES)) {
      chunks.push({ json: `[${parts.join(",")}]`, size: parts.length });
      parts = [];
      bytes = 2;
    }
    parts.push(part);
    bytes += partBytes;
  }

  if (parts.length > 0) chunks.push({ json: `[${parts.join(",")}]`, size: parts.length });
  return chunks;
}

/** Groups chunks into batches of at most `maxRows` rows; a batch always takes at least one chunk. */
function groupChunks(chunks: Chunk[], maxRows: number): Chunk[][] {
  const batches: Chunk[][] = [];
  let current: Chunk[] = [];
  let rows = 0;

  for (const chunk of chunks) {
    if (current.length > 0 && rows + chunk.size > maxRows) {
      batches.push(current);
      current = [];
      rows = 0;
    }
    current.push(chunk);
    rows += chunk.size;
  }

  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Builds the three statements for one chunk, in this order: update existing
 * subscribers, insert new ones, add memberships. The update and the insert
 * return the email and status of each row they write. The update runs first
 * so that it never touches rows this chunk creates.
 */
function chunkStatements(
  db: D1Database,
  json: string,
  listId: number,
  now: number,
): D1PreparedStatement[] {
  const update = db
    .prepare(
      `UPDATE subscribers
       SET first_name = coalesce(incoming.value ->> 'firstName', subscribers.first_name),
           last_name = coalesce(incoming.value ->> 'lastName', subscribers.last_name),
           attributes = json_patch(subscribers.attributes, incoming.value -> 'attributes')
       FROM json_each(?1) AS incoming
       WHERE subscribers.email = incoming.value ->> 'email'
       RETURNING email, status`,
    )
    .bind(json);

  // Without "WHERE true", SQLite would read ON CONFLICT as part of the
  // SELECT ("Parsing Ambiguity" in https://sqlite.org/lang_upsert.html).
  const insert = db
    .prepare(
      `INSERT INTO subscribers (email, first_name, last_name, attributes,
                                status, status_reason, status_changed_at, created_at)
       SELECT incoming.value ->> 'email',
              coalesce(incoming.value ->> 'firstName', ''),
              coalesce(incoming.value ->> 'lastName', ''),
              coalesce(incoming.value -> 'attributes', '{}'),
              coalesce(suppressions.status, 'active'),
              suppressions.reason,
              CASE WHEN suppressions.email IS NULL THEN NULL ELSE ?2 END,
              ?2
       FROM json_each(?1) AS incoming
       LEFT JOIN suppressions ON suppressions.email = incoming.value ->> 'email'
       WHERE true
       ON CONFLICT (email) DO NOTHING
       RETURNING email, status`,
    )
    .bind(json, now);

  const addMembers = db
    .prepare(
      `INSERT INTO list_members (list_id, subscriber_id, added_at)
       SELECT ?2, subscribers.id, ?3
       FROM json_each(?1) AS incoming
       JOIN subscribers ON subscribers.email = incoming.value ->> 'email'
       WHERE true
       ON CONFLICT (list_id, subscriber_id) DO NOTHING`,
    )
    .bind(json, listId, now);

  return [update, insert, addMembers];
}

interface WrittenRow {
  email: string;
  status: SubscriberStatus;
}

function addOutcomes(
  result: ImportResult,
  outcomes: D1Result[],
  lineByEmail: Map<string, number | undefined>,
): void {
  for (let index = 0; index < outcomes.length; index += 3) {
    const updated = outcomes[index].results as WrittenRow[];
    const created = outcomes[index + 1].results as WrittenRow[];
    result.updated += updated.length;
    result.created += created.length;
    result.addedToList += outcomes[index + 2].meta.changes;

    for (const { email, status } of [...updated, ...created]) {
      if (status !== "active")
        result.suppressed.push({ line: lineByEmail.get(email), email, status });
    }
  }
}

function importFailure(
  error: unknown,
  listId: number,
  progress: ImportProgress,
  rows: readonly ImportRow[],
): Error {
  log.error("subscriber import batch failed", { listId, ...progress, error });
  if (progress.rowsDone === 0) return error instanceof Error ? error : new Error(String(error));

  const lastCommittedLine = rows[progress.rowsDone - 1]?.line;
  return new ImportIncompleteError(progress.rowsDone, progress.rowsTotal, lastCommittedLine, {
    cause: error,
  });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Byte length of `text` in UTF-8, without encoding it. */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 4;
      index++;
    } else bytes += 3;
  }
  return bytes;
}
