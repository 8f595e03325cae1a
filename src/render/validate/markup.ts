/**
 * Warnings about what mail clients strip or refuse in a letter's HTML
 * (scripts, event handlers, `<base href>`, `<meta http-equiv=refresh>`,
 * `javascript:` links), about links the click redirect would reject, and
 * about letters with more than `MAX_LINKS` links.
 */
import { decodeHTMLAttribute } from "entities";

import { isRejectedDestination } from "../compile/context";
import { maskRanges } from "../html/context";
import { findAttribute, scanHtml, type StartTag } from "../html/scan";
import { isTrackableDestination } from "../links/origin";
import { appendUtm, appendUtmToString, type UrlPiece, type UtmPair } from "../links/utm";
import { isHttpUrl } from "../plan";
import type { LetterIssue } from "../types";
import type { AnalyzedPart, AnalyzedToken } from "./analyze";

/** Maximum selected links before a `too-many-links` warning, because each link gets its own row in the link table. */
export const MAX_LINKS = 1000;

/** A URL in running text ends at whitespace, quotes or angle brackets, as in a hand-written text part. */
const URL_IN_TEXT = /https?:\/\/[^\s<>"'`]+/gi;
const TRAILING_PUNCTUATION = /[.,;:!?)\]}]+$/;
/** Browsers drop tabs and line breaks anywhere in a URL before reading its scheme. */
const URL_WHITESPACE = /[\t\n\r]/g;

type Warn = (code: string, message: string, offset: number, text: string) => void;

/**
 * Checks the tags of one HTML part and returns how many links the link
 * pipeline selects in it (absolute http(s) `href`s of link elements).
 */
export function checkHtmlMarkup(
  part: AnalyzedPart,
  utm: UtmPair[],
  warn: (issue: Omit<LetterIssue, "part">) => void,
): number {
  const masked = maskRanges(part.text, part.tokens);
  const scan = scanHtml(masked);
  const at: Warn = (code, message, offset, text) =>
    warn({ severity: "warning", code, message, line: lineOf(part.text, offset), text });
  let links = 0;

  for (const tag of scan.tags) {
    checkTag(part.text, tag, at);
    if (checkLink(part, tag, utm, at)) links++;
  }
  return links;
}

function checkTag(text: string, tag: StartTag, warn: Warn): void {
  const written = text.slice(tag.start, Math.min(tag.end, tag.start + 80));
  if (tag.name === "script") {
    warn(
      "script-tag",
      "<script> does not run in mail clients, which strip it, and spam filters penalize it; remove it.",
      tag.start,
      written,
    );
  }
  for (const attribute of tag.attributes) {
    if (!/^on[a-z]+$/.test(attribute.name)) continue;
    warn(
      "event-handler",
      `The ${attribute.name} attribute of <${tag.name}> is an event handler; mail clients strip it, so remove it.`,
      attribute.nameStart,
      written,
    );
  }
  if (tag.name === "base" && findAttribute(tag, "href")) {
    warn(
      "base-href",
      "<base href> is ignored or stripped by most mail clients, so relative links break; write absolute URLs and remove it.",
      tag.start,
      written,
    );
  }
  const httpEquiv = findAttribute(tag, "http-equiv");
  if (
    tag.name === "meta" &&
    httpEquiv &&
    valueOf(text, httpEquiv).trim().toLowerCase() === "refresh"
  ) {
    warn(
      "meta-refresh",
      "<meta http-equiv=refresh> redirects or reloads the page and is stripped by mail clients; remove it.",
      tag.start,
      written,
    );
  }
}

/** Checks the `href` of a link element; returns true when the link pipeline selects it. */
function checkLink(part: AnalyzedPart, tag: StartTag, utm: UtmPair[], warn: Warn): boolean {
  const isLinkElement = tag.name === "a" || tag.name === "area" || tag.name.startsWith("v:");
  const href = findAttribute(tag, "href");
  if (!isLinkElement || !href || !href.hasValue || findAttribute(tag, "data-notrack")) return false;

  const inside = part.tokens.filter(
    (token) => token.start >= href.valueStart && token.end <= href.valueEnd,
  );
  const pieces = urlPieces(part.text, href.valueStart, href.valueEnd, inside);
  const first = pieces[0];
  if (typeof first !== "string") return false;

  const written = part.text.slice(href.valueStart, href.valueEnd);
  if (/^javascript:/i.test(first.replace(URL_WHITESPACE, ""))) {
    warn(
      "link-javascript",
      `The link ${written.slice(0, 80)} is a javascript: URL, which mail clients remove; link to a web page instead.`,
      href.valueStart,
      written,
    );
    return false;
  }
  if (!isHttpUrl(first)) return false;

  if (isRejectedDestination(appendUtm(pieces, utm).pieces)) {
    warnUntrackable(warn, written, href.valueStart);
  }
  return true;
}

/** Returns the entity-decoded, trimmed URL with its tokens as pieces, like the link pipeline reads it. */
function urlPieces(text: string, start: number, end: number, tokens: AnalyzedToken[]): UrlPiece[] {
  const pieces: UrlPiece[] = [];
  let literal = "";
  let at = start;
  for (const token of tokens) {
    literal += decodeHTMLAttribute(text.slice(at, token.start));
    pieces.push(literal, { expr: token.expr });
    literal = "";
    at = token.end;
  }
  pieces.push(literal + decodeHTMLAttribute(text.slice(at, end)));

  const last = pieces.length - 1;
  pieces[0] = (pieces[0] as string).replace(/^[\t\n\f\r ]+/, "");
  pieces[last] = (pieces[last] as string).replace(/[\t\n\f\r ]+$/, "");
  return pieces.filter((piece, i) => piece !== "" || i === 0);
}

/**
 * Checks the bare http(s) URLs of a hand-written text part and returns how
 * many there are. URLs with tokens are counted but not checked.
 */
export function checkTextLinks(
  part: AnalyzedPart,
  utm: UtmPair[],
  warn: (issue: Omit<LetterIssue, "part">) => void,
): number {
  // TODO: warn about rejected text-part URLs that contain tokens; compiling already sends them as written.
  const masked = maskRanges(part.text, part.tokens);
  let links = 0;

  URL_IN_TEXT.lastIndex = 0;
  for (let match = URL_IN_TEXT.exec(masked); match; match = URL_IN_TEXT.exec(masked)) {
    links++;
    const end = match.index + match[0].replace(TRAILING_PUNCTUATION, "").length;
    if (part.tokens.some((token) => token.start < end && token.end > match!.index)) continue;

    const url = part.text.slice(match.index, end);
    if (isTrackableDestination(appendUtmToString(url, utm), false)) continue;
    warnUntrackable(
      (code, message, offset, text) =>
        warn({ severity: "warning", code, message, line: lineOf(part.text, offset), text }),
      url,
      match.index,
    );
  }
  return links;
}

function warnUntrackable(warn: Warn, written: string, offset: number): void {
  warn(
    "link-untrackable",
    `The link ${written.slice(0, 120)} has no valid fixed http(s) host (for example a %-encoded byte or a space before the path), so it is sent as written, without UTM or click tracking; correct the URL.`,
    offset,
    written,
  );
}

function valueOf(text: string, attribute: { valueStart: number; valueEnd: number }): string {
  return decodeHTMLAttribute(text.slice(attribute.valueStart, attribute.valueEnd));
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i >= 0 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return line;
}
