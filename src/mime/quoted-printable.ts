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

/** Byte classes, looked up per input byte so the common case costs one table read. */
const PLAIN = 0;
const ENCODED = 1;
const WHITESPACE = 2;
const LINE_START_SENSITIVE = 3;
const CARRIAGE_RETURN = 4;
const LINE_FEED = 5;

const BYTE_CLASSES = createByteClasses();

function createByteClasses(): Uint8Array {
  const classes = new Uint8Array(256).fill(ENCODED);
  for (let byte = 0x21; byte <= 0x7e; byte++) classes[byte] = PLAIN;
  classes[EQUALS] = ENCODED;
  classes[SPACE] = WHITESPACE;
  classes[TAB] = WHITESPACE;
  classes[DOT] = LINE_START_SENSITIVE;
  classes[UPPER_F] = LINE_START_SENSITIVE;
  classes[CR] = CARRIAGE_RETURN;
  classes[LF] = LINE_FEED;
  return classes;
}

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
 * Two encodings protect against relays that act on line starts. A `.` that starts a line
 * is `=2E`, for relays that get SMTP dot-stuffing wrong. The `F` of a line that starts
 * with `From ` is `=46`, for mbox `>From` quoting. Dot-stuffing itself is left to the SMTP
 * layer. Lone surrogates become U+FFFD, as in any UTF-8 encoding.
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
    const byteClass = BYTE_CLASSES[byte];

    // Fast path: a literal byte that cannot reach column 76, which is most bytes of HTML.
    if (lineLength < MAX_ENCODED_LINE_LENGTH - 1) {
      const literal =
        byteClass === PLAIN ||
        (byteClass === LINE_START_SENSITIVE && lineLength !== 0) ||
        (byteClass === WHITESPACE && !isLineEnd(input, i + 1));
      if (literal) {
        output[length++] = byte;
        lineLength++;
        continue;
      }
    }

    if (byteClass === LINE_FEED || (byteClass === CARRIAGE_RETURN && input[i + 1] === LF)) {
      if (byteClass === CARRIAGE_RETURN) i++;
      output[length++] = CR;
      output[length++] = LF;
      lineLength = 0;
      continue;
    }

    let width = encodedWidth(input, i, byteClass, lineLength);
    // Column 76 is free only for the last character before a hard break, because any other
    // needs to leave room for the soft break `=`.
    const limit = isLineEnd(input, i + 1) ? MAX_ENCODED_LINE_LENGTH : MAX_ENCODED_LINE_LENGTH - 1;
    if (lineLength + width > limit) {
      output[length++] = EQUALS;
      output[length++] = CR;
      output[length++] = LF;
      lineLength = 0;
      width = encodedWidth(input, i, byteClass, lineLength);
    }

    if (width === 1) {
      output[length++] = byte;
    } else {
      output[length++] = EQUALS;
      output[length++] = HEX_DIGITS[byte >> 4];
      output[length++] = HEX_DIGITS[byte & 0x0f];
    }
    lineLength += width;
  }

  return asciiDecoder.decode(output.subarray(0, length));
}

/** Returns 1 when the byte at `index` is written as itself at column `lineLength`, else 3. */
function encodedWidth(
  input: Uint8Array,
  index: number,
  byteClass: number,
  lineLength: number,
): number {
  if (byteClass === PLAIN) return 1;
  if (byteClass === WHITESPACE) return isLineEnd(input, index + 1) ? 3 : 1;
  if (byteClass === LINE_START_SENSITIVE && lineLength === 0) {
    const byte = input[index];
    return byte === DOT || startsWithFromSpace(input, index) ? 3 : 1;
  }
  return byteClass === LINE_START_SENSITIVE ? 1 : 3;
}

/** Returns whether position `index` ends the line: end of input, LF or CRLF. */
function isLineEnd(input: Uint8Array, index: number): boolean {
  if (index >= input.length) return true;
  const byte = input[index];
  return byte === LF || (byte === CR && input[index + 1] === LF);
}

function startsWithFromSpace(input: Uint8Array, index: number): boolean {
  return (
    input[index] === UPPER_F &&
    input[index + 1] === 0x72 && // r
    input[index + 2] === 0x6f && // o
    input[index + 3] === 0x6d && // m
    input[index + 4] === SPACE
  );
}
