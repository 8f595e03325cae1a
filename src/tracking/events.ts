/**
 * A click or open seen by a public route. The route sends it to the
 * `trickle-events` queue so that no response waits for the D1 write, and
 * `recordTrackingEvents` writes a batch of them to D1.
 */
export interface TrackingEvent {
  type: "click" | "open";
  mailingId: number;
  subscriberId: number;
  /** Variant known to the route, or "" when unknown; the consumer prefers the delivery's variant. */
  variant: string;
  /** Link index for clicks; -1 for opens. */
  linkIdx: number;
  /** Set when the route classed the request as a scanner, prefetcher or proxy. */
  machine: boolean;
  /** When the route saw the request, Unix milliseconds. */
  at: number;
}

export { recordTrackingEvents } from "./record";
