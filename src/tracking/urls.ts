/**
 * Absolute URLs of a recipient's tracking routes, built from the ids that
 * `signRecipient` returns.
 */
import type { RecipientIds } from "./ids";

/** Absolute tracking URLs of one recipient; `click(n)` is the URL for link n. */
export interface RecipientUrls {
  click(linkIdx: number): string;
  open: string;
  unsubscribe: string;
  web: string;
}

/**
 * Builds a recipient's click, open-pixel, unsubscribe and web-view URLs under
 * `publicUrl` (the PUBLIC_URL setting; a trailing slash is ignored).
 */
export function recipientUrls(publicUrl: string, ids: RecipientIds): RecipientUrls {
  const base = publicUrl.replace(/\/+$/, "");

  return {
    click: (linkIdx: number) => `${base}/c/${ids.click(linkIdx)}`,
    open: `${base}/o/${ids.open()}`,
    unsubscribe: `${base}/u/${ids.unsubscribe()}`,
    web: `${base}/v/${ids.web()}`,
  };
}
