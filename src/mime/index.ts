import { formatAddressBody } from "./address";
import { chooseBoundary } from "./boundary";
import { formatDate } from "./date";
import { MimeError } from "./error";
import { formatExtraHeaders } from "./extra-headers";
import { foldHeader } from "./fold";
import { encodeHeaderTextBody } from "./header-text";
import { validateMessageId } from "./message-id";
import { encodeQuotedPrintable } from "./quoted-printable";
import type { MimeMessage } from "./types";

export { formatAddress, validateEmail } from "./address";
export { MimeError } from "./error";
export { encodeHeaderText } from "./header-text";
export { deliveryMessageId } from "./message-id";
export { encodeQuotedPrintable } from "./quoted-printable";
export type { Address, MimeMessage } from "./types";

/**
 * Builds a complete message: headers, then a multipart/alternative body with a text/plain
 * part and a text/html part, both UTF-8 and quoted-printable. Lines end in CRLF. The
 * message is not dot-stuffed, which is the SMTP layer's job.
 *
 * Headers come in this order: MIME-Version, Date, Message-ID, From, To, Reply-To (when
 * given), Subject, the extra headers, Content-Type. The boundary is derived from the
 * Message-ID, so the same input always gives the same bytes.
 *
 * Raises MimeError, naming the field, for an invalid address, Message-ID, date or extra
 * header, including any CR, LF or NUL that could inject a header. CR, LF and NUL in the
 * subject or a display name are replaced by spaces instead, see encodeHeaderText.
 */
export function buildMessage(message: MimeMessage): string {
  validateBodies(message);
  validateMessageId(message.messageId);
  const textBody = encodeQuotedPrintable(message.text);
  const htmlBody = encodeQuotedPrintable(message.html);
  const boundary = chooseBoundary(message.messageId, [textBody, htmlBody]);

  const headers = buildHeaders(message, boundary);
  const parts = [
    `--${boundary}`,
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    textBody,
    `--${boundary}`,
    "Content-Type: text/html; charset=utf-8",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    htmlBody,
    `--${boundary}--`,
    "",
  ];
  return headers.join("\r\n") + "\r\n\r\n" + parts.join("\r\n");
}

function buildHeaders(message: MimeMessage, boundary: string): string[] {
  if (typeof message.subject !== "string") {
    throw new MimeError("subject", `expected a string, got ${typeof message.subject}`);
  }

  const headers = [
    "MIME-Version: 1.0",
    `Date: ${formatDate(message.date)}`,
    `Message-ID: <${message.messageId}>`,
    foldHeader("From", formatAddressBody(message.from, "From", "from"), "from"),
    foldHeader("To", formatAddressBody(message.to, "To", "to"), "to"),
  ];
  if (message.replyTo !== undefined && message.replyTo !== null) {
    const replyTo = formatAddressBody(message.replyTo, "Reply-To", "replyTo");
    headers.push(foldHeader("Reply-To", replyTo, "replyTo"));
  }
  headers.push(foldHeader("Subject", encodeHeaderTextBody(message.subject, "Subject"), "subject"));

  headers.push(...formatExtraHeaders(message.headers));
  headers.push(`Content-Type: multipart/alternative; boundary="${boundary}"`);
  return headers;
}

function validateBodies(message: MimeMessage): void {
  if (message === null || typeof message !== "object") {
    throw new MimeError("message", `expected a MimeMessage object, got ${String(message)}`);
  }
  if (typeof message.html !== "string") {
    throw new MimeError("html", `expected a string, got ${typeof message.html}`);
  }
  if (typeof message.text !== "string") {
    throw new MimeError("text", `expected a string, got ${typeof message.text}`);
  }
}
