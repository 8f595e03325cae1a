import { encodeWords, MAX_ENCODED_WORD_LENGTH, replaceControlCharacters } from "./encoded-word";
import { FOLD_LINE_LENGTH, firstLineRoom, foldHeader } from "./fold";

/** Printable ASCII words separated by single spaces. */
const PLAIN_TEXT = /^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/;

/**
 * Encodes unstructured header text such as a Subject (RFC 2047 and RFC 5322) and returns
 * the folded field body, the part after `Subject: `, with CRLF and a space between lines.
 *
 * Text that is printable ASCII words separated by single spaces, contains no `=?` and has
 * no word too long to fold is sent as is, folded at spaces. Anything else (non-ASCII, tabs,
 * leading, trailing or repeated spaces, a word over 77 characters) is sent as encoded-words,
 * so decoding gives back the text exactly. The one change: each run of control characters
 * (CR, LF, NUL and the rest of U+0000 to U+001F except tab, and U+007F) becomes one space,
 * so no input can end the header line and start another header.
 *
 * `headerName` sets how much room the first line has; it defaults to `Subject`.
 */
export function encodeHeaderText(value: string, headerName = "Subject"): string {
  const body = encodeHeaderTextBody(value, headerName);
  if (body === "") return "";
  return foldHeader(headerName, body, headerName).slice(`${headerName}: `.length);
}

/** Returns the unfolded field body for `encodeHeaderText`: words joined by single spaces. */
export function encodeHeaderTextBody(value: string, headerName: string): string {
  const text = replaceControlCharacters(value);
  const room = firstLineRoom(headerName);

  if (text === "" || isPlainText(text, room)) return text;
  return encodeWords(text, Math.min(MAX_ENCODED_WORD_LENGTH, room)).join(" ");
}

function isPlainText(text: string, firstLineRoom: number): boolean {
  if (!PLAIN_TEXT.test(text)) return false;
  // A decoder would take a word that looks like an encoded-word for one.
  if (text.includes("=?")) return false;

  const words = text.split(" ");
  if (words[0].length > firstLineRoom) return false;
  return words.every((word) => 1 + word.length <= FOLD_LINE_LENGTH);
}
