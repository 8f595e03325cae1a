/**
 * Turns an uploaded file into text, or explains why it is not a UTF-8 text
 * file. Spreadsheet programs often save CSV as UTF-16 or in a legacy code
 * page, and users sometimes upload the workbook itself.
 */
import type { CsvFileError } from "./types";

/**
 * A file where more than one byte in this many is NUL is binary or UTF-16.
 * A file with fewer NULs is read as text. Parsing then rejects a row with a
 * NUL in its email and removes NULs from other values with a warning.
 */
const NUL_RATIO_LIMIT = 10;

const SAVE_AS_UTF8 =
  'Save or export the sheet as "CSV UTF-8 (comma delimited)" and upload that file.';

export type DecodeResult = { ok: true; text: string } | { ok: false; error: CsvFileError };

/** Decodes `input` as UTF-8 and strips a leading byte order mark. */
export function decodeCsvInput(input: string | ArrayBuffer | Uint8Array): DecodeResult {
  if (typeof input === "string") return checkText(stripBom(input), input.length);

  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (bytes.length === 0) return { ok: true, text: "" };

  const utf16 = detectUtf16Bom(bytes);
  if (utf16) {
    return notText(`The file is ${utf16} text, not UTF-8. ${SAVE_AS_UTF8}`);
  }
  if (looksLikeZip(bytes)) {
    return notText(
      `The file is a ZIP archive, such as an Excel workbook (.xlsx), not CSV text. ${SAVE_AS_UTF8}`,
    );
  }

  let text: string;
  try {
    // fatal: an invalid byte sequence throws instead of becoming U+FFFD.
    // ignoreBOM: false makes the decoder drop a UTF-8 byte order mark.
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    const line = lineOfFirstInvalidByte(bytes);
    return notText(
      `The file is not valid UTF-8 text: line ${line} contains a byte that is not UTF-8, as in files saved in a legacy code page such as Windows-1252. ${SAVE_AS_UTF8}`,
      line,
    );
  }
  return checkText(text, bytes.length);
}

function checkText(text: string, size: number): DecodeResult {
  let nulCount = 0;
  for (let index = text.indexOf("\0"); index !== -1; index = text.indexOf("\0", index + 1)) {
    nulCount++;
  }

  if (nulCount > 0 && nulCount * NUL_RATIO_LIMIT > size) {
    return notText(
      `The file contains ${nulCount} NUL bytes, so it is binary or UTF-16, not UTF-8 CSV text. ${SAVE_AS_UTF8}`,
    );
  }
  return { ok: true, text };
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function detectUtf16Bom(bytes: Uint8Array): string | null {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return "UTF-16 (little-endian)";
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return "UTF-16 (big-endian)";
  return null;
}

function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/** Finds the 1-based line of the first byte that is not UTF-8, by decoding line by line. */
function lineOfFirstInvalidByte(bytes: Uint8Array): number {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  let line = 1;
  let lineStart = 0;

  for (let index = 0; index <= bytes.length; index++) {
    if (index < bytes.length && bytes[index] !== 0x0a) continue;

    try {
      decoder.decode(bytes.subarray(lineStart, index));
    } catch {
      return line;
    }
    line++;
    lineStart = index + 1;
  }
  return line;
}

function notText(message: string, line?: number): DecodeResult {
  return { ok: false, error: { code: "csv_not_text", message, line } };
}
