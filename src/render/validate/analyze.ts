/**
 * Reads every part of a letter once: translates foreign placeholders,
 * parses tokens, checks where each token lands and checks block conditions.
 * `validateLetter` reports the issues; `compileLetter` builds on the
 * normalized parts when there are no errors.
 */
import { decodeHTMLAttribute } from "entities";

import { compileCondition, type Predicate } from "../conditions";
import { classifyRanges, maskRanges, URL_ATTRIBUTES, type TokenContext } from "../html/context";
import { scanHtml } from "../html/scan";
import {
  describeForeignToken,
  findTokens,
  MAX_TOKEN_LENGTH,
  parseToken,
  type TokenExpr,
  type TokenScanProblem,
} from "../tokens/syntax";
import type { LetterIssue, LetterSource } from "../types";
import { utmPairs } from "../links/utm";
import { applyReplacements, findForeignPlaceholders } from "./foreign";
import { checkHtmlMarkup, checkTextLinks, MAX_LINKS } from "./markup";
import { checkSettings, checkSender } from "./settings";

/** A valid token with its offsets in the normalized text. */
export interface AnalyzedToken {
  start: number;
  end: number;
  expr: TokenExpr;
}

/** One part of a letter after foreign placeholders were translated. */
export interface AnalyzedPart {
  label: string;
  text: string;
  tokens: AnalyzedToken[];
}

export interface LetterAnalysis {
  issues: LetterIssue[];
  subject: AnalyzedPart;
  preheader: AnalyzedPart;
  layout: AnalyzedPart;
  blocks: AnalyzedPart[];
  textBody: AnalyzedPart | null;
  /** One entry per block; null means the block is always shown. */
  conditions: Array<Predicate | null>;
}

/** Options of `validateLetter`. */
export interface ValidateOptions {
  /**
   * Attribute names that subscribers have (imported CSV columns). When given,
   * a token naming another attribute without a `default` is a warning.
   */
  attributes?: string[];
}

type PartKind = "html" | "text";

/** Analyses the whole letter; see the module comment. */
export function analyzeLetter(source: LetterSource, options: ValidateOptions = {}): LetterAnalysis {
  const issues: LetterIssue[] = [];
  issues.push(...checkSender(source));
  issues.push(...checkSettings(source.settings));

  const subject = analyzePart("subject", String(source.subject ?? ""), "text", issues);
  const preheader = analyzePart("preheader", String(source.preheader ?? ""), "text", issues);
  const layout = analyzePart("layout", String(source.layout ?? ""), "html", issues);
  checkSubject(subject, issues);
  checkContentSlot(layout, issues);

  const blocks: AnalyzedPart[] = [];
  const conditions: Array<Predicate | null> = [];
  const blockList = Array.isArray(source.blocks) ? source.blocks : [];
  if (!Array.isArray(source.blocks) && source.blocks !== undefined) {
    issues.push(issue("error", "blocks-invalid", "blocks must be an array.", 0, "", "blocks"));
  }
  const seen = new Set<string>();
  blockList.forEach((block, i) => {
    const label = checkBlockShape(block, i, seen, issues);
    const part = analyzePart(label, String(block?.html ?? ""), "html", issues);
    checkBlockEnd(part, issues);
    blocks.push(part);
    conditions.push(analyzeCondition(block?.condition, label, issues));
  });

  const textBody =
    source.textBody === null || source.textBody === undefined
      ? null
      : analyzePart("textBody", String(source.textBody), "text", issues);

  for (const part of [subject, preheader, layout, ...blocks, ...(textBody ? [textBody] : [])]) {
    checkAttributeNames(part, options.attributes, issues);
  }
  checkEmptyLetter(layout, blocks, issues);
  checkLinksAndMarkup(source, layout, blocks, textBody, issues);

  return {
    issues: sortByPartAndLine(issues),
    subject,
    preheader,
    layout,
    blocks,
    textBody,
    conditions,
  };
}

/** Orders issues by part (in the order parts were read), then by line; the sort is stable. */
function sortByPartAndLine(issues: LetterIssue[]): LetterIssue[] {
  const partOrder = new Map<string | undefined, number>();
  for (const found of issues)
    if (!partOrder.has(found.part)) partOrder.set(found.part, partOrder.size);
  return issues
    .map((found, index) => ({ found, index }))
    .sort(
      (a, b) =>
        partOrder.get(a.found.part)! - partOrder.get(b.found.part)! ||
        a.found.line - b.found.line ||
        a.index - b.index,
    )
    .map(({ found }) => found);
}

function analyzePart(
  label: string,
  raw: string,
  kind: PartKind,
  issues: LetterIssue[],
): AnalyzedPart {
  const excluded = kind === "html" ? excludedRanges(raw) : [];
  const foreign = findForeignPlaceholders(raw, excluded);
  const text = applyReplacements(raw, foreign.replacements);
  for (const found of foreign.issues) {
    const { offset, ...rest } = found;
    issues.push({ ...rest, line: lineAt(raw, offset), part: label });
  }

  const found = findTokens(text);
  for (const problem of found.problems) {
    issues.push(scanProblemIssue(text, problem, label));
  }

  const tokens: AnalyzedToken[] = [];
  for (const match of found.tokens) {
    const written = text.slice(match.start, match.end);
    const inner = kind === "html" ? decodeHTMLAttribute(match.inner) : match.inner;
    const line = lineAt(text, match.start);

    const foreignKind = describeForeignToken(inner);
    if (foreignKind) {
      issues.push(
        issue(
          "error",
          "foreign-placeholder",
          `${written} is ${foreignKind}, which is not supported; use block conditions and plain tokens.`,
          line,
          written,
          label,
        ),
      );
      continue;
    }
    const parsed = parseToken(inner);
    if ("error" in parsed) {
      issues.push(
        issue(
          "error",
          "token-syntax",
          `${written} is not a valid token: ${parsed.error}`,
          line,
          written,
          label,
        ),
      );
      continue;
    }
    tokens.push({ start: match.start, end: match.end, expr: parsed });
  }

  if (kind === "html") checkTokenContexts(text, tokens, found.tokens, label, issues);
  if (label !== "layout") checkNoContentSlot(text, tokens, label, issues);
  return { label, text, tokens };
}

function scanProblemIssue(text: string, problem: TokenScanProblem, label: string): LetterIssue {
  const line = lineAt(text, problem.start);
  if (problem.kind === "triple") {
    const snippet = text.slice(problem.start, Math.min(problem.end, problem.start + 60));
    return issue(
      "error",
      "foreign-placeholder",
      `${snippet} is a Handlebars triple-stash, which inserts raw HTML and is not supported; write {{ name }}.`,
      line,
      snippet,
      label,
    );
  }

  const snippet = text.slice(problem.start, problem.start + 60).split("\n")[0];
  if (problem.kind === "too-long") {
    const length = problem.end - problem.start - 4;
    return issue(
      "error",
      "token-syntax",
      `${snippet}... is a token of ${length} characters; a token may have at most ${MAX_TOKEN_LENGTH} characters between its braces.`,
      line,
      snippet,
      label,
    );
  }
  return issue(
    "error",
    "token-unclosed",
    `${snippet} opens a token that is never closed; end the token with }}.`,
    line,
    snippet,
    label,
  );
}

/** Style, script and plain comment ranges, where bracket placeholders are not looked for. */
function excludedRanges(raw: string): Array<[number, number]> {
  return scanHtml(raw)
    .regions.filter((region) => region.kind === "raw" || region.kind === "comment")
    .map((region): [number, number] => [region.start, region.end]);
}

function checkTokenContexts(
  text: string,
  tokens: AnalyzedToken[],
  allMatches: Array<{ start: number; end: number }>,
  label: string,
  issues: LetterIssue[],
): void {
  const scan = scanHtml(maskRanges(text, allMatches));
  const contexts = classifyRanges(tokens, scan);

  tokens.forEach((token, i) => {
    const problem = contextProblem(text, token, contexts[i]);
    if (!problem) return;
    const written = text.slice(token.start, token.end);
    issues.push(
      issue(
        "error",
        problem.code,
        `${written} ${problem.message}`,
        lineAt(text, token.start),
        written,
        label,
      ),
    );
  });
}

function contextProblem(
  text: string,
  token: AnalyzedToken,
  context: TokenContext,
): { code: string; message: string } | null {
  const isContent = token.expr.source.kind === "content";
  if (context.kind === "raw") {
    return {
      code: "token-in-raw-text",
      message:
        "is inside <style> or <script>, where values cannot be escaped; move it into the body.",
    };
  }
  if (context.kind === "tag" || context.kind === "markup") {
    return {
      code: "token-in-tag",
      message:
        "is inside a tag or declaration but outside an attribute value; tokens go in text or in quoted attribute values.",
    };
  }
  if (isContent && context.kind !== "text") {
    return {
      code: "content-slot-misplaced",
      message: "must stand in the document body, outside tags, comments and attributes.",
    };
  }
  if (context.kind !== "attribute") return null;

  const { attribute } = context;
  if (attribute.quote === "") {
    return {
      code: "token-unquoted-attribute",
      message: `is in the unquoted ${attribute.name} attribute; put the value in quotes.`,
    };
  }
  if (!URL_ATTRIBUTES.has(attribute.name)) return null;

  // A token may open a URL only as the whole value, or as a system URL the rest extends.
  const value = text.slice(attribute.valueStart, attribute.valueEnd);
  const leading = value.length - value.trimStart().length;
  if (token.start !== attribute.valueStart + leading) return null;
  const rest = text.slice(token.end, attribute.valueEnd).trim();
  const source = token.expr.source;
  const system = source.kind === "system" && source.name !== "date";
  if (rest === "" || system) return null;
  return {
    code: "token-url-start",
    message: `starts the ${attribute.name} URL and is followed by more text; put the whole URL in one attribute or token, or start the URL with https://.`,
  };
}

/** Reports an error when the layout and every block are whitespace, because the message would be empty. */
function checkEmptyLetter(
  layout: AnalyzedPart,
  blocks: AnalyzedPart[],
  issues: LetterIssue[],
): void {
  if (layout.text.trim() !== "" || blocks.some((block) => block.text.trim() !== "")) return;
  issues.push(
    issue(
      "error",
      "letter-empty",
      "The letter is empty: the layout and every block contain only whitespace; write the letter's HTML in the layout.",
      1,
      "",
      "layout",
    ),
  );
}

/** Markup that mail clients strip, links the click redirect would reject, and the link count. */
function checkLinksAndMarkup(
  source: LetterSource,
  layout: AnalyzedPart,
  blocks: AnalyzedPart[],
  textBody: AnalyzedPart | null,
  issues: LetterIssue[],
): void {
  const settings = source.settings;
  const utmSetting = typeof settings === "object" && settings !== null ? settings.utm : null;
  const utm = typeof utmSetting === "object" && utmSetting !== null ? utmPairs(utmSetting) : [];
  let links = 0;

  for (const part of [layout, ...blocks]) {
    links += checkHtmlMarkup(part, utm, (found) => issues.push({ ...found, part: part.label }));
  }
  if (textBody) {
    links += checkTextLinks(textBody, utm, (found) => issues.push({ ...found, part: "textBody" }));
  }

  if (links > MAX_LINKS) {
    issues.push(
      issue(
        "warning",
        "too-many-links",
        `The letter has ${links} links; above ${MAX_LINKS}, each gets its own tracked id and the mailing's link table grows with every one. Link to a web page for long lists.`,
        0,
        String(links),
        "layout",
      ),
    );
  }
}

function checkNoContentSlot(
  text: string,
  tokens: AnalyzedToken[],
  label: string,
  issues: LetterIssue[],
): void {
  for (const token of tokens) {
    if (token.expr.source.kind !== "content") continue;
    const written = text.slice(token.start, token.end);
    issues.push(
      issue(
        "error",
        "content-slot-misplaced",
        `${written} marks where blocks go and is only valid in the layout.`,
        lineAt(text, token.start),
        written,
        label,
      ),
    );
  }
}

function checkSubject(subject: AnalyzedPart, issues: LetterIssue[]): void {
  if (subject.text.trim() === "") {
    issues.push(
      issue(
        "error",
        "subject-missing",
        "The subject is empty; every letter needs a subject.",
        1,
        "",
        "subject",
      ),
    );
  }
  const lineBreak = /[\r\n]/.exec(subject.text);
  if (lineBreak) {
    issues.push(
      issue(
        "error",
        "subject-line-break",
        "The subject contains a line break; a subject is one line.",
        1,
        subject.text,
        "subject",
      ),
    );
  }
}

function checkContentSlot(layout: AnalyzedPart, issues: LetterIssue[]): void {
  const slots = layout.tokens.filter((token) => token.expr.source.kind === "content");
  for (const extra of slots.slice(1)) {
    const written = layout.text.slice(extra.start, extra.end);
    issues.push(
      issue(
        "error",
        "content-slot-repeated",
        `${written} appears more than once; the layout has one place for the blocks.`,
        lineAt(layout.text, extra.start),
        written,
        "layout",
      ),
    );
  }
}

function checkBlockShape(
  block: unknown,
  i: number,
  seen: Set<string>,
  issues: LetterIssue[],
): string {
  const value = (block ?? {}) as { id?: unknown; html?: unknown };
  const id = typeof value.id === "string" && value.id.trim() !== "" ? value.id : null;
  const label = `block ${id ?? `#${i + 1}`}`;

  if (!id)
    issues.push(
      issue(
        "error",
        "block-invalid",
        `Block #${i + 1} has no id; give every block a unique text id.`,
        0,
        "",
        label,
      ),
    );
  else if (seen.has(id))
    issues.push(
      issue(
        "error",
        "block-invalid",
        `Block id "${id}" is used twice; block ids must be unique.`,
        0,
        id,
        label,
      ),
    );
  if (id) seen.add(id);
  if (typeof value.html !== "string") {
    issues.push(
      issue("error", "block-invalid", `Block "${id ?? i + 1}" has no html string.`, 0, "", label),
    );
  }
  return label;
}

/** A block must end outside any tag, comment or raw element, or it would swallow what follows it. */
function checkBlockEnd(part: AnalyzedPart, issues: LetterIssue[]): void {
  const masked = maskRanges(part.text, part.tokens);
  const probe = scanHtml(masked + "<b>");
  const last = probe.regions[probe.regions.length - 1];
  if (last && last.kind === "tag" && last.start === masked.length) return;

  const lines = part.text.split("\n").length;
  issues.push(
    issue(
      "error",
      "block-unterminated",
      "The block ends inside a tag, comment, <style> or <script>; close it within the block.",
      lines,
      part.text.slice(-60),
      part.label,
    ),
  );
}

function analyzeCondition(
  condition: unknown,
  label: string,
  issues: LetterIssue[],
): Predicate | null {
  const { predicate, problems } = compileCondition(condition);
  for (const problem of problems) {
    issues.push(
      issue(
        "error",
        "condition-invalid",
        `${problem.path}: ${problem.message}`,
        0,
        JSON.stringify(condition)?.slice(0, 200) ?? "",
        label,
      ),
    );
  }
  return predicate;
}

function checkAttributeNames(
  part: AnalyzedPart,
  attributes: string[] | undefined,
  issues: LetterIssue[],
): void {
  if (!attributes) return;
  const known = new Set(attributes.map((name) => name.toLowerCase()));

  for (const token of part.tokens) {
    const { source, filters } = token.expr;
    if (source.kind !== "attribute" || known.has(source.name.toLowerCase())) continue;
    if (filters.some((filter) => filter.name === "default")) continue;
    const written = part.text.slice(token.start, token.end);
    issues.push(
      issue(
        "warning",
        "unknown-attribute",
        `${written} names an attribute no subscriber has; it renders as empty text. Add a default, as in {{ ${source.name} | default: "..." }}.`,
        lineAt(part.text, token.start),
        written,
        part.label,
      ),
    );
  }
}

/** 1-based line of an offset. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i >= 0 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

function issue(
  severity: LetterIssue["severity"],
  code: string,
  message: string,
  line: number,
  text: string,
  part: string,
): LetterIssue {
  return { severity, code, message, line, text, part };
}
