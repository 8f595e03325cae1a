/**
 * The letter engine: turns a letter and a subscriber into the exact message
 * that goes on the wire. Compile once per mailing (`compileLetter`), then
 * render per recipient (`renderMessage`) with string operations only.
 * docs/LETTERS.md describes tokens, conditions and the link pipeline.
 */
import { analyzeLetter, type ValidateOptions } from "./validate/analyze";
import type { LetterIssue, LetterSource } from "./types";

export type {
  AnalyticsSettings,
  CompiledLink,
  LetterBlock,
  LetterIssue,
  LetterSource,
  Recipient,
  RecipientUrls,
  RenderContext,
  RenderedMessage,
} from "./types";
export { LetterError } from "./types";
export type { CompiledLetter, CompileOptions } from "./compile";
export { compileLetter } from "./compile";
export { renderContent, renderMessage, renderWebView, resolveLinkUrl } from "./message";
export type { ValidateOptions } from "./validate/analyze";
export { SKIP_ATTRIBUTE } from "./compile/edits";
export { fixedOrigin, isTrackableDestination, parseHttpUrl } from "./links/origin";

/**
 * Checks a letter at save time: token syntax, where tokens stand, foreign
 * placeholders (translated ones are warnings), block conditions, sender and
 * settings. A letter with any `error` cannot compile.
 */
export function validateLetter(source: LetterSource, options: ValidateOptions = {}): LetterIssue[] {
  return analyzeLetter(source, options).issues;
}
