import { MimeError } from "./error";

/** RFC 5322 section 2.1.1: lines SHOULD be at most 78 characters, excluding CRLF. */
export const FOLD_LINE_LENGTH = 78;

/** RFC 5322 section 2.1.1: lines MUST be at most 998 characters, excluding CRLF. */
export const MAX_LINE_LENGTH = 998;

/**
 * Returns how many characters of the first line remain after `Name: `, which is where
 * the first word of a field body has to fit.
 */
export function firstLineRoom(name: string): number {
  return FOLD_LINE_LENGTH - name.length - 2;
}

/**
 * Renders `Name: body` as one header field, without the final CRLF, folded at whitespace so that lines stay
 * within 78 characters where the body allows it.
 *
 * Folding inserts CRLF before an existing space or tab, so unfolding (removing each
 * CRLF) gives back `Name: body` exactly. A folded line never consists of whitespace
 * alone. A word longer than a line stays whole, and a line over 998 characters raises
 * MimeError because no receiver has to accept it.
 */
export function foldHeader(name: string, body: string, field: string): string {
  // An empty body gets no space after the colon, because relays may strip trailing
  // whitespace and so change the bytes a DKIM signature covers.
  if (body === "") return `${name}:`;

  const segments = splitBeforeWhitespace(body);
  const lines: string[] = [];
  let line = `${name}: ${segments[0]}`;

  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i];
    const whitespaceOnly = segment.trim() === "";
    if (line.length + segment.length > FOLD_LINE_LENGTH && !whitespaceOnly) {
      lines.push(line);
      line = segment;
    } else {
      line += segment;
    }
  }
  lines.push(line);

  for (const folded of lines) {
    if (folded.length > MAX_LINE_LENGTH) {
      throw new MimeError(
        field,
        `header ${name} has a word that makes a line of ${folded.length} characters, over the limit of ${MAX_LINE_LENGTH}; shorten the value or add spaces`,
      );
    }
  }
  return lines.join("\r\n");
}

/**
 * Splits text before each run of spaces and tabs that follows a non-whitespace character,
 * so that every segment after the first starts with whitespace: `a  b c` gives
 * `["a", "  b", " c"]`.
 */
function splitBeforeWhitespace(text: string): string[] {
  const segments: string[] = [];
  let start = 0;

  for (let i = 1; i < text.length; i++) {
    const isWhitespace = text[i] === " " || text[i] === "\t";
    const afterWhitespace = text[i - 1] === " " || text[i - 1] === "\t";
    if (isWhitespace && !afterWhitespace) {
      segments.push(text.slice(start, i));
      start = i;
    }
  }
  segments.push(text.slice(start));
  return segments;
}
