import { encodeWords, MAX_ENCODED_WORD_LENGTH, replaceControlCharacters } from "./encoded-word";
import { MimeError } from "./error";
import { FOLD_LINE_LENGTH, firstLineRoom, foldHeader } from "./fold";
import type { Address } from "./types";

const ATEXT = "A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~";

/** RFC 5322 dot-atom-text, the only local-part form accepted here. */
const DOT_ATOM = new RegExp(`^[${ATEXT}]+(?:\\.[${ATEXT}]+)*$`);

/** Display name made of atoms separated by single spaces, sent without quotes. */
const ATOM_PHRASE = new RegExp(`^[${ATEXT}]+(?: [${ATEXT}]+)*$`);

/** A DNS host name label: letters, digits and inner hyphens, at most 63 characters. */
const DOMAIN_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;
const NON_ASCII = /[^\x00-\x7f]/;

/** RFC 5321 section 4.5.3.1: local part at most 64 octets, a path at most 256 with `<>`. */
const MAX_LOCAL_PART_LENGTH = 64;
const MAX_DOMAIN_LENGTH = 253;
const MAX_EMAIL_LENGTH = 254;

/** Property names used in MimeError.field for the address headers buildMessage writes. */
const FIELD_BY_HEADER: Record<string, string> = { From: "from", To: "to", "Reply-To": "replyTo" };

/**
 * Formats an address as an RFC 5322 mailbox and returns the folded field body for
 * `headerName` (default `From`), the part after `From: `.
 *
 * The display name is sent as atoms when it is plain ASCII words. It is a quoted-string
 * when it is printable ASCII with specials such as `,` `"` `\` `<>` `@`. Anything else is
 * sent as RFC 2047 encoded-words: non-ASCII, tabs, a name too long for one line, or text
 * that contains `=?`. Surrounding whitespace is trimmed and each run of control characters
 * (CR, LF, NUL and the rest of U+0000 to U+001F except tab, and U+007F) becomes one space.
 * An empty name gives the bare address. Raises MimeError when the email is not a valid
 * ASCII addr-spec.
 */
export function formatAddress(address: Address, headerName = "From"): string {
  const field = FIELD_BY_HEADER[headerName] ?? headerName;
  const body = formatAddressBody(address, headerName, field);
  return foldHeader(headerName, body, field).slice(`${headerName}: `.length);
}

/** Returns the unfolded mailbox for `formatAddress`: words joined by single spaces. */
export function formatAddressBody(address: Address, headerName: string, field: string): string {
  if (address === null || typeof address !== "object") {
    throw new MimeError(field, `expected an object with an email, got ${String(address)}`);
  }
  validateEmail(address.email, `${field}.email`);

  if (address.name !== undefined && address.name !== null && typeof address.name !== "string") {
    throw new MimeError(`${field}.name`, `expected a string, got ${typeof address.name}`);
  }
  const nameWords = encodeDisplayName(address.name ?? "", firstLineRoom(headerName));
  if (nameWords.length === 0) return address.email;
  return `${nameWords.join(" ")} <${address.email}>`;
}

/**
 * Raises MimeError unless `email` is an ASCII addr-spec: a dot-atom local part of at most
 * 64 octets, `@`, and a host name of letter, digit and hyphen labels. Quoted local parts,
 * domain literals and non-ASCII (SMTPUTF8) addresses are rejected.
 */
export function validateEmail(email: unknown, field: string): void {
  if (typeof email !== "string" || email === "") {
    throw new MimeError(field, `email address is missing, got ${JSON.stringify(email)}`);
  }
  const quotedEmail = JSON.stringify(email.slice(0, 100));

  if (NON_ASCII.test(email)) {
    throw new MimeError(
      field,
      `email address ${quotedEmail} is not ASCII; SMTPUTF8 is not supported, so use the punycode (xn--) form of the domain and an ASCII local part`,
    );
  }
  if (email.length > MAX_EMAIL_LENGTH) {
    throw new MimeError(
      field,
      `email address ${quotedEmail}... is ${email.length} characters, over the limit of ${MAX_EMAIL_LENGTH}`,
    );
  }

  const at = email.lastIndexOf("@");
  if (at <= 0 || at === email.length - 1) {
    throw new MimeError(
      field,
      `email address ${quotedEmail} is invalid: expected local-part@domain`,
    );
  }
  validateLocalPart(email.slice(0, at), quotedEmail, field);
  validateDomain(email.slice(at + 1), quotedEmail, field);
}

function validateLocalPart(localPart: string, quotedEmail: string, field: string): void {
  if (localPart.length > MAX_LOCAL_PART_LENGTH) {
    throw new MimeError(
      field,
      `email address ${quotedEmail} has a local part over ${MAX_LOCAL_PART_LENGTH} characters`,
    );
  }
  if (!DOT_ATOM.test(localPart)) {
    throw new MimeError(
      field,
      `email address ${quotedEmail} has an invalid local part: use letters, digits and !#$%&'*+-/=?^_\`{|}~ with single inner dots (quoted local parts are not supported)`,
    );
  }
}

function validateDomain(domain: string, quotedEmail: string, field: string): void {
  const labels = domain.split(".");
  if (domain.length > MAX_DOMAIN_LENGTH || !labels.every((label) => DOMAIN_LABEL.test(label))) {
    throw new MimeError(
      field,
      `email address ${quotedEmail} has an invalid domain: use a host name of letters, digits and inner hyphens (domain literals are not supported)`,
    );
  }
}

/**
 * Returns the display name as phrase words that join with single spaces, or an empty list
 * when the name is empty. The first word fits in `firstLineRoom`.
 */
function encodeDisplayName(name: string, firstLineRoom: number): string[] {
  const text = replaceControlCharacters(name).trim();
  if (text === "") return [];

  // A decoder would take a word that looks like an encoded-word for one, even in quotes.
  if (!text.includes("=?")) {
    if (ATOM_PHRASE.test(text)) {
      const words = text.split(" ");
      const fits = words.every((word) => 1 + word.length <= FOLD_LINE_LENGTH);
      if (fits && words[0].length <= firstLineRoom) return words;
    }

    if (PRINTABLE_ASCII.test(text)) {
      const quoted = `"${text.replace(/[\\"]/g, "\\$&")}"`;
      if (quoted.length <= firstLineRoom) return [quoted];
    }
  }
  return encodeWords(text, Math.min(MAX_ENCODED_WORD_LENGTH, firstLineRoom));
}
