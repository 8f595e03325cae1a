/**
 * Assembles the whole letter from the layout, the blocks and the preheader,
 * with every block included, and keeps track of where each block landed so
 * the plan can show or hide it per recipient.
 */
import { escapeHtml } from "../escape";
import { maskRanges } from "../html/context";
import { scanHtml } from "../html/scan";
import type { AnalyzedPart, AnalyzedToken, LetterAnalysis } from "../validate/analyze";

export interface AssembledLetter {
  html: string;
  /** Tokens with offsets in `html`, sorted; the `{{ content }}` slot is gone. */
  tokens: AnalyzedToken[];
  /** Range of each block in `html`, by block index. */
  blocks: Array<{ start: number; end: number }>;
  /** Offset of the last `</body` outside conditional comments, or -1. */
  bodyClose: number;
}

/** Hidden preheader text, shown by mail clients next to the subject in the inbox. */
const PREHEADER_OPEN =
  '<div style="display:none;font-size:1px;line-height:1px;max-height:0;max-width:0;opacity:0;overflow:hidden;mso-hide:all;">';
const PREHEADER_CLOSE = "</div>";

interface Insertion {
  at: number;
  /** End of the layout text the insertion replaces (the `{{ content }}` slot), or `at`. */
  replaceEnd: number;
  pieces: Array<{ text: string; tokens: AnalyzedToken[]; block?: number }>;
}

/**
 * Puts the blocks at `{{ content }}`, or before `</body>` when the layout has
 * no slot, or at the end when it has neither. A non-empty preheader goes in a
 * hidden div right after `<body>`.
 */
export function assembleLetter(analysis: LetterAnalysis): AssembledLetter {
  const layout = analysis.layout;
  const scan = scanHtml(maskRanges(layout.text, layout.tokens));
  const slot = layout.tokens.find((token) => token.expr.source.kind === "content");
  const insertions: Insertion[] = [];

  if (analysis.preheader.text.trim() !== "") {
    const at = scan.bodyOpenEnd >= 0 ? scan.bodyOpenEnd : 0;
    insertions.push({ at, replaceEnd: at, pieces: [preheaderPiece(analysis.preheader)] });
  }

  const blockPieces = analysis.blocks.map((block, i) => ({
    text: block.text,
    tokens: block.tokens,
    block: i,
  }));
  if (slot) insertions.push({ at: slot.start, replaceEnd: slot.end, pieces: blockPieces });
  else if (blockPieces.length > 0) {
    const at = scan.bodyClose >= 0 ? scan.bodyClose : layout.text.length;
    insertions.push({ at, replaceEnd: at, pieces: blockPieces });
  }

  insertions.sort((a, b) => a.at - b.at);
  return splice(layout, insertions);
}

function preheaderPiece(preheader: AnalyzedPart): { text: string; tokens: AnalyzedToken[] } {
  let text = PREHEADER_OPEN;
  const tokens: AnalyzedToken[] = [];
  let at = 0;

  // The preheader is plain text: escape the literal parts, keep the tokens.
  for (const token of preheader.tokens) {
    text += escapeHtml(preheader.text.slice(at, token.start));
    const start = text.length;
    text += preheader.text.slice(token.start, token.end);
    tokens.push({ start, end: text.length, expr: token.expr });
    at = token.end;
  }
  text += escapeHtml(preheader.text.slice(at)) + PREHEADER_CLOSE;
  return { text, tokens };
}

function splice(layout: AnalyzedPart, insertions: Insertion[]): AssembledLetter {
  const layoutTokens = layout.tokens.filter((token) => token.expr.source.kind !== "content");
  const tokens: AnalyzedToken[] = [];
  const blocks: Array<{ start: number; end: number }> = [];
  let html = "";
  let from = 0;
  let next = 0;

  const copyLayout = (to: number) => {
    const shift = html.length - from;
    for (; next < layoutTokens.length && layoutTokens[next].start < to; next++) {
      const token = layoutTokens[next];
      tokens.push({ ...token, start: token.start + shift, end: token.end + shift });
    }
    html += layout.text.slice(from, to);
  };

  for (const insertion of insertions) {
    copyLayout(insertion.at);
    for (const piece of insertion.pieces) {
      const start = html.length;
      for (const token of piece.tokens) {
        tokens.push({ ...token, start: token.start + start, end: token.end + start });
      }
      html += piece.text;
      if (piece.block !== undefined) blocks[piece.block] = { start, end: html.length };
    }
    from = insertion.replaceEnd;
  }
  copyLayout(layout.text.length);

  tokens.sort((a, b) => a.start - b.start);
  const bodyClose = scanHtml(maskRanges(html, tokens)).bodyClose;
  return { html, tokens, blocks, bodyClose };
}
