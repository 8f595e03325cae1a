/**
 * Helpers for the tracking tests: seeded mailings with stored links and sent
 * deliveries, signed ids, and a fetch through the Worker whose events queue
 * and Analytics Engine dataset record what they receive.
 */
import {
  createExecutionContext,
  createMessageBatch,
  env,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import worker from "../../../src/index";
import type { Env } from "../../../src/env";
import type { TrackingEvent } from "../../../src/tracking/events";
import { recordTrackingEvents } from "../../../src/tracking/events";
import { loadLinkKeys, signRecipient, type RecipientIds } from "../../../src/tracking/ids";
import { seedLetter, seedList, seedMailing, type SeededSubscriber } from "../support/seed";

/** A browser user agent, classed as a person. */
export const BROWSER_UA =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15";

/** Long ago enough that no hit counts as "too soon after delivery". */
export const SENT_AT = Date.UTC(2026, 0, 1, 9, 0, 0);

export interface SeedLink {
  idx: number;
  url: string;
  hasTokens?: boolean;
  variant?: string;
}

export interface SeededMailing {
  mailingId: number;
  listId: number;
  subscribers: SeededSubscriber[];
}

/**
 * Seeds a list of `count` subscribers and a mailing to it in state
 * `sending`, with one sent delivery per subscriber and the given links.
 */
export async function seedSentMailing(
  count: number,
  links: SeedLink[],
  options: { variantOf?: (position: number) => string; sentAt?: number } = {},
): Promise<SeededMailing> {
  const { listId, subscribers } = await seedList(count);
  const letterId = await seedLetter("<html><body><p>Hello</p></body></html>");
  const mailingId = await seedMailing(letterId, listId, { status: "sending" });

  const statements = subscribers.map((subscriber, position) =>
    env.DB.prepare(
      `INSERT INTO deliveries (mailing_id, subscriber_id, variant, state, sent_at, updated_at)
       VALUES (?, ?, ?, 'sent', ?, ?)`,
    ).bind(
      mailingId,
      subscriber.id,
      options.variantOf?.(position) ?? "",
      options.sentAt ?? SENT_AT,
      options.sentAt ?? SENT_AT,
    ),
  );
  for (const link of links) {
    statements.push(
      env.DB.prepare(
        "INSERT INTO links (mailing_id, variant, idx, url, has_tokens) VALUES (?, ?, ?, ?, ?)",
      ).bind(mailingId, link.variant ?? "", link.idx, link.url, link.hasTokens ? 1 : 0),
    );
  }
  await env.DB.batch(statements);

  return { mailingId, listId, subscribers };
}

/** Signs a recipient with the test LINK_SECRET from vitest.config.mts. */
export async function idsFor(mailingId: number, subscriberId: number): Promise<RecipientIds> {
  const keys = await loadLinkKeys(env.LINK_SECRET!, env.LINK_SECRET_PREVIOUS ?? "");
  return signRecipient(keys, mailingId, subscriberId);
}

/** What one request through the Worker produced. */
export interface TrackedResponse {
  response: Response;
  events: TrackingEvent[];
  dataPoints: AnalyticsEngineDataPoint[];
}

/**
 * Sends a request through the Worker's fetch handler with an events queue and
 * an Analytics Engine dataset that record what they receive, and waits for
 * every `waitUntil` promise.
 */
export async function fetchTracked(
  path: string,
  init: RequestInit = {},
  envOverrides: Partial<Env> = {},
): Promise<TrackedResponse> {
  const events: TrackingEvent[] = [];
  const dataPoints: AnalyticsEngineDataPoint[] = [];
  const testEnv = {
    ...env,
    EVENTS_QUEUE: {
      send: async (body: TrackingEvent) => {
        events.push(body);
      },
      sendBatch: async (messages: Iterable<MessageSendRequest<TrackingEvent>>) => {
        for (const message of messages) events.push(message.body);
      },
    } as unknown as Queue<TrackingEvent>,
    ANALYTICS: {
      writeDataPoint: (point?: AnalyticsEngineDataPoint) => {
        if (point) dataPoints.push(point);
      },
    },
    ...envOverrides,
  };

  const headers = new Headers(init.headers);
  if (!headers.has("User-Agent")) headers.set("User-Agent", BROWSER_UA);
  const request = new Request(`https://t.example.net${path}`, {
    redirect: "manual",
    ...init,
    headers,
  });

  const ctx = createExecutionContext();
  const response = await worker.fetch(request as never, testEnv as Env, ctx);
  await waitOnExecutionContext(ctx);
  return { response, events, dataPoints };
}

/** Feeds events to the queue consumer as one batch and returns the ack state. */
export async function recordEvents(events: TrackingEvent[], targetEnv: Env = env) {
  const batch = createMessageBatch<TrackingEvent>(
    "trickle-events",
    events.map((body, position) => ({
      id: `event-${position}-${crypto.randomUUID()}`,
      timestamp: new Date(),
      attempts: 1,
      body,
    })),
  );
  const ctx = createExecutionContext();
  await recordTrackingEvents(batch, targetEnv);
  return getQueueResult(batch, ctx);
}

/** Reads the subscriber's status columns. */
export async function subscriberStatus(subscriberId: number) {
  return env.DB.prepare(
    "SELECT status, status_reason AS reason, status_changed_at AS changedAt FROM subscribers WHERE id = ?",
  )
    .bind(subscriberId)
    .first<{ status: string; reason: string | null; changedAt: number | null }>();
}

/** Counts rows of `table` for a mailing, optionally only one subscriber's. */
export async function countRows(
  table: "clicks" | "opens",
  mailingId: number,
  where = "1 = 1",
): Promise<number> {
  const row = await env.DB.prepare(
    `SELECT COUNT(*) AS n FROM ${table} WHERE mailing_id = ? AND ${where}`,
  )
    .bind(mailingId)
    .first<{ n: number }>();
  return row!.n;
}

/** Decodes a base64url id into its bytes. */
export function decodeId(id: string): Uint8Array {
  const base64 = id.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
}

/** Encodes bytes as an unpadded base64url id. */
export function encodeId(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}
