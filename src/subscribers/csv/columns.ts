/**
 * Maps a CSV header row onto subscriber fields, and finds the field
 * delimiter from the header line.
 */
import type { CsvColumns } from "./types";

/** Headers compared after lower-casing and dropping everything but letters and digits. */
const EMAIL_HEADERS = new Set(["email", "emailaddress", "emailadresse", "mail", "mailaddress"]);
const FIRST_NAME_HEADERS = new Set(["firstname", "first", "givenname", "forename", "fname"]);
const LAST_NAME_HEADERS = new Set(["lastname", "last", "surname", "familyname", "lname"]);
/**
 * A single full-name column fills first_name unsplit when the file has no
 * first-name column. Splitting "Robert Bob Tables" or "王芳" into first and
 * last name by spaces guesses wrong for many names, and "Hi Ana Costa" reads
 * better than a greeting with the wrong half.
 */
const FULL_NAME_HEADERS = new Set(["name", "fullname"]);

/** Keys that attributes never take, so a template token cannot mean two things. */
const RESERVED_KEYS = new Set(["email", "first_name", "last_name"]);
const MAX_KEY_LENGTH = 64;

/** Column indexes of the subscriber fields in a record. */
export interface ColumnLayout {
  columns: CsvColumns;
  emailIndex: number;
  firstNameIndex: number | null;
  lastNameIndex: number | null;
  /** Attribute key for each remaining column index. */
  attributeIndexes: { index: number; key: string }[];
  /** Later columns whose header also names an email column; they are stored as attributes. */
  extraEmailIndexes: number[];
}

/** Finds the subscriber fields in `headers`; returns null when no column contains emails. */
export function mapColumns(headers: string[]): ColumnLayout | null {
  const compact = headers.map(compactHeader);

  const emailIndex = compact.findIndex((name) => EMAIL_HEADERS.has(name));
  if (emailIndex === -1) return null;

  let firstNameIndex = findHeader(compact, FIRST_NAME_HEADERS, emailIndex);
  const lastNameIndex = findHeader(compact, LAST_NAME_HEADERS, emailIndex);
  if (firstNameIndex === null) firstNameIndex = findHeader(compact, FULL_NAME_HEADERS, emailIndex);

  const fieldIndexes = new Set([emailIndex, firstNameIndex, lastNameIndex]);
  const usedKeys = new Set(RESERVED_KEYS);
  const attributeIndexes: { index: number; key: string }[] = [];
  headers.forEach((header, index) => {
    if (fieldIndexes.has(index)) return;
    attributeIndexes.push({ index, key: uniqueKey(attributeKey(header, index), usedKeys) });
  });

  return {
    columns: {
      email: headers[emailIndex],
      firstName: firstNameIndex === null ? null : headers[firstNameIndex],
      lastName: lastNameIndex === null ? null : headers[lastNameIndex],
      attributes: attributeIndexes.map(({ index, key }) => ({ header: headers[index], key })),
    },
    emailIndex,
    firstNameIndex,
    lastNameIndex,
    attributeIndexes,
    extraEmailIndexes: compact.flatMap((name, index) =>
      index !== emailIndex && EMAIL_HEADERS.has(name) ? [index] : [],
    ),
  };
}

/**
 * Turns a header into an attribute key usable as a template token:
 * lower-case ASCII letters, digits and underscores ("Signup Date" becomes
 * `signup_date`, "Município" becomes `municipio`). A header with no such
 * characters becomes `column_<n>`, n counting from 1.
 */
export function attributeKey(header: string, index: number): string {
  const key = header
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, MAX_KEY_LENGTH)
    .replace(/_+$/, "");

  if (key === "") return `column_${index + 1}`;
  if (/^[0-9]/.test(key)) return `column_${key}`.slice(0, MAX_KEY_LENGTH);
  return key;
}

/**
 * Picks the field delimiter of the header line: the most frequent of comma,
 * semicolon and tab outside quotes, comma on a tie. Spreadsheet programs in
 * locales with a decimal comma write semicolons.
 */
export function detectDelimiter(headerLine: string): string {
  const counts = new Map([
    [",", 0],
    [";", 0],
    ["\t", 0],
  ]);
  let quoted = false;

  for (const char of headerLine) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && counts.has(char)) counts.set(char, counts.get(char)! + 1);
  }

  let best = ",";
  for (const [delimiter, count] of counts) {
    if (count > counts.get(best)!) best = delimiter;
  }
  return best;
}

function compactHeader(header: string): string {
  return header.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "");
}

function findHeader(compact: string[], names: Set<string>, skip: number): number | null {
  const index = compact.findIndex((name, position) => position !== skip && names.has(name));
  return index === -1 ? null : index;
}

function uniqueKey(key: string, used: Set<string>): string {
  let candidate = key;
  for (let suffix = 2; used.has(candidate); suffix++) candidate = `${key}_${suffix}`;
  used.add(candidate);
  return candidate;
}
