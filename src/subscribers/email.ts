/**
 * Email address normalisation and a practical validity check for imported
 * addresses. The check rejects what cannot be delivered or could be misread
 * as several addresses. It accepts everything a mail system is likely to
 * deliver, including internationalised addresses.
 */

/** Maximum length of a forward path in SMTP (RFC 5321, section 4.5.3.1.3). */
const MAX_EMAIL_LENGTH = 254;
/** Maximum length of a local part in SMTP (RFC 5321, section 4.5.3.1.1). */
const MAX_LOCAL_PART_LENGTH = 64;

// RFC 5322 atext plus the dot, and any non-ASCII letter or number (RFC 6531).
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-\p{L}\p{M}\p{N}]+$/u;
// One DNS label: letters, digits and inner hyphens, or an IDN label in Unicode.
const DOMAIN_LABEL = /^[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}-]*[\p{L}\p{M}\p{N}])?$/u;
const WHITESPACE_OR_CONTROL = /[\s\p{Cc}\p{Cf}]/u;

export type EmailCheck = { ok: true; email: string } | { ok: false; reason: string };

/**
 * Trims, NFC-normalises and lower-cases `raw`, then checks that the result
 * is a plausible address. Returns the normalised address or the reason it is
 * invalid.
 */
export function normalizeEmail(raw: string): EmailCheck {
  const email = raw.trim().normalize("NFC").toLowerCase();

  if (email === "") return { ok: false, reason: "email is empty" };
  if (WHITESPACE_OR_CONTROL.test(email)) {
    return { ok: false, reason: "email contains a space or a control character" };
  }
  if (email.length > MAX_EMAIL_LENGTH) {
    return { ok: false, reason: `email is longer than ${MAX_EMAIL_LENGTH} characters` };
  }

  const parts = email.split("@");
  if (parts.length === 1) return { ok: false, reason: "email has no @" };
  if (parts.length > 2) return { ok: false, reason: "email has more than one @" };

  const [local, domain] = parts;
  const localProblem = checkLocalPart(local);
  if (localProblem) return { ok: false, reason: localProblem };

  const domainProblem = checkDomain(domain);
  if (domainProblem) return { ok: false, reason: domainProblem };

  return { ok: true, email };
}

function checkLocalPart(local: string): string | null {
  if (local === "") return "email has nothing before the @";
  if (local.length > MAX_LOCAL_PART_LENGTH) {
    return `email has more than ${MAX_LOCAL_PART_LENGTH} characters before the @`;
  }
  if (!LOCAL_PART.test(local)) {
    return "email has a character before the @ that needs quoting, such as a comma or bracket";
  }
  if (local.startsWith(".") || local.endsWith(".") || local.includes("..")) {
    return "email has a dot at the start or end of the part before the @, or two dots in a row";
  }
  return null;
}

function checkDomain(domain: string): string | null {
  if (domain === "") return "email has no domain after the @";
  if (!domain.includes(".")) return `email domain "${domain}" has no dot`;

  const labels = domain.split(".");
  if (labels.some((label) => !DOMAIN_LABEL.test(label))) {
    return `email domain "${domain}" is not a valid host name`;
  }
  return null;
}
