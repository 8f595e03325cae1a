import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { unsubscribeReason } from "../../../src/tracking/unsubscribe";
import { stateCounts } from "../support/seed";
import {
  encodeId,
  decodeId,
  fetchTracked,
  idsFor,
  seedSentMailing,
  subscriberStatus,
} from "./support";

const LINKS = [{ idx: 0, url: "https://example.com/a" }];

/** A user agent of a mail provider's server sending RFC 8058 POSTs. */
const SERVER_UA = "Google-ListUnsubscribe/1.0";

function oneClickForm(): FormData {
  const form = new FormData();
  form.set("List-Unsubscribe", "One-Click");
  return form;
}

type Body = { name: string; init: () => RequestInit };

const CONFIRMED_BODIES: Body[] = [
  {
    name: "urlencoded",
    init: () => ({
      body: "List-Unsubscribe=One-Click",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "User-Agent": SERVER_UA },
    }),
  },
  {
    name: "multipart",
    init: () => ({ body: oneClickForm(), headers: { "User-Agent": SERVER_UA } }),
  },
  {
    name: "urlencoded without a Content-Type",
    init: () => ({ body: "List-Unsubscribe=One-Click", headers: { "User-Agent": SERVER_UA } }),
  },
  {
    name: "urlencoded with other fields",
    init: () => ({
      body: "source=footer&List-Unsubscribe=One-Click",
      headers: { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" },
    }),
  },
];

async function post(path: string, init: RequestInit) {
  return fetchTracked(path, { method: "POST", ...init });
}

describe("one-click unsubscribe: happy path", () => {
  it.each(CONFIRMED_BODIES)("unsubscribes with a $name body", async ({ init }) => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);

    const { response } = await post(`/u/${ids.unsubscribe()}`, init());
    const status = await subscriberStatus(subscribers[0].id);

    expect(response.status).toBe(200);
    expect(response.headers.get("Location")).toBeNull();
    expect(response.headers.get("Set-Cookie")).toBeNull();
    expect(await response.text()).toContain("Unsubscribed");
    expect(status?.status).toBe("unsubscribed");
    expect(status?.reason).toBe(unsubscribeReason(mailingId));
    expect(status?.changedAt).toEqual(expect.any(Number));
  });

  it("answers 2xx to the same POST twice and keeps the first time", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);

    const first = await post(`/u/${ids.unsubscribe()}`, CONFIRMED_BODIES[0].init());
    const afterFirst = await subscriberStatus(subscribers[0].id);
    const second = await post(`/u/${ids.unsubscribe()}`, CONFIRMED_BODIES[0].init());
    const afterSecond = await subscriberStatus(subscribers[0].id);

    expect(first.response.status).toBe(200);
    expect(second.response.status).toBe(200);
    expect(afterSecond).toEqual(afterFirst);
  });

  it("shows a confirm button on GET and changes nothing", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);

    const { response } = await fetchTracked(`/u/${ids.unsubscribe()}`, {
      headers: { "User-Agent": "Mozilla/5.0 (compatible; Proofpoint URL Defense)" },
    });
    const html = await response.text();

    expect(response.status).toBe(200);
    expect(html).toContain('<form method="post">');
    expect(html).toContain('name="List-Unsubscribe" value="One-Click"');
    expect(html).toContain("Test mailing");
    expect((await subscriberStatus(subscribers[0].id))?.status).toBe("active");
  });

  it("unsubscribes through the page's own form", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);
    const html = await (await fetchTracked(`/u/${ids.unsubscribe()}`)).response.text();
    const field = /name="([^"]+)" value="([^"]+)"/.exec(html)!;

    const { response } = await post(`/u/${ids.unsubscribe()}`, {
      body: new URLSearchParams({ [field[1]]: field[2] }),
    });

    expect(response.status).toBe(200);
    expect((await subscriberStatus(subscribers[0].id))?.status).toBe("unsubscribed");
  });

  it("works after the mailing was deleted", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);
    await env.DB.prepare("DELETE FROM mailings WHERE id = ?").bind(mailingId).run();

    const page = await fetchTracked(`/u/${ids.unsubscribe()}`);
    const { response } = await post(`/u/${ids.unsubscribe()}`, CONFIRMED_BODIES[0].init());

    expect(page.response.status).toBe(200);
    expect(response.status).toBe(200);
    expect((await subscriberStatus(subscribers[0].id))?.status).toBe("unsubscribed");
  });
});

describe("one-click unsubscribe: mailing in progress", () => {
  it("skips the subscriber's unsent deliveries at once", async () => {
    const sent = await seedSentMailing(2, LINKS);
    const [jane, john] = sent.subscribers;
    const inProgress = await seedSentMailing(0, LINKS);
    const handedOver = await seedSentMailing(0, LINKS);
    await env.DB.prepare(
      `INSERT INTO deliveries (mailing_id, subscriber_id, state)
       VALUES (?1, ?2, 'pending'), (?1, ?3, 'queued'), (?4, ?2, 'sending')`,
    )
      .bind(inProgress.mailingId, jane.id, john.id, handedOver.mailingId)
      .run();
    const ids = await idsFor(sent.mailingId, jane.id);

    const { response } = await post(`/u/${ids.unsubscribe()}`, CONFIRMED_BODIES[0].init());

    expect(response.status).toBe(200);
    expect((await subscriberStatus(jane.id))?.status).toBe("unsubscribed");
    expect((await subscriberStatus(john.id))?.status).toBe("active");
    expect(await deliveryState(inProgress.mailingId, jane.id)).toBe("skipped");
    expect(await deliveryState(inProgress.mailingId, john.id)).toBe("queued");
    expect(await deliveryState(sent.mailingId, jane.id)).toBe("sent");
    expect(await deliveryState(handedOver.mailingId, jane.id)).toBe("sending");
    expect(await stateCounts(inProgress.mailingId)).toEqual({ skipped: 1, queued: 1 });
  });
});

async function deliveryState(mailingId: number, subscriberId: number) {
  const row = await env.DB.prepare(
    "SELECT state FROM deliveries WHERE mailing_id = ? AND subscriber_id = ?",
  )
    .bind(mailingId, subscriberId)
    .first<{ state: string }>();
  return row?.state;
}

describe("one-click unsubscribe: errors", () => {
  it.each([
    { name: "an empty body", init: (): RequestInit => ({ body: "" }) },
    { name: "no body", init: (): RequestInit => ({}) },
    { name: "another value", init: (): RequestInit => ({ body: "List-Unsubscribe=Yes" }) },
    {
      name: "JSON",
      init: (): RequestInit => ({
        body: '{"List-Unsubscribe":"One-Click"}',
        headers: { "Content-Type": "application/json" },
      }),
    },
    {
      name: "broken multipart",
      init: (): RequestInit => ({
        body: "--x\r\nbroken",
        headers: { "Content-Type": "multipart/form-data; boundary=x" },
      }),
    },
  ])("answers 400 to $name and changes nothing", async ({ init }) => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);

    const { response } = await post(`/u/${ids.unsubscribe()}`, init());

    expect(response.status).toBe(400);
    expect(await response.text()).toContain("List-Unsubscribe=One-Click");
    expect((await subscriberStatus(subscribers[0].id))?.status).toBe("active");
  });

  it("answers 413 to a body over 16 KiB", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);

    const { response } = await post(`/u/${ids.unsubscribe()}`, {
      body: `List-Unsubscribe=One-Click&pad=${"x".repeat(20_000)}`,
    });

    expect(response.status).toBe(413);
    expect((await subscriberStatus(subscribers[0].id))?.status).toBe("active");
  });

  it("answers 200 for a subscriber who no longer exists", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);
    await env.DB.prepare("DELETE FROM subscribers WHERE id = ?").bind(subscribers[0].id).run();

    const page = await fetchTracked(`/u/${ids.unsubscribe()}`);
    const { response } = await post(`/u/${ids.unsubscribe()}`, CONFIRMED_BODIES[0].init());

    expect(page.response.status).toBe(200);
    expect(await page.response.text()).toContain("no longer on any list");
    expect(response.status).toBe(200);
  });
});

describe("one-click unsubscribe: security", () => {
  it("answers 4xx to a bad signature and changes nothing", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const bytes = decodeId((await idsFor(mailingId, subscribers[0].id)).unsubscribe());
    bytes[bytes.length - 1] ^= 0x01;

    const { response } = await post(`/u/${encodeId(bytes)}`, CONFIRMED_BODIES[0].init());

    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect((await subscriberStatus(subscribers[0].id))?.status).toBe("active");
  });

  it.each([
    { kind: "click", id: (ids: Awaited<ReturnType<typeof idsFor>>) => ids.click(0) },
    { kind: "open", id: (ids: Awaited<ReturnType<typeof idsFor>>) => ids.open() },
    { kind: "web", id: (ids: Awaited<ReturnType<typeof idsFor>>) => ids.web() },
  ])("rejects the recipient's $kind id", async ({ id }) => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);

    const { response } = await post(`/u/${id(ids)}`, CONFIRMED_BODIES[0].init());

    expect(response.status).toBe(404);
    expect((await subscriberStatus(subscribers[0].id))?.status).toBe("active");
  });

  it("never unsubscribes on GET, whatever the query", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    const ids = await idsFor(mailingId, subscribers[0].id);

    await fetchTracked(`/u/${ids.unsubscribe()}?List-Unsubscribe=One-Click`);
    await fetchTracked(`/u/${ids.unsubscribe()}?confirm=1`, { method: "HEAD" });

    expect((await subscriberStatus(subscribers[0].id))?.status).toBe("active");
  });

  it("keeps a bounced subscriber bounced", async () => {
    const { mailingId, subscribers } = await seedSentMailing(1, LINKS);
    await env.DB.prepare("UPDATE subscribers SET status = 'bounced' WHERE id = ?")
      .bind(subscribers[0].id)
      .run();
    const ids = await idsFor(mailingId, subscribers[0].id);

    const { response } = await post(`/u/${ids.unsubscribe()}`, CONFIRMED_BODIES[0].init());

    expect(response.status).toBe(200);
    expect((await subscriberStatus(subscribers[0].id))?.status).toBe("bounced");
  });
});
