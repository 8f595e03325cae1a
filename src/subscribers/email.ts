/**
 * Email address normalisation and a practical validity check for imported
 * addresses. The check rejects what cannot be delivered or could be misread
 * as several addresses. The MIME builder (src/mime) sends only ASCII
 * addresses because SMTPUTF8 is not supported. So a non-ASCII local part is
 * rejected here, and an internationalised domain is converted to its
 * punycode (xn--) form.
 */

/** Maximum length of a forward path in SMTP (RFC 5321, section 4.5.3.1.3). */
const MAX_EMAIL_LENGTH = 254;
/** Maximum length of a local part in SMTP (RFC 5321, section 4.5.3.1.1). */
const MAX_LOCAL_PART_LENGTH = 64;

/** Maximum length of one DNS label (RFC 1035, section 2.3.4). */
const MAX_LABEL_LENGTH = 63;

// RFC 5322 atext plus the dot.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$/;
// One DNS label: letters, digits and inner hyphens, or an IDN label in Unicode.
const DOMAIN_LABEL = /^[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}-]*[\p{L}\p{M}\p{N}])?$/u;
// One DNS label in ASCII (LDH), as an IDN label is after punycode conversion.
const ASCII_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const NON_ASCII = /[^\x00-\x7f]/;
const WHITESPACE_OR_CONTROL = /[\s\p{Cc}\p{Cf}]/u;

export type EmailCheck = { ok: true; email: string } | { ok: false; reason: string };
type DomainCheck = { ok: true; domain: string } | { ok: false; reason: string };

/**
 * Trims, NFC-normalises and lower-cases `raw`, converts a Unicode domain to
 * punycode, then checks that the result is a plausible ASCII address.
 * Returns the normalised address or the reason it is invalid.
 */
export function normalizeEmail(raw: string): EmailCheck {
  const email = raw.trim().normalize("NFC").toLowerCase();

  if (email === "") return { ok: false, reason: "email is empty" };
  if (email.includes("\0")) {
    return { ok: false, reason: "email contains a NUL character (U+0000)" };
  }
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

  const asciiDomain = toAsciiDomain(domain);
  if (!asciiDomain.ok) return asciiDomain;

  const ascii = `${local}@${asciiDomain.domain}`;
  if (ascii.length > MAX_EMAIL_LENGTH) {
    return {
      ok: false,
      reason: `email is longer than ${MAX_EMAIL_LENGTH} characters with its domain in punycode (${ascii})`,
    };
  }
  return { ok: true, email: ascii };
}

function checkLocalPart(local: string): string | null {
  if (local === "") return "email has nothing before the @";
  if (NON_ASCII.test(local)) {
    return "email has a non-ASCII character before the @, and sending to it needs SMTPUTF8, which is not supported. Use an ASCII address";
  }
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

/**
 * Converts a domain that passed `checkDomain` to its ASCII form: an IDN
 * domain becomes punycode through the WHATWG URL parser (UTS #46 mapping),
 * and an ASCII domain is returned unchanged.
 */
function toAsciiDomain(domain: string): DomainCheck {
  if (!NON_ASCII.test(domain)) return { ok: true, domain };

  const invalid = {
    ok: false as const,
    reason: `email domain "${domain}" is not a valid internationalised domain name, so it has no punycode (xn--) form. Check the spelling of the domain`,
  };
  let hostname: string;
  try {
    hostname = new URL(`http://${domain}`).hostname;
  } catch {
    return invalid;
  }

  // The parser also accepts what is no DNS name, such as an IPv4 address.
  const labels = hostname.split(".");
  const valid = labels.every(
    (label) => label.length <= MAX_LABEL_LENGTH && ASCII_LABEL.test(label),
  );
  if (!valid || labels.length < 2 || /^[0-9]+$/.test(labels[labels.length - 1])) return invalid;
  return { ok: true, domain: hostname };
}
