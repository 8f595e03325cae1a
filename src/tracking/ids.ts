/**
 * Signed recipient ids for the public tracking routes (/c/, /o/, /u/, /v/).
 *
 * An id is base64url of these bytes:
 *
 *   varint key id | varint mailing id | varint subscriber id | varint selector | 8-byte tag
 *
 * The selector is 0 for an open, 1 for an unsubscribe, 2 for the web view and
 * 3 + n for a click on link n. One HMAC-SHA-256 over the first three varints
 * is computed per recipient. Its 32 bytes are cut into four 8-byte tags, one
 * per kind (click, open, unsubscribe, web), so an open-pixel URL, which image
 * proxies see, cannot be turned into that recipient's unsubscribe URL. The link
 * index stays outside the MAC: a changed index only selects another of the
 * mailing's own stored links, never a URL from the request.
 *
 * With key id 1, a mailing id below 16 384, a subscriber id below 2 097 152
 * and a link index below 125, an id is at most 15 bytes, 20 base64url
 * characters (mailing 42, subscriber 1234: 13 bytes, 18 characters).
 */
import { ConfigError } from "../env";

/** Kinds of tracking id, one per public route. */
export type IdKind = "click" | "open" | "unsubscribe" | "web";

/** An HMAC key with the id that is written into every id it signs. */
export interface LinkKey {
  id: number;
  key: CryptoKey;
}

/** The current signing key and the earlier keys that still verify. */
export interface LinkKeys {
  current: LinkKey;
  /** Earlier keys by key id; ids they signed verify, new ids never use them. */
  previous: ReadonlyMap<number, CryptoKey>;
}

/** The ids of one recipient in one mailing. */
export interface RecipientIds {
  click(linkIdx: number): string;
  open(): string;
  unsubscribe(): string;
  web(): string;
}

/** The mailing, recipient and route of a valid id; `linkIdx` is set for clicks only. */
export type VerifiedId = {
  mailingId: number;
  subscriberId: number;
  linkIdx: number | null;
  kind: IdKind;
};

const TAG_BYTES = 8;
const SELECTOR_OPEN = 0;
const SELECTOR_UNSUBSCRIBE = 1;
const SELECTOR_WEB = 2;
const SELECTOR_FIRST_CLICK = 3;

/** Offset of each kind's tag inside the 32-byte HMAC output. */
const TAG_OFFSET: Record<IdKind, number> = { click: 0, open: 8, unsubscribe: 16, web: 24 };

/** Maximum link index of a click id; `RecipientIds.click` throws a RangeError above it. */
export const MAX_LINK_IDX = 100_000;

/** Maximum id length in characters; a longer id is rejected before decoding. */
export const MAX_ID_LENGTH = 64;

/** Maximum key id, mailing id or subscriber id, which fits the 8-byte varint limit below. */
const MAX_ID_VALUE = 2 ** 53 - 1;
const MAX_VARINT_BYTES = 8;

// Per-isolate cache of imported keys: the settings rarely change, and
// importing a key costs more than signing with it.
let cachedKeys: { source: string; keys: Promise<LinkKeys> } | null = null;

/**
 * Imports the current and previous HMAC keys, cached per isolate.
 *
 * `secret` is `<key id>:<secret>` or a bare secret (key id 1); `previous` is a
 * comma separated list of `<key id>:<secret>`, possibly empty.
 * Throws a ConfigError naming the setting when either value is invalid.
 */
export function loadLinkKeys(secret: string, previous: string): Promise<LinkKeys> {
  const source = `${secret}\n${previous}`;
  if (cachedKeys?.source === source) return cachedKeys.keys;

  const keys = importLinkKeys(secret, previous);
  cachedKeys = { source, keys };
  keys.catch(() => {
    if (cachedKeys?.keys === keys) cachedKeys = null;
  });
  return keys;
}

async function importLinkKeys(secret: string, previous: string): Promise<LinkKeys> {
  const current = parseCurrentSecret(secret);
  const previousEntries = parsePreviousSecrets(previous, current.id);

  const previousKeys = new Map<number, CryptoKey>();
  for (const entry of previousEntries) {
    previousKeys.set(entry.id, await importHmacKey(entry.secret));
  }

  return {
    current: { id: current.id, key: await importHmacKey(current.secret) },
    previous: previousKeys,
  };
}

function parseCurrentSecret(value: string): { id: number; secret: string } {
  const trimmed = value.trim();
  const match = /^(\d{1,9}):(.+)$/s.exec(trimmed);
  const parsed = match ? { id: Number(match[1]), secret: match[2] } : { id: 1, secret: trimmed };

  if (parsed.secret.length < 16) {
    throw new ConfigError(
      "LINK_SECRET",
      `LINK_SECRET (key id ${parsed.id}) is ${parsed.secret.length} characters long; use a random secret of at least 16 characters, for example from \`openssl rand -base64 32\`.`,
    );
  }
  return parsed;
}

function parsePreviousSecrets(value: string, currentId: number): { id: number; secret: string }[] {
  const entries = value
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");

  const seen = new Set<number>([currentId]);
  return entries.map((entry, position) => {
    const match = /^(\d{1,9}):(.+)$/s.exec(entry);
    if (!match) {
      throw new ConfigError(
        "LINK_SECRET_PREVIOUS",
        `LINK_SECRET_PREVIOUS entry ${position + 1} has no key id; write each entry as <key id>:<secret>, separated by commas.`,
      );
    }

    const id = Number(match[1]);
    if (seen.has(id)) {
      throw new ConfigError(
        "LINK_SECRET_PREVIOUS",
        `LINK_SECRET_PREVIOUS entry ${position + 1} reuses key id ${id}; every key, current or previous, needs its own key id.`,
      );
    }
    seen.add(id);
    return { id, secret: match[2] };
  });
}

function importHmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
}

/**
 * Signs one recipient of one mailing with the current key: one HMAC, after
 * which every id of that recipient is built without further crypto.
 */
export async function signRecipient(
  keys: LinkKeys,
  mailingId: number,
  subscriberId: number,
): Promise<RecipientIds> {
  checkIdValue(mailingId, "mailingId");
  checkIdValue(subscriberId, "subscriberId");

  const prefix = encodeVarints([keys.current.id, mailingId, subscriberId]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", keys.current.key, prefix));

  const build = (selector: number, kind: IdKind) =>
    encodeId(prefix, selector, mac.subarray(TAG_OFFSET[kind], TAG_OFFSET[kind] + TAG_BYTES));

  return {
    click(linkIdx: number) {
      if (!Number.isInteger(linkIdx) || linkIdx < 0 || linkIdx > MAX_LINK_IDX) {
        throw new RangeError(
          `Link index ${linkIdx} is invalid; expected a whole number from 0 to ${MAX_LINK_IDX}.`,
        );
      }
      return build(SELECTOR_FIRST_CLICK + linkIdx, "click");
    },
    open: () => build(SELECTOR_OPEN, "open"),
    unsubscribe: () => build(SELECTOR_UNSUBSCRIBE, "unsubscribe"),
    web: () => build(SELECTOR_WEB, "web"),
  };
}

function checkIdValue(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1 || value > MAX_ID_VALUE) {
    throw new RangeError(`${name} ${value} is invalid; expected a positive whole number.`);
  }
}

function encodeId(prefix: Uint8Array, selector: number, tag: Uint8Array): string {
  const selectorBytes = encodeVarints([selector]);
  const bytes = new Uint8Array(prefix.length + selectorBytes.length + tag.length);
  bytes.set(prefix, 0);
  bytes.set(selectorBytes, prefix.length);
  bytes.set(tag, prefix.length + selectorBytes.length);
  return toBase64Url(bytes);
}

/**
 * Checks an id's tag against the key it names and returns what it names, or
 * null for anything malformed, unknown-keyed, forged, truncated or too long.
 * The tag comparison takes the same time wherever the bytes differ.
 */
export async function verifyId(keys: LinkKeys, id: string): Promise<VerifiedId | null> {
  const parsed = parseId(id);
  if (!parsed) return null;

  const key = parsed.keyId === keys.current.id ? keys.current.key : keys.previous.get(parsed.keyId);
  if (!key) return null;

  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, parsed.signed));
  const offset = TAG_OFFSET[parsed.kind];
  if (!timingSafeEqual(mac.subarray(offset, offset + TAG_BYTES), parsed.tag)) return null;

  return {
    mailingId: parsed.mailingId,
    subscriberId: parsed.subscriberId,
    linkIdx: parsed.linkIdx,
    kind: parsed.kind,
  };
}

interface ParsedId {
  keyId: number;
  mailingId: number;
  subscriberId: number;
  linkIdx: number | null;
  kind: IdKind;
  /** The bytes the MAC covers: the three leading varints. */
  signed: Uint8Array<ArrayBuffer>;
  tag: Uint8Array;
}

/** Decodes an id's structure without checking its tag; null when malformed. */
function parseId(id: string): ParsedId | null {
  if (id.length === 0 || id.length > MAX_ID_LENGTH) return null;

  const bytes = fromBase64Url(id);
  if (!bytes || bytes.length <= TAG_BYTES) return null;

  const body = bytes.subarray(0, bytes.length - TAG_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);

  const values = decodeVarints(body);
  if (!values || values.numbers.length !== 4) return null;

  const [keyId, mailingId, subscriberId, selector] = values.numbers;
  if (mailingId < 1 || subscriberId < 1) return null;

  const kind = selectorKind(selector);
  if (!kind) return null;

  return {
    keyId,
    mailingId,
    subscriberId,
    linkIdx: kind === "click" ? selector - SELECTOR_FIRST_CLICK : null,
    kind,
    signed: body.subarray(0, values.ends[2]),
    tag,
  };
}

function selectorKind(selector: number): IdKind | null {
  if (selector === SELECTOR_OPEN) return "open";
  if (selector === SELECTOR_UNSUBSCRIBE) return "unsubscribe";
  if (selector === SELECTOR_WEB) return "web";
  if (selector - SELECTOR_FIRST_CLICK <= MAX_LINK_IDX) return "click";
  return null;
}

/** LEB128 unsigned varints; values may exceed 32 bits, so no bitwise operators. */
function encodeVarints(values: number[]): Uint8Array<ArrayBuffer> {
  const out: number[] = [];
  for (let value of values) {
    while (value >= 0x80) {
      out.push((value % 0x80) + 0x80);
      value = Math.floor(value / 0x80);
    }
    out.push(value);
  }
  return Uint8Array.from(out);
}

/**
 * Decodes varints filling all of `bytes`. Rejects non-minimal encodings (a
 * trailing 0x00 continuation) so that each id has exactly one spelling.
 */
function decodeVarints(bytes: Uint8Array): { numbers: number[]; ends: number[] } | null {
  const numbers: number[] = [];
  const ends: number[] = [];
  let position = 0;

  while (position < bytes.length) {
    let value = 0;
    let scale = 1;
    let length = 0;

    for (;;) {
      if (position >= bytes.length || length >= MAX_VARINT_BYTES) return null;
      const byte = bytes[position++];
      length++;
      value += (byte & 0x7f) * scale;
      scale *= 0x80;
      if (byte < 0x80) {
        if (byte === 0 && length > 1) return null;
        break;
      }
    }

    if (value > MAX_ID_VALUE) return null;
    numbers.push(value);
    ends.push(position);
  }
  return { numbers, ends };
}

function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const BASE64URL_VALUES = new Int16Array(128).fill(-1);
for (let i = 0; i < BASE64URL_ALPHABET.length; i++) {
  BASE64URL_VALUES[BASE64URL_ALPHABET.charCodeAt(i)] = i;
}

function toBase64Url(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const chunk = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let j = 0; j < chars; j++) out += BASE64URL_ALPHABET[(chunk >> (18 - 6 * j)) & 0x3f];
  }
  return out;
}

/**
 * Decodes unpadded base64url. Returns null for any other character, for a
 * length that no byte string encodes to, and for non-zero unused bits in the
 * last character, so that each byte string has exactly one spelling.
 */
function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | null {
  if (text.length % 4 === 1) return null;

  const bytes = new Uint8Array(Math.floor((text.length * 6) / 8));
  let buffer = 0;
  let bits = 0;
  let index = 0;

  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? BASE64URL_VALUES[code] : -1;
    if (value < 0) return null;

    buffer = ((buffer << 6) | value) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[index++] = (buffer >> bits) & 0xff;
    }
  }

  if ((buffer & ((1 << bits) - 1)) !== 0) return null;
  return bytes;
}
