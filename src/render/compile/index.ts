/**
 * Compiling a letter: analyse and validate it, assemble layout and blocks,
 * and build the plans of the subject, the HTML and the text part. This runs
 * once per mailing; `renderMessage` then fills the plans per recipient.
 */
import type { Predicate } from "../conditions";
import type { Part } from "../plan";
import type { TokenExpr } from "../tokens/syntax";
import { LetterError, type CompiledLink, type LetterSource } from "../types";
import { analyzeLetter, type AnalyzedPart } from "../validate/analyze";
import { assembleLetter } from "./assemble";
import { CompileContext } from "./context";
import { collectEdits } from "./edits";
import { buildHtmlParts, mergeStrings } from "./html";
import { buildTextBodyParts } from "./text-body";
import { buildTextParts } from "./text";

/**
 * A letter ready to render for any recipient. Only `links` is meant to be
 * read by callers (to store the mailing's links); the rest is the plan.
 */
export interface CompiledLetter {
  /** Every link that goes through click tracking, by `idx`: HTML links in document order, then text-part links. */
  links: CompiledLink[];
  subject: Part[];
  html: Part[];
  text: Part[];
  tokens: TokenExpr[];
  conditions: Array<Predicate | null>;
  from: { name: string; email: string };
  replyTo: string | null;
  mailingName: string;
  trackOpens: boolean;
  trackClicks: boolean;
}

/** Options of `compileLetter`. */
export interface CompileOptions {
  /** Value of `{{ mailing.name }}`. */
  mailingName: string;
}

/** Compiles a letter; throws LetterError with every issue when validation finds an error. */
export function compileLetter(source: LetterSource, options: CompileOptions): CompiledLetter {
  const analysis = analyzeLetter(source);
  if (analysis.issues.some((issue) => issue.severity === "error"))
    throw new LetterError(analysis.issues);

  const context = new CompileContext(source.settings, options.mailingName);
  const assembled = assembleLetter(analysis);
  const edits = collectEdits(assembled, context);

  const html = buildHtmlParts(assembled.html, edits, analysis.conditions);
  const text = analysis.textBody
    ? buildTextBodyParts(analysis.textBody, context)
    : buildTextParts(assembled.html, edits, analysis.conditions);

  return {
    links: context.links,
    subject: plainParts(analysis.subject, context),
    html,
    text,
    tokens: context.tokens,
    conditions: analysis.conditions,
    from: { name: source.fromName ?? "", email: source.fromEmail },
    replyTo: source.replyTo ? source.replyTo : null,
    mailingName: options.mailingName,
    trackOpens: context.trackOpens,
    trackClicks: context.trackClicks,
  };
}

/** Builds the subject parts: literal text with header-escaped token values. */
function plainParts(part: AnalyzedPart, context: CompileContext): Part[] {
  const parts: Part[] = [];
  let at = 0;
  for (const token of part.tokens) {
    parts.push(part.text.slice(at, token.start), ...context.valueParts(token.expr, "header"));
    at = token.end;
  }
  parts.push(part.text.slice(at));
  return mergeStrings(parts);
}
