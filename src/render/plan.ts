/**
 * A compiled template: static strings and slots. Rendering walks the parts
 * once and fills each slot with string operations; nothing is parsed or
 * scanned per recipient.
 */
import { appendUtmToString, type UtmPair } from "./links/utm";
import type { Predicate } from "./conditions";
import { escapeFor, type Escape } from "./escape";
import type { TokenExpr } from "./tokens/syntax";
import { evaluateToken, type ValueScope } from "./tokens/values";
import type { Recipient, RecipientUrls } from "./types";

/** Output form of a URL slot: a quoted HTML attribute value or plain text. */
export type UrlEscape = "attr" | "text";

export type Slot =
  /** A token's value, escaped for where it lands. */
  | { kind: "value"; token: number; escape: Escape }
  /** A token that is a whole URL; written only when its scheme is safe, otherwise empty. */
  | { kind: "url-value"; token: number; escape: UrlEscape }
  /** The recipient's click-tracking URL of link `idx`. */
  | { kind: "click"; idx: number; escape: UrlEscape }
  /** A whole-URL token in a link: UTM-tagged when its value is http(s) at render time, never tracked. */
  | { kind: "dynamic-link"; token: number; utm: UtmPair[]; escape: UrlEscape }
  /** The open-tracking pixel. */
  | { kind: "open-pixel" }
  /** Parts shown only when the block's condition matches. */
  | { kind: "block"; block: number; parts: Part[] }
  /**
   * Line breaks of the text part next to a block boundary. Neighbouring
   * breaks collapse to the longest, written before the next output; breaks
   * at the end of the text are dropped.
   */
  | { kind: "break"; count: number };

export type Part = string | Slot;

/** The per-letter data rendering reads besides the parts. */
export interface PlanTables {
  tokens: TokenExpr[];
  conditions: Array<Predicate | null>;
}

/** Per-render state: caches token values and block decisions for one recipient. */
export class RenderState {
  private readonly values: Array<string | undefined>;
  private readonly blocks: Array<boolean | undefined>;
  private readonly clicks: Array<string | undefined> = [];
  /** Line breaks waiting for the next output; see the `break` slot. */
  pendingBreaks = 0;

  constructor(
    private readonly tables: PlanTables,
    readonly scope: ValueScope,
    readonly urls: RecipientUrls,
    readonly withOpenPixel: boolean,
  ) {
    this.values = new Array(tables.tokens.length);
    this.blocks = new Array(tables.conditions.length);
  }

  value(token: number): string {
    let value = this.values[token];
    if (value === undefined) {
      value = evaluateToken(this.tables.tokens[token], this.scope);
      this.values[token] = value;
    }
    return value;
  }

  /** Returns the click URL of a link, calling `urls.click` once per render although HTML and text both use it. */
  click(idx: number): string {
    let url = this.clicks[idx];
    if (url === undefined) {
      url = this.urls.click(idx);
      this.clicks[idx] = url;
    }
    return url;
  }

  shows(block: number): boolean {
    let shown = this.blocks[block];
    if (shown === undefined) {
      const condition = this.tables.conditions[block];
      shown = condition ? condition(this.scope.recipient) : true;
      this.blocks[block] = shown;
    }
    return shown;
  }
}

/** Writes the parts for one recipient. */
export function renderParts(parts: Part[], state: RenderState): string {
  let out = "";
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (typeof part === "string") {
      if (state.pendingBreaks !== 0) out += takeBreaks(state);
      out += part;
    } else if (part.kind === "break") {
      if (part.count > state.pendingBreaks) state.pendingBreaks = part.count;
    } else if (part.kind === "block") {
      if (state.shows(part.block)) out += renderParts(part.parts, state);
    } else {
      if (state.pendingBreaks !== 0) out += takeBreaks(state);
      out += renderSlot(part, state);
    }
  }
  return out;
}

function takeBreaks(state: RenderState): string {
  const breaks = "\n".repeat(state.pendingBreaks);
  state.pendingBreaks = 0;
  return breaks;
}

function renderSlot(slot: Exclude<Slot, { kind: "block" | "break" }>, state: RenderState): string {
  switch (slot.kind) {
    case "value":
      return escapeFor(slot.escape, state.value(slot.token));
    case "url-value":
      return escapeFor(slot.escape, safeUrl(state.value(slot.token)));
    case "click":
      return escapeFor(slot.escape, state.click(slot.idx));
    case "dynamic-link":
      return escapeFor(slot.escape, dynamicLink(slot, state));
    case "open-pixel":
      return state.withOpenPixel ? openPixel(state.urls.open) : "";
  }
}

const HTTP_URL = /^https?:\/\//i;
const OTHER_SAFE_URL = /^(?:mailto|tel|sms):/i;

/** Returns a whole-URL value when it is http(s), mailto:, tel: or sms:, and the empty string otherwise (javascript:, data:, text). */
export function safeUrl(value: string): string {
  const url = value.trim();
  if (url === "") return "";
  return HTTP_URL.test(url) || OTHER_SAFE_URL.test(url) ? url : "";
}

function dynamicLink(slot: Extract<Slot, { kind: "dynamic-link" }>, state: RenderState): string {
  const url = state.value(slot.token).trim();
  if (url === "") return "";
  if (HTTP_URL.test(url)) return appendUtmToString(url, slot.utm);
  return OTHER_SAFE_URL.test(url) ? url : "";
}

function openPixel(url: string): string {
  return `<img src="${escapeFor("attr", url)}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0;" />`;
}

/** True when `url` is an absolute http(s) URL. */
export function isHttpUrl(url: string): boolean {
  return HTTP_URL.test(url);
}
