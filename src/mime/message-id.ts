import { MimeError } from "./error";

const ATEXT = "A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~";

/** RFC 5322 msg-id without the angle brackets: dot-atom-text "@" dot-atom-text. */
const MESSAGE_ID = new RegExp(`^[${ATEXT}]+(?:\\.[${ATEXT}]+)*@[${ATEXT}]+(?:\\.[${ATEXT}]+)*$`);

/** A DNS host name: letter, digit and inner-hyphen labels of at most 63 characters. */
const HOST_NAME =
  /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Max Message-ID length: a msg-id cannot fold, so this keeps its line far below 998. */
const MAX_MESSAGE_ID_LENGTH = 250;

/**
 * Returns the Message-ID of one delivery, `d<deliveryId>.m<mailingId>@<domain>`, without
 * angle brackets. The same ids give the same Message-ID, so a retried delivery renders the
 * same bytes and receivers can spot the duplicate. Raises MimeError unless both ids are
 * non-negative safe integers and the domain is an ASCII host name.
 */
export function deliveryMessageId(deliveryId: number, mailingId: number, domain: string): string {
  validateId(deliveryId, "deliveryId");
  validateId(mailingId, "mailingId");
  if (typeof domain !== "string" || domain.length > 253 || !HOST_NAME.test(domain)) {
    throw new MimeError(
      "domain",
      `expected an ASCII host name such as mail.example.org, got ${JSON.stringify(domain)}`,
    );
  }
  return `d${deliveryId}.m${mailingId}@${domain}`;
}

/** Raises MimeError unless `messageId` is an RFC 5322 msg-id without angle brackets. */
export function validateMessageId(messageId: unknown, field = "messageId"): void {
  if (typeof messageId !== "string") {
    throw new MimeError(field, `expected a string, got ${typeof messageId}`);
  }
  if (messageId.startsWith("<") && messageId.endsWith(">")) {
    throw new MimeError(
      field,
      `pass the Message-ID without angle brackets, got ${JSON.stringify(messageId)}`,
    );
  }
  if (messageId.length > MAX_MESSAGE_ID_LENGTH) {
    throw new MimeError(
      field,
      `Message-ID is ${messageId.length} characters, over the limit of ${MAX_MESSAGE_ID_LENGTH}`,
    );
  }
  if (!MESSAGE_ID.test(messageId)) {
    throw new MimeError(
      field,
      `Message-ID ${JSON.stringify(messageId.slice(0, 100))} is invalid: expected id-left@id-right, each made of atoms joined by single dots, in printable ASCII except spaces and ()<>[]:;@\\,"`,
    );
  }
}

function validateId(id: number, field: string): void {
  if (!Number.isSafeInteger(id) || id < 0) {
    throw new MimeError(field, `expected a non-negative integer, got ${String(id)}`);
  }
}
