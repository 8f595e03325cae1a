/**
 * Block conditions: which subscribers see a block. The JSON shape (also in
 * docs/LETTERS.md):
 *
 *   { "all": [Condition, ...] }                    every one matches
 *   { "any": [Condition, ...] }                    at least one matches
 *   { "not": Condition }                           the inner one does not match
 *   { "field": F, "op": "eq" | "ne", "value": "text" }
 *   { "field": F, "op": "in" | "not_in", "values": ["a", "b"] }
 *   { "field": F, "op": "exists" | "empty" }
 *   { "field": F, "op": "lt" | "lte" | "gt" | "gte", "value": 10 }
 *   { "field": F, "op": "before" | "after" | "on_or_before" | "on_or_after", "value": "2025-01-31" }
 *   { "op": "in_list" | "not_in_list", "list": 3 }
 *
 * F is `first_name`, `last_name`, `email`, `id` or an imported attribute
 * (`city`, or `subscriber.city`). Values are compared trimmed; text compares
 * case-insensitively. `exists` means present and not blank, `empty` means
 * missing or blank, and `ne`/`not_in` match a missing value. A number or date
 * comparison on a value that is not a number or an ISO date does not match.
 * Dates compare as instants, `YYYY-MM-DD` meaning midnight UTC.
 */
import type { Recipient } from "../types";
import { parseIsoDate } from "../tokens/dates";
import { parseToken, type TokenSource } from "../tokens/syntax";
import { readAttribute } from "../tokens/values";

/** A compiled condition. */
export type Predicate = (recipient: Recipient) => boolean;

/** A problem in a condition, with the JSON path of the offending node (`all[1].op`). */
export interface ConditionProblem {
  path: string;
  message: string;
}

const TEXT_OPS = new Set(["eq", "ne"]);
const SET_OPS = new Set(["in", "not_in"]);
const PRESENCE_OPS = new Set(["exists", "empty"]);
const NUMBER_OPS = new Set(["lt", "lte", "gt", "gte"]);
const DATE_OPS = new Set(["before", "after", "on_or_before", "on_or_after"]);
const LIST_OPS = new Set(["in_list", "not_in_list"]);
const ALL_OPS = [...TEXT_OPS, ...SET_OPS, ...PRESENCE_OPS, ...NUMBER_OPS, ...DATE_OPS, ...LIST_OPS];

const MAX_DEPTH = 10;
const MAX_NODES = 200;

type Reader = (recipient: Recipient) => string;

/**
 * Checks a condition and compiles it. Returns the predicate, or the problems
 * when the condition is invalid; `undefined` and `null` mean "always shown".
 */
export function compileCondition(condition: unknown): {
  predicate: Predicate | null;
  problems: ConditionProblem[];
} {
  if (condition === undefined || condition === null) return { predicate: null, problems: [] };

  const problems: ConditionProblem[] = [];
  const counter = { nodes: 0 };
  const predicate = compileNode(condition, "condition", 0, problems, counter);
  return { predicate: problems.length > 0 ? null : predicate, problems };
}

function compileNode(
  node: unknown,
  path: string,
  depth: number,
  problems: ConditionProblem[],
  counter: { nodes: number },
): Predicate {
  const never: Predicate = () => false;
  counter.nodes++;
  if (counter.nodes > MAX_NODES) {
    if (counter.nodes === MAX_NODES + 1) {
      problems.push({ path, message: `A condition may have at most ${MAX_NODES} parts.` });
    }
    return never;
  }
  if (depth > MAX_DEPTH) {
    problems.push({ path, message: `Conditions may nest at most ${MAX_DEPTH} levels deep.` });
    return never;
  }
  if (typeof node !== "object" || node === null || Array.isArray(node)) {
    problems.push({ path, message: "A condition must be a JSON object." });
    return never;
  }

  const object = node as Record<string, unknown>;
  if ("all" in object || "any" in object)
    return compileGroup(object, path, depth, problems, counter);
  if ("not" in object) {
    checkKeys(object, ["not"], path, problems);
    const inner = compileNode(object.not, `${path}.not`, depth + 1, problems, counter);
    return (recipient) => !inner(recipient);
  }
  return compileLeaf(object, path, problems);
}

function compileGroup(
  object: Record<string, unknown>,
  path: string,
  depth: number,
  problems: ConditionProblem[],
  counter: { nodes: number },
): Predicate {
  const key = "all" in object ? "all" : "any";
  checkKeys(object, [key], path, problems);

  const list = object[key];
  if (!Array.isArray(list) || list.length === 0) {
    problems.push({
      path: `${path}.${key}`,
      message: `"${key}" must be a non-empty array of conditions.`,
    });
    return () => false;
  }

  const children = list.map((child, i) =>
    compileNode(child, `${path}.${key}[${i}]`, depth + 1, problems, counter),
  );
  if (key === "all") return (recipient) => children.every((child) => child(recipient));
  return (recipient) => children.some((child) => child(recipient));
}

function compileLeaf(
  object: Record<string, unknown>,
  path: string,
  problems: ConditionProblem[],
): Predicate {
  const never: Predicate = () => false;
  const op = object.op;
  if (typeof op !== "string" || !ALL_OPS.includes(op)) {
    problems.push({
      path: `${path}.op`,
      message: `"op" must be one of ${ALL_OPS.join(", ")}, or use "all", "any" or "not"; got ${JSON.stringify(op)}.`,
    });
    return never;
  }

  if (LIST_OPS.has(op)) return compileListLeaf(object, op, path, problems);

  const read = compileField(object.field, `${path}.field`, problems);
  if (!read) return never;

  if (TEXT_OPS.has(op)) return compileTextLeaf(object, op, read, path, problems);
  if (SET_OPS.has(op)) return compileSetLeaf(object, op, read, path, problems);
  if (PRESENCE_OPS.has(op)) {
    checkKeys(object, ["field", "op"], path, problems);
    if (op === "exists") return (recipient) => read(recipient) !== "";
    return (recipient) => read(recipient) === "";
  }
  if (NUMBER_OPS.has(op)) return compileNumberLeaf(object, op, read, path, problems);
  return compileDateLeaf(object, op, read, path, problems);
}

function compileField(field: unknown, path: string, problems: ConditionProblem[]): Reader | null {
  if (typeof field !== "string" || field.trim() === "") {
    problems.push({
      path,
      message: '"field" must name a subscriber field or attribute, such as "city".',
    });
    return null;
  }

  const parsed = parseToken(field);
  if ("error" in parsed) {
    problems.push({ path, message: parsed.error });
    return null;
  }
  if (
    parsed.filters.length > 0 ||
    (parsed.source.kind !== "field" && parsed.source.kind !== "attribute")
  ) {
    problems.push({
      path,
      message: `"${field}" cannot be used in a condition; use first_name, last_name, email, id or an attribute.`,
    });
    return null;
  }
  return readerFor(parsed.source);
}

function readerFor(source: TokenSource): Reader {
  if (source.kind === "field") {
    const field = source.field;
    return (recipient) => String(recipient[field] ?? "").trim();
  }
  const name = source.kind === "attribute" ? source.name : "";
  return (recipient) => readAttribute(recipient.attributes, name).trim();
}

function compileTextLeaf(
  object: Record<string, unknown>,
  op: string,
  read: Reader,
  path: string,
  problems: ConditionProblem[],
): Predicate {
  checkKeys(object, ["field", "op", "value"], path, problems);
  const value = readScalar(object.value, `${path}.value`, problems);
  if (value === null) return () => false;

  const expected = value.trim().toLowerCase();
  if (op === "eq") return (recipient) => read(recipient).toLowerCase() === expected;
  return (recipient) => read(recipient).toLowerCase() !== expected;
}

function compileSetLeaf(
  object: Record<string, unknown>,
  op: string,
  read: Reader,
  path: string,
  problems: ConditionProblem[],
): Predicate {
  checkKeys(object, ["field", "op", "values"], path, problems);
  const values = object.values;
  if (!Array.isArray(values) || values.length === 0) {
    problems.push({
      path: `${path}.values`,
      message: '"values" must be a non-empty array of strings.',
    });
    return () => false;
  }

  const expected = new Set<string>();
  values.forEach((value, i) => {
    const text = readScalar(value, `${path}.values[${i}]`, problems);
    if (text !== null) expected.add(text.trim().toLowerCase());
  });
  if (op === "in") return (recipient) => expected.has(read(recipient).toLowerCase());
  return (recipient) => !expected.has(read(recipient).toLowerCase());
}

function compileNumberLeaf(
  object: Record<string, unknown>,
  op: string,
  read: Reader,
  path: string,
  problems: ConditionProblem[],
): Predicate {
  checkKeys(object, ["field", "op", "value"], path, problems);
  const value = object.value;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    problems.push({
      path: `${path}.value`,
      message: `"${op}" compares numbers; "value" must be a number.`,
    });
    return () => false;
  }

  const compare = numberComparison(op, value);
  return (recipient) => {
    const text = read(recipient);
    const number = text === "" ? NaN : Number(text);
    return Number.isFinite(number) && compare(number);
  };
}

function numberComparison(op: string, value: number): (number: number) => boolean {
  if (op === "lt") return (number) => number < value;
  if (op === "lte") return (number) => number <= value;
  if (op === "gt") return (number) => number > value;
  return (number) => number >= value;
}

function compileDateLeaf(
  object: Record<string, unknown>,
  op: string,
  read: Reader,
  path: string,
  problems: ConditionProblem[],
): Predicate {
  checkKeys(object, ["field", "op", "value"], path, problems);
  const date = typeof object.value === "string" ? parseIsoDate(object.value) : null;
  if (!date) {
    problems.push({
      path: `${path}.value`,
      message: `"${op}" compares dates; "value" must be an ISO date such as "2025-01-31", got ${JSON.stringify(object.value)}.`,
    });
    return () => false;
  }

  const limit = date.getTime();
  const compare = numberComparison(
    { before: "lt", after: "gt", on_or_before: "lte", on_or_after: "gte" }[op] as string,
    limit,
  );
  return (recipient) => {
    const value = parseIsoDate(read(recipient));
    return value !== null && compare(value.getTime());
  };
}

function compileListLeaf(
  object: Record<string, unknown>,
  op: string,
  path: string,
  problems: ConditionProblem[],
): Predicate {
  checkKeys(object, ["op", "list"], path, problems);
  const list = object.list;
  if (typeof list !== "number" || !Number.isInteger(list) || list <= 0) {
    problems.push({
      path: `${path}.list`,
      message: '"list" must be a list id (a positive whole number).',
    });
    return () => false;
  }

  if (op === "in_list") return (recipient) => (recipient.listIds ?? []).includes(list);
  return (recipient) => !(recipient.listIds ?? []).includes(list);
}

function readScalar(value: unknown, path: string, problems: ConditionProblem[]): string | null {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  problems.push({ path, message: `Expected a string, got ${JSON.stringify(value)}.` });
  return null;
}

/** Reports keys the shape does not define, which are most often typos (`valeu`). */
function checkKeys(
  object: Record<string, unknown>,
  allowed: string[],
  path: string,
  problems: ConditionProblem[],
): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      problems.push({
        path: `${path}.${key}`,
        message: `Unexpected key "${key}"; this condition takes ${allowed.map((k) => `"${k}"`).join(", ")}.`,
      });
    }
  }
}
