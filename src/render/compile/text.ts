/**
 * The text part, generated from the HTML once per compile with html-to-text.
 *
 * Every slot of the HTML (a token, a link URL, a block boundary) is written
 * into the converter's input as a sentinel, `U+FFF0 <number> U+FFF1`, which
 * html-to-text passes through unchanged. Splitting the output on the
 * sentinels gives static text and slots again, so the text part is rendered
 * per recipient with the same string operations as the HTML. Links read
 * `text [URL]` with the recipient's URL.
 */
import { compile as compileConverter, type HtmlToTextOptions } from "html-to-text";

import type { Predicate } from "../conditions";
import type { Part } from "../plan";
import type { Edit } from "./edits";
import { mergeStrings } from "./html";

const OPEN = "\uFFF0";
const CLOSE = "\uFFF1";
const SENTINEL = /\uFFF0(\d+)\uFFF1/;
const SENTINEL_CHARS = /[\uFFF0\uFFF1]/g;

type TextSlot = { parts: Part[] } | { block: number; edge: "start" | "end" };

const OPTIONS: HtmlToTextOptions = {
  wordwrap: false,
  formatters: {
    // Images read as their alt text; their URLs are noise in a text part.
    imageAlt(elem, _walk, builder) {
      const alt = attributesOf(elem).alt;
      if (alt && alt.trim() !== "") builder.addInline(alt.trim());
    },
    anchor: formatAnchor,
  },
  selectors: [
    { selector: "a", format: "anchor" },
    { selector: "img", format: "imageAlt" },
    ...["h1", "h2", "h3", "h4", "h5", "h6"].map((selector) => ({
      selector,
      options: { uppercase: false },
    })),
    { selector: "td", format: "block" },
    { selector: "th", format: "block" },
    // Hidden preheaders and Outlook-only content are not part of the readable text.
    { selector: '[style*="display:none"]', format: "skip" },
    { selector: '[style*="display: none"]', format: "skip" },
    { selector: '[style*="mso-hide:all"]', format: "skip" },
  ],
};

let converter: ((html: string) => string) | null = null;

type Element = Parameters<NonNullable<HtmlToTextOptions["formatters"]>[string]>[0];
type Walk = Parameters<NonNullable<HtmlToTextOptions["formatters"]>[string]>[1];
type Builder = Parameters<NonNullable<HtmlToTextOptions["formatters"]>[string]>[2];

function attributesOf(elem: Element): Record<string, string> {
  return (elem as { attribs?: Record<string, string> }).attribs ?? {};
}

/**
 * Formats a link as `text [URL]`, or as the URL alone when it has no text, or
 * as the text alone when the text is the URL or its mailto:, tel: or sms: address. Unlike html-to-text's own anchor format, a link directly
 * followed by another element gets a space, so menus read `Home [...] About [...]`.
 */
function formatAnchor(elem: Element, walk: Walk, builder: Builder): void {
  const href = attributesOf(elem).href ?? "";
  const children = (elem as { children?: unknown[] }).children ?? [];
  if (href === "" || href.startsWith("#")) {
    walk(children as never, builder);
    return;
  }

  let text = "";
  builder.pushWordTransform((word: string) => {
    text += word;
    return word;
  });
  walk(children as never, builder);
  builder.popWordTransform();

  // A link whose text is its address (`jane@example.com` for `mailto:jane@example.com`) reads
  // as the text alone. Any other mailto:, tel: or sms: link keeps its scheme after the text.
  const address = href.replace(/^(?:mailto|tel|sms):/i, "");
  if (text !== href && text !== address)
    builder.addInline(text ? ` [${href}]` : href, { noWordTransform: true });
  const next = (elem as { next?: { type?: string } }).next;
  if (next?.type === "tag") builder.addInline(" ");
}

/** Builds the text parts from the assembled letter and its edits. */
export function buildTextParts(
  html: string,
  edits: Edit[],
  conditions: Array<Predicate | null>,
): Part[] {
  const slots: TextSlot[] = [];
  let source = "";
  let at = 0;

  for (const edit of edits) {
    source += html.slice(at, edit.start).replace(SENTINEL_CHARS, "");
    if (edit.marker) {
      source += `<div>${OPEN}${slots.push(edit.marker) - 1}${CLOSE}</div>`;
    } else if (edit.text === null) {
      source += html.slice(edit.start, edit.end).replace(SENTINEL_CHARS, "");
    } else {
      source += OPEN + (slots.push({ parts: edit.text }) - 1) + CLOSE;
    }
    at = Math.max(at, edit.end);
  }
  source += html.slice(at).replace(SENTINEL_CHARS, "");

  converter ??= compileConverter(OPTIONS);
  const items = splitSentinels(converter(source));
  return foldBlocks(items, slots, conditions);
}

/** Static text and slot numbers, in order. */
function splitSentinels(text: string): Array<string | number> {
  const pieces = text.split(new RegExp(SENTINEL.source));
  // split() with one capture group alternates text and captured numbers.
  return pieces.map((piece, i) => (i % 2 === 1 ? Number(piece) : piece));
}

/**
 * Replaces slot numbers with their parts and turns block markers into block
 * slots. The line breaks next to a marker become `break` parts, which
 * collapse to the longest run at render time the way html-to-text merges
 * the breaks of neighbouring blocks, so a hidden block leaves no blank lines.
 */
function foldBlocks(
  items: Array<string | number>,
  slots: TextSlot[],
  conditions: Array<Predicate | null>,
): Part[] {
  const stack: Array<{ block: number; parts: Part[] }> = [{ block: -1, parts: [] }];
  const isMarker = (item: string | number | undefined) =>
    typeof item === "number" && slots[item] !== undefined && !("parts" in slots[item]);

  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const current = stack[stack.length - 1];
    if (typeof item === "string") {
      current.parts.push(...splitBreaks(item, isMarker(items[i - 1]), isMarker(items[i + 1])));
      continue;
    }

    const slot = slots[item];
    if (!slot) continue;
    if ("parts" in slot) {
      current.parts.push(...slot.parts);
    } else if (slot.edge === "start") {
      stack.push({ block: slot.block, parts: [] });
    } else if (stack.length > 1 && current.block === slot.block) {
      stack.pop();
      closeBlock(current, stack[stack.length - 1].parts, conditions);
    }
  }

  // A block whose end marker the converter dropped ends with the text.
  while (stack.length > 1) {
    const open = stack.pop()!;
    closeBlock(open, stack[stack.length - 1].parts, conditions);
  }
  return mergeStrings(stack[0].parts);
}

/** Splits the line breaks that touch a block marker off a piece of text. */
function splitBreaks(text: string, afterMarker: boolean, beforeMarker: boolean): Part[] {
  if (!afterMarker && !beforeMarker) return [text];
  if (/^\n*$/.test(text)) return text === "" ? [] : [{ kind: "break", count: text.length }];

  const parts: Part[] = [];
  let body = text;
  const leading = afterMarker ? /^\n*/.exec(body)![0].length : 0;
  if (leading > 0) parts.push({ kind: "break", count: leading });
  body = body.slice(leading);

  const trailing = beforeMarker ? /\n*$/.exec(body)![0].length : 0;
  parts.push(body.slice(0, body.length - trailing));
  if (trailing > 0) parts.push({ kind: "break", count: trailing });
  return parts;
}

function closeBlock(
  block: { block: number; parts: Part[] },
  parent: Part[],
  conditions: Array<Predicate | null>,
): void {
  if (block.parts.length === 0) return;
  if (conditions[block.block])
    parent.push({ kind: "block", block: block.block, parts: mergeStrings(block.parts) });
  else parent.push(...block.parts);
}
