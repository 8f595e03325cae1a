/**
 * Raw delivery status notifications (RFC 3464) and feedback reports (RFC
 * 5965) as mail systems send them, and an inbound message shaped like
 * Cloudflare's ForwardableEmailMessage, for the email handler tests.
 */
import type { InboundEmail } from "../../../src/bounces/email";

export interface DsnOptions {
  /** Envelope recipient of the report: the return path of the bounced message. */
  to: string;
  recipient: string;
  status: string;
  action?: string;
  diagnostic?: string;
  /** The bounced message (whole) or its header section, with CRLF line ends. */
  original?: { kind: "message" | "headers"; text: string };
}

const CRLF = "\r\n";

/** Builds a Postfix-style bounce: a human-readable part, the status part and the original. */
export function buildDsn(options: DsnOptions): string {
  const boundary = "dsn-boundary-7f3a";
  const action = options.action ?? "failed";
  const diagnostic =
    options.diagnostic ??
    `smtp; 550 ${options.status} <${options.recipient}>: Recipient address rejected: User unknown`;
  // Fold the long field at its last space before column 60, as MTAs do.
  const fold = diagnostic.lastIndexOf(" ", 60);

  const parts = [
    [
      "Content-Description: Notification",
      "Content-Type: text/plain; charset=us-ascii",
      "",
      "This is the mail system at host mx.example.org.",
      "",
      "I'm sorry to have to inform you that your message could not",
      "be delivered to one or more recipients.",
    ].join(CRLF),
    [
      "Content-Description: Delivery report",
      "Content-Type: message/delivery-status",
      "",
      "Reporting-MTA: dns; mx.example.org",
      "X-Postfix-Queue-ID: 4Xk2mQ1zKcz9sWh",
      "Arrival-Date: Tue,  3 Mar 2026 10:15:02 +0000 (UTC)",
      "",
      `Final-Recipient: rfc822; ${options.recipient}`,
      `Original-Recipient: rfc822;${options.recipient}`,
      `Action: ${action}`,
      `Status: ${options.status}`,
      "Remote-MTA: dns; mx2.example.com",
      `Diagnostic-Code: ${diagnostic.slice(0, fold)}`,
      `   ${diagnostic.slice(fold)}`,
    ].join(CRLF),
  ];
  if (options.original) {
    const type = options.original.kind === "message" ? "message/rfc822" : "text/rfc822-headers";
    parts.push(
      [
        `Content-Description: Undelivered Message`,
        `Content-Type: ${type}`,
        "",
        options.original.text,
      ].join(CRLF),
    );
  }

  return [
    "Return-Path: <>",
    "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)",
    `To: ${options.to}`,
    "Subject: Undelivered Mail Returned to Sender",
    "Date: Tue,  3 Mar 2026 10:15:03 +0000 (UTC)",
    "Message-Id: <20260303101503.4Xk2mQ1zKcz9sWh@mx.example.org>",
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    "",
    "This is a MIME-encapsulated message.",
    "",
    ...parts.flatMap((part) => [`--${boundary}`, part, ""]),
    `--${boundary}--`,
    "",
  ].join(CRLF);
}

/** Builds an ARF abuse report as a mailbox provider's feedback loop sends it. */
export function buildArf(options: {
  to: string;
  originalRecipient?: string;
  originalMailFrom?: string;
  originalHeaders: string;
}): string {
  const boundary = "arf-boundary-19c4";
  const fields = [
    "Feedback-Type: abuse",
    "User-Agent: ExampleFBL/1.0",
    "Version: 1",
    options.originalMailFrom ? `Original-Mail-From: <${options.originalMailFrom}>` : null,
    options.originalRecipient ? `Original-Rcpt-To: <${options.originalRecipient}>` : null,
    "Arrival-Date: Tue, 3 Mar 2026 09:58:41 +0000",
    "Reported-Domain: example.com",
    "Source-IP: 192.0.2.10",
  ].filter((line): line is string => line !== null);

  return [
    "From: feedback@fbl.example.org",
    `To: ${options.to}`,
    "Subject: FW: Spring sale",
    "Date: Tue, 3 Mar 2026 10:02:11 +0000",
    "Message-ID: <arf-5521@fbl.example.org>",
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type=feedback-report; boundary="${boundary}"`,
    "",
    `--${boundary}`,
    "Content-Type: text/plain; charset=us-ascii",
    "",
    "This is an email abuse report for an email message received from IP 192.0.2.10.",
    "",
    `--${boundary}`,
    "Content-Type: message/feedback-report",
    "",
    ...fields,
    "",
    `--${boundary}`,
    "Content-Type: text/rfc822-headers",
    "",
    options.originalHeaders,
    "",
    `--${boundary}--`,
    "",
  ].join(CRLF);
}

/** Returns the header section of a raw message, up to the empty line. */
export function headerSection(raw: string): string {
  return raw.slice(0, raw.indexOf("\r\n\r\n"));
}

/** An inbound message as Email Routing hands it to the `email` handler. */
export function inboundEmail(raw: string, envelope: { from: string; to: string }) {
  const bytes = new TextEncoder().encode(raw);
  const rejected: string[] = [];
  const message: InboundEmail & {
    headers: Headers;
    rawSize: number;
    setReject(reason: string): void;
  } = {
    from: envelope.from,
    to: envelope.to,
    headers: new Headers({ subject: "report" }),
    raw: new ReadableStream<Uint8Array>({
      start(controller) {
        // Two chunks, as a stream from the network would deliver it.
        controller.enqueue(bytes.subarray(0, 100));
        controller.enqueue(bytes.subarray(100));
        controller.close();
      },
    }),
    rawSize: bytes.length,
    setReject: (reason: string) => rejected.push(reason),
  };
  return { message, rejected };
}
