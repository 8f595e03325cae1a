/**
 * Parsing of a subscriber CSV upload into rows ready to import, with a
 * line-numbered report of every row that was skipped. Pure: no I/O, so it
 * runs the same in workerd and in Node.
 */
import { normalizeEmail } from "../email";
import { mapColumns, detectDelimiter, type ColumnLayout } from "./columns";
import { decodeCsvInput } from "./decode";
import { CsvRecordReader, UnclosedQuoteError, type CsvRecord } from "./records";
import type {
  CsvCounts,
  CsvFileError,
  CsvParseResult,
  CsvWarning,
  DuplicateRow,
  InvalidRow,
  SubscriberRow,
} from "./types";

/** Maximum columns in the header; more is a sign of a file that is not a subscriber list. */
export const MAX_COLUMNS = 200;
/** Maximum length of a first or last name, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 256;
/** Maximum length of an attribute value, in UTF-16 code units. */
export const MAX_ATTRIBUTE_LENGTH = 1024;

const HEADER_EXAMPLE = "email,first_name,last_name";
/** Maximum line numbers written into a warning message; the `lines` field has them all. */
const MAX_LINES_IN_MESSAGE = 10;
// Excel writes "sep=;" as the first line to name the delimiter of the file.
const SEPARATOR_DIRECTIVE = /^sep=([,;\t|])\s*?(?:\r\n|\n|\r|$)/i;

/**
 * Parses a subscriber CSV file (UTF-8 with or without a byte order mark,
 * CRLF, LF or CR line breaks, RFC 4180 quoting).
 *
 * The header row is required and must have an email column. Emails are
 * normalised and validated. Rows with an invalid value or an email seen
 * earlier in the file are skipped and reported with the line where they
 * start. A problem with the whole file returns `ok: false` and no rows.
 *
 * A file that passes the NUL check of `decodeCsvInput` is read as text. A
 * NUL in an email cell makes the row invalid, because it is no part of an
 * address. NULs elsewhere are removed from the values, and a
 * `csv_nul_removed` warning lists their lines. A second email column is
 * stored as an attribute, with a `csv_duplicate_email_column` warning.
 */
export function parseSubscriberCsv(input: string | ArrayBuffer | Uint8Array): CsvParseResult {
  const decoded = decodeCsvInput(input);
  if (!decoded.ok) return decoded;

  const text = decoded.text;
  if (text.trim() === "") return fileError(emptyFileError());

  const directive = SEPARATOR_DIRECTIVE.exec(text);
  const delimiter = directive ? directive[1] : detectDelimiter(firstLine(text));

  try {
    return parseRecords(new CsvRecordReader(text, delimiter), delimiter, Boolean(directive));
  } catch (error) {
    if (error instanceof UnclosedQuoteError) return fileError(unclosedQuoteError(error.line));
    throw error;
  }
}

function parseRecords(
  reader: CsvRecordReader,
  delimiter: string,
  skipDirective: boolean,
): CsvParseResult {
  if (skipDirective) reader.readRecord();

  let header: CsvRecord | null = null;
  while (!reader.done() && header === null) {
    const record = reader.readRecord();
    if (!isBlank(record)) header = record;
  }
  if (header === null) return fileError(emptyFileError());

  const headerError = checkHeader(header);
  if (headerError) return fileError(headerError);

  const headers = header.fields.map(cleanValue);
  const layout = mapColumns(headers);
  if (!layout) return fileError(noEmailColumnError(headers, header.line));

  const body = new RowCollector(layout, headers.length, delimiter);
  if (hasNul(header)) body.nulLines.push(header.line);
  while (!reader.done()) body.add(reader.readRecord());

  if (body.counts.records === 0) return fileError(noRowsError(header.line));

  const warnings = duplicateEmailWarnings(layout, headers, header.line);
  if (body.nulLines.length > 0) warnings.push(nulRemovedWarning(body.nulLines));

  body.counts.lines = reader.lineCount();
  return {
    ok: true,
    delimiter,
    columns: layout.columns,
    rows: body.rows,
    invalid: body.invalid,
    duplicates: body.duplicates,
    warnings,
    counts: body.counts,
  };
}

/** Sorts data records into valid rows, invalid rows and duplicates. */
class RowCollector {
  readonly rows: SubscriberRow[] = [];
  readonly invalid: InvalidRow[] = [];
  readonly duplicates: DuplicateRow[] = [];
  readonly counts: CsvCounts = {
    lines: 0,
    records: 0,
    blank: 0,
    valid: 0,
    invalid: 0,
    duplicates: 0,
  };
  /** Lines of kept and blank records that had NULs removed from their values. */
  readonly nulLines: number[] = [];
  private readonly firstLineByEmail = new Map<string, number>();

  constructor(
    private readonly layout: ColumnLayout,
    private readonly headerLength: number,
    private readonly delimiter: string,
  ) {}

  add(record: CsvRecord): void {
    if (isBlank(record)) {
      if (hasNul(record)) this.nulLines.push(record.line);
      this.counts.blank++;
      return;
    }
    this.counts.records++;

    // NULs stay in the email cell, so normalizeEmail rejects the row.
    const rawEmail = (record.fields[this.layout.emailIndex] ?? "").trim();
    const problem = this.findRecordProblem(record);
    if (problem) return this.reject(record.line, rawEmail, problem);

    const email = normalizeEmail(rawEmail);
    if (!email.ok) return this.reject(record.line, rawEmail, email.reason);

    const firstLine = this.firstLineByEmail.get(email.email);
    if (firstLine !== undefined) {
      this.duplicates.push({ line: record.line, email: email.email, firstLine });
      this.counts.duplicates++;
      return;
    }

    const row = this.buildRow(record, email.email);
    if (typeof row === "string") return this.reject(record.line, rawEmail, row);

    this.firstLineByEmail.set(email.email, record.line);
    this.rows.push(row);
    this.counts.valid++;
    if (hasNul(record)) this.nulLines.push(record.line);
  }

  /** Returns why the record's shape is wrong, or null. */
  private findRecordProblem(record: CsvRecord): string | null {
    if (record.malformed)
      return `${record.malformed}; quote the whole value and double any quote inside it`;

    // Trailing empty fields carry no data, so only extra fields with text count.
    const extra = record.fields.slice(this.headerLength);
    if (extra.some((field) => cleanValue(field) !== "")) {
      const name = this.delimiter === "\t" ? "tab" : `"${this.delimiter}"`;
      return `row has ${record.fields.length} fields but the header has ${this.headerLength}; quote values that contain ${name}`;
    }
    return null;
  }

  /** Builds the row, or returns why a value in it is invalid. */
  private buildRow(record: CsvRecord, email: string): SubscriberRow | string {
    const { firstNameIndex, lastNameIndex, attributeIndexes } = this.layout;
    const value = (index: number) => cleanValue(record.fields[index] ?? "");

    const firstName = firstNameIndex === null ? null : value(firstNameIndex);
    if (firstName !== null && firstName.length > MAX_NAME_LENGTH) {
      return `first name is longer than ${MAX_NAME_LENGTH} characters`;
    }
    const lastName = lastNameIndex === null ? null : value(lastNameIndex);
    if (lastName !== null && lastName.length > MAX_NAME_LENGTH) {
      return `last name is longer than ${MAX_NAME_LENGTH} characters`;
    }

    const attributes: Record<string, string> = {};
    for (const { index, key } of attributeIndexes) {
      const text = value(index);
      if (text.length > MAX_ATTRIBUTE_LENGTH) {
        return `${key} is longer than ${MAX_ATTRIBUTE_LENGTH} characters`;
      }
      attributes[key] = text;
    }

    return { line: record.line, email, firstName, lastName, attributes };
  }

  private reject(line: number, value: string, reason: string): void {
    this.invalid.push({ line, value, reason });
    this.counts.invalid++;
  }
}

/**
 * Trims a value and removes NUL characters, which databases and mail
 * headers cannot carry. Inner CR and LF stay: they are data, and renderers
 * escape them.
 */
function cleanValue(value: string): string {
  return value.replaceAll("\0", "").trim();
}

function hasNul(record: CsvRecord): boolean {
  return record.fields.some((field) => field.includes("\0"));
}

function isBlank(record: CsvRecord): boolean {
  return record.fields.every((field) => cleanValue(field) === "");
}

function firstLine(text: string): string {
  const end = text.search(/[\r\n]/);
  return end === -1 ? text : text.slice(0, end);
}

function checkHeader(header: CsvRecord): CsvFileError | null {
  if (header.fields.length > MAX_COLUMNS) {
    return {
      code: "csv_too_many_columns",
      message: `The header on line ${header.line} has ${header.fields.length} columns; at most ${MAX_COLUMNS} are allowed. Remove the columns you do not need and upload again.`,
      line: header.line,
    };
  }
  return null;
}

function duplicateEmailWarnings(
  layout: ColumnLayout,
  headers: string[],
  headerLine: number,
): CsvWarning[] {
  const emailColumn = `column ${layout.emailIndex + 1} "${headers[layout.emailIndex]}"`;

  return layout.extraEmailIndexes.map((index) => {
    const key = layout.attributeIndexes.find((column) => column.index === index)?.key;
    return {
      code: "csv_duplicate_email_column",
      message: `Column ${index + 1} "${headers[index]}" is a second email column. Addresses were read from ${emailColumn}, and column ${index + 1} was stored as the attribute "${key}". Rename or remove one of the two columns if that is wrong.`,
      lines: [headerLine],
    };
  });
}

function nulRemovedWarning(lines: number[]): CsvWarning {
  const listedLines = lines.slice(0, MAX_LINES_IN_MESSAGE).join(", ");
  const more =
    lines.length > MAX_LINES_IN_MESSAGE ? ` and ${lines.length - MAX_LINES_IN_MESSAGE} more` : "";
  return {
    code: "csv_nul_removed",
    message: `NUL characters (U+0000) were removed from values on lines ${listedLines}${more}, because the database and mail headers cannot store them. Check those rows, and export the file again as CSV UTF-8 if they look wrong.`,
    lines,
  };
}

function fileError(error: CsvFileError): CsvParseResult {
  return { ok: false, error };
}

function emptyFileError(): CsvFileError {
  return {
    code: "csv_empty",
    message: `The file is empty. Upload a CSV file whose first line is a header such as "${HEADER_EXAMPLE}", followed by one subscriber per line.`,
  };
}

function unclosedQuoteError(line: number): CsvFileError {
  return {
    code: "csv_unclosed_quote",
    message: `The quoted value that starts on line ${line} has no closing quote, so the rest of the file would be read as that one value. Add the closing quote (and double any quote inside the value), then upload again.`,
    line,
  };
}

function noEmailColumnError(headers: string[], line: number): CsvFileError {
  const found = headers.map((header) => `"${header}"`).join(", ");
  const looksLikeData = headers.some((header) => normalizeEmail(header).ok);
  const hint = looksLikeData
    ? `Line ${line} looks like a subscriber, not a header: add a header line such as "${HEADER_EXAMPLE}" above it.`
    : `Name the column that contains the addresses "email".`;

  return {
    code: "csv_no_email_column",
    message: `The header on line ${line} has no email column; the columns found are ${found}. ${hint}`,
    line,
    columns: headers,
  };
}

function noRowsError(headerLine: number): CsvFileError {
  return {
    code: "csv_no_rows",
    message: `The file has a header on line ${headerLine} but no subscriber rows after it. Add one subscriber per line below the header and upload again.`,
    line: headerLine,
  };
}
