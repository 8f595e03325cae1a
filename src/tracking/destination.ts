/**
 * Turns a stored link into the Location of a click redirect. The URL always
 * comes from the links table, never from the request, and a link whose tokens
 * are filled per recipient may not change the host written in the letter.
 */
import {
  fixedOrigin,
  parseHttpUrl as parseOrigin,
  resolveLinkUrl,
  type Recipient,
} from "../render";
import { log } from "../log";
import type { StoredLink } from "./store";

/**
 * Returns the redirect target of a link for one recipient, or null when the
 * stored URL is not http(s), when a token link has no recipient, or when
 * filling its tokens would leave the letter's scheme and host.
 */
export function resolveDestination(
  mailingId: number,
  link: StoredLink,
  recipient: Recipient | null,
): string | null {
  const template = fixedOrigin(link.url);
  if (!template) {
    log.warn("link destination invalid", { mailingId, linkIdx: link.idx });
    return null;
  }
  if (!link.hasTokens) return parseOrigin(link.url)?.href ?? null;
  if (!recipient) return null;

  let filled: string;
  try {
    filled = resolveLinkUrl(link, recipient);
  } catch (error) {
    log.error("link tokens invalid", { mailingId, linkIdx: link.idx, error });
    return null;
  }

  const resolved = parseOrigin(filled);
  if (!resolved || resolved.protocol !== template.protocol || resolved.host !== template.host) {
    log.warn("link tokens changed the host", { mailingId, linkIdx: link.idx });
    return null;
  }
  return resolved.href;
}
