/**
 * Reading the panel's HTML forms. Values arrive as strings, and these
 * helpers turn them into the JSON the API takes. A field that cannot be
 * converted is reported in the API's error shape, so one error box shows both.
 */
import type { Context } from "hono";
import type { AppEnv } from "../http/app";
import type { ErrorDetail } from "../http/errors";
import type { ApiProblem } from "./api";

/** The text fields of a submitted form; a repeated field keeps its last value. */
export type FormFields = Record<string, string>;

/** Reads the form body of the request; file fields are left out. */
export async function readForm(c: Context<AppEnv>): Promise<FormFields> {
  const body = await c.req.parseBody();
  const fields: FormFields = {};
  for (const [name, value] of Object.entries(body)) {
    if (typeof value === "string") fields[name] = value;
  }
  return fields;
}

/** Collects the conversion errors of one form. */
export class FieldErrors {
  readonly details: ErrorDetail[] = [];

  /** Parses an optional whole number within [min, max]; an empty field is null. */
  optionalInteger(fields: FormFields, name: string, label: string, min: number, max: number) {
    const text = (fields[name] ?? "").trim();
    if (text === "") return null;

    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.details.push({
        field: label,
        message: `"${text}" is not a whole number from ${min} to ${max}.`,
      });
      return null;
    }
    return value;
  }

  /** Parses a required id chosen from a select element. */
  requiredId(fields: FormFields, name: string, label: string): number {
    const value = Number(fields[name]);
    if (!Number.isSafeInteger(value) || value < 1) {
      this.details.push({ field: label, message: "Choose one." });
      return 0;
    }
    return value;
  }

  /** Returns the collected errors as a problem to show, or null when every field converted. */
  problem(): ApiProblem | null {
    if (this.details.length === 0) return null;
    return {
      status: 400,
      code: "invalid_form",
      message: "Some fields are invalid. Correct them and submit the form again.",
      details: this.details,
    };
  }
}

/**
 * Returns the start time of the mailing form as ISO 8601. The script fills
 * `startAtIso` from the browser's time zone; without the script the
 * datetime-local value is read as UTC.
 */
export function startTimeField(fields: FormFields): string | undefined {
  const iso = (fields.startAtIso ?? "").trim();
  if (iso) return iso;

  const local = (fields.startAt ?? "").trim();
  if (!local) return undefined;
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(local) ? `${local}:00Z` : `${local}Z`;
}

/**
 * Replaces the API's JSON paths in error details with the form's labels, so
 * "settings.utm.source" reads as "UTM source".
 */
export function labelDetails(problem: ApiProblem, labels: Record<string, string>): ApiProblem {
  return {
    ...problem,
    details: problem.details.map((detail) => ({
      ...detail,
      field: detail.field ? (labels[detail.field] ?? detail.field) : detail.field,
    })),
  };
}
