import { MimeError } from "./error";
import { foldHeader } from "./fold";

/** RFC 5322 field-name: printable ASCII except `:`. */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

/** Printable ASCII, space and tab. */
const FIELD_VALUE = /^[\x20-\x7e\t]*$/;

/**
 * Names of the header fields that buildMessage writes itself, where an extra one would be a
 * duplicate. Bcc is also reserved because in a sent message it shows the hidden recipients.
 */
const RESERVED_NAMES = new Set([
  "mime-version",
  "date",
  "message-id",
  "from",
  "to",
  "reply-to",
  "subject",
  "content-type",
  "content-transfer-encoding",
  "bcc",
]);

/**
 * Validates and folds the extra header fields, returning one folded field per entry in the
 * given order. Raises MimeError, naming `headers[i].name` or `headers[i].value`, for a name
 * that is not an RFC 5322 field-name or that buildMessage writes itself, and for a value
 * that is empty or contains CR, LF, NUL, another control character or non-ASCII text.
 * Values are sent as given: they are folded at existing whitespace but never encoded,
 * because List-Unsubscribe and most other extra fields are structured.
 */
export function formatExtraHeaders(headers: Array<[string, string]> | undefined): string[] {
  if (headers === undefined || headers === null) return [];
  if (!Array.isArray(headers)) {
    throw new MimeError("headers", "expected an array of [name, value] pairs");
  }

  return headers.map((entry, index) => {
    if (!Array.isArray(entry) || entry.length !== 2) {
      throw new MimeError(`headers[${index}]`, "expected a [name, value] pair");
    }
    const [name, value] = entry;
    validateName(name, `headers[${index}].name`);
    validateValue(name, value, `headers[${index}].value`);
    return foldHeader(name, value, `headers[${index}].value`);
  });
}

function validateName(name: unknown, field: string): asserts name is string {
  if (typeof name !== "string" || !FIELD_NAME.test(name)) {
    throw new MimeError(
      field,
      `header name ${JSON.stringify(name)} is invalid: use printable ASCII without spaces or colons, e.g. List-Unsubscribe`,
    );
  }
  if (RESERVED_NAMES.has(name.toLowerCase())) {
    throw new MimeError(
      field,
      `header ${name} cannot be set as an extra header; buildMessage writes it or it must not be sent`,
    );
  }
}

function validateValue(name: string, value: unknown, field: string): asserts value is string {
  if (typeof value !== "string") {
    throw new MimeError(field, `value of header ${name} must be a string, got ${typeof value}`);
  }
  if (value.trim() === "") {
    throw new MimeError(field, `value of header ${name} is empty; omit the header instead`);
  }
  if (/[\r\n\0]/.test(value)) {
    throw new MimeError(
      field,
      `value of header ${name} contains CR, LF or NUL, which would inject header lines; remove them`,
    );
  }
  if (!FIELD_VALUE.test(value)) {
    throw new MimeError(
      field,
      `value of header ${name} contains a control character or non-ASCII text; extra header values must be printable ASCII`,
    );
  }
}
