/**
 * Routes a queue batch to its consumer by queue name: the send queue, its
 * dead-letter queue and the tracking events queue share one Worker.
 */
import type { Env } from "../env";
import { log } from "../log";
import { recordTrackingEvents } from "../tracking/events";
import type { TrackingEvent } from "../tracking/events";
import { consumeSendBatch } from "./consume";
import { consumeDeadLetters } from "./dead-letters";
import type { SendMessage } from "./message";

export async function handleQueueBatch(
  batch: MessageBatch<unknown>,
  env: Env,
  _ctx: ExecutionContext,
): Promise<void> {
  if (batch.queue.endsWith("-send-dead")) {
    return consumeDeadLetters(batch as MessageBatch<SendMessage>, env);
  }
  if (batch.queue.endsWith("-send")) {
    return consumeSendBatch(batch as MessageBatch<SendMessage>, env);
  }
  if (batch.queue.endsWith("-events")) {
    return recordTrackingEvents(batch as MessageBatch<TrackingEvent>, env);
  }

  log.error("queue unknown", { queue: batch.queue, messages: batch.messages.length });
  batch.retryAll();
}
