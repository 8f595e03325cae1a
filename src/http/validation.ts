/**
 * Turns zod validation failures into one AppError that names every invalid
 * field, for use as the hook of `zValidator`.
 */
import { AppError } from "./errors";

interface ValidationResult {
  success: boolean;
  error?: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> };
}

export function validationHook(result: ValidationResult): void {
  if (result.success || !result.error) return;

  const details = result.error.issues.map((issue) => ({
    field: issue.path.map(String).join(".") || "(body)",
    message: issue.message,
  }));
  const fields = details.map((detail) => detail.field).join(", ");
  throw new AppError(400, "invalid_body", `The request body is invalid at: ${fields}.`, details);
}
