/** Types of a parsed subscriber CSV file. */

/** One valid, first-seen subscriber row of the file. */
export interface SubscriberRow {
  /** 1-based line where the record starts; the header is line 1. */
  line: number;
  /** Trimmed, NFC-normalised and lower-cased. */
  email: string;
  /** Null when the file has no first-name column, so an import keeps the stored name. */
  firstName: string | null;
  /** Null when the file has no last-name column, so an import keeps the stored name. */
  lastName: string | null;
  /** Every other column, keyed by its normalised name, with trimmed values. */
  attributes: Record<string, string>;
}

/** A row that was skipped because a value in it is invalid. */
export interface InvalidRow {
  line: number;
  /** The email cell as written in the file, trimmed. */
  value: string;
  reason: string;
}

/** A row that was skipped because an earlier row has the same normalised email. */
export interface DuplicateRow {
  line: number;
  email: string;
  /** Line of the row that was kept. */
  firstLine: number;
}

/**
 * Something the operator should know about a file that was imported:
 * `csv_duplicate_email_column` when a second column is named like the email
 * column, `csv_nul_removed` when NUL characters were removed from values.
 */
export interface CsvWarning {
  code: "csv_duplicate_email_column" | "csv_nul_removed";
  message: string;
  /** Lines the warning is about. */
  lines: number[];
}

/** Mapping of the header row onto subscriber fields. */
export interface CsvColumns {
  /** Header of the email column, as written in the file. */
  email: string;
  firstName: string | null;
  lastName: string | null;
  /** Every other column: its header as written and the attribute key it is stored under. */
  attributes: { header: string; key: string }[];
}

/** Counts of the file's records, for progress reports and summaries. */
export interface CsvCounts {
  /** Physical lines in the file, the header included. */
  lines: number;
  /** Data records after the header, blank ones excluded. */
  records: number;
  /** Records whose fields are all empty; they are skipped silently. */
  blank: number;
  valid: number;
  invalid: number;
  duplicates: number;
}

export type CsvFileErrorCode =
  | "csv_empty"
  | "csv_not_text"
  | "csv_no_email_column"
  | "csv_no_rows"
  | "csv_unclosed_quote"
  | "csv_too_many_columns";

/** A problem with the whole file; nothing of such a file is imported. */
export interface CsvFileError {
  code: CsvFileErrorCode;
  /** Explanation of the problem and of the fix, for the operator. */
  message: string;
  line?: number;
  /** Headers found, for `csv_no_email_column`. */
  columns?: string[];
}

export type CsvParseResult =
  | {
      ok: true;
      /** Field delimiter found in the header line: comma, semicolon or tab. */
      delimiter: string;
      columns: CsvColumns;
      rows: SubscriberRow[];
      invalid: InvalidRow[];
      duplicates: DuplicateRow[];
      warnings: CsvWarning[];
      counts: CsvCounts;
    }
  | { ok: false; error: CsvFileError };
