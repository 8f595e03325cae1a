/**
 * Sends tracking events to the events queue in batches. Under load many
 * redirects run in one isolate at once; one `sendBatch` every
 * `FLUSH_DELAY_MS` costs far less than one `send` per hit.
 *
 * The request that adds the first event of a batch schedules the flush and
 * keeps it alive with its own `waitUntil`. Later requests only append their
 * event, so no request waits on a promise of another request. Batches are
 * kept per queue binding: a binding is only used by the request that created
 * the batch.
 */
import { log } from "../log";
import type { TrackingEvent } from "./events";

/** Milliseconds a batch stays open for more events before it is sent. */
export const FLUSH_DELAY_MS = 20;

/** Maximum messages per `sendBatch`, the Queues limit. */
const MAX_BATCH = 100;

interface PendingBatch {
  events: TrackingEvent[];
}

const pending = new Map<Queue<TrackingEvent>, PendingBatch>();

/**
 * Queues an event for `queue`. Returns the flush promise when this call
 * opened a new batch, for the caller to pass to `waitUntil`, or null when the
 * event joined a batch that another request keeps alive.
 */
export function enqueueEvent(
  queue: Queue<TrackingEvent>,
  event: TrackingEvent,
): Promise<void> | null {
  const open = pending.get(queue);
  if (open && open.events.length < MAX_BATCH) {
    open.events.push(event);
    return null;
  }

  const batch: PendingBatch = { events: [event] };
  pending.set(queue, batch);
  return flushLater(queue, batch);
}

async function flushLater(queue: Queue<TrackingEvent>, batch: PendingBatch): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, FLUSH_DELAY_MS));
  if (pending.get(queue) === batch) pending.delete(queue);

  try {
    await queue.sendBatch(batch.events.map((body) => ({ body })));
  } catch (error) {
    log.error("tracking events send failed", { count: batch.events.length, error });
  }
}
