/**
 * The chaos run: one mailing to a list of N recipients, sent through the
 * real scheduler and sender against the chaos mailbox, whose SMTP faults
 * follow the seeded plan in scripts/lib/chaos-faults.ts. This file plays
 * Cloudflare Queues and the cron trigger, so it can also:
 *
 *   - run two cron ticks at the same moment (overlapping claims);
 *   - deliver a queue message to two consumers at once;
 *   - lose an ack, so a message that succeeded is delivered again;
 *   - stop a consumer between an SMTP transaction and its D1 record
 *     (the `afterSend` hook), so the message is delivered again;
 *   - dead-letter a message after max_retries, as wrangler.toml sets it.
 *
 * Time is simulated: each round is one cron tick of 60 seconds, and a
 * retried message comes back after its backoff delay in that time.
 */
import { createExecutionContext, createMessageBatch, env } from "cloudflare:test";
import { CHAOS_TIMEOUT_MS, type ChaosMailboxInfo } from "../../../scripts/lib/chaos-faults";
import type { Env } from "../../../src/env";
import worker from "../../../src/index";
import { changeMailingStatus } from "../../../src/mailings/control";
import { startMailing } from "../../../src/mailings/start";
import { runScheduler } from "../../../src/scheduler";
import { openSendSession, processSendMessage } from "../../../src/sender/consume";
import type { SendMessage } from "../../../src/sender/message";
import { seededRandom, seedLetter, seedMailing } from "../support/seed";
import { LETTER, MailboxControl } from "./support";

/** The line `npm run chaos` looks for; the JSON summary follows it. */
export const RESULT_MARKER = "chaos result ";

/** The summary line of a run; the run passes when duplicates and lost are 0. */
export interface ChaosSummary {
  recipients: number;
  sent: number;
  failed: number;
  uncertain: number;
  duplicates: number;
  lost: number;
  seed: number;
}

/** What the run injected and how the mailing ended, for the line before the summary. */
export interface ChaosDetails {
  ticks: number;
  overlappingTicks: number;
  consumerCalls: number;
  crashes: number;
  duplicateDeliveries: number;
  lostAcks: number;
  deadLettered: number;
  autoPauses: number;
  skipped: number;
  bounced: number;
  /** Copies the mailbox received of each delivery state. */
  copies: Record<string, number>;
  mailingStatus: string;
  seconds: number;
}

/** Chances per queue message and per cron tick. */
const CHANCE = {
  overlappingTick: 0.25,
  duplicateDelivery: 0.1,
  crash: 0.08,
  lostAck: 0.05,
};

/** wrangler.toml: max_retries of the trickle-send consumer. */
const MAX_RETRIES = 6;
const TICK_MS = 60_000;
/** Safety stop: far more ticks than a run needs, including the one-hour stale sweep. */
const MAX_TICKS = 1000;

interface QueuedMessage {
  body: SendMessage;
  attempts: number;
  readyAt: number;
}

class WorkerStopped extends Error {
  constructor() {
    super("worker stopped after an SMTP transaction, before recording it");
  }
}

/** Runs the whole mailing under faults and checks what the mailbox received. */
export async function runChaos(chaos: ChaosMailboxInfo) {
  const started = Date.now();
  const random = seededRandom(chaos.seed);
  const details: ChaosDetails = {
    ticks: 0,
    overlappingTicks: 0,
    consumerCalls: 0,
    crashes: 0,
    duplicateDeliveries: 0,
    lostAcks: 0,
    deadLettered: 0,
    autoPauses: 0,
    skipped: 0,
    bounced: 0,
    copies: {},
    mailingStatus: "",
    seconds: 0,
  };

  let now = Date.now();
  const queue: QueuedMessage[] = [];
  const chaosEnv: Env = {
    ...env,
    SMTP_PORT: String(chaos.smtpPort),
    RATE_PER_MINUTE: "300",
    TICK_SECONDS: "60",
    BATCH_SIZE: "20",
    SEND_QUEUE: capturingQueue(queue, () => now),
  };

  const { listId, tag } = await seedChaosList(chaos.recipients);
  const mailingId = await seedMailing(await seedLetter(LETTER), listId);
  await startMailing(env.DB, mailingId, now);

  const consumeOne = async (body: SendMessage, attempt: number, crash: boolean) => {
    details.consumerCalls++;
    const session = await openSendSession(chaosEnv);
    session.config.smtp.timeoutMs = CHAOS_TIMEOUT_MS;
    session.now = () => now;
    if (crash) {
      const crashAfter = 1 + Math.floor(random() * 3);
      let sends = 0;
      session.afterSend = () => {
        if (++sends === crashAfter) throw new WorkerStopped();
      };
    }
    try {
      return await processSendMessage(session, body, attempt);
    } finally {
      await session.connection?.close();
    }
  };

  const handle = async (message: QueuedMessage) => {
    const crash = random() < CHANCE.crash;
    const duplicate = random() < CHANCE.duplicateDelivery;
    const lostAck = random() < CHANCE.lostAck;

    const copies = [consumeOne(message.body, message.attempts, crash)];
    if (duplicate) copies.push(consumeOne(message.body, message.attempts, false));
    const [primary, second] = await Promise.allSettled(copies);
    if (duplicate) details.duplicateDeliveries++;
    if (second?.status === "rejected") throw second.reason;

    if (primary.status === "rejected") {
      if (!(primary.reason instanceof WorkerStopped)) throw primary.reason;
      details.crashes++;
      return requeue(message, now);
    }
    if (primary.value.ack && !lostAck) return;
    if (primary.value.ack) details.lostAcks++;

    const delay = primary.value.ack ? 0 : primary.value.delaySeconds * 1000;
    await requeue(message, now + delay);
  };

  // A message the queue gives up on goes to the dead-letter consumer.
  const requeue = async (message: QueuedMessage, readyAt: number) => {
    if (message.attempts > MAX_RETRIES) {
      details.deadLettered++;
      const batch = createMessageBatch<SendMessage>("trickle-send-dead", [
        { id: crypto.randomUUID(), timestamp: new Date(now), attempts: 1, body: message.body },
      ]);
      await worker.queue(batch, chaosEnv, createExecutionContext());
      return;
    }
    queue.push({ body: message.body, attempts: message.attempts + 1, readyAt });
  };

  for (; details.ticks < MAX_TICKS; details.ticks++) {
    const overlapping = random() < CHANCE.overlappingTick;
    if (overlapping) details.overlappingTicks++;
    const ticks = overlapping ? 2 : 1;
    await Promise.all(Array.from({ length: ticks }, () => runScheduler(chaosEnv, { now, random })));

    const ready = queue.filter((message) => message.readyAt <= now);
    queue.splice(0, queue.length, ...queue.filter((message) => message.readyAt > now));
    for (const message of ready) await handle(message);

    if (await resumeIfAutoPaused(mailingId, now)) details.autoPauses++;
    if (queue.length === 0 && (await mailingStatus(mailingId)) === "done") break;
    now += TICK_MS;
  }

  const summary = await checkOutcome(chaos, mailingId, listId, tag, details);
  details.mailingStatus = await mailingStatus(mailingId);
  details.seconds = Math.round((Date.now() - started) / 100) / 10;
  return { summary, details };
}

/** Creates a Queue binding that keeps what the scheduler sends, with its delay. */
function capturingQueue(queue: QueuedMessage[], clock: () => number): Queue<SendMessage> {
  const add = (body: SendMessage, delaySeconds = 0) =>
    queue.push({ body, attempts: 1, readyAt: clock() + delaySeconds * 1000 });
  return {
    async send(body: SendMessage, options?: QueueSendOptions) {
      add(body, options?.delaySeconds);
    },
    async sendBatch(messages: Iterable<MessageSendRequest<SendMessage>>) {
      for (const message of messages) add(message.body, message.delaySeconds);
    },
  } as unknown as Queue<SendMessage>;
}

/** Subscribers `chaos<n>.<tag>@example.com` in a new list, in few round trips. */
async function seedChaosList(count: number) {
  const now = Date.now();
  const tag = crypto.randomUUID().slice(0, 8);
  const list = await env.DB.prepare(
    "INSERT INTO lists (name, created_at) VALUES (?, ?) RETURNING id",
  )
    .bind(`chaos-${tag}`, now)
    .first<{ id: number }>();

  // D1 takes at most 100 bound parameters per statement: 4 per row, 25 rows.
  const statements: D1PreparedStatement[] = [];
  for (let start = 1; start <= count; start += 25) {
    const numbers = Array.from({ length: Math.min(25, count - start + 1) }, (_, i) => start + i);
    const rows = numbers.map(() => "(?, ?, 'Chaos', '{}', 'active', ?)").join(", ");
    const values = numbers.flatMap((n) => [`chaos${n}.${tag}@example.com`, `Reader${n}`, now]);
    statements.push(
      env.DB.prepare(
        `INSERT INTO subscribers (email, first_name, last_name, attributes, status, created_at)
         VALUES ${rows}`,
      ).bind(...values),
    );
  }
  statements.push(
    env.DB.prepare(
      `INSERT INTO list_members (list_id, subscriber_id, added_at)
       SELECT ?, id, ? FROM subscribers WHERE email LIKE ?`,
    ).bind(list!.id, now, `chaos%.${tag}@example.com`),
  );
  await env.DB.batch(statements);
  return { listId: list!.id, tag };
}

async function mailingStatus(mailingId: number): Promise<string> {
  const row = await env.DB.prepare("SELECT status FROM mailings WHERE id = ?")
    .bind(mailingId)
    .first<{ status: string }>();
  return row?.status ?? "missing";
}

/** Resumes the mailing when it paused itself, as an operator would; true when it did. */
async function resumeIfAutoPaused(mailingId: number, now: number): Promise<boolean> {
  const row = await env.DB.prepare("SELECT status, paused_reason FROM mailings WHERE id = ?")
    .bind(mailingId)
    .first<{ status: string; paused_reason: string | null }>();
  if (row?.status !== "paused" || !row.paused_reason?.startsWith("auto-paused")) return false;

  await changeMailingStatus(env.DB, mailingId, "resume", now);
  return true;
}

/**
 * Compares the final states with what the mailbox received. A duplicate is
 * a copy the state does not account for: a second copy of a sent or
 * uncertain delivery, or any copy of a failed or skipped one. A delivery is
 * lost when it is not final, when it is sent but never arrived, or when a
 * list member has no delivery at all.
 */
async function checkOutcome(
  chaos: ChaosMailboxInfo,
  mailingId: number,
  listId: number,
  tag: string,
  details: ChaosDetails,
): Promise<ChaosSummary> {
  const { results: rows } = await env.DB.prepare(
    `SELECT d.id, d.state, s.status AS subscriber_status
       FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
      WHERE d.mailing_id = ?`,
  )
    .bind(mailingId)
    .all<{ id: number; state: string; subscriber_status: string }>();
  const members = await env.DB.prepare(
    "SELECT COUNT(*) AS count FROM list_members WHERE list_id = ?",
  )
    .bind(listId)
    .first<{ count: number }>();

  const received = new Map<string, number>();
  const messages = await new MailboxControl(chaos.controlPort).messages();
  for (const message of messages) {
    if (!message.to.some((to) => to.endsWith(`.${tag}@example.com`))) continue;
    const messageId = /^Message-ID:\s*<([^>]+)>/im.exec(message.raw)?.[1] ?? "(none)";
    received.set(messageId, (received.get(messageId) ?? 0) + 1);
  }

  const counts: Record<string, number> = {};
  let duplicates = 0;
  let lost = (members?.count ?? 0) - rows.length;
  for (const row of rows) {
    const messageId = `d${row.id}.m${mailingId}@example.com`;
    const copies = received.get(messageId) ?? 0;
    received.delete(messageId);

    counts[row.state] = (counts[row.state] ?? 0) + 1;
    details.copies[row.state] = (details.copies[row.state] ?? 0) + copies;
    if (row.subscriber_status === "bounced") details.bounced++;

    if (row.state === "sent" || row.state === "uncertain") duplicates += Math.max(0, copies - 1);
    else if (row.state === "failed" || row.state === "skipped") duplicates += copies;
    else lost++;
    if (row.state === "sent" && copies === 0) lost++;
  }
  // Copies with a Message-ID of no delivery of this mailing.
  for (const copies of received.values()) duplicates += copies;
  details.skipped = counts.skipped ?? 0;

  return {
    recipients: chaos.recipients,
    sent: counts.sent ?? 0,
    failed: counts.failed ?? 0,
    uncertain: counts.uncertain ?? 0,
    duplicates,
    lost,
    seed: chaos.seed,
  };
}
