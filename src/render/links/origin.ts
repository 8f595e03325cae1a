/**
 * The one check of which URLs can go behind the click redirect. The compiler
 * tracks a link only when this check accepts its stored URL, and the click
 * route (`src/tracking/destination.ts`) runs the same check before it
 * redirects, so a tracked link is never rejected on click.
 */

/** Scheme and host of an http(s) URL; `href` is its serialized form, percent-encoded and safe for a header. */
export interface HttpOrigin {
  protocol: string;
  host: string;
  href: string;
}

/** Parses an http(s) URL with WHATWG URL rules; returns null for any other scheme or a parse error. */
export function parseHttpUrl(url: string): HttpOrigin | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }

  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return null;
  return { protocol: parsed.protocol, host: parsed.host, href: parsed.href };
}

/**
 * Returns the scheme and host written in a stored URL. Returns null when the
 * URL is not http(s), or when its authority contains a token, a
 * percent-encoded byte, angle brackets or whitespace, because then subscriber
 * data or a decoded `%2F` could pick the host.
 */
export function fixedOrigin(url: string): HttpOrigin | null {
  const match = /^(https?):\/\/([^/?#]*)/i.exec(url);
  if (!match) return null;

  const authority = match[2];
  if (authority === "" || /[{}%<>\s]/.test(authority)) return null;
  return parseHttpUrl(`${match[1]}://${authority}/`);
}

/**
 * Returns whether a stored link URL (after UTM, tokens written as
 * `{{ name }}`) passes the click route's check: a fixed http(s) scheme and
 * host, and for a URL without tokens, a URL that parses as a whole.
 */
export function isTrackableDestination(url: string, hasTokens: boolean): boolean {
  if (!fixedOrigin(url)) return false;
  return hasTokens || parseHttpUrl(url) !== null;
}
