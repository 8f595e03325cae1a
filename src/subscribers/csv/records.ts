/**
 * An RFC 4180 record reader that tracks the line where each record starts.
 *
 * csv-parse 7.0.3 (installed) runs in workerd and splits the fixture
 * correctly, but its `info.lines` is the line where a record ends, and it
 * counts a CRLF inside a quoted field as two lines. Every line number after
 * such a field comes out one too high, and import reports must point at the
 * line where the record starts. This reader is small and gives exact lines.
 *
 * Line breaks are CRLF, LF or a lone CR, and each counts as one line. A quote
 * opens a quoted field only as the field's first character. Elsewhere it is
 * kept as a literal character, as csv-parse does with `relax_quotes`.
 */

const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;

/** One record of the file. */
export interface CsvRecord {
  /** 1-based line where the record starts. */
  line: number;
  fields: string[];
  /** Set when a quoted field has text after its closing quote; the text is kept in the field. */
  malformed?: string;
}

/** A quoted field that runs to the end of the file: the rest of the file would be one value. */
export class UnclosedQuoteError extends Error {
  constructor(readonly line: number) {
    super(`A quoted field that starts on line ${line} has no closing quote.`);
    this.name = "UnclosedQuoteError";
  }
}

/**
 * Reads records one at a time, so a large file is never held as one array
 * of records. `readRecord` throws UnclosedQuoteError when a quoted field is
 * never closed.
 */
export class CsvRecordReader {
  private readonly delimiter: number;
  private index = 0;
  private line = 1;

  constructor(
    private readonly text: string,
    delimiter: string,
  ) {
    this.delimiter = delimiter.charCodeAt(0);
  }

  done(): boolean {
    return this.index >= this.text.length;
  }

  /** Physical lines of the text, once every record is read; a final line break adds no line. */
  lineCount(): number {
    const last = this.text.charCodeAt(this.text.length - 1);
    return last === LF || last === CR ? this.line - 1 : this.line;
  }

  readRecord(): CsvRecord {
    const record: CsvRecord = { line: this.line, fields: [] };

    for (;;) {
      record.fields.push(this.readField(record));

      const code = this.text.charCodeAt(this.index);
      if (code === this.delimiter) {
        this.index++;
        continue;
      }

      this.skipLineBreak();
      return record;
    }
  }

  private readField(record: CsvRecord): string {
    if (this.text.charCodeAt(this.index) !== QUOTE) {
      return this.readBareField();
    }

    const value = this.readQuotedField();

    // Spaces between the closing quote and the delimiter are dropped. Any
    // other text there is kept, and the record is marked malformed.
    let next = this.index;
    while (this.text.charCodeAt(next) === SPACE || this.text.charCodeAt(next) === TAB) next++;
    if (this.isFieldEnd(next)) {
      this.index = next;
      return value;
    }

    record.malformed ??= `field ${record.fields.length + 1} has text after its closing quote`;
    return value + this.readBareField();
  }

  private readBareField(): string {
    const start = this.index;
    while (!this.isFieldEnd(this.index)) this.index++;
    return this.text.slice(start, this.index);
  }

  /** Reads from an opening quote to the matching closing quote, turning `""` into `"`. */
  private readQuotedField(): string {
    const openingLine = this.line;
    const parts: string[] = [];
    let start = this.index + 1;

    for (;;) {
      const quote = this.text.indexOf('"', start);
      if (quote === -1) throw new UnclosedQuoteError(openingLine);

      this.line += countLineBreaks(this.text, start, quote);
      if (this.text.charCodeAt(quote + 1) === QUOTE) {
        parts.push(this.text.slice(start, quote + 1));
        start = quote + 2;
        continue;
      }

      parts.push(this.text.slice(start, quote));
      this.index = quote + 1;
      return parts.join("");
    }
  }

  private isFieldEnd(index: number): boolean {
    if (index >= this.text.length) return true;
    const code = this.text.charCodeAt(index);
    return code === this.delimiter || code === CR || code === LF;
  }

  private skipLineBreak(): void {
    if (this.done()) return;

    const code = this.text.charCodeAt(this.index);
    this.index++;
    if (code === CR && this.text.charCodeAt(this.index) === LF) this.index++;
    this.line++;
  }
}

/** Counts CRLF, LF and lone CR in text[start, end), each as one line break. */
function countLineBreaks(text: string, start: number, end: number): number {
  let count = 0;
  for (let index = start; index < end; index++) {
    const code = text.charCodeAt(index);
    if (code === LF) count++;
    else if (code === CR && text.charCodeAt(index + 1) !== LF) count++;
  }
  return count;
}
