/**
 * Operator actions on a running mailing: pause, resume and cancel. Each is
 * one conditional UPDATE, so it cannot race with the cron pick into an
 * impossible state.
 */
import { AppError } from "../http/errors";
import { log } from "../log";

type Action = "pause" | "resume" | "cancel";

const TRANSITIONS: Record<Action, { from: string[]; to: string }> = {
  pause: { from: ["wait", "sending"], to: "paused" },
  // A mailing paused before its first claim goes back to waiting for its start time.
  resume: { from: ["paused"], to: "sending" },
  cancel: { from: ["draft", "wait", "sending", "paused"], to: "cancelled" },
};

/**
 * Applies an action. Cancelling also skips every delivery that has not
 * been handed to the sender yet. Deliveries already queued are skipped by
 * the sender when it loads the cancelled mailing.
 */
export async function changeMailingStatus(
  db: D1Database,
  mailingId: number,
  action: Action,
  now: number,
  reason: string | null = null,
): Promise<{ id: number; status: string }> {
  const { from, to } = TRANSITIONS[action];
  const marks = from.map(() => "?").join(", ");

  const statements = [
    db
      .prepare(
        `UPDATE mailings
            SET status = CASE WHEN ? = 'sending' AND started_at IS NULL THEN 'wait' ELSE ? END,
                paused_reason = ?,
                finished_at = CASE WHEN ? = 'cancelled' THEN ? ELSE finished_at END
          WHERE id = ? AND status IN (${marks})
          RETURNING id, status`,
      )
      .bind(to, to, action === "pause" ? reason : null, to, now, mailingId, ...from),
  ];
  if (action === "cancel") {
    statements.push(
      db
        .prepare(
          `UPDATE deliveries SET state = 'skipped', last_error = 'mailing cancelled', updated_at = ?
            WHERE mailing_id = ? AND state = 'pending'
              AND EXISTS (SELECT 1 FROM mailings WHERE id = ? AND status = 'cancelled')`,
        )
        .bind(now, mailingId, mailingId),
    );
  }

  const [update] = await db.batch(statements);
  const row = (update.results as { id: number; status: string }[])[0];
  if (!row) throw await transitionError(db, mailingId, action, from);

  log.info("mailing status changed", { mailingId, action, status: row.status, reason });
  return row;
}

async function transitionError(db: D1Database, mailingId: number, action: Action, from: string[]) {
  const current = await db
    .prepare("SELECT status FROM mailings WHERE id = ?")
    .bind(mailingId)
    .first<{ status: string }>();
  if (!current)
    return new AppError(404, "mailing_not_found", `Mailing ${mailingId} does not exist.`);

  return new AppError(
    409,
    "mailing_status_conflict",
    `Cannot ${action} mailing ${mailingId} while it is ${current.status}; ${action} applies to ${from.join(", ")}.`,
  );
}
