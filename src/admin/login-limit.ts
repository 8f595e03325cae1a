/**
 * A limit on failed admin logins per client address, so the admin token
 * cannot be guessed at the speed of the network.
 *
 * NOTE: the failures are counted in memory of one Worker isolate. Cloudflare
 * runs many isolates and restarts them at any time, so this is best effort:
 * it slows guessing down but does not bound it. ADMIN_TOKEN must still be
 * long and random (for example `openssl rand -base64 32`).
 */

/** Failed logins from one address within FAILED_LOGIN_WINDOW_MS before logins are rejected. */
export const MAX_FAILED_LOGINS = 5;

/** Span in which failed logins are counted, in milliseconds. */
export const FAILED_LOGIN_WINDOW_MS = 10 * 60_000;

/** Maximum number of addresses tracked; the address tracked longest is dropped first. */
const MAX_TRACKED_CLIENTS = 10_000;

/** Failed login times (Unix ms) per client address, oldest first. */
export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures = MAX_FAILED_LOGINS,
    private readonly windowMs = FAILED_LOGIN_WINDOW_MS,
  ) {}

  /** Returns the time (Unix ms) from which `client` may log in again, or null when it may now. */
  retryAt(client: string, now: number): number | null {
    const recent = this.recentFailures(client, now);
    if (recent.length < this.maxFailures) return null;

    // The oldest failure that still counts leaves the window first.
    return recent[recent.length - this.maxFailures] + this.windowMs;
  }

  /** Records a failed login of `client` at `now`. */
  recordFailure(client: string, now: number): void {
    const recent = this.recentFailures(client, now);
    recent.push(now);

    // Re-inserting moves the address to the end of the Map's insertion order.
    this.failures.delete(client);
    this.failures.set(client, recent.slice(-this.maxFailures));

    if (this.failures.size > MAX_TRACKED_CLIENTS) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  /** Forgets the failures of `client`, after it logged in. */
  reset(client: string): void {
    this.failures.delete(client);
  }

  private recentFailures(client: string, now: number): number[] {
    const times = this.failures.get(client) ?? [];
    return times.filter((time) => now - time < this.windowMs);
  }
}

/** The limiter of this isolate, shared by all login requests it serves. */
export const loginLimiter = new LoginLimiter();
