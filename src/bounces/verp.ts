/**
 * VERP return paths: every message goes out with the envelope sender
 *
 *   bounces+<delivery id>-<tag>@<BOUNCE_DOMAIN>
 *
 * so a bounce, which goes back to that address, names the delivery it is
 * about. The tag is the first 10 hex digits (40 bits) of an HMAC-SHA-256 over
 * the delivery id, so a bounce for a delivery cannot be forged by guessing
 * its id. The key is derived from LINK_SECRET; tags made with a key listed in
 * LINK_SECRET_PREVIOUS still verify after a rotation.
 */
import type { Config } from "../env";

const LOCAL_PART_PREFIX = "bounces";
const TAG_HEX_DIGITS = 10;
const RETURN_PATH = /^bounces\+(\d{1,15})-([0-9a-f]{10})@([^@\s]+)$/i;

// Per-isolate cache of imported keys, as importing costs more than signing.
let cachedKeys: { source: string; keys: Promise<CryptoKey[]> } | null = null;

/** Returns the envelope sender (MAIL FROM) of one delivery: a VERP address, or SENDER_EMAIL. */
export async function returnPathFor(config: Config, deliveryId: number): Promise<string> {
  if (!config.bounceDomain) return config.senderEmail;

  const [current] = await verpKeys(config);
  const tag = await signDeliveryId(current, deliveryId);
  return `${LOCAL_PART_PREFIX}+${deliveryId}-${tag}@${config.bounceDomain}`;
}

/**
 * Returns the delivery id of a VERP address whose tag verifies under the
 * current or a previous key, and null for any other address.
 */
export async function deliveryIdFromReturnPath(
  config: Config,
  address: string,
): Promise<number | null> {
  const match = RETURN_PATH.exec(address.trim().replace(/^<|>$/g, ""));
  if (!match) return null;

  const deliveryId = Number(match[1]);
  const tag = match[2].toLowerCase();
  for (const key of await verpKeys(config)) {
    if (constantTimeEqual(await signDeliveryId(key, deliveryId), tag)) return deliveryId;
  }
  return null;
}

async function signDeliveryId(key: CryptoKey, deliveryId: number): Promise<string> {
  const data = new TextEncoder().encode(`verp:${deliveryId}`);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, data));
  return [...mac.subarray(0, TAG_HEX_DIGITS / 2)]
    .map((byte) => byte.toString(16).padStart(2, "0"))
    .join("");
}

/** Imports the VERP keys, cached per isolate: the current one first, then one per previous secret. */
function verpKeys(config: Config): Promise<CryptoKey[]> {
  const source = `${config.linkSecret}\n${config.linkSecretPrevious}`;
  if (cachedKeys?.source === source) return cachedKeys.keys;

  const secrets = [config.linkSecret, ...config.linkSecretPrevious.split(",")]
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    // A key id prefix (`<key id>:`) is not part of the secret itself.
    .map((entry) => entry.replace(/^\d{1,9}:/, ""));
  const keys = Promise.all(secrets.map(importVerpKey));
  cachedKeys = { source, keys };
  return keys;
}

/** Imports a key used only for VERP tags, so a tag never equals a tracking id's MAC. */
function importVerpKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(`trickle verp\n${secret}`),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
}

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let index = 0; index < a.length; index++) {
    difference |= a.charCodeAt(index) ^ b.charCodeAt(index);
  }
  return difference === 0;
}
