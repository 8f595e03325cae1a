/**
 * Auto-pause: a mailing whose recent sends mostly fail pauses itself, so one
 * broken relay or a broken letter does not burn through a whole list.
 *
 * The rule: within a window of 10 minutes, once at least 20 send attempts
 * were made and at least half of them failed (transient, permanent or
 * uncertain), the mailing is paused. Its paused_reason gives the counts and
 * the last error. The window is a fixed one that starts with the first
 * attempt after the previous window ended; it is emptied when the mailing
 * pauses itself, so a resumed mailing starts counting afresh.
 *
 * The sender adds each queue message's counts to `mailing_health` in the D1
 * batch that records its last outcome, so the rule costs no extra round trip.
 */
import { log } from "../log";
import type { SendOutcome } from "./smtp";

export const AUTO_PAUSE_WINDOW_MS = 10 * 60_000;
export const AUTO_PAUSE_MIN_ATTEMPTS = 20;
export const AUTO_PAUSE_FAILURE_PERCENT = 50;

/** Counts of one consumer call, added to the mailing's window when it records. */
export class SendTally {
  attempts = 0;
  failures = 0;
  lastFailure: string | null = null;

  add(outcome: SendOutcome): void {
    this.attempts++;
    if (outcome.kind === "sent") return;
    this.failures++;
    this.lastFailure = outcome.reply;
  }
}

/**
 * Statements that add the tally to the mailing's window, pause the mailing
 * when the window breaks the rule, and empty the window of a mailing that
 * was just paused. Pass their results to `reportAutoPause`.
 */
export function healthStatements(
  db: D1Database,
  mailingId: number,
  tally: SendTally,
  now: number,
): D1PreparedStatement[] {
  const overThreshold = `h.attempts >= ${AUTO_PAUSE_MIN_ATTEMPTS}
    AND h.failures * 100 >= h.attempts * ${AUTO_PAUSE_FAILURE_PERCENT}`;
  const minutes = AUTO_PAUSE_WINDOW_MS / 60_000;

  return [
    db
      .prepare(
        `INSERT INTO mailing_health (mailing_id, window_start, attempts, failures)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (mailing_id) DO UPDATE SET
           window_start = CASE WHEN window_start <= ?2 - ?5 THEN ?2 ELSE window_start END,
           attempts = CASE WHEN window_start <= ?2 - ?5 THEN ?3 ELSE attempts + ?3 END,
           failures = CASE WHEN window_start <= ?2 - ?5 THEN ?4 ELSE failures + ?4 END`,
      )
      .bind(mailingId, now, tally.attempts, tally.failures, AUTO_PAUSE_WINDOW_MS),
    db
      .prepare(
        `UPDATE mailings
            SET status = 'paused',
                paused_reason = (
                  SELECT 'auto-paused: ' || h.failures || ' of ' || h.attempts
                         || ' send attempts failed within ${minutes} minutes; last error: ' || ?2
                    FROM mailing_health h WHERE h.mailing_id = ?1)
          WHERE id = ?1 AND status = 'sending'
            AND EXISTS (SELECT 1 FROM mailing_health h WHERE h.mailing_id = ?1 AND ${overThreshold})
         RETURNING paused_reason`,
      )
      .bind(mailingId, (tally.lastFailure ?? "none").slice(0, 300)),
    db
      .prepare(
        `UPDATE mailing_health AS h SET attempts = 0, failures = 0, window_start = ?2
          WHERE h.mailing_id = ?1 AND ${overThreshold}
            AND EXISTS (SELECT 1 FROM mailings m WHERE m.id = ?1 AND m.status = 'paused')`,
      )
      .bind(mailingId, now),
  ];
}

/** Logs an auto-pause from the results of `healthStatements`; returns its reason or null. */
export function reportAutoPause(results: D1Result[], mailingId: number): string | null {
  const paused = (results[1]?.results as { paused_reason: string }[] | undefined)?.[0];
  if (!paused) return null;

  log.warn("mailing auto-paused", { mailingId, reason: paused.paused_reason });
  return paused.paused_reason;
}
