/**
 * The admin panel's login session. The operator logs in with ADMIN_TOKEN once;
 * the browser then keeps a cookie whose value is an expiry time and an
 * HMAC-SHA-256 of it keyed with ADMIN_TOKEN, never the token itself. The
 * session is stateless: changing ADMIN_TOKEN ends every session at once.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../http/app";

/** Name of the session cookie; its path is /admin, so no other route receives it. */
export const SESSION_COOKIE = "trickle_admin";

/** Path of the session cookie and prefix of every panel route. */
export const ADMIN_PATH = "/admin";

/** Lifetime of a session in seconds (12 hours). */
export const SESSION_SECONDS = 12 * 60 * 60;

/** Domain-separation prefix of the MAC input, so the MAC is usable for nothing else. */
const MAC_CONTEXT = "trickle admin session v1\n";

const encoder = new TextEncoder();

/**
 * Compares a submitted token with ADMIN_TOKEN in constant time. Both are
 * hashed first, so the comparison also hides the token's length.
 */
export async function tokenMatches(submitted: string, adminToken: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(submitted), sha256(adminToken)]);
  return timingSafeEqual(a, b);
}

/** Builds the session value `<expiry in Unix seconds>.<base64url MAC>` for a new login. */
export async function createSessionValue(adminToken: string, now = Date.now()): Promise<string> {
  const expires = Math.floor(now / 1000) + SESSION_SECONDS;
  return `${expires}.${await sessionMac(adminToken, expires)}`;
}

/** Returns whether `value` is a session value for `adminToken` that has not expired. */
export async function verifySessionValue(
  value: string | undefined,
  adminToken: string,
  now = Date.now(),
): Promise<boolean> {
  const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value ?? "");
  if (!match) return false;

  const expires = Number(match[1]);
  if (expires * 1000 <= now) return false;

  const expected = await sessionMac(adminToken, expires);
  return timingSafeEqual(encoder.encode(match[2]), encoder.encode(expected));
}

/** Returns whether the request carries a valid session cookie. */
export async function hasSession(c: Context<AppEnv>, adminToken: string): Promise<boolean> {
  return verifySessionValue(getCookie(c, SESSION_COOKIE), adminToken);
}

/**
 * Sets the session cookie: HttpOnly, SameSite=Strict, and Secure unless the
 * panel is served over plain HTTP on a loopback host (`wrangler dev`), where
 * a browser would refuse to send a Secure cookie back.
 */
export async function startSession(c: Context<AppEnv>, adminToken: string): Promise<void> {
  setCookie(c, SESSION_COOKIE, await createSessionValue(adminToken), {
    path: ADMIN_PATH,
    httpOnly: true,
    secure: needsSecureCookie(c.req.url),
    sameSite: "Strict",
    maxAge: SESSION_SECONDS,
  });
}

/**
 * Removes the session cookie from the browser.
 * NOTE: sessions are stateless, so a copy of the cookie value stays valid
 * until it expires; only changing ADMIN_TOKEN ends it earlier.
 */
export function endSession(c: Context<AppEnv>): void {
  deleteCookie(c, SESSION_COOKIE, {
    path: ADMIN_PATH,
    httpOnly: true,
    secure: needsSecureCookie(c.req.url),
    sameSite: "Strict",
  });
}

/** False only for http:// on localhost, 127.0.0.0/8 or [::1]. */
export function needsSecureCookie(requestUrl: string): boolean {
  const url = new URL(requestUrl);
  if (url.protocol !== "http:") return true;

  const host = url.hostname;
  const loopback = host === "localhost" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
  return !loopback;
}

async function sessionMac(adminToken: string, expires: number): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(adminToken),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${MAC_CONTEXT}${expires}`));
  return base64url(new Uint8Array(mac));
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;

  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
