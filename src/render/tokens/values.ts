/**
 * Token values for one recipient: the raw value from the subscriber or the
 * delivery, then the filters in the order they are written.
 */
import type { Recipient, RecipientUrls } from "../types";
import { formatDate, parseIsoDate } from "./dates";
import type { TokenExpr, TokenFilter, TokenSource } from "./syntax";

/** Everything a token can read from. `urls` is null where no recipient URLs exist (stored link URLs). */
export interface ValueScope {
  recipient: Recipient;
  urls: RecipientUrls | null;
  date: Date;
  mailingName: string;
  /** Attribute values by lowercased name, built on the first case-insensitive lookup of a render. */
  attributeIndex?: Map<string, string>;
}

const DEFAULT_DATE_FORMAT = "%Y-%m-%d";

/**
 * Evaluates a token to plain text, before escaping. A missing attribute is
 * the empty string, so `default` applies and a literal token is never sent.
 */
export function evaluateToken(expr: TokenExpr, scope: ValueScope): string {
  const raw = readSource(expr.source, scope);
  if (expr.filters.length === 0) {
    return raw instanceof Date ? formatDate(raw, DEFAULT_DATE_FORMAT) : raw;
  }

  let value: string | Date = raw;
  for (const filter of expr.filters) value = applyFilter(filter, value);
  return value instanceof Date ? formatDate(value, DEFAULT_DATE_FORMAT) : value;
}

function readSource(source: TokenSource, scope: ValueScope): string | Date {
  switch (source.kind) {
    case "field":
      return readField(scope.recipient, source.field);
    case "attribute":
      return readScopedAttribute(scope, source.name, source.lower);
    case "mailing":
      return scope.mailingName;
    case "content":
      return "";
    case "system":
      if (source.name === "date") return scope.date;
      if (!scope.urls) return "";
      return source.name === "unsubscribe_url" ? scope.urls.unsubscribe : scope.urls.web;
  }
}

function readField(recipient: Recipient, field: "firstName" | "lastName" | "email" | "id"): string {
  const value = recipient[field];
  return value === undefined || value === null ? "" : String(value);
}

/** Reads an attribute like `readAttribute`, but keeps the case-insensitive index in the scope, so a render builds it at most once. */
function readScopedAttribute(scope: ValueScope, name: string, lower: string): string {
  const attributes = scope.recipient.attributes;
  if (!attributes) return "";

  // Inherited members such as `toString` are functions, so the type check keeps them out.
  const exact = attributes[name];
  if (typeof exact === "string") return exact;

  scope.attributeIndex ??= indexAttributes(attributes);
  return scope.attributeIndex.get(lower) ?? "";
}

function indexAttributes(attributes: Record<string, string>): Map<string, string> {
  const index = new Map<string, string>();
  for (const key of Object.keys(attributes)) {
    const lower = key.toLowerCase();
    if (!index.has(lower)) index.set(lower, String(attributes[key] ?? ""));
  }
  return index;
}

/**
 * Reads an imported attribute by exact name, then by case-insensitive name,
 * because CSV headers arrive as `City` as often as `city`.
 */
export function readAttribute(
  attributes: Record<string, string> | undefined,
  name: string,
): string {
  if (!attributes) return "";

  const exact = attributes[name];
  if (exact !== undefined && Object.prototype.hasOwnProperty.call(attributes, name)) {
    return exact === null ? "" : String(exact);
  }

  const lower = name.toLowerCase();
  for (const key of Object.keys(attributes)) {
    if (key.toLowerCase() === lower) return String(attributes[key] ?? "");
  }
  return "";
}

function applyFilter(filter: TokenFilter, value: string | Date): string | Date {
  switch (filter.name) {
    case "default":
      if (value instanceof Date) return value;
      return value.trim() === "" ? filter.arg : value;
    case "date":
      return formatDateValue(value, filter.arg);
    case "upper":
      return asText(value).toUpperCase();
    case "lower":
      return asText(value).toLowerCase();
    case "capitalize": {
      const text = asText(value);
      return text.charAt(0).toUpperCase() + text.slice(1).toLowerCase();
    }
  }
}

/** Formats an ISO date value, or returns the empty string for any other value so a later `default` applies. */
function formatDateValue(value: string | Date, format: string): string {
  const date = value instanceof Date ? value : parseIsoDate(value);
  return date ? formatDate(date, format) : "";
}

function asText(value: string | Date): string {
  return value instanceof Date ? formatDate(value, DEFAULT_DATE_FORMAT) : value;
}
