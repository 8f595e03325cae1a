/** Turns the assembled letter and its edits into the HTML plan. */
import type { Predicate } from "../conditions";
import type { Part } from "../plan";
import type { Edit } from "./edits";

/**
 * Copies the text between edits as static strings and the edits' HTML parts
 * as slots. A block with a condition becomes a `block` slot; a block without
 * one is inlined.
 */
export function buildHtmlParts(
  html: string,
  edits: Edit[],
  conditions: Array<Predicate | null>,
): Part[] {
  const stack: Array<{ block: number; parts: Part[] }> = [{ block: -1, parts: [] }];
  let at = 0;

  for (const edit of edits) {
    const current = stack[stack.length - 1];
    if (edit.start > at) current.parts.push(html.slice(at, edit.start));
    at = Math.max(at, edit.end);

    if (edit.marker?.edge === "start") {
      stack.push({ block: edit.marker.block, parts: [] });
    } else if (edit.marker?.edge === "end") {
      const done = stack.pop()!;
      const parent = stack[stack.length - 1];
      if (conditions[done.block])
        parent.parts.push({ kind: "block", block: done.block, parts: mergeStrings(done.parts) });
      else parent.parts.push(...done.parts);
    } else {
      current.parts.push(...edit.html);
    }
  }

  stack[0].parts.push(html.slice(at));
  return mergeStrings(stack[0].parts);
}

/** Joins neighbouring static strings and drops empty ones, so rendering does fewer concatenations. */
export function mergeStrings(parts: Part[]): Part[] {
  const merged: Part[] = [];
  for (const part of parts) {
    if (part === "") continue;
    const last = merged[merged.length - 1];
    if (typeof part === "string" && typeof last === "string")
      merged[merged.length - 1] = last + part;
    else merged.push(part);
  }
  return merged;
}
