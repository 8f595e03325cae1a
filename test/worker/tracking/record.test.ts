import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "../../../src/env";
import type { TrackingEvent } from "../../../src/tracking/events";
import { eventStatements } from "../../../src/tracking/record";
import { countRows, recordEvents, seedSentMailing, SENT_AT } from "./support";

const LINKS = [
  { idx: 0, url: "https://example.com/a" },
  { idx: 1, url: "https://example.com/b" },
];

function click(mailingId: number, subscriberId: number, extra: Partial<TrackingEvent> = {}) {
  const event: TrackingEvent = {
    type: "click",
    mailingId,
    subscriberId,
    variant: "",
    linkIdx: 0,
    machine: false,
    at: SENT_AT + 60_000,
  };
  return { ...event, ...extra };
}

function open(mailingId: number, subscriberId: number, extra: Partial<TrackingEvent> = {}) {
  return click(mailingId, subscriberId, { type: "open", linkIdx: -1, ...extra });
}

describe("recordTrackingEvents: happy path", () => {
  it("inserts clicks and opens and acks every message", async () => {
    const { mailingId, subscribers } = await seedSentMailing(2, LINKS);
    const [jane, john] = subscribers;

    const result = await recordEvents([
      open(mailingId, jane.id),
      click(mailingId, jane.id, { linkIdx: 1 }),
      click(mailingId, john.id),
    ]);

    expect(result.explicitAcks).toHaveLength(3);
    expect(result.retryMessages).toHaveLength(0);
    expect(await countRows("clicks", mailingId)).toBe(2);
    expect(
      await countRows("clicks", mailingId, `subscriber_id = ${jane.id} AND link_idx = 1`),
    ).toBe(1);
    expect(await countRows("opens", mailingId, "implied = 0")).toBe(1);
  });

  it("takes the variant from the delivery", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS, { variantOf: () => "B" });

    await recordEvents([click(mailingId, subscribers[0].id, { variant: "" })]);

    const row = await env.DB.prepare("SELECT variant FROM clicks WHERE mailing_id = ?")
      .bind(mailingId)
      .first<{ variant: string }>();
    expect(row?.variant).toBe("B");
  });

  it("splits a large batch into statements of at most 100 parameters", async () => {
    const { mailingId, subscribers } = await seedSentMailing(5, LINKS);
    const events = Array.from({ length: 250 }, (_, n) =>
      n % 2 === 0
        ? click(mailingId, subscribers[n % 5].id, { linkIdx: n % 2, at: SENT_AT + 60_000 + n })
        : open(mailingId, subscribers[n % 5].id, { at: SENT_AT + 60_000 + n }),
    );

    const statements = eventStatements(env.DB, events);
    const result = await recordEvents(events);

    expect(statements.length).toBeGreaterThan(2);
    expect(result.explicitAcks).toHaveLength(250);
    expect(await countRows("clicks", mailingId)).toBe(125);
    expect(await countRows("opens", mailingId, "implied = 0")).toBe(125);
  });
});

describe("recordTrackingEvents: implied opens", () => {
  it("adds an implied open for a click without an open", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);

    await recordEvents([click(mailingId, subscribers[0].id), click(mailingId, subscribers[0].id)]);

    expect(await countRows("opens", mailingId, "implied = 1 AND machine = 0")).toBe(1);
  });

  it("adds none when the recipient has a human open", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);

    await recordEvents([open(mailingId, subscribers[0].id)]);
    await recordEvents([click(mailingId, subscribers[0].id)]);

    expect(await countRows("opens", mailingId)).toBe(1);
    expect(await countRows("opens", mailingId, "implied = 1")).toBe(0);
  });

  it("adds none when the open arrives in the same batch", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);

    await recordEvents([click(mailingId, subscribers[0].id), open(mailingId, subscribers[0].id)]);

    expect(await countRows("opens", mailingId, "implied = 1")).toBe(0);
  });

  it("adds a human one when only a machine opened", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);

    await recordEvents([open(mailingId, subscribers[0].id, { machine: true })]);
    await recordEvents([click(mailingId, subscribers[0].id)]);

    expect(await countRows("opens", mailingId, "implied = 1 AND machine = 0")).toBe(1);
  });

  it("marks the implied open of a machine click as machine", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);

    await recordEvents([click(mailingId, subscribers[0].id, { machine: true })]);

    expect(await countRows("opens", mailingId, "implied = 1 AND machine = 1")).toBe(1);
    expect(await countRows("opens", mailingId, "machine = 0")).toBe(0);
  });
});

describe("recordTrackingEvents: machine rule", () => {
  it.each([
    { name: "500 ms after sending", offset: 500, machine: 1 },
    { name: "1.9 s after sending", offset: 1_900, machine: 1 },
    { name: "before sent_at was written", offset: -3_000, machine: 1 },
    { name: "2 s after sending", offset: 2_000, machine: 0 },
    { name: "an hour after sending", offset: 3_600_000, machine: 0 },
  ])("stores a click $name with machine = $machine", async ({ offset, machine }) => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);

    await recordEvents([click(mailingId, subscribers[0].id, { at: SENT_AT + offset })]);

    expect(await countRows("clicks", mailingId, `machine = ${machine}`)).toBe(1);
  });

  it("keeps the route's machine flag", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);

    await recordEvents([open(mailingId, subscribers[0].id, { machine: true })]);

    expect(await countRows("opens", mailingId, "machine = 1")).toBe(1);
  });
});

describe("recordTrackingEvents: errors", () => {
  it("drops events of a deleted mailing", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    await env.DB.prepare("DELETE FROM mailings WHERE id = ?").bind(mailingId).run();

    const result = await recordEvents([click(mailingId, subscribers[0].id)]);

    expect(result.explicitAcks).toHaveLength(1);
    expect(await countRows("clicks", mailingId)).toBe(0);
    expect(await countRows("opens", mailingId)).toBe(0);
  });

  it.each([
    { name: "null body", body: null },
    {
      name: "unknown type",
      body: {
        type: "bounce",
        mailingId: 1,
        subscriberId: 1,
        variant: "",
        linkIdx: -1,
        machine: false,
        at: 1,
      },
    },
    {
      name: "string ids",
      body: {
        type: "open",
        mailingId: "1",
        subscriberId: 1,
        variant: "",
        linkIdx: -1,
        machine: false,
        at: 1,
      },
    },
    {
      name: "click without link",
      body: {
        type: "click",
        mailingId: 1,
        subscriberId: 1,
        variant: "",
        linkIdx: -1,
        machine: false,
        at: 1,
      },
    },
    {
      name: "long variant",
      body: {
        type: "open",
        mailingId: 1,
        subscriberId: 1,
        variant: "x".repeat(65),
        linkIdx: -1,
        machine: false,
        at: 1,
      },
    },
  ])("acks and skips a message with $name", async ({ body }) => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);

    const result = await recordEvents([
      body as unknown as TrackingEvent,
      click(mailingId, subscribers[0].id),
    ]);

    expect(result.explicitAcks).toHaveLength(2);
    expect(result.retryMessages).toHaveLength(0);
    expect(await countRows("clicks", mailingId)).toBe(1);
  });

  it("retries every valid message when D1 fails", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const failingDb = {
      prepare: (query: string) => env.DB.prepare(query),
      batch: async () => {
        throw new Error("D1_ERROR: database is locked");
      },
    } as unknown as D1Database;

    const result = await recordEvents([click(mailingId, subscribers[0].id)], {
      ...env,
      DB: failingDb,
    } as Env);

    expect(result.explicitAcks).toHaveLength(0);
    expect(result.retryMessages).toHaveLength(1);
    expect(await countRows("clicks", mailingId)).toBe(0);
  });
});
