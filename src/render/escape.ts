/**
 * Escaping of inserted values for the place they land. Each function returns
 * its input unchanged when nothing needs escaping, which is the common case
 * for names and ids, so rendering allocates little per recipient.
 */

/** Escaping mode for the place a value lands. */
export type Escape = "html" | "attr" | "url" | "text" | "header";

const HTML_SPECIAL = /[&<>]/;
const ATTR_SPECIAL = /[&<>"']/;
const URL_SAFE = /^[A-Za-z0-9_.~-]*$/;
const HEADER_UNSAFE = /[\u0000-\u001f\u007f\u2028\u2029]/;

/** HTML text: `&`, `<` and `>` become entities; quotes stay as written. */
export function escapeHtml(value: string): string {
  if (!HTML_SPECIAL.test(value)) return value;
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Escapes a quoted HTML attribute value: `&`, `<`, `>` and both quotes become entities. */
export function escapeAttribute(value: string): string {
  if (!ATTR_SPECIAL.test(value)) return value;
  return value
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/**
 * Escapes a value inside a URL with UTF-8 percent-encoding of everything but the RFC 3986
 * unreserved characters, so a value never adds a `?`, `&`, `#` or `/`.
 */
export function escapeUrlComponent(value: string): string {
  if (URL_SAFE.test(value)) return value;
  return encodeURIComponent(toWellFormed(value)).replace(
    /[!'()*]/g,
    (char) => "%" + char.charCodeAt(0).toString(16).toUpperCase(),
  );
}

/**
 * Escapes a header value: control characters, CR and LF included, become
 * spaces, so a subscriber's data can never start a new header line.
 */
export function escapeHeader(value: string): string {
  if (!HEADER_UNSAFE.test(value)) return value;
  return value.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, " ");
}

/** Applies the named escaping. */
export function escapeFor(escape: Escape, value: string): string {
  switch (escape) {
    case "html":
      return escapeHtml(value);
    case "attr":
      return escapeAttribute(value);
    case "url":
      return escapeUrlComponent(value);
    case "header":
      return escapeHeader(value);
    case "text":
      return value;
  }
}

/**
 * Percent-encodes the characters a URL may not carry raw in a Location
 * header: controls, space, `"`, `<`, `>`, backtick and every non-ASCII
 * character (as UTF-8). Existing `%XX` escapes and all other bytes stay as written.
 */
export function encodeUnsafeUrlCharacters(url: string): string {
  if (!/[^\u0021-\u007e]|["<>`]/.test(url)) return url;

  let out = "";
  for (const char of toWellFormed(url)) {
    const code = char.codePointAt(0)!;
    const unsafe =
      code <= 0x20 || code >= 0x7f || char === '"' || char === "<" || char === ">" || char === "`";
    out += unsafe ? encodeURIComponent(char) : char;
  }
  return out;
}

/** Replaces lone UTF-16 surrogates with U+FFFD, since encodeURIComponent throws on them. */
function toWellFormed(value: string): string {
  return value.replace(
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    "\uFFFD",
  );
}
