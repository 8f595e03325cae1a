/**
 * Where each token of an HTML text lands, which decides how its value is
 * escaped: HTML text, an attribute value, a comment, or a place where no
 * value may go (inside a tag outside any value, raw `<style>`/`<script>`
 * content, declarations).
 */
import type { Attribute, Region, ScanResult, StartTag } from "./scan";

export type TokenContext =
  | { kind: "text" }
  | { kind: "comment" }
  | { kind: "raw" }
  | { kind: "markup" }
  | { kind: "tag" }
  | { kind: "attribute"; tag: StartTag; attribute: Attribute };

/** Attributes whose value is a URL: tokens inside them are percent-encoded. */
export const URL_ATTRIBUTES = new Set([
  "href",
  "src",
  "background",
  "action",
  "formaction",
  "poster",
  "cite",
  "longdesc",
  "usemap",
  "xlink:href",
]);

/** Replaces each range with `x`s of the same length, so the HTML scanner treats tokens as plain text. */
export function maskRanges(text: string, ranges: Array<{ start: number; end: number }>): string {
  if (ranges.length === 0) return text;

  let out = "";
  let at = 0;
  for (const range of ranges) {
    out += text.slice(at, range.start) + "x".repeat(range.end - range.start);
    at = range.end;
  }
  return out + text.slice(at);
}

/** Classifies sorted, non-overlapping ranges against the scan's regions (also sorted). */
export function classifyRanges(
  ranges: Array<{ start: number; end: number }>,
  scan: ScanResult,
): TokenContext[] {
  const regions = scan.regions;
  const contexts: TokenContext[] = [];
  let r = 0;

  for (const range of ranges) {
    while (r < regions.length && regions[r].end <= range.start) r++;
    const region = regions[r];
    if (!region || region.start >= range.end) {
      contexts.push({ kind: "text" });
      continue;
    }
    contexts.push(classifyInRegion(range, region));
  }
  return contexts;
}

function classifyInRegion(range: { start: number; end: number }, region: Region): TokenContext {
  // A range that starts before the region or runs past it straddles markup.
  if (range.start < region.start || range.end > region.end) return { kind: "markup" };

  if (region.kind === "comment") return { kind: "comment" };
  if (region.kind === "raw") return { kind: "raw" };
  if (region.kind === "markup" || !region.tag) return { kind: "markup" };

  const tag = region.tag;
  for (const attribute of tag.attributes) {
    if (
      attribute.hasValue &&
      range.start >= attribute.valueStart &&
      range.end <= attribute.valueEnd
    ) {
      return { kind: "attribute", tag, attribute };
    }
  }
  return { kind: "tag" };
}
