/**
 * Pipeline benchmark: messages per second from a started mailing to the
 * local SMTP server, against what one SMTP connection from Node carries.
 *
 * The pipeline run starts the local stack (wrangler dev, local D1 and
 * Queues, the loopback mailbox) on free ports with a fresh database, imports
 * RECIPIENTS synthetic subscribers, starts a mailing of a real fixture letter
 * and fires cron ticks until the mailbox contains every message. Its rate is
 * RECIPIENTS divided by the time from the first tick to the last message.
 *
 * The SMTP baseline sends the same rendered messages, as the mailbox received
 * them, to the same server over one connection, one command at a time, from
 * a separate Node process. It runs SMTP_RUNS times and the median counts.
 *
 * NOTE: miniflare in wrangler 4.86 dispatches the next batch of a local queue
 * only after the consumer call for the previous one returned, so locally
 * every delivery is sent one after the other. `consumer_busy_share` near 1
 * shows that. Cloudflare Queues in production may run several consumer
 * calls at once, so this local rate is no estimate of production throughput.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ApiClient } from "../lib/api.ts";
import type { ReceivedMessage } from "../lib/mailbox.ts";
import { createDemoLetter, createDemoList, DEMO_TEMPLATE } from "../lib/seed.ts";
import { replayInChildProcess } from "../lib/smtp-replay.ts";
import {
  freshWorkDir,
  randomSecret,
  relativeToProject,
  sleep,
  startStack,
  writeEnvFile,
  type Stack,
} from "../lib/stack.ts";

const RECIPIENTS = 2000;

/** Seconds between cron ticks, passed to the Worker as TICK_SECONDS. */
const TICK_SECONDS = 2;
/** High enough that one tick may claim every recipient: pacing must not limit the run. */
const RATE_PER_MINUTE = 600_000;
/** Delivery ids per send queue message (wrangler.toml default). A consumer call gets up to 4 messages. */
const BATCH_SIZE = 50;

const SEND_TIMEOUT_MS = 10 * 60_000;

/** The SMTP baseline runs this often and reports the median, because the machine is shared. */
const SMTP_RUNS = 3;

type Figures = Record<string, number | string | boolean>;

/** Runs the benchmark; returns the rates, their ratio and the settings used. */
export async function run(progress: (line: string) => void): Promise<Figures> {
  const workDir = freshWorkDir("bench-pipeline");
  const adminToken = randomSecret();
  const envFile = join(workDir, "worker.env");
  writeEnvFile(envFile, { LINK_SECRET: randomSecret(), ADMIN_TOKEN: adminToken });

  const stack = await startStack({
    persistDir: join(workDir, "state"),
    snapshotDir: join(workDir, "worker"),
    envFile,
    vars: { RATE_PER_MINUTE: String(RATE_PER_MINUTE), BATCH_SIZE: String(BATCH_SIZE) },
    tickSeconds: TICK_SECONDS,
    autoTick: false,
    workerLogFile: join(workDir, "wrangler.log"),
    progress,
  });

  let succeeded = false;
  try {
    const pipeline = await measurePipeline(stack, new ApiClient(stack.url, adminToken), progress);
    await sleep(500); // wrangler prints a call's QUEUE line after the call returns.
    const consumer = consumerCalls(readFileSync(stack.workerLogFile, "utf8"));
    const smtpRuns: number[] = [];
    for (let run = 1; run <= SMTP_RUNS; run++) {
      smtpRuns.push((await measureSmtp(stack, pipeline.messages, progress)).seconds);
    }
    const smtpSeconds = median(smtpRuns);
    succeeded = true;

    const figures: Figures = {
      recipients: RECIPIENTS,
      letter: relativeToProject(DEMO_TEMPLATE),
      message_kib: Math.round(averageSize(pipeline.messages) / 102.4) / 10,
      pipeline_seconds: round(pipeline.seconds, 2),
      pipeline_msgs_per_s: round(RECIPIENTS / pipeline.seconds, 1),
      pipeline_first_message_seconds: round(pipeline.firstMessageSeconds, 2),
      pipeline_ms_per_msg: round((pipeline.seconds * 1000) / RECIPIENTS, 2),
      smtp_seconds: round(smtpSeconds, 2),
      smtp_msgs_per_s: round(RECIPIENTS / smtpSeconds, 1),
      smtp_ms_per_msg: round((smtpSeconds * 1000) / RECIPIENTS, 2),
      smtp_runs: smtpRuns.map((seconds) => seconds.toFixed(2)).join(" "),
      pipeline_vs_smtp: round(smtpSeconds / pipeline.seconds, 3),
      ticks: pipeline.ticks,
      consumer_calls: consumer.calls,
      consumer_busy_share: round(consumer.busyMs / 1000 / pipeline.seconds, 2),
      settings: `RATE_PER_MINUTE=${RATE_PER_MINUTE} BATCH_SIZE=${BATCH_SIZE} TICK_SECONDS=${TICK_SECONDS}, queue max_batch_size and max_batch_timeout from wrangler.toml`,
    };
    return figures;
  } finally {
    await stack.stop();
    // wrangler.log stays for the time per stage; a failed run also keeps its database.
    if (succeeded) {
      rmSync(join(workDir, "state"), { recursive: true, force: true });
      rmSync(join(workDir, "worker"), { recursive: true, force: true });
    }
    progress(`kept ${relativeToProject(workDir)} for inspection`);
  }
}

interface PipelineRun {
  seconds: number;
  firstMessageSeconds: number;
  ticks: number;
  messages: ReceivedMessage[];
}

/**
 * Imports the subscribers, starts the mailing and ticks until every message
 * arrived. The clock starts with the first tick, because a started mailing
 * waits for the cron before anything is sent.
 */
async function measurePipeline(
  stack: Stack,
  api: ApiClient,
  progress: (line: string) => void,
): Promise<PipelineRun> {
  const { listId, result } = await createDemoList(api, "Benchmark", syntheticCsv(RECIPIENTS));
  if (result.imported !== RECIPIENTS) {
    throw new Error(`the import reported ${result.imported} subscribers, expected ${RECIPIENTS}`);
  }
  const { letterId } = await createDemoLetter(api);
  const mailing = await api.createMailing({ name: "Benchmark", letterId, listId });
  const started = await api.startMailing(mailing.id);
  progress(`mailing ${mailing.id} started with ${started.total} recipients`);

  const t0 = Date.now();
  let ticks = 0;
  let nextTick = t0;
  let lastReport = t0;
  while (stack.mailbox.messages.length < RECIPIENTS) {
    if (Date.now() - t0 > SEND_TIMEOUT_MS) {
      const { counts } = await api.getMailing(mailing.id);
      throw new Error(
        `only ${stack.mailbox.messages.length} of ${RECIPIENTS} messages arrived within ${SEND_TIMEOUT_MS / 1000} s; deliveries: ${JSON.stringify(counts)}`,
      );
    }
    if (Date.now() >= nextTick) {
      ticks++;
      nextTick += TICK_SECONDS * 1000;
      // Not awaited: a tick that waits on a busy D1 must not hold up the clock.
      void stack.tick().then((tick) => {
        if (!tick.ok) progress(`cron tick failed: ${tick.status} ${tick.body.slice(0, 200)}`);
      });
    }
    if (Date.now() - lastReport >= 5_000) {
      lastReport = Date.now();
      progress(`${stack.mailbox.messages.length}/${RECIPIENTS} messages received`);
    }
    await sleep(20);
  }

  const messages = stack.mailbox.messages.slice(0, RECIPIENTS);
  const last = Math.max(...messages.map((message) => message.receivedAt));
  const first = Math.min(...messages.map((message) => message.receivedAt));
  progress(`pipeline: ${RECIPIENTS} messages in ${((last - t0) / 1000).toFixed(2)} s`);

  const { counts } = await waitForDone(api, mailing.id);
  if (counts.sent !== RECIPIENTS || counts.failed !== 0) {
    throw new Error(
      `mailing ${mailing.id} ended with ${JSON.stringify(counts)}; expected ${RECIPIENTS} sent`,
    );
  }
  return { seconds: (last - t0) / 1000, firstMessageSeconds: (first - t0) / 1000, ticks, messages };
}

/**
 * Polls until the mailing is done, for at most 60 s. The last outcomes reach
 * D1 a moment after the last message reached the mailbox.
 */
async function waitForDone(api: ApiClient, mailingId: number) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const state = await api.getMailing(mailingId);
    if (state.mailing.status === "done" || Date.now() > deadline) return state;
    await sleep(250);
  }
}

/**
 * Sends the received messages again over one connection, from a separate
 * Node process, and checks that the mailbox accepted every one.
 */
async function measureSmtp(
  stack: Stack,
  messages: ReceivedMessage[],
  progress: (line: string) => void,
): Promise<{ seconds: number }> {
  stack.mailbox.messages.length = 0;
  const { seconds } = await replayInChildProcess(stack.mailbox.port, messages);

  if (stack.mailbox.messages.length !== messages.length) {
    throw new Error(
      `the mailbox accepted ${stack.mailbox.messages.length} of ${messages.length} messages sent from Node`,
    );
  }
  progress(`smtp: ${messages.length} messages over one connection in ${seconds.toFixed(2)} s`);
  return { seconds };
}

/**
 * Counts the send queue's consumer calls in the wrangler output and sums
 * their durations. wrangler dev logs one `QUEUE trickle-send acked/total
 * (N ms)` line per call. A busy share near 1 means the calls ran one after
 * the other and the consumer was the bottleneck.
 */
function consumerCalls(log: string): { calls: number; busyMs: number } {
  let calls = 0;
  let busyMs = 0;
  for (const match of log.matchAll(/QUEUE trickle-send \d+\/\d+ \((\d+)ms\)/g)) {
    calls++;
    busyMs += Number(match[1]);
  }
  return { calls, busyMs };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Builds a CSV of `count` distinct subscribers at example.com, with the fixture's columns. */
export function syntheticCsv(count: number): string {
  const cities = ["Berlin", "Lisbon", "Montréal", "Prague", "Osaka", "Nairobi", "Lima", "Oslo"];
  const plans = ["free", "basic", "pro"];
  const rows = ["email,first_name,last_name,city,plan,signup_date"];
  for (let index = 1; index <= count; index++) {
    const number = String(index).padStart(5, "0");
    const day = String((index % 28) + 1).padStart(2, "0");
    rows.push(
      `reader.${number}@example.com,Reader,No${number},${cities[index % cities.length]},${plans[index % plans.length]},2025-01-${day}`,
    );
  }
  return rows.join("\r\n") + "\r\n";
}

function averageSize(messages: ReceivedMessage[]): number {
  return messages.reduce((sum, message) => sum + message.raw.length, 0) / messages.length;
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
