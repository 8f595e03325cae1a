/**
 * The Worker's `email` handler: Cloudflare Email Routing hands it every
 * message sent to the bounce domain or to SENDER_EMAIL. Delivery status
 * notifications and feedback reports are recorded, a message whose Subject
 * is `unsubscribe <id>` unsubscribes that recipient, and any other message is
 * logged and dropped.
 */
import { readConfig, type Config, type Env } from "../env";
import { log } from "../log";
import { handleUnsubscribeEmail, parseUnsubscribeSubject, type MailtoUnsubscribe } from "./mailto";
import { bounceKind, recordBounce, type BounceEvent, type RecordedBounce } from "./record";
import { parseInboundEmail, reportFromEmail, type BounceReport } from "./report";
import { deliveryIdFromReturnPath } from "./verp";

/** The parts of Cloudflare's ForwardableEmailMessage that the handler reads. */
export type InboundEmail = Pick<ForwardableEmailMessage, "from" | "to" | "raw">;

/** Outcome of handling one inbound message. */
export type InboundEmailResult =
  | { type: "report"; bounces: RecordedBounce[] }
  | { type: "unsubscribe"; unsubscribe: MailtoUnsubscribe }
  | { type: "dropped" };

/**
 * Parses one inbound message and records it as a report or acts on it as an
 * unsubscribe request. A report is checked first, because a bounce is never
 * an unsubscribe request, whatever Subject it quotes.
 */
export async function handleInboundEmail(
  message: InboundEmail,
  env: Env,
  now = Date.now(),
): Promise<InboundEmailResult> {
  const config = readConfig(env);

  let email;
  try {
    email = await parseInboundEmail(message.raw);
  } catch (error) {
    log.warn("inbound email unreadable", { from: message.from, to: message.to, error });
    return { type: "dropped" };
  }

  const report = reportFromEmail(email);
  if (report) {
    return { type: "report", bounces: await recordReport(env.DB, config, message, report, now) };
  }

  const request = parseUnsubscribeSubject(email.subject);
  if (request) {
    // The header From is the address the mail client wrote; the envelope
    // sender may have been rewritten by a forwarder.
    const fromAddress = email.from?.address ?? message.from;
    const result = await handleUnsubscribeEmail(env.DB, config, request, fromAddress, now);
    return { type: "unsubscribe", unsubscribe: result };
  }

  log.info("inbound email is neither a report nor an unsubscribe request", {
    from: message.from,
    to: message.to,
  });
  return { type: "dropped" };
}

async function recordReport(
  db: D1Database,
  config: Config,
  message: InboundEmail,
  report: BounceReport,
  now: number,
): Promise<RecordedBounce[]> {
  // A bounce goes back to the return path, so the envelope recipient is the
  // VERP address; a feedback report may instead only quote it.
  const verifiedDeliveryId =
    (await deliveryIdFromReturnPath(config, message.to)) ??
    (report.original.returnPath
      ? await deliveryIdFromReturnPath(config, report.original.returnPath)
      : null);

  const recorded: RecordedBounce[] = [];
  for (const event of reportEvents(report, verifiedDeliveryId)) {
    recorded.push(await recordBounce(db, event, now));
  }
  return recorded;
}

/**
 * Builds one event per recipient that failed or was delayed. Recipients the
 * report marks delivered, relayed or expanded are not bounces.
 */
function reportEvents(report: BounceReport, verifiedDeliveryId: number | null): BounceEvent[] {
  const common = {
    source: "email" as const,
    verifiedDeliveryId,
    messageId: report.original.messageId,
    trusted: false,
  };

  if (report.type === "complaint") {
    return report.recipients.map((recipient) => ({
      ...common,
      kind: "complaint",
      email: recipient.address ?? onlyAddress(report.original.to),
      status: null,
      diagnostic: report.feedbackType ? `feedback type ${report.feedbackType}` : null,
    }));
  }

  return report.recipients
    .filter((recipient) => recipient.action === null || /failed|delayed/.test(recipient.action))
    .map((recipient) => ({
      ...common,
      kind:
        recipient.action === "delayed"
          ? "soft"
          : bounceKind(recipient.status, recipient.diagnostic),
      email: recipient.address,
      status: recipient.status,
      diagnostic: recipient.diagnostic,
    }));
}

/** Returns the single address of the original To field, or null when it has none or several. */
function onlyAddress(addresses: string[]): string | null {
  return addresses.length === 1 ? addresses[0] : null;
}
