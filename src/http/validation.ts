/**
 * Turns zod validation failures into one AppError that names every invalid
 * field, for use as the hook of `zValidator`.
 */
import { AppError } from "./errors";

interface ValidationResult {
  success: boolean;
  error?: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> };
}

/** The part of Hono's context the hook reads. */
interface RequestContext {
  req: { header(name: string): string | undefined };
}

export function validationHook(result: ValidationResult, c?: RequestContext): void {
  if (result.success || !result.error) return;

  // zValidator validates an empty object when the body is not declared as
  // JSON, which would report every field as missing.
  const contentType = c?.req.header("content-type") ?? "";
  if (c && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)) {
    throw new AppError(
      415,
      "unsupported_media_type",
      `The request body must be JSON, but Content-Type is "${contentType || "(missing)"}". Send it with Content-Type: application/json.`,
    );
  }

  const details = result.error.issues.map((issue) => ({
    field: issue.path.map(String).join(".") || "(body)",
    message: issue.message,
  }));
  const fields = details.map((detail) => detail.field).join(", ");
  throw new AppError(400, "invalid_body", `The request body is invalid at: ${fields}.`, details);
}

/**
 * Reads a body that may be empty: empty means `{}`. Anything else must be
 * valid JSON, or the request fails with `invalid_json`.
 */
export async function readOptionalJson(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === "") return {};

  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AppError(
      400,
      "invalid_json",
      "The request body is not valid JSON. Send one JSON object with Content-Type: application/json, or no body.",
    );
  }
}
