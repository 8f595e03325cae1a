/** Rendering a compiled letter for one recipient: the message, the web view and link destinations. */
import { buildMessage, encodeHeaderText } from "../mime";
import type { CompiledLetter } from "./compile";
import { encodeUnsafeUrlCharacters, escapeHeader, escapeUrlComponent } from "./escape";
import { renderParts, RenderState } from "./plan";
import { findTokens, parseToken, type TokenExpr } from "./tokens/syntax";
import { evaluateToken, type ValueScope } from "./tokens/values";
import type {
  CompiledLink,
  Recipient,
  RecipientUrls,
  RenderContext,
  RenderedMessage,
} from "./types";

/**
 * Renders the complete message for one recipient, with the one-click
 * unsubscribe headers (RFC 8058) and List-ID. The same inputs always give
 * the same bytes.
 */
export function renderMessage(
  letter: CompiledLetter,
  recipient: Recipient,
  context: RenderContext,
): RenderedMessage {
  const { subject, html, text } = renderContent(letter, recipient, context.urls, context.date);

  const unsubscribe = [`<${context.urls.unsubscribe}>`];
  if (context.unsubscribeMailto) unsubscribe.push(`<${context.unsubscribeMailto}>`);
  const headers: Array<[string, string]> = [
    ["List-Unsubscribe", unsubscribe.join(", ")],
    ["List-Unsubscribe-Post", "List-Unsubscribe=One-Click"],
    ["List-ID", asciiListId(context.listId)],
    ["Precedence", "bulk"],
  ];

  const mime = buildMessage({
    from: { name: letter.from.name, email: letter.from.email },
    to: {
      name: escapeHeader(`${recipient.firstName ?? ""} ${recipient.lastName ?? ""}`.trim()),
      email: recipient.email,
    },
    replyTo: letter.replyTo ? { email: letter.replyTo } : null,
    subject,
    messageId: context.messageId,
    date: context.date,
    html,
    text,
    headers,
  });
  return { subject, html, text, mime };
}

/**
 * Renders the subject, HTML and text of one recipient's message without the
 * MIME encoding, which `renderMessage` then adds with `buildMessage`.
 */
export function renderContent(
  letter: CompiledLetter,
  recipient: Recipient,
  urls: RecipientUrls,
  date: Date,
): { subject: string; html: string; text: string } {
  const state = new RenderState(
    letter,
    scopeFor(letter, recipient, urls, date),
    urls,
    letter.trackOpens,
  );
  const subject = renderParts(letter.subject, state);
  const html = renderParts(letter.html, state);
  const rendered = renderParts(letter.text, state);
  // Reading a character flattens the whole string, so only look when the text may start with breaks.
  const text = typeof letter.text[0] === "string" ? rendered : trimLeadingBreaks(rendered);
  return { subject, html, text };
}

/**
 * Renders the HTML of the "view in browser" page: the message's HTML
 * without the open pixel, with the same tracked links. `date` fills `{{ date }}`; it
 * defaults to now, so pass the send date to show what the message showed.
 */
export function renderWebView(
  letter: CompiledLetter,
  recipient: Recipient,
  urls: RecipientUrls,
  date: Date = new Date(),
): string {
  const state = new RenderState(letter, scopeFor(letter, recipient, urls, date), urls, false);
  return renderParts(letter.html, state);
}

/** Drops the line breaks that a hidden block at the very start of the text part left behind. */
function trimLeadingBreaks(text: string): string {
  if (text.charCodeAt(0) !== 10) return text;
  let i = 0;
  while (text.charCodeAt(i) === 10) i++;
  return text.slice(i);
}

function scopeFor(
  letter: CompiledLetter,
  recipient: Recipient,
  urls: RecipientUrls,
  date: Date,
): ValueScope {
  return { recipient, urls, date, mailingName: letter.mailingName };
}

/**
 * List-ID must be ASCII (RFC 2919); a non-ASCII description before the
 * `<id>` is written as RFC 2047 encoded-words.
 */
function asciiListId(listId: string): string {
  const value = escapeHeader(listId).trim();
  if (/^[\x20-\x7e]*$/.test(value)) return value;

  const open = value.lastIndexOf("<");
  const phrase = (open >= 0 ? value.slice(0, open) : value).trim();
  const id = open >= 0 ? value.slice(open) : "";
  const encoded = encodeHeaderText(phrase, "List-ID").replace(/\r\n[ \t]/g, " ");
  return id ? `${encoded} ${id}` : encoded;
}

const templates = new Map<string, Array<string | TokenExpr>>();
const MAX_CACHED_TEMPLATES = 1000;

/**
 * Returns the destination the click redirect sends this recipient to: the stored URL
 * with its tokens filled (values percent-encoded), and any non-ASCII, space
 * or control character percent-encoded as UTF-8 so it is valid in a Location
 * header. Everything else stays as stored.
 */
export function resolveLinkUrl(link: CompiledLink, recipient: Recipient): string {
  if (!link.hasTokens) return encodeUnsafeUrlCharacters(link.url);

  const scope: ValueScope = { recipient, urls: null, date: new Date(0), mailingName: "" };
  let url = "";
  for (const piece of linkTemplate(link.url)) {
    url += typeof piece === "string" ? piece : escapeUrlComponent(evaluateToken(piece, scope));
  }
  return encodeUnsafeUrlCharacters(url);
}

/** Splits a stored URL into literal text and tokens, with a cache because a mailing's links repeat. */
function linkTemplate(url: string): Array<string | TokenExpr> {
  const cached = templates.get(url);
  if (cached) return cached;

  const pieces: Array<string | TokenExpr> = [];
  let at = 0;
  for (const match of findTokens(url).tokens) {
    const expr = parseToken(match.inner);
    if ("error" in expr)
      throw new Error(`Stored link URL "${url}" has an invalid token: ${expr.error}`);
    pieces.push(url.slice(at, match.start), expr);
    at = match.end;
  }
  pieces.push(url.slice(at));

  if (templates.size >= MAX_CACHED_TEMPLATES) templates.clear();
  templates.set(url, pieces);
  return pieces;
}
