/**
 * Tells link scanners, prefetchers and image proxies apart from people.
 *
 * A request counts as a machine when its user agent, its method or its network
 * matches one of the rules below. The queue consumer adds one more rule that
 * needs D1: a hit less than `MACHINE_DELAY_MS` after the delivery was sent.
 * Machine hits are still stored (machine = 1) but kept out of human counts.
 */

/** Reason a hit was classed as a machine; null for a person. */
export type MachineReason =
  | "head_request"
  | "no_user_agent"
  | "security_gateway"
  | "image_proxy"
  | "apple_privacy_proxy"
  | "bot"
  | "too_soon_after_delivery";

/**
 * Hits that arrive sooner than this after the delivery's `sent_at`, in
 * milliseconds, are machines: security gateways fetch every link of a message
 * as it arrives, before any person can have read it.
 */
export const MACHINE_DELAY_MS = 2_000;

/** Apple Inc.'s autonomous system; Mail Privacy Protection fetches images from it. */
const APPLE_ASN = 714;

// Each entry pairs a user-agent pattern with the reason stored for it. The
// order matters only for the reason recorded: every entry marks a machine.
const USER_AGENT_RULES: [RegExp, MachineReason][] = [
  [
    /barracuda|mimecast|proofpoint|ppops-|symantec|messagelabs|trend ?micro|sophos/i,
    "security_gateway",
  ],
  [
    /safelinks|microsoft defender|ms-office|microsoft office|bingpreview|skypeuripreview/i,
    "security_gateway",
  ],
  [
    /forcepoint|fortiguard|cisco|ironport|zscaler|checkpoint|paloalto|trustwave|vadesecure/i,
    "security_gateway",
  ],
  [/googleimageproxy|ggpht\.com|yahoomailproxy/i, "image_proxy"],
  [/bot\b|bot\/|crawler|spider|slurp|preview|scanner|headless|phantomjs|lighthouse/i, "bot"],
  [
    /^(curl|wget|python-requests|python-urllib|go-http-client|java\/|okhttp|axios|node-fetch|undici|libwww|httpclient)/i,
    "bot",
  ],
];

/** The parts of a request that the classifier reads. */
export interface HitSource {
  method: string;
  userAgent: string | null;
  /** `request.cf.asn` when the request came through Cloudflare's edge. */
  asn?: number;
}

/**
 * Classifies one hit on a tracking route. Returns the reason it is a machine,
 * or null when nothing marks it as one.
 */
export function classifyHit(kind: "click" | "open", source: HitSource): MachineReason | null {
  if (source.method === "HEAD") return "head_request";

  const userAgent = source.userAgent?.trim() ?? "";
  if (userAgent === "") return "no_user_agent";

  for (const [pattern, reason] of USER_AGENT_RULES) {
    if (pattern.test(userAgent)) return reason;
  }

  // Apple Mail Privacy Protection loads every image of a message through
  // Apple's network with the bare user agent "Mozilla/5.0", whether or not the
  // person ever reads it.
  if (kind === "open" && (userAgent === "Mozilla/5.0" || source.asn === APPLE_ASN)) {
    return "apple_privacy_proxy";
  }
  return null;
}
