import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { startMailing } from "../../../src/mailings/start";
import { clearTrackingCaches, trackingQueryCounter } from "../../../src/tracking/store";
import { seedLetter, seedList, seedMailing } from "../support/seed";
import {
  BROWSER_UA,
  decodeId,
  encodeId,
  fetchTracked,
  idsFor,
  seedSentMailing,
  subscriberStatus,
} from "./support";

const LINKS = [
  { idx: 0, url: "https://example.com/spring?utm_source=trickle" },
  { idx: 1, url: "https://shop.example.org/cart" },
];

const GIF_HEADER = [0x47, 0x49, 0x46, 0x38, 0x39, 0x61];

/** A letter whose links go through the real compile step when the mailing starts. */
const LETTER = `<!doctype html><html><head><title>Spring</title></head><body>
<p>Hi {{ first_name }},</p>
<p><a href="https://example.com/spring">Spring sale</a></p>
<p><a href="https://example.com/hello?name={{ first_name }}">Your page</a></p>
<p><a href="{{ unsubscribe_url }}">Unsubscribe</a> or <a href="{{ web_url }}">view in the browser</a></p>
</body></html>`;

/** Starts a mailing of LETTER through the mailings code, so links and snapshot are real. */
async function startedMailing(
  count: number,
  settings = { trackClicks: true, trackOpens: true, utm: null },
) {
  const { listId, subscribers } = await seedList(count);
  const letterId = await seedLetter(LETTER, { settings });
  const mailingId = await seedMailing(letterId, listId);
  await startMailing(env.DB, mailingId, Date.now());
  await env.DB.prepare("UPDATE deliveries SET state = 'sent', sent_at = ? WHERE mailing_id = ?")
    .bind(Date.now() - 3_600_000, mailingId)
    .run();
  return { mailingId, letterId, listId, subscribers };
}

async function storedLinks(mailingId: number) {
  const { results } = await env.DB.prepare(
    "SELECT idx, url, has_tokens AS hasTokens FROM links WHERE mailing_id = ? ORDER BY idx",
  )
    .bind(mailingId)
    .all<{ idx: number; url: string; hasTokens: number }>();
  return results;
}

describe("tracking routes: happy path", () => {
  it("redirects a click to the stored link and queues the event", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);

    const { response, events, dataPoints } = await fetchTracked(`/c/${ids.click(1)}`);

    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toBe("https://shop.example.org/cart");
    expect(response.headers.get("Cache-Control")).toBe("no-store, private");
    expect(events).toEqual([
      {
        type: "click",
        mailingId,
        subscriberId: subscribers[0].id,
        variant: "",
        linkIdx: 1,
        machine: false,
        at: expect.any(Number),
      },
    ]);
    expect(dataPoints).toHaveLength(1);
    expect(dataPoints[0].indexes).toEqual([String(mailingId)]);
    expect(dataPoints[0].blobs).toEqual(["click", "", "human", ""]);
    expect(JSON.stringify(dataPoints[0])).not.toContain("@");
  });

  it("serves the open pixel and queues the open", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);

    const { response, events } = await fetchTracked(`/o/${ids.open()}`);
    const body = new Uint8Array(await response.arrayBuffer());

    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("image/gif");
    expect(response.headers.get("Cache-Control")).toBe("no-store, private");
    expect([...body.subarray(0, 6)]).toEqual(GIF_HEADER);
    expect(body).toHaveLength(43);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "open", linkIdx: -1, machine: false });
  });

  it("fills tokens of a link with the recipient's data", async () => {
    const { mailingId, subscribers } = await startedMailing(2);
    const links = await storedLinks(mailingId);
    const tokenLink = links.find((link) => link.hasTokens === 1)!;

    for (const subscriber of subscribers) {
      const ids = await idsFor(mailingId, subscriber.id);
      const { response } = await fetchTracked(`/c/${ids.click(tokenLink.idx)}`);

      expect(response.status).toBe(302);
      expect(response.headers.get("Location")).toBe(
        `https://example.com/hello?name=${subscriber.firstName}`,
      );
    }
  });

  it("keeps redirecting a token link from the isolate cache", async () => {
    const { mailingId, subscribers } = await startedMailing(1);
    const tokenLink = (await storedLinks(mailingId)).find((link) => link.hasTokens === 1)!;
    const ids = await idsFor(mailingId, subscribers[0].id);
    clearTrackingCaches();

    await fetchTracked(`/c/${ids.click(tokenLink.idx)}`);
    const before = trackingQueryCounter.roundTrips;
    const { response } = await fetchTracked(`/c/${ids.click(tokenLink.idx)}`);

    expect(response.status).toBe(302);
    expect(trackingQueryCounter.roundTrips).toBe(before);
  });

  it("makes one D1 round trip cold and none warm", async () => {
    const { mailingId, subscribers } = await seedSentMailing(2, LINKS);
    const jane = await idsFor(mailingId, subscribers[0].id);
    const john = await idsFor(mailingId, subscribers[1].id);
    clearTrackingCaches();

    const cold = trackingQueryCounter.roundTrips;
    await fetchTracked(`/c/${jane.click(0)}`);
    const warm = trackingQueryCounter.roundTrips;
    await fetchTracked(`/c/${jane.click(0)}`);
    await fetchTracked(`/c/${jane.click(1)}`);
    await fetchTracked(`/c/${john.click(0)}`);

    expect(warm - cold).toBe(1);
    expect(trackingQueryCounter.roundTrips).toBe(warm);
  });

  it("picks the link of the recipient's variant", async () => {
    const { mailingId, subscribers } = await seedSentMailing(
      2,
      [
        { idx: 0, url: "https://example.com/a-version", variant: "A" },
        { idx: 0, url: "https://example.com/b-version", variant: "B" },
      ],
      { variantOf: (position) => (position === 0 ? "A" : "B") },
    );
    const [jane, john] = subscribers;
    clearTrackingCaches();

    const start = trackingQueryCounter.roundTrips;
    const janeClick = await fetchTracked(`/c/${(await idsFor(mailingId, jane.id)).click(0)}`);
    const afterCold = trackingQueryCounter.roundTrips;
    const johnClick = await fetchTracked(`/c/${(await idsFor(mailingId, john.id)).click(0)}`);
    const afterJohn = trackingQueryCounter.roundTrips;
    await fetchTracked(`/c/${(await idsFor(mailingId, john.id)).click(0)}`);

    expect(janeClick.response.headers.get("Location")).toBe("https://example.com/a-version");
    expect(johnClick.response.headers.get("Location")).toBe("https://example.com/b-version");
    expect(johnClick.events[0].variant).toBe("B");
    expect(afterCold - start).toBe(1);
    expect(afterJohn - afterCold).toBe(1);
    expect(trackingQueryCounter.roundTrips).toBe(afterJohn);
  });

  it("verifies ids of a key kept in LINK_SECRET_PREVIOUS", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const oldKey = env.LINK_SECRET!;
    const id = (await idsFor(mailingId, subscribers[0].id)).click(0);
    const rotated = {
      LINK_SECRET: "2:the-next-link-secret-0123456789",
      LINK_SECRET_PREVIOUS: oldKey,
    };
    const removed = { LINK_SECRET: "2:the-next-link-secret-0123456789", LINK_SECRET_PREVIOUS: "" };

    const kept = await fetchTracked(`/c/${id}`, {}, rotated);
    const dropped = await fetchTracked(`/c/${id}`, {}, removed);

    expect(kept.response.status).toBe(302);
    expect(kept.response.headers.get("Location")).toBe(LINKS[0].url);
    expect(dropped.response.status).toBe(404);
    expect(dropped.response.headers.get("Location")).toBeNull();
  });

  it("redirects old links after the letter's tracking is switched off", async () => {
    const first = await startedMailing(1);
    const oldLinks = await storedLinks(first.mailingId);
    const ids = await idsFor(first.mailingId, first.subscribers[0].id);

    await env.DB.prepare("UPDATE letters SET settings = ? WHERE id = ?")
      .bind(JSON.stringify({ trackClicks: false, trackOpens: false, utm: null }), first.letterId)
      .run();
    const secondId = await seedMailing(first.letterId, first.listId);
    await startMailing(env.DB, secondId, Date.now());
    clearTrackingCaches();

    const { response } = await fetchTracked(`/c/${ids.click(0)}`);
    const snapshot = await env.DB.prepare(
      "SELECT letter_snapshot AS json FROM mailings WHERE id = ?",
    )
      .bind(secondId)
      .first<{ json: string }>();

    expect(JSON.parse(snapshot!.json).settings.trackClicks).toBe(false);
    expect(oldLinks.length).toBeGreaterThan(0);
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toBe(oldLinks[0].url);
  });

  it("serves /u/ and /v/ for each recipient", async () => {
    const { mailingId, subscribers } = await startedMailing(3);

    for (const subscriber of subscribers) {
      const ids = await idsFor(mailingId, subscriber.id);
      const unsubscribe = await fetchTracked(`/u/${ids.unsubscribe()}`);
      const web = await fetchTracked(`/v/${ids.web()}`);
      const webHtml = await web.response.text();
      const [local, domain] = subscriber.email.split("@");

      expect(unsubscribe.response.status).toBe(200);
      expect(await unsubscribe.response.text()).toContain(`${local[0]}***@${domain}`);
      expect(web.response.status).toBe(200);
      expect(web.response.headers.get("X-Robots-Tag")).toBe("noindex");
      expect(webHtml).toContain('<meta name="robots" content="noindex">');
      expect(webHtml).toContain(`Hi ${subscriber.firstName}`);
      expect(webHtml).toContain(`/c/${ids.click(0)}`);
      expect(web.events).toEqual([expect.objectContaining({ type: "open", machine: false })]);
      expect(unsubscribe.events).toEqual([]);
    }
  });
});

const SCANNERS = [
  { name: "Barracuda", agent: "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))" },
  { name: "Mimecast", agent: "Mimecast URL Protect" },
  { name: "Proofpoint", agent: "Mozilla/5.0 (compatible; Proofpoint URL Defense)" },
  { name: "Microsoft SafeLinks", agent: "Microsoft SafeLinks Protection" },
  { name: "Microsoft Office", agent: "Microsoft Office Existence Discovery" },
  {
    name: "a bot",
    agent: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
  },
  { name: "curl", agent: "curl/8.5.0" },
  { name: "python-requests", agent: "python-requests/2.31.0" },
  { name: "no user agent", agent: "" },
];

describe.each(SCANNERS)("tracking routes: scanner $name", ({ agent }) => {
  it("records a GET click as machine", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);

    const { response, events, dataPoints } = await fetchTracked(`/c/${ids.click(0)}`, {
      headers: { "User-Agent": agent },
    });

    expect(response.status).toBe(302);
    expect(events).toHaveLength(1);
    expect(events[0].machine).toBe(true);
    expect(dataPoints[0].blobs?.[2]).toBe("machine");
  });

  it("records a HEAD click as machine", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);

    const { response, events } = await fetchTracked(`/c/${ids.click(0)}`, {
      method: "HEAD",
      headers: { "User-Agent": agent },
    });

    expect(response.status).toBe(302);
    expect(events.map((event) => event.machine)).toEqual([true]);
  });

  it("records a pixel load as machine", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);

    const { events } = await fetchTracked(`/o/${ids.open()}`, { headers: { "User-Agent": agent } });

    expect(events.map((event) => event.machine)).toEqual([true]);
  });

  it("leaves the subscriber active after GET on /u/", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);

    const { response } = await fetchTracked(`/u/${ids.unsubscribe()}`, {
      headers: { "User-Agent": agent },
    });

    expect(response.status).toBe(200);
    expect((await subscriberStatus(subscribers[0].id))?.status).toBe("active");
  });
});

describe("tracking routes: machines", () => {
  it.each([
    {
      name: "Gmail's image proxy",
      agent:
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    },
    {
      name: "Yahoo's image proxy",
      agent: "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
    },
    { name: "Apple Mail Privacy Protection", agent: "Mozilla/5.0" },
  ])("records an open by $name as machine", async ({ agent }) => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);

    const { response, events } = await fetchTracked(`/o/${ids.open()}`, {
      headers: { "User-Agent": agent },
    });

    expect(response.status).toBe(200);
    expect(events).toHaveLength(1);
    expect(events[0].machine).toBe(true);
  });

  it("redirects a HEAD request and records it as machine", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);

    const { response, events } = await fetchTracked(`/c/${ids.click(0)}`, { method: "HEAD" });

    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toBe(LINKS[0].url);
    expect(events).toHaveLength(1);
    expect(events[0].machine).toBe(true);
  });

  it("records a HEAD on the pixel as machine", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);

    const { response, events } = await fetchTracked(`/o/${ids.open()}`, { method: "HEAD" });

    expect(response.status).toBe(200);
    expect(events.map((event) => event.machine)).toEqual([true]);
  });

  it("records a browser click as human", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);

    const { events } = await fetchTracked(`/c/${ids.click(0)}`, {
      headers: { "User-Agent": BROWSER_UA },
    });

    expect(events.map((event) => event.machine)).toEqual([false]);
  });
});

describe("tracking routes: errors", () => {
  it.each([
    { name: "unknown", id: "AQEBCr8yzC-Z_oE-" },
    { name: "empty-looking", id: "-" },
    { name: "over-long", id: "A".repeat(65) },
    { name: "non-base64", id: "%3Cscript%3E" },
  ])("answers 404 for an $name id", async ({ id }) => {
    const { response, events } = await fetchTracked(`/c/${id}`);

    expect(response.status).toBe(404);
    expect(response.headers.get("Location")).toBeNull();
    expect(response.headers.get("Content-Type")).toContain("text/html");
    expect(events).toEqual([]);
  });

  it("answers 404 for /c/ without an id", async () => {
    const { response } = await fetchTracked("/c/");

    expect(response.status).toBe(404);
    expect(response.headers.get("Location")).toBeNull();
  });

  it("answers 404 for a truncated id", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const id = (await idsFor(mailingId, subscribers[0].id)).click(0);

    for (let length = 1; length < id.length; length++) {
      const { response } = await fetchTracked(`/c/${id.slice(0, length)}`);
      expect(response.status, `length ${length}`).toBe(404);
    }
  });

  it("answers 404 for an id of another kind", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);

    for (const id of [ids.open(), ids.unsubscribe(), ids.web()]) {
      const { response, events } = await fetchTracked(`/c/${id}`);
      expect(response.status).toBe(404);
      expect(events).toEqual([]);
    }
  });

  it("answers 404 for a link index the mailing lacks", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);

    const { response, events } = await fetchTracked(`/c/${ids.click(7)}`);

    expect(response.status).toBe(404);
    expect(events).toEqual([]);
  });

  it("answers 404 for a deleted mailing", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);
    await fetchTracked(`/c/${ids.click(0)}`);

    await env.DB.prepare("DELETE FROM mailings WHERE id = ?").bind(mailingId).run();
    clearTrackingCaches();
    const click = await fetchTracked(`/c/${ids.click(0)}`);
    const web = await fetchTracked(`/v/${ids.web()}`);

    expect(click.response.status).toBe(404);
    expect(click.response.headers.get("Location")).toBeNull();
    expect(web.response.status).toBe(404);
  });

  it("answers 500 naming LINK_SECRET when it is missing", async () => {
    const { response } = await fetchTracked("/c/AQEBCr8yzC-Z_oE-", {}, { LINK_SECRET: "" });
    const body = (await response.json()) as { errors: { code: string; message: string }[] };

    expect(response.status).toBe(500);
    expect(body.errors[0].code).toBe("config_invalid");
    expect(body.errors[0].message).toContain("LINK_SECRET");
  });

  it("answers a bad pixel id with the GIF and status 404", async () => {
    const { response, events } = await fetchTracked("/o/AQEBANy3n75UYuzA");
    const body = new Uint8Array(await response.arrayBuffer());

    expect(response.status).toBe(404);
    expect(response.headers.get("Content-Type")).toBe("image/gif");
    expect([...body.subarray(0, 6)]).toEqual(GIF_HEADER);
    expect(events).toEqual([]);
  });

  it("answers 404 on /v/ for a recipient without a delivery", async () => {
    const { mailingId } = await startedMailing(1);
    const { subscribers: others } = await seedList(1);
    const ids = await idsFor(mailingId, others[0].id);

    const { response } = await fetchTracked(`/v/${ids.web()}`);

    expect(response.status).toBe(404);
  });
});

describe("tracking routes: security", () => {
  it("ignores any destination given in the request", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const id = (await idsFor(mailingId, subscribers[0].id)).click(0);

    for (const path of [
      `/c/${id}?url=https://evil.example/`,
      `/c/${id}?redirect=//evil.example`,
      `/c/${id}#https://evil.example`,
    ]) {
      const { response } = await fetchTracked(path, {
        headers: { Referer: "https://evil.example/", Host: "evil.example" },
      });
      expect(response.status, path).toBe(302);
      expect(response.headers.get("Location"), path).toBe(LINKS[0].url);
    }
  });

  it("answers 404 when an id is followed by another path", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const id = (await idsFor(mailingId, subscribers[0].id)).click(0);

    const { response } = await fetchTracked(`/c/${id}/https://evil.example/`);

    expect(response.status).toBe(404);
    expect(response.headers.get("Location")).toBeNull();
  });

  it("cannot reach a link of another mailing", async () => {
    const first = await seedSentMailing(1, [{ idx: 0, url: "https://first.example.com/" }]);
    const second = await seedSentMailing(1, [
      { idx: 0, url: "https://second.example.com/" },
      { idx: 1, url: "https://second.example.com/only-here" },
    ]);
    const ids = await idsFor(first.mailingId, first.subscribers[0].id);

    const zero = await fetchTracked(`/c/${ids.click(0)}`);
    const one = await fetchTracked(`/c/${ids.click(1)}`);

    expect(zero.response.headers.get("Location")).toBe("https://first.example.com/");
    expect(one.response.status).toBe(404);
    expect(second.mailingId).not.toBe(first.mailingId);
  });

  it.each([
    { name: "a javascript: URL", url: "javascript:alert(document.cookie)", hasTokens: false },
    { name: "a data: URL", url: "data:text/html,<script>alert(1)</script>", hasTokens: false },
    { name: "a protocol-relative URL", url: "//evil.example/", hasTokens: false },
    { name: "a host made of a token", url: "https://{{ subscriber.site }}/x", hasTokens: true },
    {
      name: "a host ending in a token",
      url: "https://example.com{{ subscriber.site }}/x",
      hasTokens: true,
    },
  ])("refuses to redirect to $name", async ({ url, hasTokens }) => {
    const { mailingId, subscribers } = await seedSentMailing(1, [{ idx: 0, url, hasTokens }]);
    await env.DB.prepare("UPDATE subscribers SET attributes = ? WHERE id = ?")
      .bind(JSON.stringify({ site: "evil.example" }), subscribers[0].id)
      .run();
    const ids = await idsFor(mailingId, subscribers[0].id);

    const { response, events } = await fetchTracked(`/c/${ids.click(0)}`);

    expect(response.status).toBe(404);
    expect(response.headers.get("Location")).toBeNull();
    expect(events).toEqual([]);
  });

  it.each([
    { name: "an at sign", value: "@evil.example/" },
    { name: "backslashes", value: "\\\\evil.example/" },
    { name: "a scheme", value: "https://evil.example/" },
    { name: "dot segments", value: "../../../evil.example" },
  ])("keeps the letter's host when a token holds $name", async ({ value }) => {
    const { mailingId, subscribers } = await seedSentMailing(1, [
      { idx: 0, url: "https://example.com/{{ subscriber.path }}", hasTokens: true },
    ]);
    await env.DB.prepare("UPDATE subscribers SET attributes = ? WHERE id = ?")
      .bind(JSON.stringify({ path: value }), subscribers[0].id)
      .run();
    const ids = await idsFor(mailingId, subscribers[0].id);

    const { response } = await fetchTracked(`/c/${ids.click(0)}`);
    const location = response.headers.get("Location");

    expect(response.status === 302 || response.status === 404).toBe(true);
    if (location !== null) expect(new URL(location).host).toBe("example.com");
  });

  it("rejects Jane's click id carrying John's subscriber id", async () => {
    const { mailingId, subscribers } = await seedSentMailing(2, LINKS);
    const jane = decodeId((await idsFor(mailingId, subscribers[0].id)).click(0));
    const john = decodeId((await idsFor(mailingId, subscribers[1].id)).click(0));

    // John's key id, mailing, subscriber and link index with Jane's tag.
    const replayed = Uint8Array.from(john);
    replayed.set(jane.subarray(jane.length - 8), john.length - 8);
    const { response, events } = await fetchTracked(`/c/${encodeId(replayed)}`);

    expect(jane.length).toBe(john.length);
    expect(response.status).toBe(404);
    expect(events).toEqual([]);
  });

  it("sends pages with framing and indexing switched off", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);

    const { response } = await fetchTracked(`/u/${ids.unsubscribe()}`);

    expect(response.headers.get("X-Frame-Options")).toBe("DENY");
    expect(response.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
    expect(response.headers.get("X-Robots-Tag")).toBe("noindex");
  });

  it("escapes names shown on the unsubscribe page", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    await env.DB.prepare("UPDATE mailings SET name = ? WHERE id = ?")
      .bind('<img src=x onerror="alert(1)">', mailingId)
      .run();
    const ids = await idsFor(mailingId, subscribers[0].id);

    const html = await (await fetchTracked(`/u/${ids.unsubscribe()}`)).response.text();

    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
  });

  it("hides debug routes without TRICKLE_DEBUG", async () => {
    const baseline = await fetchTracked("/c-baseline");
    const counters = await fetchTracked("/_debug/tracking");

    expect(baseline.response.status).toBe(404);
    expect(baseline.response.headers.get("Location")).toBeNull();
    expect(counters.response.status).toBe(404);
  });

  it("serves debug routes with TRICKLE_DEBUG=1", async () => {
    const debugEnv = { TRICKLE_DEBUG: "1" } as never;

    const baseline = await fetchTracked("/c-baseline", {}, debugEnv);
    const counters = await fetchTracked("/_debug/tracking", {}, debugEnv);

    expect(baseline.response.status).toBe(302);
    expect(counters.response.status).toBe(200);
    expect(await counters.response.json()).toMatchObject({
      statements: expect.any(Number),
      roundTrips: expect.any(Number),
    });
  });

  it("keeps a subscriber active when an unsubscribe id is only viewed", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);

    await fetchTracked(`/u/${ids.unsubscribe()}`, { headers: { "User-Agent": "Mimecast" } });
    await fetchTracked(`/u/${ids.unsubscribe()}`, { method: "HEAD" });

    expect((await subscriberStatus(subscribers[0].id))?.status).toBe("active");
  });
});
