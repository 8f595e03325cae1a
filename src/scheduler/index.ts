/**
 * The cron pick. Each tick computes the account's budget, then picks due
 * mailings in random order, claims a batch from each and puts the batches on
 * the send queue, spread across the tick with `delaySeconds`.
 *
 * Random order instead of "sending first, oldest first": when every mailing
 * waits its turn at random, each one takes longer, and the visitor peak that
 * follows a mailing is smeared out over time. Every due mailing has the same
 * chance at every tick, so none starves.
 */
import { readConfig, type Config, type Env } from "../env";
import { log } from "../log";
import type { SendMessage } from "../sender/message";
import { claimBatch } from "./claim";
import { accountBudget, mailingAllowance, spreadDelay, type PacedMailing } from "./pacing";
import { finishMailings, requeueStaleDeliveries } from "./sweep";

export interface SchedulerOptions {
  now: number;
  /** Random source in [0, 1); tests pass a seeded one. */
  random?: () => number;
}

export interface TickSummary {
  claimed: number;
  messages: number;
  mailings: number[];
}

const DUE_MAILINGS = `
  SELECT m.id, m.status, m.rate_per_minute AS ratePerMinute, m.window_minutes AS windowMinutes,
         m.started_at AS startedAt,
         (SELECT COUNT(*) FROM deliveries d WHERE d.mailing_id = m.id AND d.state = 'pending')
           AS pending
    FROM mailings m
   WHERE m.status IN ('wait', 'sending') AND m.start_at <= ?1`;

/** Runs one cron tick; returns what it queued. */
export async function runScheduler(env: Env, options: SchedulerOptions): Promise<TickSummary> {
  const config = readConfig(env);
  const random = options.random ?? Math.random;
  const now = options.now;

  await requeueStaleDeliveries(env.DB, now);
  const due = await loadDueMailings(env.DB, now);

  let budget = accountBudget(config.ratePerMinute, config.tickSeconds);
  const candidates = due.filter((mailing) => mailing.pending > 0);
  const batches: { mailingId: number; batchId: string; ids: number[] }[] = [];

  while (budget > 0 && candidates.length > 0) {
    const [mailing] = candidates.splice(Math.floor(random() * candidates.length), 1);
    const limit = Math.min(budget, mailingAllowance(mailing, config.tickSeconds, now));
    if (limit <= 0) continue;

    const claims = await claimMessages(env.DB, mailing.id, limit, config.batchSize, now);
    if (claims.length === 0) continue;

    await markSending(env.DB, mailing.id, now);
    for (const claim of claims) {
      batches.push({ mailingId: mailing.id, batchId: claim.batchId, ids: claim.deliveryIds });
      budget -= claim.deliveryIds.length;
    }
  }

  const messages = await enqueueBatches(env, config, batches);
  await finishMailings(env.DB, now);

  const summary = {
    claimed: batches.reduce((sum, batch) => sum + batch.ids.length, 0),
    messages,
    mailings: batches.map((batch) => batch.mailingId),
  };
  if (summary.claimed > 0) log.info("batches queued", { ...summary, due: due.length });
  return summary;
}

async function loadDueMailings(db: D1Database, now: number): Promise<PacedMailing[]> {
  const { results } = await db.prepare(DUE_MAILINGS).bind(now).all<PacedMailing>();
  return results;
}

/** Moves a mailing from `wait` to `sending` on its first claim. */
async function markSending(db: D1Database, mailingId: number, now: number): Promise<void> {
  await db
    .prepare(
      `UPDATE mailings SET status = 'sending', started_at = COALESCE(started_at, ?1)
        WHERE id = ?2 AND status = 'wait'`,
    )
    .bind(now, mailingId)
    .run();
}

/**
 * Claims up to `limit` deliveries as claims of at most `batchSize`, one per
 * queue message, so a message's batch id selects exactly its deliveries.
 */
async function claimMessages(
  db: D1Database,
  mailingId: number,
  limit: number,
  batchSize: number,
  now: number,
) {
  const claims = [];
  let left = limit;
  while (left > 0) {
    const wanted = Math.min(left, batchSize);
    const claim = await claimBatch(db, mailingId, wanted, now);
    if (claim.deliveryIds.length > 0) claims.push(claim);

    // A short claim means the mailing has nothing more pending.
    if (claim.deliveryIds.length < wanted) break;
    left -= wanted;
  }
  return claims;
}

/**
 * Sends one queue message per claim, with delays spread across the tick. A
 * failed enqueue leaves the rows `queued`; the stale-delivery sweep returns
 * them to `pending` later.
 */
async function enqueueBatches(
  env: Env,
  config: Config,
  batches: { mailingId: number; batchId: string; ids: number[] }[],
): Promise<number> {
  const messages: SendMessage[] = batches.map((batch) => ({
    mailingId: batch.mailingId,
    batchId: batch.batchId,
    deliveryIds: batch.ids,
  }));

  // Queues take at most 100 messages per sendBatch call.
  for (let start = 0; start < messages.length; start += 100) {
    const chunk = messages.slice(start, start + 100).map((body, offset) => ({
      body,
      delaySeconds: spreadDelay(start + offset, messages.length, config.tickSeconds),
    }));
    try {
      await env.SEND_QUEUE.sendBatch(chunk);
    } catch (error) {
      log.error("enqueue failed", { messages: chunk.length, error });
      throw error;
    }
  }
  return messages.length;
}
