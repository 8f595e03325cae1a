/**
 * A hand-written text part: tokens become slots and every bare http(s) URL
 * goes through the same link pipeline as the HTML (UTM, then tracking).
 */
import { escapeUrlComponent } from "../escape";
import { appendUtm, type UrlPiece } from "../links/utm";
import { maskRanges } from "../html/context";
import type { Part } from "../plan";
import type { AnalyzedPart } from "../validate/analyze";
import { isRejectedDestination, isTrackable, type CompileContext } from "./context";
import { mergeStrings } from "./html";

/** A URL in running text ends at whitespace, quotes or angle brackets. */
const URL_IN_TEXT = /https?:\/\/[^\s<>"'`]+/gi;
/** Sentence punctuation after a URL is not part of it. */
const TRAILING_PUNCTUATION = /[.,;:!?)\]}]+$/;

/** Builds the parts of a hand-written text body; links get the next free link numbers. */
export function buildTextBodyParts(part: AnalyzedPart, context: CompileContext): Part[] {
  const { text, tokens } = part;
  const masked = maskRanges(text, tokens);
  const parts: Part[] = [];
  let at = 0;
  let nextToken = 0;

  const emitTokensUntil = (end: number) => {
    for (; nextToken < tokens.length && tokens[nextToken].start < end; nextToken++) {
      const token = tokens[nextToken];
      parts.push(text.slice(at, token.start), ...context.valueParts(token.expr, "text"));
      at = token.end;
    }
    parts.push(text.slice(at, end));
    at = end;
  };

  URL_IN_TEXT.lastIndex = 0;
  for (let match = URL_IN_TEXT.exec(masked); match; match = URL_IN_TEXT.exec(masked)) {
    const start = match.index;
    const end = start + trimPunctuation(match[0]).length;
    const inside = tokens.filter((token) => token.start >= start && token.end <= end);
    // A URL that cuts a token in two is left as text.
    if (tokens.some((token) => token.start < end && token.end > end)) continue;

    emitTokensUntil(start);
    parts.push(...linkParts(text, start, end, inside, context));
    at = end;
    while (nextToken < tokens.length && tokens[nextToken].start < end) nextToken++;
  }
  emitTokensUntil(text.length);
  return mergeStrings(parts);
}

function trimPunctuation(url: string): string {
  const trimmed = url.replace(TRAILING_PUNCTUATION, "");
  // Keep a closing parenthesis that closes one inside the URL (Wikipedia-style links).
  if (url.length > trimmed.length && url[trimmed.length] === ")" && trimmed.includes("(")) {
    return trimmed + ")";
  }
  return trimmed;
}

function linkParts(
  text: string,
  start: number,
  end: number,
  tokens: AnalyzedPart["tokens"],
  context: CompileContext,
): Part[] {
  const pieces: UrlPiece[] = [];
  let at = start;
  for (const token of tokens) {
    pieces.push(text.slice(at, token.start));
    const constant = context.constantValue(token.expr);
    pieces.push(constant !== null ? escapeUrlComponent(constant) : { expr: token.expr });
    at = token.end;
  }
  pieces.push(text.slice(at, end));

  let tagged = appendUtm(pieces, context.utm);
  // A URL the click route would reject is sent as written; validation warns about it.
  if (isRejectedDestination(tagged.pieces)) tagged = { pieces, changed: false };
  if (isTrackable(tagged.pieces)) {
    const idx = context.addLink(tagged.pieces);
    if (context.trackClicks) return [{ kind: "click", idx, escape: "text" }];
  }

  const parts: Part[] = [];
  for (const piece of tagged.pieces) {
    if (typeof piece === "string") parts.push(piece);
    else parts.push(...context.valueParts(piece.expr, "url"));
  }
  return parts;
}
