/**
 * Strict decoders for what src/mime writes: RFC 5322 header sections, RFC 2047
 * encoded-words and RFC 2045 quoted-printable. They throw on anything a lenient parser
 * would silently accept, such as an encoded-word over 75 characters, a UTF-8 sequence
 * split across encoded-words, a split `=XX` or a bare LF.
 */

const ENCODED_WORD = /^=\?([^?]+)\?([QqBb])\?([^?]*)\?=$/;
const ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+$/;

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** One header field: its name and its body with folding removed. */
export interface HeaderField {
  name: string;
  value: string;
}

/** A message split into physical header lines, unfolded fields and the body. */
export interface SplitMessage {
  headerLines: string[];
  fields: HeaderField[];
  body: string;
}

/** Splits a message at the first empty line, checking that every line ends in CRLF. */
export function splitMessage(raw: string): SplitMessage {
  assertCrlfOnly(raw);
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) throw new Error("message has no empty line after the header section");

  const headerLines = raw.slice(0, end).split("\r\n");
  const fields: HeaderField[] = [];
  for (const line of headerLines) {
    if (line.length > 998) throw new Error(`header line of ${line.length} characters`);
    if (line.trim() === "") throw new Error("header line of whitespace only");

    if (line.startsWith(" ") || line.startsWith("\t")) {
      if (fields.length === 0) throw new Error("continuation line before any field");
      fields[fields.length - 1].value += line;
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0 || !/^[\x21-\x39\x3b-\x7e]+$/.test(line.slice(0, colon))) {
      throw new Error(`invalid header line ${JSON.stringify(line)}`);
    }
    fields.push({ name: line.slice(0, colon), value: line.slice(colon + 1) });
  }

  for (const field of fields) field.value = field.value.replace(/^[ \t]/, "");
  return { headerLines, fields, body: raw.slice(end + 4) };
}

/** Throws if `text` has a CR or LF that is not part of a CRLF pair. */
export function assertCrlfOnly(text: string): void {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x0d && text.charCodeAt(i + 1) !== 0x0a) throw new Error(`bare CR at ${i}`);
    if (code === 0x0a && text.charCodeAt(i - 1) !== 0x0d) throw new Error(`bare LF at ${i}`);
  }
}

/** Unfolds a field body as `encodeHeaderText` returns it, checking each continuation line. */
export function unfold(folded: string): string {
  assertCrlfOnly(folded);
  for (const line of folded.split("\r\n").slice(1)) {
    if (!/^[ \t]/.test(line)) throw new Error(`continuation line without leading whitespace`);
  }
  return folded.replace(/\r\n/g, "");
}

/**
 * Decodes unstructured header text (RFC 2047 section 6.2): encoded-words are decoded one by
 * one and whitespace between two adjacent encoded-words is dropped. A word that contains
 * `=?` but is not a valid encoded-word throws.
 */
export function decodeUnstructured(value: string): string {
  const pieces = value.split(/([ \t]+)/);
  let result = "";
  let previousWasEncoded = false;
  let pendingWhitespace = "";

  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i];
    if (i % 2 === 1) {
      pendingWhitespace = piece;
      continue;
    }
    if (piece === "") {
      result += pendingWhitespace;
      pendingWhitespace = "";
      continue;
    }

    const encoded = ENCODED_WORD.test(piece);
    if (!encoded && piece.includes("=?")) throw new Error(`malformed encoded-word ${piece}`);
    if (!(encoded && previousWasEncoded)) result += pendingWhitespace;
    result += encoded ? decodeEncodedWord(piece) : piece;
    pendingWhitespace = "";
    previousWasEncoded = encoded;
  }
  return result + pendingWhitespace;
}

/**
 * Decodes one encoded-word on its own and throws unless it is at most 75 characters, in
 * UTF-8, strictly Q or B encoded, and decodes to complete UTF-8 sequences.
 */
export function decodeEncodedWord(word: string): string {
  if (word.length > 75) throw new Error(`encoded-word of ${word.length} characters: ${word}`);
  const match = ENCODED_WORD.exec(word);
  if (!match) throw new Error(`not an encoded-word: ${word}`);
  const [, charset, encoding, text] = match;
  if (charset.toUpperCase() !== "UTF-8") throw new Error(`charset ${charset}`);
  if (text === "") throw new Error(`empty encoded-text in ${word}`);

  const bytes = encoding.toUpperCase() === "Q" ? decodeQText(text) : decodeBText(text);
  return fatalUtf8.decode(bytes);
}

function decodeQText(text: string): Uint8Array {
  // RFC 2047 section 5 rule 3: only these characters may appear in a phrase.
  if (!/^(?:[A-Za-z0-9!*+\-/_]|=[0-9A-F]{2})+$/.test(text)) {
    throw new Error(`invalid Q encoded-text ${text}`);
  }
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "=") {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (text[i] === "_") {
      bytes.push(0x20);
    } else {
      bytes.push(text.charCodeAt(i));
    }
  }
  return new Uint8Array(bytes);
}

function decodeBText(text: string): Uint8Array {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw new Error(`invalid B encoded-text ${text}`);
  }
  const binary = atob(text);
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

/**
 * Decodes a quoted-printable body and throws unless every line is at most 76 characters,
 * uses only printable ASCII with `=` as `=XX` (uppercase hex) or a final soft break, and
 * ends in neither a space nor a tab.
 */
export function decodeQuotedPrintable(encoded: string): string {
  assertCrlfOnly(encoded);
  const lines = encoded.split("\r\n");
  const bytes: number[] = [];

  lines.forEach((line, index) => {
    if (line.length > 76) throw new Error(`QP line ${index} has ${line.length} characters`);
    if (!/^(?:[\t\x20-\x3c\x3e-\x7e]|=[0-9A-F]{2})*=?$/.test(line)) {
      throw new Error(`QP line ${index} is invalid: ${JSON.stringify(line)}`);
    }
    // The pattern above allows a lone `=` only as the last character, the soft break.
    const soft = line.endsWith("=");
    const content = soft ? line.slice(0, -1) : line;
    if (!soft && /[ \t]$/.test(content)) throw new Error(`QP line ${index} ends in whitespace`);

    for (let i = 0; i < content.length; i++) {
      if (content[i] === "=") {
        bytes.push(parseInt(content.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        bytes.push(content.charCodeAt(i));
      }
    }
    if (!soft && index < lines.length - 1) bytes.push(0x0d, 0x0a);
  });
  return fatalUtf8.decode(new Uint8Array(bytes));
}

/** A decoded mailbox. */
export interface Mailbox {
  name: string;
  email: string;
}

/**
 * Parses an unfolded mailbox as src/mime writes it: either a bare addr-spec or a phrase of
 * atoms, quoted-strings and encoded-words followed by a space and `<addr-spec>`.
 */
export function parseMailbox(value: string): Mailbox {
  if (!value.endsWith(">")) {
    assertAddrSpec(value);
    return { name: "", email: value };
  }
  const open = value.lastIndexOf("<");
  if (open < 2 || value[open - 1] !== " ") throw new Error(`invalid mailbox ${value}`);
  const email = value.slice(open + 1, -1);
  assertAddrSpec(email);
  return { name: decodePhrase(value.slice(0, open - 1)), email };
}

function assertAddrSpec(email: string): void {
  if (!/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+@[A-Za-z0-9.-]+$/.test(email)) {
    throw new Error(`invalid addr-spec ${email}`);
  }
}

function decodePhrase(phrase: string): string {
  const words: Array<{ text: string; encoded: boolean }> = [];
  let i = 0;

  while (i < phrase.length) {
    if (phrase[i] === " " || phrase[i] === "\t") {
      i++;
      continue;
    }
    if (phrase[i] === '"') {
      const [text, end] = readQuotedString(phrase, i);
      words.push({ text, encoded: false });
      i = end;
      continue;
    }

    let end = i;
    while (end < phrase.length && phrase[end] !== " " && phrase[end] !== "\t") end++;
    const token = phrase.slice(i, end);
    if (ENCODED_WORD.test(token)) {
      words.push({ text: decodeEncodedWord(token), encoded: true });
    } else if (ATOM.test(token) && !token.includes("=?")) {
      words.push({ text: token, encoded: false });
    } else {
      throw new Error(`invalid phrase word ${JSON.stringify(token)}`);
    }
    i = end;
  }

  let name = "";
  words.forEach((word, index) => {
    const joinsPrevious = index > 0 && word.encoded && words[index - 1].encoded;
    name += (index > 0 && !joinsPrevious ? " " : "") + word.text;
  });
  return name;
}

/** Reads a quoted-string starting at `start` and returns its text and the index after it. */
function readQuotedString(phrase: string, start: number): [string, number] {
  let text = "";
  for (let i = start + 1; i < phrase.length; i++) {
    const char = phrase[i];
    if (char === '"') return [text, i + 1];
    if (char === "\\") {
      i++;
      if (i >= phrase.length) break;
      text += phrase[i];
      continue;
    }
    if (char < " " || char > "~") throw new Error(`invalid character in quoted-string`);
    text += char;
  }
  throw new Error(`unterminated quoted-string in ${phrase}`);
}
