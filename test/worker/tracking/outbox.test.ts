import { describe, expect, it } from "vitest";
import type { TrackingEvent } from "../../../src/tracking/events";
import { enqueueEvent } from "../../../src/tracking/outbox";

function recordingQueue() {
  const batches: TrackingEvent[][] = [];
  const queue = {
    send: async () => {
      throw new Error("send is not used; events go out with sendBatch");
    },
    sendBatch: async (messages: Iterable<MessageSendRequest<TrackingEvent>>) => {
      batches.push([...messages].map((message) => message.body));
    },
  } as unknown as Queue<TrackingEvent>;
  return { queue, batches };
}

function open(subscriberId: number): TrackingEvent {
  return {
    type: "open",
    mailingId: 1,
    subscriberId,
    variant: "",
    linkIdx: -1,
    machine: false,
    at: 1,
  };
}

describe("event outbox: happy path", () => {
  it("sends events of concurrent requests in one batch", async () => {
    const { queue, batches } = recordingQueue();

    const first = enqueueEvent(queue, open(1));
    const second = enqueueEvent(queue, open(2));
    const third = enqueueEvent(queue, open(3));
    await first;

    expect(first).toBeInstanceOf(Promise);
    expect(second).toBeNull();
    expect(third).toBeNull();
    expect(batches).toEqual([[open(1), open(2), open(3)]]);
  });

  it("opens a new batch after 100 events", async () => {
    const { queue, batches } = recordingQueue();

    const flushes = Array.from({ length: 150 }, (_, n) => enqueueEvent(queue, open(n + 1)));
    await Promise.all(flushes);

    expect(flushes.filter((flush) => flush !== null)).toHaveLength(2);
    expect(batches.map((batch) => batch.length)).toEqual([100, 50]);
  });

  it("keeps batches of different queues apart", async () => {
    const a = recordingQueue();
    const b = recordingQueue();

    const flushA = enqueueEvent(a.queue, open(1));
    const flushB = enqueueEvent(b.queue, open(2));
    await Promise.all([flushA, flushB]);

    expect(a.batches).toEqual([[open(1)]]);
    expect(b.batches).toEqual([[open(2)]]);
  });

  it("starts a new batch once the previous one was sent", async () => {
    const { queue, batches } = recordingQueue();

    await enqueueEvent(queue, open(1));
    const later = enqueueEvent(queue, open(2));
    await later;

    expect(later).toBeInstanceOf(Promise);
    expect(batches).toEqual([[open(1)], [open(2)]]);
  });
});

describe("event outbox: errors", () => {
  it("resolves when the queue rejects the batch", async () => {
    const queue = {
      sendBatch: async () => {
        throw new Error("Queue send failed: 503");
      },
    } as unknown as Queue<TrackingEvent>;

    await expect(enqueueEvent(queue, open(1))).resolves.toBeUndefined();
  });
});
