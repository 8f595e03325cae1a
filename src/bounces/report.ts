/**
 * Parsing of the two kinds of report a mail system sends back:
 *
 *   - a delivery status notification (RFC 3464): a multipart/report with a
 *     `message/delivery-status` part that has one field group per recipient
 *     (Final-Recipient, Action, Status, Diagnostic-Code);
 *   - a feedback report (ARF, RFC 5965): a `message/feedback-report` part,
 *     sent when a recipient marks a message as spam.
 *
 * Both usually carry the original message, whole (`message/rfc822`) or as
 * its header section only (`text/rfc822-headers`); its Message-ID and
 * Return-Path tie the report to a delivery.
 */
import PostalMime, { addressParser, type Attachment, type Email } from "postal-mime";

/** One recipient of a delivery status notification. */
export interface ReportedRecipient {
  /** Final-Recipient (or Original-Recipient) address, lowercased. */
  address: string | null;
  /** Action field: failed, delayed, delivered, relayed or expanded. */
  action: string | null;
  /** Enhanced status code (RFC 3463) such as 5.1.1. */
  status: string | null;
  diagnostic: string | null;
}

/** Contents of a report, before it is matched to a delivery. */
export interface BounceReport {
  type: "bounce" | "complaint";
  /** Bounces: the recipients of the notification; complaints: one per Original-Rcpt-To. */
  recipients: ReportedRecipient[];
  /** Feedback-Type of a complaint (abuse, fraud, ...); null for bounces. */
  feedbackType: string | null;
  original: OriginalHeaders;
}

/** Header fields of the reported message that identify the delivery. */
export interface OriginalHeaders {
  /** Message-ID without angle brackets. */
  messageId: string | null;
  /** Return-Path or, for complaints, Original-Mail-From: the envelope sender. */
  returnPath: string | null;
  /** Addresses of the To field, lowercased. */
  to: string[];
}

const DELIVERY_STATUS_TYPES = ["message/delivery-status", "message/global-delivery-status"];
const FEEDBACK_TYPES = ["message/feedback-report"];
const ORIGINAL_MESSAGE_TYPES = ["message/rfc822", "message/global"];
const ORIGINAL_HEADER_TYPES = ["text/rfc822-headers", "message/global-headers"];

/** Statuses and diagnostics are stored, not shown whole; real ones are far shorter. */
const MAX_FIELD_LENGTH = 1000;

/**
 * Parses a raw message; returns null when it is neither a delivery status
 * notification nor a feedback report.
 */
export async function parseReport(raw: RawInboundEmail): Promise<BounceReport | null> {
  return reportFromEmail(await parseInboundEmail(raw));
}

/** A raw RFC 5322 message, whole or as the stream Email Routing hands over. */
export type RawInboundEmail = string | ArrayBuffer | Uint8Array | ReadableStream<Uint8Array>;

/**
 * Parses a raw message with postal-mime, keeping parts as text and attached
 * messages as attachments, as `reportFromEmail` expects.
 */
export function parseInboundEmail(raw: RawInboundEmail): Promise<Email> {
  return PostalMime.parse(raw, { attachmentEncoding: "utf8", forceRfc822Attachments: true });
}

/**
 * Reads a message parsed by `parseInboundEmail` as a report; returns null
 * when it is neither a delivery status notification nor a feedback report.
 */
export function reportFromEmail(email: Email): BounceReport | null {
  const partOf = (types: string[]) =>
    email.attachments.find((part) => types.includes(part.mimeType.toLowerCase()));

  const original = originalHeaders(partOf(ORIGINAL_MESSAGE_TYPES) ?? partOf(ORIGINAL_HEADER_TYPES));

  const feedback = partOf(FEEDBACK_TYPES);
  if (feedback) return complaintReport(text(feedback), original);

  const status = partOf(DELIVERY_STATUS_TYPES);
  if (status) return bounceReport(text(status), original);

  return null;
}

function bounceReport(content: string, original: OriginalHeaders): BounceReport {
  // The first group contains the per-message fields, and each further group one recipient.
  const [, ...groups] = fieldGroups(content);
  const recipients = groups
    .map((fields) => ({
      address:
        addressField(first(fields, "final-recipient")) ??
        addressField(first(fields, "original-recipient")),
      action: first(fields, "action")?.toLowerCase() ?? null,
      status: statusField(first(fields, "status")),
      diagnostic: diagnosticField(first(fields, "diagnostic-code")),
    }))
    .filter((recipient) => recipient.address || recipient.status || recipient.action);

  return { type: "bounce", recipients, feedbackType: null, original };
}

function complaintReport(content: string, original: OriginalHeaders): BounceReport {
  const fields = fieldGroups(content).flatMap((group) => group);
  const addresses = all(fields, "original-rcpt-to").map(addressField);
  const recipients = (addresses.length > 0 ? addresses : [null]).map((address) => ({
    address,
    action: null,
    status: null,
    diagnostic: null,
  }));

  const mailFrom = addressField(first(fields, "original-mail-from"));
  return {
    type: "complaint",
    recipients,
    feedbackType: first(fields, "feedback-type")?.toLowerCase() ?? null,
    original: { ...original, returnPath: original.returnPath ?? mailFrom },
  };
}

function originalHeaders(part: Attachment | undefined): OriginalHeaders {
  if (!part) return { messageId: null, returnPath: null, to: [] };

  // Only the header section matters; it ends at the first empty line.
  const content = text(part);
  const end = content.search(/\r?\n\r?\n/);
  const fields = fieldGroups(end >= 0 ? content.slice(0, end) : content)[0] ?? [];

  const messageId =
    first(fields, "message-id")
      ?.replace(/^.*?<|>.*$/g, "")
      .trim() || null;
  const to = all(fields, "to")
    .flatMap((value) => addressParser(value, { flatten: true }))
    .map((mailbox) => mailbox.address?.toLowerCase())
    .filter((address): address is string => Boolean(address));

  return { messageId, returnPath: addressField(first(fields, "return-path")), to };
}

type Field = { name: string; value: string };

/**
 * Splits header-style text into groups separated by empty lines, unfolding
 * continuation lines; field names are lowercased.
 */
export function fieldGroups(content: string): Field[][] {
  const groups: Field[][] = [];
  let group: Field[] = [];

  for (const line of content.split(/\r?\n/)) {
    if (line.trim() === "") {
      if (group.length > 0) groups.push(group);
      group = [];
      continue;
    }

    const last = group.at(-1);
    if (/^[ \t]/.test(line) && last) {
      last.value = `${last.value} ${line.trim()}`;
      continue;
    }

    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    group.push({
      name: line.slice(0, colon).trim().toLowerCase(),
      value: line.slice(colon + 1).trim(),
    });
  }

  if (group.length > 0) groups.push(group);
  return groups;
}

function first(fields: Field[], name: string): string | null {
  return fields.find((field) => field.name === name)?.value ?? null;
}

function all(fields: Field[], name: string): string[] {
  return fields.filter((field) => field.name === name).map((field) => field.value);
}

/** `rfc822; user@example.com` or `<user@example.com>` to `user@example.com`. */
function addressField(value: string | null): string | null {
  if (!value) return null;

  const address = value
    .replace(/^[a-z0-9-]+\s*;/i, "")
    .trim()
    .replace(/^<|>$/g, "")
    .trim()
    .toLowerCase();
  return address.includes("@") ? address : null;
}

/** Extracts the enhanced status code, without the comment some MTAs append. */
function statusField(value: string | null): string | null {
  const match = value ? /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(value) : null;
  return match ? match[1] : null;
}

/** `smtp; 550 5.1.1 ...` to `550 5.1.1 ...`. */
function diagnosticField(value: string | null): string | null {
  if (!value) return null;
  return (
    value
      .replace(/^[a-z0-9-]+\s*;/i, "")
      .trim()
      .slice(0, MAX_FIELD_LENGTH) || null
  );
}

function text(part: Attachment): string {
  if (typeof part.content === "string") return part.content;
  return new TextDecoder().decode(part.content);
}
