/**
 * Public types of the letter engine: what goes in (a letter and a recipient),
 * what comes out (issues, a compiled letter, a rendered message).
 */
import type { AnalyticsSettings, LetterBlock } from "../db/schema";

export type { AnalyticsSettings, LetterBlock };

/** A letter as the author saved it. */
export interface LetterSource {
  subject: string;
  preheader: string;
  fromName: string;
  fromEmail: string;
  replyTo: string | null;
  /**
   * Full HTML document. `{{ content }}` marks where the blocks go; without it
   * the blocks go before `</body>`, and a layout with no blocks is the whole letter.
   */
  layout: string;
  /** Ordered pieces of HTML, each shown only to subscribers matching its condition. */
  blocks: LetterBlock[];
  /** Hand-written text part; null means the text part is generated from the HTML. */
  textBody: string | null;
  settings: AnalyticsSettings;
}

/** The subscriber a message is rendered for. */
export interface Recipient {
  id: number;
  email: string;
  firstName: string;
  lastName: string;
  /** Imported CSV columns beyond email and names (city, plan, signup_date, ...). */
  attributes: Record<string, string>;
  /** Ids of the lists the subscriber belongs to, for block conditions. */
  listIds: number[];
}

/** One problem found in a letter. A letter with any `error` cannot compile. */
export interface LetterIssue {
  severity: "error" | "warning";
  /** Stable machine-readable kind, such as `token-syntax` or `foreign-placeholder`. */
  code: string;
  message: string;
  /** 1-based line inside `part`; 0 when the issue is not tied to a line (a block condition). */
  line: number;
  /** The offending text as written, such as the placeholder or token. */
  text: string;
  /** Which part of the letter: `subject`, `preheader`, `layout`, `block <id>`, `textBody`, `settings`, `from`. */
  part?: string;
}

/** Raised by `compileLetter` when `validateLetter` reports errors. */
export class LetterError extends Error {
  readonly issues: LetterIssue[];

  constructor(issues: LetterIssue[]) {
    const errors = issues.filter((issue) => issue.severity === "error");
    const first = errors[0];
    const where = first ? ` (${first.part ?? "letter"} line ${first.line}: ${first.message})` : "";
    super(`The letter has ${errors.length} error(s) and cannot be compiled${where}.`);
    this.name = "LetterError";
    this.issues = issues;
  }
}

/** A link that goes through click tracking, numbered in document order. */
export interface CompiledLink {
  idx: number;
  /** Destination after UTM tagging; may still contain `{{ ... }}` token slots. */
  url: string;
  hasTokens: boolean;
}

/** Absolute, signed URLs of one recipient, built by the caller. */
export interface RecipientUrls {
  click(idx: number): string;
  open: string;
  unsubscribe: string;
  web: string;
}

/** Per-delivery values that are not part of the letter or the recipient. */
export interface RenderContext {
  urls: RecipientUrls;
  /** For example `mailto:unsubscribe@example.com?subject=unsubscribe-42`; null leaves it out. */
  unsubscribeMailto: string | null;
  /** Message-ID without angle brackets, deterministic per delivery. */
  messageId: string;
  /** List-ID header value, for example `Spring news <list-3.trickle.example.com>`. */
  listId: string;
  date: Date;
  /** Envelope sender; the SMTP layer uses it, the message headers do not. */
  returnPath?: string;
}

/** The message for one recipient. */
export interface RenderedMessage {
  /** Decoded subject line. */
  subject: string;
  html: string;
  text: string;
  /** Complete RFC 5322 message with CRLF line ends. */
  mime: string;
}
