/**
 * Public tracking routes, mounted at the root of the app:
 *
 *   GET  /c/:id  302 to the link stored for the mailing (counts a click)
 *   GET  /o/:id  1x1 transparent GIF (counts an open)
 *   GET  /u/:id  unsubscribe page with a confirm button; changes nothing
 *   POST /u/:id  RFC 8058 one-click unsubscribe
 *   GET  /v/:id  the recipient's letter in the browser (counts an open)
 *
 * Only with TRICKLE_DEBUG=1: GET /c-baseline (a constant 302, the
 * benchmark's baseline) and GET /_debug/tracking (D1 query counters).
 *
 * Any id that is malformed, forged or of the wrong kind gets the same 404
 * page, never a redirect. Clicks and opens go to the events queue inside
 * `waitUntil`, so no response waits for an event's D1 write.
 */
import { Hono, type Context } from "hono";
import { ConfigError, type Env } from "../env";
import type { AppEnv } from "../http/app";
import { log } from "../log";
import { writeTrackingDataPoint } from "./analytics";
import { resolveDestination } from "./destination";
import type { TrackingEvent } from "./events";
import { loadLinkKeys, verifyId, type IdKind, type LinkKeys, type VerifiedId } from "./ids";
import { classifyHit } from "./machine";
import { enqueueEvent } from "./outbox";
import {
  confirmationMissingPage,
  notFoundPage,
  ONE_CLICK_FIELD,
  ONE_CLICK_VALUE,
  PAGE_HEADERS,
  unsubscribedPage,
  unsubscribePage,
} from "./pages";
import {
  findClickTarget,
  rememberDestination,
  trackingCacheSizes,
  trackingQueryCounter,
} from "./store";
import { loadUnsubscribeContext, unsubscribe } from "./unsubscribe";
import { renderWebViewPage } from "./web-view";

/** Settings read by these routes beyond the Worker's `Env`. */
type TrackingEnv = Env & {
  /** "1" enables the benchmark baseline and the debug counters route. */
  TRICKLE_DEBUG?: string;
};

type TrackingContext = Context<AppEnv>;

export const trackingRoutes = new Hono<AppEnv>();

/** Cache-Control of every redirect and pixel: a cached response would leave the hit uncounted. */
const NO_STORE = "no-store, private";

/** Maximum body of an unsubscribe POST, in bytes; RFC 8058 bodies are a few dozen. */
const MAX_UNSUBSCRIBE_BODY = 16_384;

/** A 1x1 transparent GIF (43 bytes). */
const TRANSPARENT_GIF = new Uint8Array([
  0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
  0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
  0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
]);

trackingRoutes.get("/c/:id", async (c) => {
  const now = Date.now();
  const verified = await verifyKind(c, "click");
  if (!verified) return notFound();

  const { mailingId, subscriberId } = verified;
  const linkIdx = verified.linkIdx as number;
  const target = await findClickTarget(c.env.DB, mailingId, subscriberId, linkIdx, now);
  if (!target) return notFound();

  const destination =
    target.cachedDestination ?? resolveDestination(mailingId, target.link, target.recipient);
  if (!destination) return notFound();
  if (target.link.hasTokens && !target.cachedDestination) {
    rememberDestination(mailingId, subscriberId, linkIdx, destination);
  }

  recordHit(c, "click", verified, target.variant, now);
  return redirect(destination);
});

trackingRoutes.get("/o/:id", async (c) => {
  const now = Date.now();
  const verified = await verifyKind(c, "open");

  // A mail client shows a broken-image icon for a non-image response, so an
  // invalid id still gets the GIF, with status 404 and nothing counted.
  if (!verified) return pixel(404);

  recordHit(c, "open", verified, "", now);
  return pixel(200);
});

trackingRoutes.get("/u/:id", async (c) => {
  const verified = await verifyKind(c, "unsubscribe");
  if (!verified) return notFound();

  // Link scanners GET every URL in a message, so viewing changes nothing.
  const context = await loadUnsubscribeContext(c.env.DB, verified.mailingId, verified.subscriberId);
  return page(unsubscribePage(context), 200);
});

trackingRoutes.post("/u/:id", async (c) => {
  const verified = await verifyKind(c, "unsubscribe");
  if (!verified) return notFound();

  const { mailingId, subscriberId } = verified;
  const confirmation = await readOneClickConfirmation(c);
  if (confirmation === "too_large") return page(confirmationMissingPage(), 413);
  if (confirmation === "missing") {
    log.info("unsubscribe not confirmed", { mailingId, subscriberId });
    return page(confirmationMissingPage(), 400);
  }

  const result = await unsubscribe(c.env.DB, mailingId, subscriberId, Date.now());
  log.info("subscriber unsubscribed", { mailingId, subscriberId, ...result });

  const context = await loadUnsubscribeContext(c.env.DB, mailingId, subscriberId);
  return page(unsubscribedPage(context), 200);
});

trackingRoutes.get("/v/:id", async (c) => {
  const now = Date.now();
  const verified = await verifyKind(c, "web");
  if (!verified) return notFound();

  const html = await renderWebViewPage(c.env, await linkKeys(c.env), verified);
  if (html === null) return notFound();

  // The web view carries no open pixel, and reading it is reading the letter.
  recordHit(c, "open", verified, "", now);

  return new Response(html, {
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": NO_STORE,
      "X-Robots-Tag": "noindex",
      "Referrer-Policy": "no-referrer",
      // Letters need images and styles from anywhere, but never scripts.
      "Content-Security-Policy": "script-src 'none'; object-src 'none'; base-uri 'none'",
    },
  });
});

trackingRoutes.get("/c-baseline", (c) => {
  if (!debugEnabled(c)) return c.notFound();
  return redirect("https://example.com/");
});

trackingRoutes.get("/_debug/tracking", (c) => {
  if (!debugEnabled(c)) return c.notFound();
  return c.json({ ...trackingQueryCounter, caches: trackingCacheSizes() });
});

function debugEnabled(c: TrackingContext): boolean {
  return (c.env as TrackingEnv).TRICKLE_DEBUG === "1";
}

function linkKeys(env: Env): Promise<LinkKeys> {
  if (!env.LINK_SECRET?.trim()) {
    throw new ConfigError(
      "LINK_SECRET",
      "Secret LINK_SECRET is missing. Set it with `wrangler secret put LINK_SECRET`, or in .dev.vars for local development.",
    );
  }
  return loadLinkKeys(env.LINK_SECRET, env.LINK_SECRET_PREVIOUS ?? "");
}

/** Verifies the `:id` parameter and returns it only when it is of the expected kind. */
async function verifyKind(c: TrackingContext, kind: IdKind): Promise<VerifiedId | null> {
  const verified = await verifyId(await linkKeys(c.env), c.req.param("id") ?? "");
  return verified?.kind === kind ? verified : null;
}

/**
 * Counts a click or open: one Analytics Engine data point now, and one queue
 * message sent in a batch after the response. HEAD requests and known
 * scanners are recorded as machines.
 */
function recordHit(
  c: TrackingContext,
  type: TrackingEvent["type"],
  verified: VerifiedId,
  variant: string,
  now: number,
): void {
  const cf = c.req.raw.cf as { asn?: number } | undefined;
  const reason = classifyHit(type, {
    method: c.req.method,
    userAgent: c.req.header("User-Agent") ?? null,
    asn: cf?.asn,
  });

  const event: TrackingEvent = {
    type,
    mailingId: verified.mailingId,
    subscriberId: verified.subscriberId,
    variant,
    linkIdx: type === "click" ? (verified.linkIdx as number) : -1,
    machine: reason !== null,
    at: now,
  };
  writeTrackingDataPoint(c.env.ANALYTICS, event, reason);

  const flush = enqueueEvent(c.env.EVENTS_QUEUE, event);
  if (flush) waitUntil(c, flush);
}

function waitUntil(c: TrackingContext, promise: Promise<unknown>): void {
  let context: ExecutionContext | null = null;
  try {
    context = c.executionCtx as ExecutionContext;
  } catch {
    // Hono throws when the app was called without an execution context.
  }

  if (context) context.waitUntil(promise);
}

/**
 * Reads an unsubscribe POST body, multipart or urlencoded (also when the
 * Content-Type is missing), and reports whether it carries
 * `List-Unsubscribe=One-Click`. An unreadable body counts as missing.
 */
async function readOneClickConfirmation(
  c: TrackingContext,
): Promise<"confirmed" | "missing" | "too_large"> {
  const bytes = await readBodyUpTo(c.req.raw, MAX_UNSUBSCRIBE_BODY);
  if (bytes === null) return "too_large";

  const contentType = c.req.header("Content-Type") ?? "";
  let values: unknown[];
  try {
    if (/^multipart\/form-data/i.test(contentType)) {
      const form = await new Response(bytes, {
        headers: { "Content-Type": contentType },
      }).formData();
      values = form.getAll(ONE_CLICK_FIELD);
    } else {
      values = new URLSearchParams(new TextDecoder().decode(bytes)).getAll(ONE_CLICK_FIELD);
    }
  } catch {
    return "missing";
  }

  const confirmed = values.some(
    (value) => typeof value === "string" && value.trim() === ONE_CLICK_VALUE,
  );
  return confirmed ? "confirmed" : "missing";
}

/** Reads a request body, or returns null as soon as it exceeds `limit` bytes. */
async function readBodyUpTo(
  request: Request,
  limit: number,
): Promise<Uint8Array<ArrayBuffer> | null> {
  if (!request.body) return new Uint8Array();

  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;

    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }

  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function redirect(location: string): Response {
  return new Response(null, {
    status: 302,
    headers: { Location: location, "Cache-Control": NO_STORE, "Referrer-Policy": "no-referrer" },
  });
}

function pixel(status: 200 | 404): Response {
  return new Response(TRANSPARENT_GIF, {
    status,
    headers: {
      "Content-Type": "image/gif",
      "Content-Length": String(TRANSPARENT_GIF.length),
      "Cache-Control": NO_STORE,
      Expires: "0",
    },
  });
}

function page(html: string, status: 200 | 400 | 404 | 413): Response {
  return new Response(html, { status, headers: PAGE_HEADERS });
}

/** Returns the plain 404 page of the public routes, also used for every unknown public path. */
export function notFound(): Response {
  return page(notFoundPage(), 404);
}
