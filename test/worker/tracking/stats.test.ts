import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TrackingEvent } from "../../../src/tracking/events";
import { getMailingStats } from "../../../src/tracking/stats";
import { fetchTracked, idsFor, recordEvents, seedSentMailing, SENT_AT } from "./support";

const HOUR = 3_600_000;
const LINKS = [
  { idx: 0, url: "https://example.com/a" },
  { idx: 1, url: "https://example.com/b" },
  { idx: 2, url: "https://example.com/c" },
];

function event(
  type: TrackingEvent["type"],
  mailingId: number,
  subscriberId: number,
  extra: Partial<TrackingEvent> = {},
): TrackingEvent {
  return {
    type,
    mailingId,
    subscriberId,
    variant: "",
    linkIdx: type === "click" ? 0 : -1,
    machine: false,
    at: SENT_AT + HOUR,
    ...extra,
  };
}

/**
 * Five recipients (A/B variants alternate), then this script:
 * s0 opens twice and clicks link 0 twice and link 1 once; s1 opens; s2 clicks
 * link 1 without an open; a scanner clicks link 0 for s3 and loads s4's pixel;
 * s3 unsubscribes through this mailing's link.
 */
async function scriptedMailing() {
  const seeded = await seedSentMailing(5, LINKS, {
    variantOf: (position) => (position % 2 === 0 ? "A" : "B"),
  });
  const { mailingId } = seeded;
  const [s0, s1, s2, s3, s4] = seeded.subscribers.map((subscriber) => subscriber.id);

  await env.DB.prepare(
    "UPDATE deliveries SET state = 'failed', sent_at = NULL WHERE mailing_id = ? AND subscriber_id = ?",
  )
    .bind(mailingId, s4)
    .run();

  await recordEvents([
    event("open", mailingId, s0),
    event("open", mailingId, s0, { at: SENT_AT + 2 * HOUR }),
    event("click", mailingId, s0, { linkIdx: 0 }),
    event("click", mailingId, s0, { linkIdx: 0, at: SENT_AT + 2 * HOUR }),
    event("click", mailingId, s0, { linkIdx: 1, at: SENT_AT + 2 * HOUR }),
    event("open", mailingId, s1),
    event("click", mailingId, s2, { linkIdx: 1 }),
    event("click", mailingId, s3, { linkIdx: 0, machine: true }),
    event("open", mailingId, s4, { machine: true }),
  ]);

  const ids = await idsFor(mailingId, s3);
  await fetchTracked(`/u/${ids.unsubscribe()}`, {
    method: "POST",
    body: "List-Unsubscribe=One-Click",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
  return { mailingId, subscribers: [s0, s1, s2, s3, s4] };
}

describe("mailing statistics: happy path", () => {
  it("counts deliveries, opens and clicks of a scripted run", async () => {
    const { mailingId } = await scriptedMailing();

    const stats = (await getMailingStats(env.DB, mailingId))!;

    expect(stats.deliveries).toEqual({
      total: 5,
      pending: 0,
      queued: 0,
      sending: 0,
      sent: 4,
      failed: 1,
      uncertain: 0,
      skipped: 0,
    });
    // Human opens: s0 twice, s1, and the open implied by s2's click.
    expect(stats.opens.human).toEqual({ total: 4, unique: 3 });
    expect(stats.opens.implied).toBe(1);
    // Machine opens: s4's pixel and the implied open of s3's scanned click.
    expect(stats.opens.machine).toEqual({ total: 2, unique: 2 });
    expect(stats.clicks.human).toEqual({ total: 4, unique: 2 });
    expect(stats.clicks.machine).toEqual({ total: 1, unique: 1 });
    expect(stats.clickRate).toBe(2 / 4);
    expect(stats.openRate).toBe(3 / 4);
    expect(stats.clickToOpenRate).toBe(2 / 3);
    expect(stats.unsubscribes).toBe(1);
  });

  it("lists each link with unique, total and machine clicks", async () => {
    const { mailingId } = await scriptedMailing();

    const stats = (await getMailingStats(env.DB, mailingId))!;

    expect(stats.links).toEqual([
      { variant: "", idx: 0, url: "https://example.com/a", unique: 1, total: 2, machine: 1 },
      { variant: "", idx: 1, url: "https://example.com/b", unique: 2, total: 2, machine: 0 },
      { variant: "", idx: 2, url: "https://example.com/c", unique: 0, total: 0, machine: 0 },
    ]);
  });

  it("splits deliveries and unique hits by variant", async () => {
    const { mailingId } = await scriptedMailing();

    const stats = (await getMailingStats(env.DB, mailingId))!;

    // Variant A: s0, s2, s4 (s4 failed); variant B: s1, s3.
    expect(stats.variants).toEqual([
      { variant: "A", recipients: 3, sent: 2, uniqueOpens: 2, uniqueClicks: 2, clickRate: 1 },
      { variant: "B", recipients: 2, sent: 2, uniqueOpens: 1, uniqueClicks: 0, clickRate: 0 },
    ]);
  });

  it("builds an hourly series of sends and human hits", async () => {
    const { mailingId } = await scriptedMailing();

    const stats = (await getMailingStats(env.DB, mailingId))!;

    const start = Math.floor(SENT_AT / HOUR) * HOUR;
    expect(stats.hours).toEqual([
      { hour: start, sent: 4, opens: 0, clicks: 0, machine: 0 },
      { hour: start + HOUR, sent: 0, opens: 2, clicks: 2, machine: 2 },
      { hour: start + 2 * HOUR, sent: 0, opens: 1, clicks: 2, machine: 0 },
    ]);
  });

  it("keeps scanner GETs and HEADs out of human counts", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);
    const scanner = { "User-Agent": "Mimecast URL Protect" };

    const hits = [
      await fetchTracked(`/c/${ids.click(0)}`, { headers: scanner }),
      await fetchTracked(`/c/${ids.click(1)}`, { method: "HEAD" }),
      await fetchTracked(`/o/${ids.open()}`, { headers: { "User-Agent": "GoogleImageProxy" } }),
    ];
    await recordEvents(hits.flatMap((hit) => hit.events));
    const stats = (await getMailingStats(env.DB, mailingId))!;

    expect(stats.clicks.human).toEqual({ total: 0, unique: 0 });
    expect(stats.clicks.machine).toEqual({ total: 2, unique: 1 });
    expect(stats.opens.human).toEqual({ total: 0, unique: 0 });
    expect(stats.clickRate).toBe(0);
    expect(stats.links.map((link) => link.machine)).toEqual([1, 1, 0]);
  });

  it("serves the statistics under /api with the bearer token", async () => {
    const { mailingId } = await scriptedMailing();

    const { response } = await fetchTracked(`/api/mailings/${mailingId}/stats`, {
      headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` },
    });
    const body = (await response.json()) as { stats: { mailingId: number; clickRate: number } };

    expect(response.status).toBe(200);
    expect(body.stats.mailingId).toBe(mailingId);
    expect(body.stats.clickRate).toBe(0.5);
  });

  it("reports zeros for a mailing without hits", async () => {
    const { mailingId } = await seedSentMailing(2, LINKS);

    const stats = (await getMailingStats(env.DB, mailingId))!;

    expect(stats.opens.human).toEqual({ total: 0, unique: 0 });
    expect(stats.clicks.human).toEqual({ total: 0, unique: 0 });
    expect(stats.clickRate).toBe(0);
    expect(stats.unsubscribes).toBe(0);
    expect(stats.links.map((link) => link.total)).toEqual([0, 0, 0]);
  });
});

describe("mailing statistics: errors", () => {
  it("returns null for a missing mailing", async () => {
    expect(await getMailingStats(env.DB, 987_654_321)).toBeNull();
  });

  it.each([
    { name: "missing mailing", path: "/api/mailings/987654321/stats", status: 404 },
    { name: "id that is not a number", path: "/api/mailings/abc/stats", status: 404 },
  ])("answers $status for a $name", async ({ path, status }) => {
    const { response } = await fetchTracked(path, {
      headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` },
    });

    expect(response.status).toBe(status);
  });

  it("answers 401 without the bearer token", async () => {
    const { mailingId } = await seedSentMailing(1, LINKS);

    const { response } = await fetchTracked(`/api/mailings/${mailingId}/stats`);

    expect(response.status).toBe(401);
  });
});
