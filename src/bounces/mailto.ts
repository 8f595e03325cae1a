/**
 * Unsubscribe requests by email. Every message carries
 * `List-Unsubscribe: <mailto:SENDER_EMAIL?subject=unsubscribe%20<id>>`, where
 * the id is the recipient's signed /u/ id, so a mail client that offers
 * "unsubscribe" sends a message with the Subject `unsubscribe <id>` to
 * SENDER_EMAIL. The signed id is the authority: the sender's address is not
 * checked, because clients send from whatever address the subscriber reads
 * mail with, and forwarding can change it.
 */
import type { Config } from "../env";
import { log } from "../log";
import { loadLinkKeys, verifyId } from "../tracking/ids";
import { unsubscribe, type UnsubscribeResult } from "../tracking/unsubscribe";

/**
 * `unsubscribe`, optionally after reply prefixes (`Re:`, `RE: Re:`), then the
 * rest of the Subject. Whitespace around each part is allowed.
 */
const UNSUBSCRIBE_SUBJECT = /^\s*(?:re\s*:\s*)*unsubscribe(?:\s+(.*?))?\s*$/is;

/** An unsubscribe request read from a Subject. `token` is null when the Subject contains no id. */
export interface UnsubscribeSubject {
  token: string | null;
}

/** Outcome of one unsubscribe request by email. */
export type MailtoUnsubscribe =
  | ({ status: "unsubscribed"; mailingId: number; subscriberId: number } & UnsubscribeResult)
  | { status: "rejected"; reason: "token_missing" | "token_invalid" };

/**
 * Reads a Subject as an unsubscribe request; returns null when it is not one,
 * so the message is handled as any other.
 */
export function parseUnsubscribeSubject(subject: string | undefined): UnsubscribeSubject | null {
  const match = UNSUBSCRIBE_SUBJECT.exec(subject ?? "");
  if (!match) return null;

  const token = match[1]?.trim() ?? "";
  return { token: token === "" ? null : token };
}

/**
 * Unsubscribes the recipient named by a request's signed id, with the same
 * function and effects as the one-click POST to /u/<id>, and logs one line.
 * A missing or forged id changes nothing and is logged as rejected.
 * `fromAddress` is only logged by its domain.
 */
export async function handleUnsubscribeEmail(
  db: D1Database,
  config: Config,
  request: UnsubscribeSubject,
  fromAddress: string | null,
  now: number,
): Promise<MailtoUnsubscribe> {
  const fromDomain = addressDomain(fromAddress);

  if (request.token === null) {
    log.warn("mailto unsubscribe rejected", { reason: "token_missing", fromDomain });
    return { status: "rejected", reason: "token_missing" };
  }

  const keys = await loadLinkKeys(config.linkSecret, config.linkSecretPrevious);
  const verified = await verifyId(keys, request.token);
  if (!verified || verified.kind !== "unsubscribe") {
    log.warn("mailto unsubscribe rejected", { reason: "token_invalid", fromDomain });
    return { status: "rejected", reason: "token_invalid" };
  }

  const { mailingId, subscriberId } = verified;
  const result = await unsubscribe(db, mailingId, subscriberId, now, "mailto");
  log.info("subscriber unsubscribed", {
    channel: "mailto",
    mailingId,
    subscriberId,
    fromDomain,
    ...result,
  });
  return { status: "unsubscribed", mailingId, subscriberId, ...result };
}

/** Returns the lowercased domain of an address, or null when it has none. */
function addressDomain(address: string | null): string | null {
  const at = address?.lastIndexOf("@") ?? -1;
  if (!address || at < 0) return null;

  const domain = address
    .slice(at + 1)
    .replace(/>$/, "")
    .trim()
    .toLowerCase();
  return domain === "" ? null : domain;
}
