/** Checks of the sender fields and the analytics settings of a letter. */
import type { LetterIssue, LetterSource } from "../types";

const EMAIL = /^[^\s@<>()[\]",;:\\]+@[^\s@<>()[\]",;:\\]+\.[^\s@<>()[\]",;:\\]+$/;
const UTM_KEYS = ["source", "medium", "campaign", "content", "term"];

/** Returns whether `value` is a single `local@domain.tld` address, as the from and reply-to checks accept it. */
export function isEmailAddress(value: string): boolean {
  return EMAIL.test(value);
}

/** From name, from address and reply-to: single-line, valid addresses, no tokens. */
export function checkSender(source: LetterSource): LetterIssue[] {
  const issues: LetterIssue[] = [];
  const fromEmail = String(source.fromEmail ?? "");
  const fromName = String(source.fromName ?? "");

  if (!EMAIL.test(fromEmail)) {
    issues.push(
      error(
        "from-invalid",
        `The from address "${fromEmail}" is not a valid email address.`,
        fromEmail,
        "from",
      ),
    );
  }
  if (/[\r\n]/.test(fromName)) {
    issues.push(
      error(
        "from-invalid",
        "The from name contains a line break; write it on one line.",
        fromName,
        "from",
      ),
    );
  }
  if (fromName.includes("{{")) {
    issues.push(
      error(
        "from-invalid",
        "The from name cannot contain tokens; it is the same for every subscriber.",
        fromName,
        "from",
      ),
    );
  }

  const replyTo = source.replyTo;
  if (replyTo !== null && replyTo !== undefined && replyTo !== "" && !EMAIL.test(String(replyTo))) {
    issues.push(
      error(
        "reply-to-invalid",
        `The reply-to address "${replyTo}" is not a valid email address.`,
        String(replyTo),
        "from",
      ),
    );
  }
  return issues;
}

/** Click and open switches must be booleans; UTM must be null or an object of strings. */
export function checkSettings(settings: LetterSource["settings"]): LetterIssue[] {
  if (typeof settings !== "object" || settings === null) {
    return [
      error(
        "settings-invalid",
        "settings must be an object with trackClicks, trackOpens and utm.",
        "",
        "settings",
      ),
    ];
  }

  const issues: LetterIssue[] = [];
  for (const key of ["trackClicks", "trackOpens"] as const) {
    if (typeof settings[key] !== "boolean") {
      issues.push(
        error(
          "settings-invalid",
          `settings.${key} must be true or false, got ${JSON.stringify(settings[key])}.`,
          key,
          "settings",
        ),
      );
    }
  }

  const utm = settings.utm;
  if (utm === null || utm === undefined) return issues;
  if (typeof utm !== "object" || Array.isArray(utm)) {
    issues.push(
      error(
        "settings-invalid",
        'settings.utm must be null or an object such as {"source":"newsletter"}.',
        JSON.stringify(utm),
        "settings",
      ),
    );
    return issues;
  }

  for (const [key, value] of Object.entries(utm)) {
    if (!UTM_KEYS.includes(key)) {
      issues.push(
        error(
          "settings-invalid",
          `settings.utm.${key} is not a UTM key; use ${UTM_KEYS.join(", ")}.`,
          key,
          "settings",
        ),
      );
    } else if (value !== null && value !== undefined && typeof value !== "string") {
      issues.push(
        error(
          "settings-invalid",
          `settings.utm.${key} must be a string, got ${JSON.stringify(value)}.`,
          key,
          "settings",
        ),
      );
    }
  }
  return issues;
}

function error(code: string, message: string, text: string, part: string): LetterIssue {
  return { severity: "error", code, message, line: 0, text, part };
}
