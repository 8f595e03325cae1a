/**
 * Pacing: how many messages a cron tick may claim, for the account and for
 * each mailing. All figures are per tick; a tick lasts `tickSeconds`.
 */

export interface PacedMailing {
  id: number;
  ratePerMinute: number | null;
  windowMinutes: number | null;
  /** When the mailing first started sending (Unix ms); null before its first claim. */
  startedAt: number | null;
  /** Deliveries still pending. */
  pending: number;
}

/** Returns the account's budget for one tick, at least one message so a slow rate still moves. */
export function accountBudget(ratePerMinute: number, tickSeconds: number): number {
  return Math.max(1, Math.floor((ratePerMinute * tickSeconds) / 60));
}

/**
 * Returns the maximum one mailing may claim this tick. A rate caps it per
 * minute. A window spreads what is still pending evenly over the ticks left
 * in it, so the site behind the links gets a steady stream instead of a peak.
 */
export function mailingAllowance(mailing: PacedMailing, tickSeconds: number, now: number): number {
  let allowance = mailing.pending;

  if (mailing.ratePerMinute !== null) {
    allowance = Math.min(allowance, accountBudget(mailing.ratePerMinute, tickSeconds));
  }

  if (mailing.windowMinutes !== null) {
    const started = mailing.startedAt ?? now;
    const windowEnd = started + mailing.windowMinutes * 60_000;
    const ticksLeft = Math.max(1, Math.ceil((windowEnd - now) / (tickSeconds * 1000)));
    allowance = Math.min(allowance, Math.ceil(mailing.pending / ticksLeft));
  }

  return Math.max(0, allowance);
}

/**
 * Delay in seconds for message `index` of `count`, spreading the tick's
 * messages evenly across the tick instead of sending them all at its start.
 */
export function spreadDelay(index: number, count: number, tickSeconds: number): number {
  if (count <= 1) return 0;
  return Math.min(tickSeconds - 1, Math.floor((index * tickSeconds) / count));
}
