/**
 * Trickle's Worker: `fetch` serves the public tracking routes, the JSON API
 * and the admin panel; `scheduled` picks due mailings and queues batches;
 * `queue` sends those batches and records tracking events; `email` records
 * the bounces and complaints that Email Routing hands over and acts on
 * unsubscribe requests sent to the List-Unsubscribe mailto address.
 */
import { handleInboundEmail } from "./bounces/email";
import { app } from "./http/app";
import type { Env } from "./env";
import { runScheduler } from "./scheduler";
import { handleQueueBatch } from "./sender/queues";
import type { SendMessage } from "./sender/message";
import type { TrackingEvent } from "./tracking/events";

export default {
  fetch: app.fetch,

  async scheduled(controller, env) {
    await runScheduler(env, { now: controller.scheduledTime });
  },

  async queue(batch, env, ctx) {
    await handleQueueBatch(batch, env, ctx);
  },

  async email(message, env) {
    await handleInboundEmail(message, env);
  },
} satisfies ExportedHandler<Env, SendMessage | TrackingEvent>;
