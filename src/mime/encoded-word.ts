/** RFC 2047 section 2: an encoded-word is at most 75 characters long. */
export const MAX_ENCODED_WORD_LENGTH = 75;

const Q_PREFIX = "=?UTF-8?Q?";
const B_PREFIX = "=?UTF-8?B?";
const SUFFIX = "?=";
const OVERHEAD = Q_PREFIX.length + SUFFIX.length;
const HEX_DIGITS = "0123456789ABCDEF";

const utf8Encoder = new TextEncoder();

/**
 * Replaces each run of control characters (U+0000 to U+001F except tab, and U+007F) by one
 * space. CR, LF and NUL in a subject or display name would otherwise end the header line
 * or be cut by a relay. So a first name of `Jane\r\nBcc: x@example.org` becomes the text
 * `Jane Bcc: x@example.org`, which is then quoted or encoded and never forms a header.
 */
export function replaceControlCharacters(text: string): string {
  return text.replace(/[\x00-\x08\x0A-\x1F\x7F]+/g, " ");
}

/**
 * Encodes text as UTF-8 encoded-words (RFC 2047) separated by single spaces.
 *
 * The first word is at most `firstWordMaxLength` characters so that it fits on the line
 * after the header name, and every other word at most 75. Each word contains whole code
 * points, so it decodes on its own: no UTF-8 sequence, surrogate pair or `=XX` is split
 * across words. Q or B encoding is chosen by whichever is shorter for this text. The Q
 * form writes only letters, digits and `!*+-/` literally, which RFC 2047 section 5 allows
 * both in unstructured text and in a display name. Lone surrogates become U+FFFD, as in
 * any UTF-8 encoding. Empty text gives an empty list.
 */
export function encodeWords(text: string, firstWordMaxLength: number): string[] {
  const bytes = utf8Encoder.encode(text);
  if (bytes.length === 0) return [];

  if (qEncodedLength(bytes) <= Math.ceil(bytes.length / 3) * 4) {
    return encodeQWords(bytes, firstWordMaxLength);
  }
  return encodeBWords(bytes, firstWordMaxLength);
}

function encodeQWords(bytes: Uint8Array, firstWordMaxLength: number): string[] {
  const words: string[] = [];
  let maxTextLength = Math.min(firstWordMaxLength, MAX_ENCODED_WORD_LENGTH) - OVERHEAD;
  let text = "";

  for (let i = 0; i < bytes.length;) {
    const end = i + sequenceLength(bytes[i]);
    let encodedCodePoint = "";
    for (; i < end; i++) encodedCodePoint += encodeQByte(bytes[i]);

    if (text !== "" && text.length + encodedCodePoint.length > maxTextLength) {
      words.push(Q_PREFIX + text + SUFFIX);
      text = "";
      maxTextLength = MAX_ENCODED_WORD_LENGTH - OVERHEAD;
    }
    text += encodedCodePoint;
  }
  words.push(Q_PREFIX + text + SUFFIX);
  return words;
}

function encodeBWords(bytes: Uint8Array, firstWordMaxLength: number): string[] {
  const words: string[] = [];
  let maxTextLength = Math.min(firstWordMaxLength, MAX_ENCODED_WORD_LENGTH) - OVERHEAD;
  let start = 0;

  for (let i = 0; i < bytes.length;) {
    const end = i + sequenceLength(bytes[i]);
    // Base64 writes 4 characters for every started group of 3 bytes.
    if (i > start && Math.ceil((end - start) / 3) * 4 > maxTextLength) {
      words.push(B_PREFIX + encodeBase64(bytes.subarray(start, i)) + SUFFIX);
      start = i;
      maxTextLength = MAX_ENCODED_WORD_LENGTH - OVERHEAD;
    }
    i = end;
  }
  words.push(B_PREFIX + encodeBase64(bytes.subarray(start)) + SUFFIX);
  return words;
}

/** Returns the length in bytes of the UTF-8 sequence that starts with `leadByte`. */
function sequenceLength(leadByte: number): number {
  if (leadByte < 0x80) return 1;
  if (leadByte < 0xe0) return 2;
  if (leadByte < 0xf0) return 3;
  return 4;
}

function isQLiteral(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    byte === 0x21 || // !
    byte === 0x2a || // *
    byte === 0x2b || // +
    byte === 0x2d || // -
    byte === 0x2f // /
  );
}

function encodeQByte(byte: number): string {
  if (isQLiteral(byte)) return String.fromCharCode(byte);
  if (byte === 0x20) return "_";
  return "=" + HEX_DIGITS[byte >> 4] + HEX_DIGITS[byte & 0x0f];
}

function qEncodedLength(bytes: Uint8Array): number {
  let length = 0;
  for (const byte of bytes) length += isQLiteral(byte) || byte === 0x20 ? 1 : 3;
  return length;
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
