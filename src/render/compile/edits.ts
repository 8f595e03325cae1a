/**
 * Finds everything that changes between the assembled letter and a
 * recipient's message, as edits on the source text: token values, link
 * URLs, the open pixel and block boundaries. Everything between edits is
 * copied byte for byte.
 *
 * The link pipeline runs here, on every link of the assembled letter, in
 * this order: (1) select absolute http(s) `href`s of `<a>`, `<area>` and VML
 * elements (`v:roundrect` and the like), skipping elements marked
 * `data-notrack` and system URLs (`{{ unsubscribe_url }}`, `{{ web_url }}`);
 * (2) tokens in the URL, percent-encoded; (3) UTM on the raw URL string;
 * (4) click tracking. Steps 3 and 4 follow the letter's switches.
 */
import { decodeHTMLAttribute } from "entities";

import { escapeAttribute, escapeFor } from "../escape";
import { classifyRanges, maskRanges, URL_ATTRIBUTES } from "../html/context";
import { findAttribute, scanHtml, type Attribute, type StartTag } from "../html/scan";
import { appendUtm, type UrlPiece } from "../links/utm";
import { isHttpUrl, type Part, type UrlEscape } from "../plan";
import type { AnalyzedToken } from "../validate/analyze";
import type { AssembledLetter } from "./assemble";
import {
  isRejectedDestination,
  isSubscriberToken,
  isTrackable,
  type CompileContext,
} from "./context";

/** A replacement of `[start, end)` in the assembled letter. */
export interface Edit {
  start: number;
  end: number;
  /** Breaks ties between edits at one offset: block ends, then the pixel, then block starts, then the rest. */
  order: number;
  html: Part[];
  /** Parts for the text part; null keeps the original text in the HTML the text part is made from. */
  text: Part[] | null;
  marker?: { block: number; edge: "start" | "end" };
}

/** The attribute that marks a link the author does not want tagged or tracked. */
export const SKIP_ATTRIBUTE = "data-notrack";

const ORDER_BLOCK_END = 0;
const ORDER_PIXEL = 1;
const ORDER_BLOCK_START = 2;
const ORDER_CONTENT = 3;

/** Collects the edits of the assembled letter, sorted by offset. */
export function collectEdits(letter: AssembledLetter, context: CompileContext): Edit[] {
  const { html, tokens } = letter;
  const scan = scanHtml(maskRanges(html, tokens));
  const contexts = classifyRanges(tokens, scan);
  const edits: Edit[] = [];

  const byAttribute = new Map<Attribute, AnalyzedToken[]>();
  tokens.forEach((token, i) => {
    const found = contexts[i];
    if (found.kind === "attribute" && URL_ATTRIBUTES.has(found.attribute.name)) {
      const list = byAttribute.get(found.attribute) ?? [];
      list.push(token);
      byAttribute.set(found.attribute, list);
      return;
    }
    const inAttribute = found.kind === "attribute";
    edits.push({
      start: token.start,
      end: token.end,
      order: ORDER_CONTENT,
      html: context.valueParts(token.expr, inAttribute ? "attr" : "html"),
      text: context.valueParts(token.expr, "text"),
    });
  });

  for (const tag of scan.tags) {
    for (const attribute of tag.attributes) {
      if (!attribute.hasValue || !URL_ATTRIBUTES.has(attribute.name)) continue;
      const edit = urlAttributeEdit(
        html,
        tag,
        attribute,
        byAttribute.get(attribute) ?? [],
        context,
      );
      if (edit) edits.push(edit);
    }
  }

  letter.blocks.forEach((range, block) => {
    edits.push({
      start: range.start,
      end: range.start,
      order: ORDER_BLOCK_START,
      html: [],
      text: [],
      marker: { block, edge: "start" },
    });
    edits.push({
      start: range.end,
      end: range.end,
      order: ORDER_BLOCK_END,
      html: [],
      text: [],
      marker: { block, edge: "end" },
    });
  });

  if (context.trackOpens) {
    const at = letter.bodyClose >= 0 ? letter.bodyClose : html.length;
    edits.push({
      start: at,
      end: at,
      order: ORDER_PIXEL,
      html: [{ kind: "open-pixel" }],
      text: null,
    });
  }

  return edits.sort((a, b) => a.start - b.start || a.order - b.order);
}

function isLinkElement(tag: StartTag): boolean {
  return tag.name === "a" || tag.name === "area" || tag.name.startsWith("v:");
}

/** Builds the edit of one URL-valued attribute: a link through the pipeline, or tokens filled in place. */
function urlAttributeEdit(
  html: string,
  tag: StartTag,
  attribute: Attribute,
  tokens: AnalyzedToken[],
  context: CompileContext,
): Edit | null {
  // HTML uses the first of repeated attributes; a repeated href is only filled in place.
  const isLink =
    isLinkElement(tag) &&
    attribute.name === "href" &&
    findAttribute(tag, "href") === attribute &&
    !findAttribute(tag, SKIP_ATTRIBUTE);

  const raw = html.slice(attribute.valueStart, attribute.valueEnd);
  const lead = raw.length - raw.trimStart().length;
  const first = tokens[0];

  if (first && first.start === attribute.valueStart + lead) {
    const whole = tokens.length === 1 && html.slice(first.end, attribute.valueEnd).trim() === "";
    if (whole && isLink && isSubscriberToken(first.expr))
      return dynamicLinkEdit(attribute, first, context);
    return inPlaceEdit(html, attribute, tokens, first, context);
  }

  if (isLink) {
    const pieces = decodeUrl(html, attribute, tokens, context);
    const http = typeof pieces[0] === "string" && isHttpUrl(pieces[0]);
    // A URL the click route would reject is sent as written; validation warns about it.
    if (http && !isRejectedDestination(appendUtm(pieces, context.utm).pieces))
      return linkEdit(html, attribute, tokens, pieces, context);
  }
  return tokens.length > 0 ? inPlaceEdit(html, attribute, tokens, null, context) : null;
}

/** Builds the edit of an http(s) link: UTM, then tracking, per the switches. */
function linkEdit(
  html: string,
  attribute: Attribute,
  tokens: AnalyzedToken[],
  pieces: UrlPiece[],
  context: CompileContext,
): Edit {
  const tagged = appendUtm(pieces, context.utm);
  const trackable = isTrackable(tagged.pieces);
  const idx = trackable ? context.addLink(tagged.pieces) : -1;
  const track = trackable && context.trackClicks;

  let htmlParts: Part[];
  if (track) htmlParts = [{ kind: "click", idx, escape: "attr" }];
  else if (tagged.changed) htmlParts = piecesToParts(tagged.pieces, "attr", context);
  else htmlParts = originalParts(html, attribute, tokens, null, context, "attr");

  const rewritten = track || tagged.changed;
  const textParts: Part[] = track
    ? [{ kind: "click", idx, escape: "text" }]
    : piecesToParts(tagged.pieces, "text", context);
  return valueEdit(attribute, rewritten ? quoted(attribute, htmlParts) : htmlParts, textParts);
}

/**
 * Builds the edit of a link whose whole URL is a subscriber token. Whether
 * it is http(s) is known only per recipient, when it is tagged. It is never
 * tracked, because the click redirect only leads to hosts written in the letter.
 */
function dynamicLinkEdit(
  attribute: Attribute,
  token: AnalyzedToken,
  context: CompileContext,
): Edit {
  const slot = (escape: UrlEscape): Part => ({
    kind: "dynamic-link",
    token: context.tokenId(token.expr),
    utm: context.utm,
    escape,
  });
  return valueEdit(attribute, [slot("attr")], [slot("text")]);
}

/**
 * Tokens filled where they stand, the rest of the value as written: a
 * leading token is a whole URL (checked for a safe scheme), later tokens are
 * percent-encoded.
 */
function inPlaceEdit(
  html: string,
  attribute: Attribute,
  tokens: AnalyzedToken[],
  leading: AnalyzedToken | null,
  context: CompileContext,
): Edit {
  return valueEdit(
    attribute,
    originalParts(html, attribute, tokens, leading, context, "attr"),
    originalParts(html, attribute, tokens, leading, context, "text"),
  );
}

function valueEdit(attribute: Attribute, htmlParts: Part[], textParts: Part[]): Edit {
  return {
    start: attribute.valueStart,
    end: attribute.valueEnd,
    order: ORDER_CONTENT,
    html: htmlParts,
    text: textParts,
  };
}

/**
 * Returns the attribute value with its tokens as slots. For HTML the literal text is
 * kept byte for byte; for the text part it is entity-decoded, as a reader sees it.
 */
function originalParts(
  html: string,
  attribute: Attribute,
  tokens: AnalyzedToken[],
  leading: AnalyzedToken | null,
  context: CompileContext,
  escape: UrlEscape,
): Part[] {
  const parts: Part[] = [];
  const literal = (text: string) => (escape === "attr" ? text : decodeHTMLAttribute(text));
  let at = attribute.valueStart;

  for (const token of tokens) {
    parts.push(literal(html.slice(at, token.start)));
    if (token === leading) {
      const constant = context.constantValue(token.expr);
      parts.push(
        constant !== null
          ? escapeFor(escape, constant)
          : { kind: "url-value", token: context.tokenId(token.expr), escape },
      );
    } else {
      parts.push(...context.valueParts(token.expr, "url"));
    }
    at = token.end;
  }
  parts.push(literal(html.slice(at, attribute.valueEnd)));
  return parts.filter((part) => part !== "");
}

/**
 * The trimmed, entity-decoded URL as pieces. HTML decodes character
 * references in attribute values exactly once (`&amp;amp;` is `&amp;`), and
 * `{{ mailing.name }}` is folded in percent-encoded.
 */
function decodeUrl(
  html: string,
  attribute: Attribute,
  tokens: AnalyzedToken[],
  context: CompileContext,
): UrlPiece[] {
  const pieces: UrlPiece[] = [];
  let literal = "";
  let at = attribute.valueStart;

  for (const token of tokens) {
    literal += decodeHTMLAttribute(html.slice(at, token.start));
    const constant = context.constantValue(token.expr);
    if (constant !== null) literal += escapeFor("url", constant);
    else {
      pieces.push(literal, { expr: token.expr });
      literal = "";
    }
    at = token.end;
  }
  pieces.push(literal + decodeHTMLAttribute(html.slice(at, attribute.valueEnd)));

  // HTML strips leading and trailing ASCII whitespace from URL attributes.
  const last = pieces.length - 1;
  pieces[0] = (pieces[0] as string).replace(/^[\t\n\f\r ]+/, "");
  pieces[last] = (pieces[last] as string).replace(/[\t\n\f\r ]+$/, "");
  return pieces.filter((piece, i) => piece !== "" || i === 0);
}

/** Converts a rewritten URL to parts: literal text escaped for the attribute or raw for text, tokens percent-encoded. */
function piecesToParts(pieces: UrlPiece[], escape: UrlEscape, context: CompileContext): Part[] {
  const parts: Part[] = [];
  for (const piece of pieces) {
    if (typeof piece === "string") parts.push(escape === "attr" ? escapeAttribute(piece) : piece);
    else parts.push(...context.valueParts(piece.expr, "url"));
  }
  return parts.filter((part) => part !== "");
}

/** Wraps a rewritten unquoted value in double quotes, so the new URL cannot end the attribute early. */
function quoted(attribute: Attribute, parts: Part[]): Part[] {
  return attribute.quote === "" ? ['"', ...parts, '"'] : parts;
}
