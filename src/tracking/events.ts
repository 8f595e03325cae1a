/** A click or open recorded by a public route and written to D1 in batches. */
export interface TrackingEvent {
  type: "click" | "open";
  mailingId: number;
  subscriberId: number;
  variant: string;
  /** Link index for clicks; -1 for opens. */
  linkIdx: number;
  machine: boolean;
  at: number;
}
