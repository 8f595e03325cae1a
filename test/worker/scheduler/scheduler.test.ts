import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { Env } from "../../../src/env";
import { runScheduler } from "../../../src/scheduler";
import { claimBatch } from "../../../src/scheduler/claim";
import type { SendMessage } from "../../../src/sender/message";
import {
  seededRandom,
  seedDeliveries,
  seedLetter,
  seedList,
  seedMailing,
  stateCounts,
} from "../support/seed";

/**
 * A send queue that keeps what it is given, so these tests see exactly what
 * one tick enqueued without the consumer running in the background.
 */
function recordingQueue() {
  const sent: { body: SendMessage; delaySeconds?: number }[] = [];
  const queue = {
    async send(body: SendMessage, options?: QueueSendOptions) {
      sent.push({ body, delaySeconds: options?.delaySeconds });
    },
    async sendBatch(messages: Iterable<MessageSendRequest<SendMessage>>) {
      for (const message of messages)
        sent.push({ body: message.body, delaySeconds: message.delaySeconds });
    },
  } as unknown as Queue<SendMessage>;
  return { queue, sent };
}

function envWith(overrides: Partial<Env>): Env {
  return { ...env, ...overrides } as Env;
}

async function startedMailing(count: number, options: { startAt?: number; status?: string } = {}) {
  const { listId, subscribers } = await seedList(count);
  const letterId = await seedLetter("<p>Hi</p>");
  const mailingId = await seedMailing(letterId, listId, {
    status: options.status ?? "wait",
    startAt: options.startAt,
  });
  await seedDeliveries(mailingId, listId);
  return { mailingId, listId, subscribers };
}

async function mailingStatus(id: number) {
  const row = await env.DB.prepare("SELECT status FROM mailings WHERE id = ?")
    .bind(id)
    .first<{ status: string }>();
  return row?.status;
}

// Each test file has its own D1, but tests in one file share it: close the
// mailings that earlier tests left due, so every test picks among its own.
beforeEach(async () => {
  await env.DB.prepare(
    "UPDATE mailings SET status = 'done' WHERE status IN ('wait', 'sending')",
  ).run();
});

describe("cron tick", () => {
  it("claims a batch and enqueues its ids", async () => {
    const { mailingId } = await startedMailing(7);
    const { queue, sent } = recordingQueue();

    const summary = await runScheduler(envWith({ SEND_QUEUE: queue, BATCH_SIZE: "3" }), {
      now: Date.now(),
    });

    expect(summary.claimed).toBe(7);
    expect(sent.map((message) => message.body.deliveryIds.length)).toEqual([3, 3, 1]);
    // Each message is its own claim, so its batch id selects exactly its deliveries.
    expect(new Set(sent.map((message) => message.body.batchId)).size).toBe(3);
    expect(await stateCounts(mailingId)).toEqual({ queued: 7 });
    expect(await mailingStatus(mailingId)).toBe("sending");
  });

  it("spreads messages across the tick", async () => {
    await startedMailing(8);
    const { queue, sent } = recordingQueue();

    await runScheduler(envWith({ SEND_QUEUE: queue, BATCH_SIZE: "2", TICK_SECONDS: "60" }), {
      now: Date.now(),
    });

    expect(sent.map((message) => message.delaySeconds)).toEqual([0, 15, 30, 45]);
  });

  it("respects the account rate per tick", async () => {
    const { mailingId } = await startedMailing(30);
    const { queue } = recordingQueue();

    await runScheduler(envWith({ SEND_QUEUE: queue, RATE_PER_MINUTE: "600", TICK_SECONDS: "1" }), {
      now: Date.now(),
    });

    expect(await stateCounts(mailingId)).toEqual({ queued: 10, pending: 20 });
  });

  it("skips suppressed subscribers at claim", async () => {
    const { mailingId, subscribers } = await startedMailing(4);
    await env.DB.prepare("UPDATE subscribers SET status = 'unsubscribed' WHERE id = ?")
      .bind(subscribers[1].id)
      .run();

    const claim = await claimBatch(env.DB, mailingId, 10, Date.now());

    expect(claim.deliveryIds).toHaveLength(3);
    expect(claim.skipped).toBe(1);
    expect(await stateCounts(mailingId)).toEqual({ queued: 3, skipped: 1 });
  });

  it("ignores mailings that are not due", async () => {
    const tomorrow = Date.now() + 86_400_000;
    const { mailingId } = await startedMailing(3, { startAt: tomorrow });
    const { queue, sent } = recordingQueue();

    await runScheduler(envWith({ SEND_QUEUE: queue }), { now: Date.now() });

    expect(sent.filter((message) => message.body.mailingId === mailingId)).toHaveLength(0);
    expect(await stateCounts(mailingId)).toEqual({ pending: 3 });
  });
});

describe("concurrent claims", () => {
  it("never claim the same delivery twice", async () => {
    const { mailingId } = await startedMailing(120);

    const claims = await Promise.all(
      Array.from({ length: 8 }, () => claimBatch(env.DB, mailingId, 25, Date.now())),
    );

    const ids = claims.flatMap((claim) => claim.deliveryIds);
    expect(ids).toHaveLength(120);
    expect(new Set(ids).size).toBe(120);
    expect(await stateCounts(mailingId)).toEqual({ queued: 120 });
  });

  it("overlapping cron runs enqueue each delivery once", async () => {
    const { mailingId } = await startedMailing(50);
    const { queue, sent } = recordingQueue();
    const overlapping = envWith({ SEND_QUEUE: queue, BATCH_SIZE: "5", RATE_PER_MINUTE: "1200" });

    await Promise.all([1, 2, 3].map(() => runScheduler(overlapping, { now: Date.now() })));

    const ids = sent
      .filter((m) => m.body.mailingId === mailingId)
      .flatMap((m) => m.body.deliveryIds);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(50);
  });
});

describe("choosing the next mailing", () => {
  it("picks only due mailings at random, and none starves", async () => {
    const hourAgo = Date.now() - 3_600_000;
    const a = await startedMailing(1000, { status: "sending", startAt: hourAgo });
    const b = await startedMailing(3, { status: "sending", startAt: hourAgo });
    const c = await startedMailing(5, { status: "paused", startAt: hourAgo });
    const d = await startedMailing(5, { status: "wait", startAt: Date.now() + 86_400_000 });
    const e = await startedMailing(0, { status: "done", startAt: hourAgo });
    const now = Date.now();
    const { queue } = recordingQueue();
    // One message per tick, so every tick is one pick.
    const oneAtATime = envWith({ SEND_QUEUE: queue, RATE_PER_MINUTE: "60", TICK_SECONDS: "1" });
    const random = seededRandom(17);

    const picks: number[] = [];
    for (let tick = 0; tick < 1000; tick++) {
      const summary = await runScheduler(oneAtATime, { now, random });
      picks.push(
        ...summary.mailings.filter((id) => [a, b, c, d, e].some((m) => m.mailingId === id)),
      );
    }

    const picked = new Set(picks);
    expect([...picked].sort()).toEqual([a.mailingId, b.mailingId].sort());
    expect(await stateCounts(b.mailingId)).toEqual({ queued: 3 });
    expect(picks.indexOf(b.mailingId)).toBeLessThan(20);
    expect(await stateCounts(c.mailingId)).toEqual({ pending: 5 });
    expect(await stateCounts(d.mailingId)).toEqual({ pending: 5 });
  });

  it("random order differs between seeds", async () => {
    const first = await startedMailing(50);
    const second = await startedMailing(50);
    const { queue } = recordingQueue();
    const oneAtATime = envWith({ SEND_QUEUE: queue, RATE_PER_MINUTE: "60", TICK_SECONDS: "1" });
    const random = seededRandom(99);

    const picks: number[] = [];
    for (let tick = 0; tick < 40; tick++) {
      const summary = await runScheduler(oneAtATime, { now: Date.now(), random });
      picks.push(
        ...summary.mailings.filter((id) => id === first.mailingId || id === second.mailingId),
      );
    }

    const firstShare = picks.filter((id) => id === first.mailingId).length / picks.length;
    expect(firstShare).toBeGreaterThan(0.2);
    expect(firstShare).toBeLessThan(0.8);
  });

  it("a resumed mailing continues where it stopped", async () => {
    const { mailingId } = await startedMailing(10);
    const { queue, sent } = recordingQueue();
    const tickEnv = envWith({ SEND_QUEUE: queue, RATE_PER_MINUTE: "240", TICK_SECONDS: "1" });

    await runScheduler(tickEnv, { now: Date.now() });
    await env.DB.prepare("UPDATE mailings SET status = 'paused' WHERE id = ?")
      .bind(mailingId)
      .run();
    await runScheduler(tickEnv, { now: Date.now() });
    await env.DB.prepare("UPDATE mailings SET status = 'sending' WHERE id = ?")
      .bind(mailingId)
      .run();
    for (let tick = 0; tick < 5; tick++) await runScheduler(tickEnv, { now: Date.now() });

    const ids = sent
      .filter((m) => m.body.mailingId === mailingId)
      .flatMap((m) => m.body.deliveryIds);
    expect(ids).toHaveLength(10);
    expect(new Set(ids).size).toBe(10);
  });
});
