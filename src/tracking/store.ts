/**
 * D1 reads of the public tracking routes, with per-isolate caches so that a
 * redirect seen before by this isolate makes no D1 query, and a cold one
 * makes one round trip (one `db.batch`).
 *
 * Cached entries expire after `CACHE_TTL_MS`. A mailing's links never change
 * once it has started, so expiry only bounds how long an isolate that cached a
 * mailing keeps redirecting after the mailing is deleted.
 */
import type { Recipient } from "../render";
import { toRecipient, type SubscriberRecord } from "../mailings/recipients";

/** A tracked link of a mailing as stored at start. */
export interface StoredLink {
  idx: number;
  /** Destination after UTM tagging; may hold tokens when `hasTokens` is set. */
  url: string;
  hasTokens: boolean;
}

/** The links of one mailing, by variant, then by link index. */
interface MailingLinks {
  loadedAt: number;
  byVariant: Map<string, Map<number, StoredLink>>;
}

/** Data the click route needs about one recipient of one mailing. */
interface RecipientEntry {
  loadedAt: number;
  /** The delivery's variant; null when the mailing has no delivery for this subscriber. */
  variant: string | null;
  /** Null when the subscriber no longer exists. */
  recipient: Recipient | null;
  /** Destinations of token links already resolved for this recipient, by link index. */
  destinations: Map<number, string>;
}

/** How long a cached mailing or recipient entry is used, in milliseconds. */
export const CACHE_TTL_MS = 300_000;

/** Maximum cached mailings; each contains all of a mailing's links. */
const MAX_MAILINGS = 256;

/** Maximum cached recipients; each contains one subscriber row and its resolved links. */
const MAX_RECIPIENTS = 10_000;

const mailingCache = new Map<number, MailingLinks>();
const recipientCache = new Map<string, RecipientEntry>();

/** Counts of D1 work done by the tracking routes in this isolate, for the benchmark. */
export const trackingQueryCounter = { statements: 0, roundTrips: 0 };

/** Drops every cached mailing and recipient; tests call it after changing rows. */
export function clearTrackingCaches(): void {
  mailingCache.clear();
  recipientCache.clear();
}

/** Current cache sizes, for the debug route. */
export function trackingCacheSizes(): { mailings: number; recipients: number } {
  return { mailings: mailingCache.size, recipients: recipientCache.size };
}

async function countedBatch(db: D1Database, statements: D1PreparedStatement[]) {
  trackingQueryCounter.roundTrips += 1;
  trackingQueryCounter.statements += statements.length;
  return db.batch(statements);
}

/** A link of a mailing resolved for one click. */
export interface ClickTarget {
  link: StoredLink;
  variant: string;
  /** Null until resolved: needed only for links with tokens. */
  recipient: Recipient | null;
  /** Destination already resolved for this recipient in this isolate, if any. */
  cachedDestination: string | null;
}

/**
 * Finds the stored link that a click id selects, or null when the mailing,
 * the recipient's variant or the link index does not exist. Makes no D1
 * query when this isolate has the needed entries cached, and one `db.batch`
 * otherwise.
 */
export async function findClickTarget(
  db: D1Database,
  mailingId: number,
  subscriberId: number,
  linkIdx: number,
  now: number,
): Promise<ClickTarget | null> {
  let links = freshEntry(mailingCache, mailingId, now);
  let recipient = freshEntry(recipientCache, recipientKey(mailingId, subscriberId), now);

  if (!links) {
    const loaded = await loadMailingAndRecipient(db, mailingId, subscriberId, now);
    links = loaded.links;
    recipient = loaded.recipient;
  }

  const variant = await chooseVariant(db, links, mailingId, subscriberId, recipient, now);
  if (variant === null) return null;

  const link = links.byVariant.get(variant.name)?.get(linkIdx);
  if (!link) return null;
  recipient = variant.recipient;

  if (link.hasTokens && !recipient) {
    recipient = await loadRecipientEntry(db, mailingId, subscriberId, now);
  }

  return {
    link,
    variant: variant.name,
    recipient: recipient?.recipient ?? null,
    cachedDestination: recipient?.destinations.get(linkIdx) ?? null,
  };
}

/**
 * Stores a token link's resolved destination for this recipient, so the next
 * click on it needs neither D1 nor the renderer.
 */
export function rememberDestination(
  mailingId: number,
  subscriberId: number,
  linkIdx: number,
  destination: string,
): void {
  recipientCache.get(recipientKey(mailingId, subscriberId))?.destinations.set(linkIdx, destination);
}

/**
 * Picks the recipient's variant: the only one when the mailing's links have a
 * single variant (no D1 needed), else the variant of the recipient's delivery.
 */
async function chooseVariant(
  db: D1Database,
  links: MailingLinks,
  mailingId: number,
  subscriberId: number,
  recipient: RecipientEntry | null,
  now: number,
): Promise<{ name: string; recipient: RecipientEntry | null } | null> {
  if (links.byVariant.size === 0) return null;
  if (links.byVariant.size === 1) {
    const [name] = links.byVariant.keys();
    return { name, recipient };
  }

  const entry = recipient ?? (await loadRecipientEntry(db, mailingId, subscriberId, now));
  if (entry.variant === null) return null;
  return { name: entry.variant, recipient: entry };
}

async function loadMailingAndRecipient(
  db: D1Database,
  mailingId: number,
  subscriberId: number,
  now: number,
): Promise<{ links: MailingLinks; recipient: RecipientEntry }> {
  const [linkRows, ...recipientResults] = await countedBatch(db, [
    linksStatement(db, mailingId),
    ...recipientStatements(db, mailingId, subscriberId),
  ]);

  const links = toMailingLinks(linkRows.results as LinkRecord[], now);
  remember(mailingCache, mailingId, links, MAX_MAILINGS);

  const recipient = toRecipientEntry(recipientResults, now);
  remember(recipientCache, recipientKey(mailingId, subscriberId), recipient, MAX_RECIPIENTS);
  return { links, recipient };
}

async function loadRecipientEntry(
  db: D1Database,
  mailingId: number,
  subscriberId: number,
  now: number,
): Promise<RecipientEntry> {
  const results = await countedBatch(db, recipientStatements(db, mailingId, subscriberId));

  const recipient = toRecipientEntry(results, now);
  remember(recipientCache, recipientKey(mailingId, subscriberId), recipient, MAX_RECIPIENTS);
  return recipient;
}

interface LinkRecord {
  variant: string;
  idx: number;
  url: string;
  has_tokens: number;
}

// The join with mailings keeps links of a deleted mailing out even where
// foreign keys did not cascade.
function linksStatement(db: D1Database, mailingId: number): D1PreparedStatement {
  return db
    .prepare(
      `SELECT l.variant, l.idx, l.url, l.has_tokens
         FROM links l JOIN mailings m ON m.id = l.mailing_id
        WHERE l.mailing_id = ?`,
    )
    .bind(mailingId);
}

// The recipients loader's columns, fetched here with the delivery's variant
// so that a cold click stays one round trip.
function recipientStatements(
  db: D1Database,
  mailingId: number,
  subscriberId: number,
): D1PreparedStatement[] {
  return [
    db
      .prepare("SELECT variant FROM deliveries WHERE mailing_id = ? AND subscriber_id = ?")
      .bind(mailingId, subscriberId),
    db
      .prepare("SELECT id, email, first_name, last_name, attributes FROM subscribers WHERE id = ?")
      .bind(subscriberId),
    db.prepare("SELECT list_id FROM list_members WHERE subscriber_id = ?").bind(subscriberId),
  ];
}

function toMailingLinks(rows: LinkRecord[], now: number): MailingLinks {
  const byVariant = new Map<string, Map<number, StoredLink>>();
  for (const row of rows) {
    let variant = byVariant.get(row.variant);
    if (!variant) {
      variant = new Map();
      byVariant.set(row.variant, variant);
    }
    variant.set(row.idx, { idx: row.idx, url: row.url, hasTokens: row.has_tokens === 1 });
  }
  return { loadedAt: now, byVariant };
}

function toRecipientEntry(results: D1Result[], now: number): RecipientEntry {
  const [deliveryResult, subscriberResult, membershipResult] = results;
  const delivery = (deliveryResult.results as { variant: string }[])[0];
  const subscriber = (subscriberResult.results as SubscriberRecord[])[0];
  const listIds = (membershipResult.results as { list_id: number }[]).map((row) => row.list_id);

  return {
    loadedAt: now,
    variant: delivery ? delivery.variant : null,
    recipient: subscriber ? toRecipient(subscriber, listIds) : null,
    destinations: new Map(),
  };
}

function recipientKey(mailingId: number, subscriberId: number): string {
  return `${mailingId}:${subscriberId}`;
}

function freshEntry<K, V extends { loadedAt: number }>(
  cache: Map<K, V>,
  key: K,
  now: number,
): V | null {
  const entry = cache.get(key);
  if (!entry) return null;
  if (now - entry.loadedAt >= CACHE_TTL_MS) {
    cache.delete(key);
    return null;
  }
  return entry;
}

// Map iteration follows insertion order, so the first key is the oldest entry.
function remember<K, V>(cache: Map<K, V>, key: K, value: V, maxEntries: number): void {
  cache.delete(key);
  if (cache.size >= maxEntries) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(key, value);
}
