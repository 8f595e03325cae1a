/**
 * The main job end to end on real input: the fixture CSV imported through
 * the API, a real fixture letter, the cron pick, the real send queue and its
 * consumer, and the loopback SMTP server.
 */
import { createScheduledController, env, SELF } from "cloudflare:test";
import PostalMime from "postal-mime";
import { describe, expect, it } from "vitest";
import worker from "../../../src/index";
import csv from "../../fixtures/subscribers.csv?raw";
import template from "../../fixtures/templates/leemunroe--email-inlined.html?raw";
import { receivedFor, waitFor } from "../support/mailbox";

const AUTH = { authorization: "Bearer test-admin-token" };

async function api<T>(method: string, path: string, body?: unknown, type = "application/json") {
  const response = await SELF.fetch(`https://t.example.net/api${path}`, {
    method,
    headers: { ...AUTH, "content-type": type },
    body: encodeBody(body),
  });
  const text = await response.text();
  expect(response.ok, `${method} ${path}: ${response.status} ${text}`).toBe(true);
  return JSON.parse(text) as T;
}

function encodeBody(body: unknown): string | undefined {
  if (body === undefined) return undefined;
  if (typeof body === "string") return body;
  return JSON.stringify(body);
}

/** Absolute http(s) hrefs of an HTML part, entities decoded. */
function httpLinks(html: string): string[] {
  const links: string[] = [];
  for (const match of html.matchAll(/\shref\s*=\s*(?:"([^"]*)"|'([^']*)')/gi)) {
    const href = (match[1] ?? match[2]).replaceAll("&amp;", "&");
    if (/^https?:/i.test(href)) links.push(href);
  }
  return links;
}

describe("mailing of the fixture letter to the fixture list", () => {
  it("reaches every subscriber once, personalized and tracked", async () => {
    const { list } = await api<{ list: { id: number } }>("POST", "/lists", {
      name: "Fixture list",
    });
    const imported = await api<{ imported: number }>(
      "POST",
      `/lists/${list.id}/import`,
      csv,
      "text/csv",
    );
    expect(imported.imported).toBe(196);

    const layout = template.replace(">Hi there<", '>Hi {{ first_name | default: "there" }},<');
    const { letter } = await api<{ letter: { id: number } }>("POST", "/letters", {
      name: "Fixture letter",
      subject: 'News for {{ first_name | default: "you" }}',
      fromName: "Trickle Demo",
      fromEmail: "news@example.com",
      layout,
      settings: {
        trackClicks: true,
        trackOpens: true,
        utm: { source: "newsletter", medium: "email" },
      },
    });
    const { mailing } = await api<{ mailing: { id: number } }>("POST", "/mailings", {
      name: "Fixture mailing",
      letterId: letter.id,
      listId: list.id,
    });
    const started = await api<{ mailing: { total: number } }>(
      "POST",
      `/mailings/${mailing.id}/start`,
    );
    expect(started.mailing.total).toBe(196);

    const { results: subscribers } = await env.DB.prepare(
      `SELECT s.email, s.first_name AS firstName FROM subscribers s
         JOIN list_members m ON m.subscriber_id = s.id WHERE m.list_id = ?`,
    )
      .bind(list.id)
      .all<{ email: string; firstName: string }>();
    const emails = subscribers.map((subscriber) => subscriber.email);

    // Tick the cron until every delivery is final; the real queue consumer sends.
    await waitFor(
      async () => {
        await worker.scheduled(createScheduledController({ scheduledTime: Date.now() }), env);
        const row = await env.DB.prepare("SELECT status FROM mailings WHERE id = ?")
          .bind(mailing.id)
          .first<{ status: string }>();
        return row?.status === "done";
      },
      60_000,
      "the mailing to finish",
    );

    const received = await receivedFor(emails);
    expect(received).toHaveLength(196);
    expect(new Set(received.map((message) => message.to[0])).size).toBe(196);

    const destinations = new Set(httpLinks(template));
    const names = new Map(subscribers.map((s) => [s.email, s.firstName]));
    for (const message of received) {
      const parsed = await PostalMime.parse(message.raw);
      const recipient = message.to[0];
      expect(parsed.to?.[0]?.address).toBe(recipient);
      // A subscriber literally named "{{x}}" gets that name, never expanded.
      const withoutOwnName = message.raw.replaceAll(names.get(recipient)!, "");
      const leak = withoutOwnName.indexOf("{{");
      expect(leak, withoutOwnName.slice(Math.max(0, leak - 300), leak + 100)).toBe(-1);

      const name = names.get(recipient)!.trim().replace(/\r\n?/g, "\n");
      if (name) expect(parsed.text, recipient).toContain(`Hi ${name}`);

      const links = httpLinks(parsed.html ?? "");
      expect(links.length).toBeGreaterThan(0);
      for (const link of links) expect(link, recipient).toMatch(/^https:\/\/t\.example\.net\/c\//);
    }

    // Each tracked link of the first message redirects to its original destination.
    const first = await PostalMime.parse(received[0].raw);
    for (const link of httpLinks(first.html ?? "")) {
      const response = await SELF.fetch(link, { redirect: "manual" });
      expect(response.status, link).toBe(302);
      const location = response.headers.get("location")!;
      const original = location.replace(/[?&]utm_source=newsletter&utm_medium=email$/, "");
      // A URL with an empty path gains its "/" before the appended query.
      const found = destinations.has(original) || destinations.has(original.replace(/\/$/, ""));
      expect(found, location).toBe(true);
    }
  });
});
