/**
 * One error type for the HTTP layer, mapped to a JSON response in one place
 * (`app.onError`, through `errorBody`). The message states what was wrong
 * and what to do.
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";

export interface ErrorDetail {
  /** Location of the problem: a field name, `line 12`, a header. */
  field?: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "AppError";
  }
}

/** Body of every JSON error response. */
export function errorBody(error: AppError) {
  return { errors: [{ code: error.code, message: error.message, details: error.details }] };
}
