/**
 * Analytics Engine data points for clicks and opens. The field layout is
 * documented in docs/ANALYTICS.md with a SQL API query for each statistic;
 * change both together. No email address or name is ever written.
 */
import type { TrackingEvent } from "./events";
import type { MachineReason } from "./machine";
import { log } from "../log";

/**
 * Writes one data point for a click or open. The index is the mailing id, so
 * sampling keeps each mailing's figures consistent.
 *
 * blob1 type ("click" | "open"), blob2 variant, blob3 "human" | "machine",
 * blob4 machine reason ("" for a person);
 * double1 subscriber id, double2 link index (-1 for an open), double3 mailing id.
 */
export function writeTrackingDataPoint(
  dataset: AnalyticsEngineDataset | undefined,
  event: TrackingEvent,
  reason: MachineReason | null,
): void {
  if (!dataset) return;

  try {
    dataset.writeDataPoint({
      indexes: [String(event.mailingId)],
      blobs: [event.type, event.variant, event.machine ? "machine" : "human", reason ?? ""],
      doubles: [event.subscriberId, event.linkIdx, event.mailingId],
    });
  } catch (error) {
    // A full or unavailable dataset must not break a redirect; D1 still gets the event.
    log.warn("analytics data point failed", { mailingId: event.mailingId, error });
  }
}
