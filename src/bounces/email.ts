/**
 * The Worker's `email` handler: Cloudflare Email Routing hands it every
 * message sent to the bounce domain. Delivery status notifications and
 * feedback reports are recorded; any other message is logged and dropped.
 */
import { readConfig, type Env } from "../env";
import { log } from "../log";
import { bounceKind, recordBounce, type BounceEvent, type RecordedBounce } from "./record";
import { parseReport, type BounceReport } from "./report";
import { deliveryIdFromReturnPath } from "./verp";

/** The parts of Cloudflare's ForwardableEmailMessage that the handler reads. */
export type InboundEmail = Pick<ForwardableEmailMessage, "from" | "to" | "raw">;

/** Parses and records one inbound report; returns what was recorded. */
export async function handleBounceEmail(
  message: InboundEmail,
  env: Env,
  now = Date.now(),
): Promise<RecordedBounce[]> {
  const config = readConfig(env);

  let report: BounceReport | null;
  try {
    report = await parseReport(message.raw);
  } catch (error) {
    log.warn("inbound email unreadable", { from: message.from, to: message.to, error });
    return [];
  }
  if (!report) {
    log.info("inbound email is not a bounce report", { from: message.from, to: message.to });
    return [];
  }

  // A bounce goes back to the return path, so the envelope recipient is the
  // VERP address; a feedback report may instead only quote it.
  const verifiedDeliveryId =
    (await deliveryIdFromReturnPath(config, message.to)) ??
    (report.original.returnPath
      ? await deliveryIdFromReturnPath(config, report.original.returnPath)
      : null);

  const recorded: RecordedBounce[] = [];
  for (const event of reportEvents(report, verifiedDeliveryId)) {
    recorded.push(await recordBounce(env.DB, event, now));
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
