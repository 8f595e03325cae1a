/** RFC 2045 section 6.7: encoded lines are at most 76 characters, soft break `=` included. */
const MAX_ENCODED_LINE_LENGTH = 76;

const CR = 0x0d;
const LF = 0x0a;
const TAB = 0x09;
const SPACE = 0x20;
const EQUALS = 0x3d;
const DOT = 0x2e;
const UPPER_F = 0x46;
const HEX_DIGITS = new TextEncoder().encode("0123456789ABCDEF");

const utf8Encoder = new TextEncoder();
const asciiDecoder = new TextDecoder();

/**
 * Encodes text as UTF-8 quoted-printable (RFC 2045 section 6.7) with CRLF line breaks.
 *
 * LF and CRLF both become CRLF hard breaks, and a CR that is not followed by LF is encoded
 * as `=0D`, so decoding gives back the input with each LF normalised to CRLF. Lines are at
 * most 76 characters including the soft break `=`, and no `=XX` is split across lines.
 * `=` is always `=3D`, bytes outside printable ASCII are `=XX`, and a space or tab before
 * a line break or at the end of the text is `=20` or `=09`.
 *
 * Two safety encodings for relays that act on line starts: a `.` that starts a line is
 * `=2E` (against relays that get SMTP dot-stuffing wrong) and the `F` of a line that starts
 * with `From ` is `=46` (against mbox `>From` quoting). Dot-stuffing itself is left to
 * the SMTP layer. Lone surrogates become U+FFFD, as in any UTF-8 encoding.
 */
export function encodeQuotedPrintable(text: string): string {
  const input = utf8Encoder.encode(text);
  // Each byte takes at most 3 characters, and each soft break of 3 characters follows at
  // least 73 others, so 3n + n/8 + 8 bounds the output.
  const output = new Uint8Array(input.length * 3 + Math.ceil(input.length / 8) + 8);
  let length = 0;
  let lineLength = 0;

  for (let i = 0; i < input.length; i++) {
    const byte = input[i];

    if (byte === LF || (byte === CR && input[i + 1] === LF)) {
      if (byte === CR) i++;
      output[length++] = CR;
      output[length++] = LF;
      lineLength = 0;
      continue;
    }

    const atLineEnd = isLineEnd(input, i + 1);
    let literal = isLiteral(input, i, lineLength, atLineEnd);
    // The last character before a hard break may use column 76. Any other needs to leave
    // room for a soft break after it.
    const limit = atLineEnd ? MAX_ENCODED_LINE_LENGTH : MAX_ENCODED_LINE_LENGTH - 1;

    if (lineLength + (literal ? 1 : 3) > limit) {
      output[length++] = EQUALS;
      output[length++] = CR;
      output[length++] = LF;
      lineLength = 0;
      literal = isLiteral(input, i, lineLength, atLineEnd);
    }

    if (literal) {
      output[length++] = byte;
      lineLength += 1;
    } else {
      output[length++] = EQUALS;
      output[length++] = HEX_DIGITS[byte >> 4];
      output[length++] = HEX_DIGITS[byte & 0x0f];
      lineLength += 3;
    }
  }

  return asciiDecoder.decode(output.subarray(0, length));
}

/** Returns whether position `index` ends the line: end of input, LF or CRLF. */
function isLineEnd(input: Uint8Array, index: number): boolean {
  if (index >= input.length) return true;
  const byte = input[index];
  return byte === LF || (byte === CR && input[index + 1] === LF);
}

/** Returns whether the byte at `index` may be written as itself at column `lineLength`. */
function isLiteral(
  input: Uint8Array,
  index: number,
  lineLength: number,
  atLineEnd: boolean,
): boolean {
  const byte = input[index];

  if (byte === SPACE || byte === TAB) return !atLineEnd;
  if (byte < 0x21 || byte > 0x7e || byte === EQUALS) return false;

  if (lineLength === 0) {
    if (byte === DOT) return false;
    if (byte === UPPER_F && startsWithFromSpace(input, index)) return false;
  }
  return true;
}

function startsWithFromSpace(input: Uint8Array, index: number): boolean {
  return (
    input[index + 1] === 0x72 && // r
    input[index + 2] === 0x6f && // o
    input[index + 3] === 0x6d && // m
    input[index + 4] === SPACE
  );
}
