/**
 * `POST /hooks/bounces`: bounce and complaint notifications from an email
 * provider. The body is JSON,
 *
 *   { "type": "bounce" | "complaint", "email": "...", "messageId"?: "...",
 *     "status"?: "5.1.1", "diagnostic"?: "..." }
 *
 * signed with HMAC-SHA-256 of the raw body under WEBHOOK_SECRET, sent as
 * `X-Trickle-Signature: sha256=<hex>`. The signature is checked before the
 * body is parsed. Without WEBHOOK_SECRET the route returns 404.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/app";
import { AppError } from "../http/errors";
import { validationHook } from "../http/validation";
import { log } from "../log";
import { bounceKind, recordBounce } from "./record";

export const SIGNATURE_HEADER = "X-Trickle-Signature";

/** Notifications are a few hundred bytes; anything far larger is not one. */
const MAX_BODY_BYTES = 64 * 1024;

const notificationSchema = z.object({
  type: z.enum(["bounce", "complaint"]),
  email: z.email().max(320),
  messageId: z
    .string()
    .max(998)
    .transform((value) => value.trim().replace(/^<|>$/g, ""))
    .optional(),
  status: z
    .string()
    .regex(/^[245]\.\d{1,3}\.\d{1,3}$/, "expected an enhanced status code such as 5.1.1")
    .optional(),
  diagnostic: z.string().max(1000).optional(),
});

export const bounceHookRoutes = new Hono<AppEnv>();

// Set after the first request to the unconfigured webhook in this isolate,
// so a provider that keeps posting produces one warning, not one per request.
let warnedNotConfigured = false;

function warnNotConfiguredOnce() {
  if (warnedNotConfigured) return;
  warnedNotConfigured = true;
  log.warn("bounce webhook not configured", { setting: "WEBHOOK_SECRET" });
}

bounceHookRoutes.post("/bounces", async (c) => {
  const secret = c.env.WEBHOOK_SECRET;
  if (!secret) {
    // The webhook is optional, so an unset secret means it is turned off,
    // not that the Worker is misconfigured.
    warnNotConfiguredOnce();
    throw new AppError(
      404,
      "webhook_not_configured",
      "The bounce webhook is not configured. Set WEBHOOK_SECRET with `wrangler secret put WEBHOOK_SECRET` (or in .dev.vars for local development) to enable it.",
    );
  }

  const body = await c.req.arrayBuffer();
  if (body.byteLength > MAX_BODY_BYTES) {
    throw new AppError(413, "body_too_large", `The body is larger than ${MAX_BODY_BYTES} bytes.`);
  }
  if (!(await verifySignature(secret, body, c.req.header(SIGNATURE_HEADER)))) {
    throw new AppError(
      401,
      "signature_invalid",
      `Header ${SIGNATURE_HEADER} is missing or does not match the body; send sha256=<hex HMAC-SHA-256 of the raw body under WEBHOOK_SECRET>.`,
    );
  }

  const notification = parseNotification(body);
  const recorded = await recordBounce(
    c.env.DB,
    {
      kind:
        notification.type === "complaint"
          ? "complaint"
          : bounceKind(notification.status ?? null, notification.diagnostic ?? null),
      source: "webhook",
      email: notification.email,
      status: notification.status ?? null,
      diagnostic: notification.diagnostic ?? null,
      messageId: notification.messageId ?? null,
      trusted: true,
    },
    Date.now(),
  );
  return c.json({ bounce: recorded });
});

/** Checks `sha256=<hex>`; crypto.subtle.verify compares the MAC in constant time. */
export async function verifySignature(
  secret: string,
  body: ArrayBuffer,
  header: string | undefined,
): Promise<boolean> {
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header?.trim() ?? "");
  if (!match) return false;

  const signature = new Uint8Array(32);
  for (let index = 0; index < 32; index++) {
    signature[index] = parseInt(match[1].slice(index * 2, index * 2 + 2), 16);
  }

  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  return crypto.subtle.verify("HMAC", key, signature, body);
}

function parseNotification(body: ArrayBuffer) {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new AppError(400, "invalid_json", "The body is not valid JSON.", [
      { field: "(body)", message: "expected a JSON object" },
    ]);
  }

  const result = notificationSchema.safeParse(json);
  validationHook(result);
  return result.data!;
}
