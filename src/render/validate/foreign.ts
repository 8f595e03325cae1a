/**
 * Placeholders from other senders and tokens that editing tools mangled.
 *
 * Unambiguous merge tags are translated into tokens and reported as
 * warnings: Mailchimp `*|FNAME|*`, `*|LNAME|*`, `*|EMAIL|*`, `*|UNSUB|*`,
 * `*|ARCHIVE|*`; SendGrid `[unsubscribe]`, `<%asm_global_unsubscribe_raw_url%>`,
 * `<%asm_group_unsubscribe_raw_url%>`; Salesforce `%%FirstName%%`,
 * `%%first_name%%`, `%%LastName%%`, `%%emailaddr%%`, `%%unsub_center_url%%`,
 * `%%view_email_url%%`. Percent-encoded tokens (`%7B%7B first_name %7D%7D`)
 * are decoded. Every other foreign placeholder is an error, so it is never
 * sent as written.
 */
import type { LetterIssue } from "../types";
import { parseToken } from "../tokens/syntax";

/** A span of the text to replace with a token. */
export interface Replacement {
  start: number;
  end: number;
  text: string;
}

/** An issue at an offset; the caller turns the offset into a line. */
export type OffsetIssue = Omit<LetterIssue, "line" | "part"> & { offset: number };

const MAILCHIMP: Record<string, string> = {
  FNAME: "first_name",
  LNAME: "last_name",
  EMAIL: "email",
  UNSUB: "unsubscribe_url",
  ARCHIVE: "web_url",
};

const SENDGRID_ANGLE: Record<string, string> = {
  asm_global_unsubscribe_raw_url: "unsubscribe_url",
  asm_group_unsubscribe_raw_url: "unsubscribe_url",
};

const SENDGRID_BRACKET: Record<string, string> = {
  unsubscribe: "unsubscribe_url",
};

const SALESFORCE: Record<string, string> = {
  firstname: "first_name",
  first_name: "first_name",
  lastname: "last_name",
  last_name: "last_name",
  emailaddr: "email",
  email: "email",
  unsub_center_url: "unsubscribe_url",
  view_email_url: "web_url",
};

interface Finder {
  pattern: RegExp;
  /** Skipped inside `<style>`, `<script>` and plain comments of HTML parts. */
  textOnly: boolean;
  handle(
    match: RegExpExecArray,
  ): { replacement?: string; issue: Omit<OffsetIssue, "offset" | "text"> } | null;
}

const FINDERS: Finder[] = [
  {
    // Encoded braces, or raw braces around encoded spaces, pipes or quotes.
    pattern: /(?:%7B|\{)(?:%7B|\{)(?:(?!%7D%7D|\}\}|%7B|\{)[^\n<>]){1,200}?(?:%7D|\})(?:%7D|\})/gi,
    textOnly: false,
    handle: handleEncodedToken,
  },
  {
    pattern: /\*(?:\||%7C)([A-Za-z0-9_:]+)(?:\||%7C)\*/gi,
    textOnly: false,
    handle(match) {
      const name = match[1].toUpperCase();
      const token = MAILCHIMP[name];
      if (token) return translated(match[0], token, "Mailchimp merge tag");
      return rejected(match[0], "Mailchimp merge tag", suggestion(match[1]));
    },
  },
  {
    pattern: /<%\s*([^%<>\n]{1,80}?)\s*%>/g,
    textOnly: false,
    handle(match) {
      const token = SENDGRID_ANGLE[match[1].toLowerCase()];
      if (token) return translated(match[0], token, "SendGrid substitution tag");
      return rejected(match[0], "ERB or SendGrid tag", "");
    },
  },
  {
    pattern: /%%\[[\s\S]{0,2000}?\]%%|%%=[\s\S]{0,500}?=%%/g,
    textOnly: false,
    handle: (match) => rejected(match[0], "AMPscript block", ""),
  },
  {
    pattern: /%%([A-Za-z_][A-Za-z0-9_.]{0,80})%%/g,
    textOnly: false,
    handle(match) {
      const token = SALESFORCE[match[1].toLowerCase()];
      if (token) return translated(match[0], token, "Salesforce personalization string");
      return rejected(match[0], "Salesforce personalization string", suggestion(match[1]));
    },
  },
  {
    pattern: /\{%[\s\S]{0,500}?%\}/g,
    textOnly: false,
    handle: (match) => ({
      issue: {
        severity: "error",
        code: "foreign-placeholder",
        message: `The Liquid tag ${match[0]} is not supported; use block conditions to show or hide content.`,
      },
    }),
  },
  {
    // `[Product Name]`, `[Sender_Name]`, `[unsubscribe]`: not `[if mso]>`, `<![endif]`, `[1]` or `[text](url)`.
    pattern: /(?<![!\w\]])\[([A-Za-z][A-Za-z0-9_]*(?: [A-Za-z0-9_]+){0,3})\](?![>(\[:])/g,
    textOnly: true,
    handle(match) {
      const token = SENDGRID_BRACKET[match[1].toLowerCase()];
      if (token) return translated(match[0], token, "SendGrid substitution tag");
      return {
        issue: {
          severity: "error",
          code: "foreign-placeholder",
          message: `${match[0]} looks like a placeholder of another template system and would be sent as written; replace it with the text or a token such as {{ first_name }} (write &#91; for a literal bracket in HTML).`,
        },
      };
    },
  },
  {
    pattern: /\$\{[A-Za-z_][\w.]{0,80}\}/g,
    textOnly: true,
    handle: (match) => ({
      issue: {
        severity: "warning",
        code: "foreign-placeholder",
        message: `${match[0]} looks like a placeholder of another template system; it is sent as written.`,
      },
    }),
  },
];

/**
 * Finds foreign placeholders and encoded tokens in one part of a letter.
 * `excluded` lists ranges (style, script, plain comments) where text-only
 * patterns are not looked for. Replacements never contain or cover a line
 * break, so line numbers stay valid after applying them.
 */
export function findForeignPlaceholders(
  text: string,
  excluded: Array<[number, number]>,
): { replacements: Replacement[]; issues: OffsetIssue[] } {
  const replacements: Replacement[] = [];
  const issues: OffsetIssue[] = [];
  const claimed: Array<[number, number]> = [];

  for (const finder of FINDERS) {
    finder.pattern.lastIndex = 0;
    for (let match = finder.pattern.exec(text); match; match = finder.pattern.exec(text)) {
      const start = match.index;
      const end = start + match[0].length;
      if (overlaps(claimed, start, end)) continue;
      if (finder.textOnly && overlaps(excluded, start, end)) continue;

      const result = finder.handle(match);
      if (!result) continue;

      claimed.push([start, end]);
      issues.push({ ...result.issue, offset: start, text: match[0] });
      if (result.replacement !== undefined)
        replacements.push({ start, end, text: result.replacement });
    }
  }

  replacements.sort((a, b) => a.start - b.start);
  return { replacements, issues };
}

/** Applies non-overlapping replacements sorted by offset. */
export function applyReplacements(text: string, replacements: Replacement[]): string {
  if (replacements.length === 0) return text;

  let out = "";
  let at = 0;
  for (const replacement of replacements) {
    out += text.slice(at, replacement.start) + replacement.text;
    at = replacement.end;
  }
  return out + text.slice(at);
}

function handleEncodedToken(match: RegExpExecArray) {
  const raw = match[0];
  const bracesEncoded = /^%7B|%7D$/i.test(raw) || /^\{%7B|%7D\}$/i.test(raw);
  const innerEncoded = /%[0-9A-F]{2}/i.test(raw.replace(/^(%7B|\{){2}|(%7D|\}){2}$/gi, ""));
  if (!bracesEncoded && !innerEncoded) return null;

  const decoded = safeDecode(raw);
  const inner = decoded?.startsWith("{{") && decoded.endsWith("}}") ? decoded.slice(2, -2) : null;
  const parsed = inner !== null && !/[\n{}]/.test(inner) ? parseToken(inner) : null;

  if (!parsed || "error" in parsed) {
    return {
      issue: {
        severity: "error" as const,
        code: "encoded-token",
        message: `${raw} is a percent-encoded token that is not valid after decoding${parsed && "error" in parsed ? `: ${parsed.error}` : ""}; write the token as {{ name }}.`,
      },
    };
  }

  return {
    replacement: decoded!,
    issue: {
      severity: "warning" as const,
      code: "encoded-token",
      message: `${raw} is a token that an editing tool percent-encoded; it was decoded to ${decoded}.`,
    },
  };
}

function safeDecode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

function translated(original: string, token: string, system: string) {
  return {
    replacement: `{{ ${token} }}`,
    issue: {
      severity: "warning" as const,
      code: "translated-placeholder",
      message: `The ${system} ${original} was translated to {{ ${token} }}.`,
    },
  };
}

function rejected(original: string, system: string, hint: string) {
  return {
    issue: {
      severity: "error" as const,
      code: "foreign-placeholder",
      message: `The ${system} ${original} is not supported and would be sent as written${hint}.`,
    },
  };
}

function suggestion(name: string): string {
  const lower = name.toLowerCase();
  return /^[a-z_][a-z0-9_]*$/.test(lower) ? `; for an imported attribute write {{ ${lower} }}` : "";
}

function overlaps(ranges: Array<[number, number]>, start: number, end: number): boolean {
  for (const [from, to] of ranges) {
    if (start < to && end > from) return true;
  }
  return false;
}
