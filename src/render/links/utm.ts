/**
 * UTM tagging on the raw URL string. The URL is never parsed and
 * re-serialized (URL and URLSearchParams re-encode the author's bytes):
 * the missing `utm_*` pairs are inserted before the first `#`, after `?`
 * or `&` as needed, and everything else stays byte for byte.
 */
import { escapeUrlComponent } from "../escape";
import type { AnalyticsSettings } from "../types";
import type { TokenExpr } from "../tokens/syntax";

/** A piece of a URL: literal text, or a token whose value is percent-encoded when filled. */
export type UrlPiece = string | { expr: TokenExpr };

/** A UTM key and its percent-encoded value. */
export type UtmPair = [key: string, value: string];

const UTM_ORDER = ["source", "medium", "campaign", "content", "term"] as const;

/** Returns the UTM pairs of the settings in a fixed order, or none when UTM is off. */
export function utmPairs(utm: AnalyticsSettings["utm"]): UtmPair[] {
  if (!utm) return [];

  const pairs: UtmPair[] = [];
  for (const key of UTM_ORDER) {
    const value = utm[key];
    if (typeof value === "string" && value.trim() !== "") {
      pairs.push([`utm_${key}`, escapeUrlComponent(value.trim())]);
    }
  }
  return pairs;
}

/**
 * Appends the pairs whose keys the URL's query does not already have.
 * Token pieces are opaque: their percent-encoded values never contain `?`,
 * `&` or `#`, so only literal pieces are searched for separators.
 */
export function appendUtm(
  pieces: UrlPiece[],
  pairs: UtmPair[],
): { pieces: UrlPiece[]; changed: boolean } {
  if (pairs.length === 0) return { pieces, changed: false };

  const hash = findInLiterals(pieces, "#", 0, 0);
  const end = hash ?? { piece: pieces.length, offset: 0 };
  const question = findInLiterals(pieces, "?", 0, 0, end);

  const existing = question ? queryKeys(pieces, question, end) : new Set<string>();
  const missing = pairs.filter(([key]) => !existing.has(key));
  if (missing.length === 0) return { pieces, changed: false };

  const query = missing.map(([key, value]) => `${key}=${value}`).join("&");
  const before = lastCharBefore(pieces, end);
  let separator = "&";
  if (!question) separator = "?";
  else if (before === "?" || before === "&") separator = "";
  return { pieces: insertAt(pieces, end, separator + query), changed: true };
}

/** Appends UTM pairs like `appendUtm`, to a URL without tokens. */
export function appendUtmToString(url: string, pairs: UtmPair[]): string {
  const { pieces } = appendUtm([url], pairs);
  return pieces.join("");
}

interface Position {
  piece: number;
  offset: number;
}

function findInLiterals(
  pieces: UrlPiece[],
  char: string,
  fromPiece: number,
  fromOffset: number,
  limit?: Position,
): Position | null {
  for (let p = fromPiece; p < pieces.length; p++) {
    if (limit && p > limit.piece) return null;
    const piece = pieces[p];
    if (typeof piece !== "string") continue;

    const index = piece.indexOf(char, p === fromPiece ? fromOffset : 0);
    if (index < 0) continue;
    if (limit && p === limit.piece && index >= limit.offset) return null;
    return { piece: p, offset: index };
  }
  return null;
}

/** Keys of the query between `?` and `end`, as written; tokens inside a key make it unknown. */
function queryKeys(pieces: UrlPiece[], question: Position, end: Position): Set<string> {
  let query = "";
  for (let p = question.piece; p <= Math.min(end.piece, pieces.length - 1); p++) {
    const piece = pieces[p];
    const from = p === question.piece ? question.offset + 1 : 0;
    const to = p === end.piece ? end.offset : undefined;
    query += typeof piece === "string" ? piece.slice(from, to) : "\u0000";
  }

  const keys = new Set<string>();
  for (const pair of query.split("&")) {
    const equals = pair.indexOf("=");
    const key = equals < 0 ? pair : pair.slice(0, equals);
    if (key !== "" && !key.includes("\u0000")) keys.add(key);
  }
  return keys;
}

function lastCharBefore(pieces: UrlPiece[], end: Position): string {
  for (let p = Math.min(end.piece, pieces.length - 1); p >= 0; p--) {
    const piece = pieces[p];
    if (typeof piece !== "string") return "";
    const text = p === end.piece ? piece.slice(0, end.offset) : piece;
    if (text.length > 0) return text[text.length - 1];
  }
  return "";
}

function insertAt(pieces: UrlPiece[], at: Position, text: string): UrlPiece[] {
  const out = pieces.slice();
  if (at.piece >= pieces.length) {
    const last = out[out.length - 1];
    if (typeof last === "string") out[out.length - 1] = last + text;
    else out.push(text);
    return out;
  }

  const piece = pieces[at.piece] as string;
  out[at.piece] = piece.slice(0, at.offset) + text + piece.slice(at.offset);
  return out;
}
