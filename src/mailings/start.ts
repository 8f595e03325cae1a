/**
 * Starting a mailing: freeze the letter, store its tracked links and create
 * one delivery per active member of the list, all in one atomic D1 batch.
 * Deliveries come from INSERT ... SELECT inside D1, never row by row from
 * the Worker, so a list of 100,000 costs one statement.
 */
import { eq } from "drizzle-orm";
import { getDb } from "../db";
import { letters } from "../db/schema";
import { compileLetter, LetterError } from "../render";
import { letterSource, type LetterRow } from "../letters/source";
import { AppError } from "../http/errors";
import { log } from "../log";

/** Rows of the links table per INSERT; 4 parameters each stays under D1's 100. */
const LINKS_PER_INSERT = 24;

export interface StartedMailing {
  id: number;
  status: string;
  total: number;
}

export async function startMailing(
  db: D1Database,
  mailingId: number,
  now: number,
): Promise<StartedMailing> {
  const mailing = await db
    .prepare(
      "SELECT id, name, status, letter_id AS letterId, list_id AS listId FROM mailings WHERE id = ?",
    )
    .bind(mailingId)
    .first<{ id: number; name: string; status: string; letterId: number; listId: number }>();
  if (!mailing)
    throw new AppError(404, "mailing_not_found", `Mailing ${mailingId} does not exist.`);
  if (mailing.status !== "draft") {
    throw new AppError(
      409,
      "mailing_not_draft",
      `Mailing ${mailingId} is ${mailing.status}; only a draft can be started.`,
    );
  }

  await requireActiveMembers(db, mailing.listId);
  const letter = await loadLetterRow(db, mailing.letterId);
  const source = letterSource(letter);
  const compiled = compileOrReject(source, mailing.name, letter.id);

  // Every statement after the first is guarded by the mailing still being a
  // draft, so two concurrent starts cannot both insert.
  const statements = [
    ...linkInserts(db, mailingId, compiled.links),
    db
      .prepare(
        `INSERT INTO deliveries (mailing_id, subscriber_id, variant, state, updated_at)
         SELECT ?1, s.id, '', 'pending', ?2
           FROM list_members lm JOIN subscribers s ON s.id = lm.subscriber_id
          WHERE lm.list_id = (SELECT list_id FROM mailings WHERE id = ?1 AND status = 'draft')
            AND s.status = 'active'
         ON CONFLICT (mailing_id, subscriber_id) DO NOTHING`,
      )
      .bind(mailingId, now),
    db
      .prepare(
        `UPDATE mailings
            SET status = CASE
                  WHEN (SELECT COUNT(*) FROM deliveries WHERE mailing_id = ?1) = 0 THEN 'done'
                  ELSE 'wait' END,
                letter_snapshot = ?2,
                total = (SELECT COUNT(*) FROM deliveries WHERE mailing_id = ?1),
                finished_at = CASE
                  WHEN (SELECT COUNT(*) FROM deliveries WHERE mailing_id = ?1) = 0 THEN ?3 END
          WHERE id = ?1 AND status = 'draft'
          RETURNING id, status, total`,
      )
      .bind(mailingId, JSON.stringify(source), now),
  ];

  const results = await db.batch(statements);
  const started = (results.at(-1)?.results as StartedMailing[] | undefined)?.[0];
  if (!started) {
    throw new AppError(
      409,
      "mailing_not_draft",
      `Mailing ${mailingId} was started by another request.`,
    );
  }

  log.info("mailing started", { mailingId, total: started.total, links: compiled.links.length });
  return started;
}

/**
 * Rejects a start that would send to no one: a mailing, once started, can
 * never be started again, so starting an empty list would only use it up.
 */
async function requireActiveMembers(db: D1Database, listId: number): Promise<void> {
  const row = await db
    .prepare(
      `SELECT COUNT(*) AS count FROM list_members lm JOIN subscribers s ON s.id = lm.subscriber_id
        WHERE lm.list_id = ? AND s.status = 'active'`,
    )
    .bind(listId)
    .first<{ count: number }>();
  if ((row?.count ?? 0) > 0) return;

  throw new AppError(
    422,
    "list_empty",
    `List ${listId} has no active subscribers. Import subscribers into it, then start the mailing.`,
  );
}

async function loadLetterRow(db: D1Database, letterId: number): Promise<LetterRow> {
  const row = await getDb({ DB: db }).select().from(letters).where(eq(letters.id, letterId)).get();
  if (!row) throw new AppError(404, "letter_not_found", `Letter ${letterId} does not exist.`);
  return row;
}

function compileOrReject(source: ReturnType<typeof letterSource>, name: string, letterId: number) {
  try {
    return compileLetter(source, { mailingName: name });
  } catch (error) {
    if (!(error instanceof LetterError)) throw error;

    const details = error.issues
      .filter((issue) => issue.severity === "error")
      .map((issue) => ({
        field: `line ${issue.line}`,
        message: `${issue.message}: ${issue.text}`,
      }));
    throw new AppError(
      422,
      "letter_invalid",
      `Letter ${letterId} has ${details.length} error(s); fix them before starting the mailing.`,
      details,
    );
  }
}

function linkInserts(
  db: D1Database,
  mailingId: number,
  links: { idx: number; url: string; hasTokens: boolean }[],
) {
  const statements: D1PreparedStatement[] = [];
  for (let start = 0; start < links.length; start += LINKS_PER_INSERT) {
    const chunk = links.slice(start, start + LINKS_PER_INSERT);
    const placeholders = chunk.map(() => "(?, '', ?, ?, ?)").join(", ");
    const values = chunk.flatMap((link) => [mailingId, link.idx, link.url, link.hasTokens ? 1 : 0]);
    statements.push(
      db
        .prepare(
          `INSERT INTO links (mailing_id, variant, idx, url, has_tokens)
           SELECT * FROM (VALUES ${placeholders})
            WHERE EXISTS (SELECT 1 FROM mailings WHERE id = ${Number(mailingId)} AND status = 'draft')`,
        )
        .bind(...values),
    );
  }
  return statements;
}
