/**
 * Token syntax: `{{ name }}`, `{{ name | filter }}` and `{{ name | filter: "arg" }}`.
 *
 * Names are subscriber fields (`first_name`, `last_name`, `email`, `id`),
 * system values (`unsubscribe_url`, `web_url`, `date`, `mailing.name`), the
 * layout slot `content`, or imported attributes (`city`, `subscriber.plan`).
 * Filters are `default: "text"`, `upper`, `lower`, `capitalize` and
 * `date: "%Y-%m-%d"`.
 */
import { checkDateFormat } from "./dates";

/** Source of a token's value. */
export type TokenSource =
  | { kind: "field"; field: "firstName" | "lastName" | "email" | "id" }
  /** `lower` is the name lowercased once here, for the case-insensitive lookup. */
  | { kind: "attribute"; name: string; lower: string }
  | { kind: "system"; name: "unsubscribe_url" | "web_url" | "date" }
  | { kind: "mailing"; name: "name" }
  | { kind: "content" };

export type TokenFilter =
  | { name: "default"; arg: string }
  | { name: "upper" | "lower" | "capitalize" }
  | { name: "date"; arg: string };

/** A parsed token. `key` is a canonical spelling, equal for equal tokens. */
export interface TokenExpr {
  source: TokenSource;
  filters: TokenFilter[];
  key: string;
}

/** A `{{ ... }}` occurrence in a text, with offsets of the braces. */
export interface TokenMatch {
  start: number;
  end: number;
  /** Text between the braces. */
  inner: string;
}

/** A `{{` without a matching `}}`, or a Handlebars-style `{{{ ... }}}`. */
export interface TokenScanProblem {
  start: number;
  end: number;
  kind: "unclosed" | "triple" | "too-long";
}

/** Maximum characters between a token's braces. */
export const MAX_TOKEN_LENGTH = 500;

const FIELDS: Record<string, TokenSource> = {
  first_name: { kind: "field", field: "firstName" },
  last_name: { kind: "field", field: "lastName" },
  email: { kind: "field", field: "email" },
  id: { kind: "field", field: "id" },
};

const SYSTEM: Record<string, TokenSource> = {
  unsubscribe_url: { kind: "system", name: "unsubscribe_url" },
  web_url: { kind: "system", name: "web_url" },
  date: { kind: "system", name: "date" },
  content: { kind: "content" },
};

/** Names that always resolve, for messages and for the unknown-attribute warning. */
export const BUILT_IN_NAMES = [...Object.keys(FIELDS), ...Object.keys(SYSTEM), "mailing.name"];

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)?$/;

/**
 * Finds every `{{ ... }}` in `text`. A closing `}}` inside a quoted filter
 * argument does not end the token.
 */
export function findTokens(text: string): { tokens: TokenMatch[]; problems: TokenScanProblem[] } {
  const tokens: TokenMatch[] = [];
  const problems: TokenScanProblem[] = [];
  let from = 0;

  for (;;) {
    const start = text.indexOf("{{", from);
    if (start < 0) break;

    if (text[start + 2] === "{") {
      const close = text.indexOf("}}}", start + 3);
      const end = close < 0 ? start + 3 : close + 3;
      problems.push({ start, end, kind: "triple" });
      from = end;
      continue;
    }

    const end = findTokenEnd(text, start + 2);
    if (end < 0) {
      const longEnd = findLongTokenEnd(text, start + 2);
      if (longEnd >= 0) {
        problems.push({ start, end: longEnd, kind: "too-long" });
        from = longEnd;
        continue;
      }
      problems.push({ start, end: start + 2, kind: "unclosed" });
      from = start + 2;
      continue;
    }

    tokens.push({ start, end, inner: text.slice(start + 2, end - 2) });
    from = end;
  }

  return { tokens, problems };
}

/** Offset just past the `}}` that closes a token whose inner text starts at `from`; -1 if none. */
function findTokenEnd(text: string, from: number): number {
  const limit = Math.min(text.length, from + MAX_TOKEN_LENGTH);
  let quote = "";

  for (let i = from; i < limit; i++) {
    const char = text[i];
    if (quote) {
      if (char === "\\") i++;
      else if (char === quote) quote = "";
      continue;
    }
    if (char === '"' || char === "'") quote = char;
    else if (char === "}" && text[i + 1] === "}") return i + 2;
    else if (char === "{" && text[i + 1] === "{") return -1;
  }
  return -1;
}

/**
 * Offset just past the `}}` of a token longer than `MAX_TOKEN_LENGTH`, or -1
 * when the token is shorter or no `}}` comes before the next `{{`. Quotes are
 * not followed here, because such a token is reported and not parsed.
 */
function findLongTokenEnd(text: string, from: number): number {
  if (text.length - from <= MAX_TOKEN_LENGTH) return -1;
  if (text.lastIndexOf("{{", from + MAX_TOKEN_LENGTH) >= from) return -1;

  const close = text.indexOf("}}", from + MAX_TOKEN_LENGTH - 1);
  if (close < 0) return -1;
  const nextOpen = text.indexOf("{{", from);
  if (nextOpen >= 0 && nextOpen < close) return -1;
  return close + 2;
}

/** Handlebars and Liquid control syntax that this engine does not run. */
export function describeForeignToken(inner: string): string | null {
  const head = inner.trimStart();
  if (/^[#/^>!~]/.test(head)) return "a Handlebars block or helper";
  if (/^else\b/.test(head)) return "a Handlebars `else`";
  if (/^this\b/.test(head)) return "a Handlebars `this` reference";
  if (/^-|-$/.test(inner.trim())) return "Liquid whitespace control";
  return null;
}

/** Parses the text between the braces; returns a message naming the problem when the token is invalid. */
export function parseToken(inner: string): TokenExpr | { error: string } {
  const parts = splitFilters(inner);
  if ("error" in parts) return parts;

  const name = parts.name;
  if (!name) return { error: "The token has no name; write a name such as {{ first_name }}." };
  if (!NAME.test(name)) return { error: describeBadName(name) };

  const source = resolveName(name);
  if ("error" in source) return source;

  const filters: TokenFilter[] = [];
  for (const raw of parts.filters) {
    const filter = parseFilter(raw);
    if ("error" in filter) return filter;
    filters.push(filter);
  }

  if (source.kind === "content" && filters.length > 0) {
    return { error: "{{ content }} marks where the blocks go and takes no filters." };
  }

  return { source, filters, key: canonicalKey(name, filters) };
}

/** Names the rule a token name breaks: each dotted segment starts with a letter or _. */
function describeBadName(name: string): string {
  const badStart = name.split(".").find((segment) => !/^[A-Za-z_]/.test(segment));
  if (badStart !== undefined) {
    return `"${name}" is not a valid token name: a name must start with a letter or _, as in {{ first_name }}.`;
  }
  return `"${name}" is not a valid token name: after the first letter use letters, digits, _ and - only.`;
}

function resolveName(name: string): TokenSource | { error: string } {
  const dot = name.indexOf(".");
  if (dot < 0) return FIELDS[name] ?? SYSTEM[name] ?? attribute(name);

  const namespace = name.slice(0, dot);
  const rest = name.slice(dot + 1);
  if (namespace === "subscriber") return FIELDS[rest] ?? attribute(rest);
  if (namespace === "mailing" && rest === "name") return { kind: "mailing", name: "name" };
  if (namespace === "mailing") {
    return { error: `"${name}" is unknown; the only mailing value is {{ mailing.name }}.` };
  }
  return {
    error: `"${name}" is unknown; dotted names start with subscriber. (attributes) or mailing.`,
  };
}

function attribute(name: string): TokenSource {
  return { kind: "attribute", name, lower: name.toLowerCase() };
}

/** Splits `name | f1: "a" | f2` on the pipes that are outside quotes. */
function splitFilters(inner: string): { name: string; filters: string[] } | { error: string } {
  const pieces: string[] = [];
  let quote = "";
  let current = "";

  for (let i = 0; i < inner.length; i++) {
    const char = inner[i];
    if (quote) {
      current += char;
      if (char === "\\" && i + 1 < inner.length) current += inner[++i];
      else if (char === quote) quote = "";
      continue;
    }
    if (char === '"' || char === "'") quote = char;
    if (char === "|") {
      pieces.push(current.trim());
      current = "";
      continue;
    }
    current += char;
  }

  if (quote) return { error: `A quoted argument is not closed; add the missing ${quote}.` };
  pieces.push(current.trim());
  return { name: pieces[0], filters: pieces.slice(1) };
}

function parseFilter(raw: string): TokenFilter | { error: string } {
  const match = /^([a-z_]+)\s*(?::\s*([\s\S]*))?$/.exec(raw);
  if (!match)
    return { error: `"${raw}" is not a valid filter; write a filter as name or name: "arg".` };

  const name = match[1];
  const argText = match[2];
  const arg = argText === undefined ? undefined : parseQuoted(argText.trim());
  if (arg !== undefined && arg === null) {
    return { error: `The argument of "${name}" must be a quoted string, as in ${name}: "text".` };
  }

  switch (name) {
    case "upper":
    case "lower":
    case "capitalize":
      if (arg !== undefined) return { error: `The filter "${name}" takes no argument.` };
      return { name };
    case "default":
      if (arg === undefined)
        return { error: 'The filter "default" needs a value, as in default: "there".' };
      return { name, arg };
    case "date": {
      const format = arg ?? "%Y-%m-%d";
      const problem = checkDateFormat(format);
      if (problem) return { error: problem };
      return { name, arg: format };
    }
  }
  return {
    error: `"${name}" is not a known filter; use default, upper, lower, capitalize or date.`,
  };
}

/** Parses `"text"` or `'text'` with backslash escapes; null when not one quoted string. */
function parseQuoted(text: string): string | null {
  const quote = text[0];
  if ((quote !== '"' && quote !== "'") || text.length < 2 || text[text.length - 1] !== quote) {
    return null;
  }

  let value = "";
  for (let i = 1; i < text.length - 1; i++) {
    const char = text[i];
    if (char === "\\" && i + 1 < text.length - 1) value += text[++i];
    else if (char === quote) return null;
    else value += char;
  }
  return value;
}

function canonicalKey(name: string, filters: TokenFilter[]): string {
  let key = name;
  for (const filter of filters) {
    key += " | " + filter.name;
    if ("arg" in filter) key += ": " + quoteArgument(filter.arg);
  }
  return key;
}

/** Quotes a filter argument so that `parseQuoted` reads it back unchanged. */
export function quoteArgument(value: string): string {
  return '"' + value.replace(/[\\"]/g, "\\$&") + '"';
}

/** Writes a token back in its canonical `{{ ... }}` form. */
export function formatToken(expr: TokenExpr): string {
  return `{{ ${expr.key} }}`;
}
