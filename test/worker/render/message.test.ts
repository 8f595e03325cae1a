import PostalMime from "postal-mime";
import { describe, expect, it } from "vitest";

import { compileLetter, renderMessage, renderWebView } from "../../../src/render";
import { contextFor, JANE, letter, page, recipient, settings, T, urlsFor } from "./support";

const HTML = page('<p>Hi {{ first_name }}</p><p><a href="https://example.com/promo">Promo</a></p>');

function compiled(overrides: Parameters<typeof letter>[1] = {}) {
  return compileLetter(
    letter(HTML, { settings: settings({ trackClicks: true, trackOpens: true }), ...overrides }),
    {
      mailingName: "Spring sale",
    },
  );
}

async function parsedMessage(
  overrides: Parameters<typeof letter>[1] = {},
  context = contextFor(JANE),
) {
  const message = renderMessage(compiled(overrides), JANE, context);
  return { message, parsed: await PostalMime.parse(message.mime) };
}

function header(
  parsed: Awaited<ReturnType<typeof PostalMime.parse>>,
  key: string,
): string | undefined {
  return parsed.headers.find((entry) => entry.key === key)?.value;
}

describe("renderMessage headers", () => {
  it("carries one-click unsubscribe and List-ID", async () => {
    const { parsed } = await parsedMessage();

    expect(header(parsed, "list-unsubscribe")).toBe(
      `<${T}/u/101>, <mailto:unsubscribe@example.com?subject=unsubscribe-101>`,
    );
    expect(header(parsed, "list-unsubscribe-post")).toBe("List-Unsubscribe=One-Click");
    expect(header(parsed, "list-id")).toBe("Spring news <list-3.trickle.example.net>");
    expect(header(parsed, "precedence")).toBe("bulk");
  });

  it("leaves out the mailto when there is none", async () => {
    const { parsed } = await parsedMessage({}, { ...contextFor(JANE), unsubscribeMailto: null });

    expect(header(parsed, "list-unsubscribe")).toBe(`<${T}/u/101>`);
  });

  it("encodes a non-ASCII list description", async () => {
    const { parsed } = await parsedMessage(
      {},
      { ...contextFor(JANE), listId: "Café news <list-3.trickle.example.net>" },
    );

    expect(header(parsed, "list-id")).toMatch(/^=\?utf-8\?/i);
    expect(header(parsed, "list-id")).toContain("<list-3.trickle.example.net>");
  });

  it("writes sender, recipient, reply-to, Message-ID and date", async () => {
    const { parsed } = await parsedMessage({
      fromName: "Trickle Café",
      replyTo: "help@example.com",
    });

    expect(parsed.from).toEqual({ name: "Trickle Café", address: "news@example.com" });
    expect(parsed.to).toEqual([{ name: "Jane Doe", address: "jane.doe@example.com" }]);
    expect(parsed.replyTo).toEqual([{ name: "", address: "help@example.com" }]);
    expect(parsed.messageId).toBe("<d101.m7@trickle.example.net>");
    expect(parsed.date).toBe("2026-03-14T09:30:00.000Z");
  });

  it("round-trips an emoji subject", async () => {
    const { parsed, message } = await parsedMessage({
      subject: "🎉 {{ first_name }}, spring is here",
    });

    expect(message.subject).toBe("🎉 Jane, spring is here");
    expect(parsed.subject).toBe("🎉 Jane, spring is here");
  });

  it("returns the parts it encoded", async () => {
    const { parsed, message } = await parsedMessage();

    expect(parsed.html?.replace(/\r\n/g, "\n")).toBe(message.html);
    expect(parsed.text?.replace(/\r\n/g, "\n").trimEnd()).toBe(message.text);
    expect(message.mime).toMatch(/\r\n\r\n/);
    expect(message.mime.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
  });

  it("keeps a hostile name out of the headers", async () => {
    const subscriber = recipient({ firstName: "Eve\r\nBcc: x@example.org" });
    const message = renderMessage(compiled(), subscriber, contextFor(subscriber));
    const parsed = await PostalMime.parse(message.mime);

    expect(header(parsed, "bcc")).toBeUndefined();
    expect(parsed.to?.[0]?.address).toBe(subscriber.email);
  });
});

describe("renderWebView", () => {
  it("is the message HTML without the open pixel", () => {
    const letterPlan = compiled();
    const message = renderMessage(letterPlan, JANE, contextFor(JANE));
    const web = renderWebView(letterPlan, JANE, urlsFor(JANE));

    expect(message.html).toContain(`<img src="${T}/o/101"`);
    expect(web).not.toContain(`${T}/o/`);
    expect(web).toBe(
      message.html.replace(/<img src="https:\/\/t\.example\.net\/o\/101"[^>]*\/>/, ""),
    );
  });

  it("fills {{ date }} from the given date", () => {
    const letterPlan = compileLetter(letter(page("<p>{{ date }}</p>")), { mailingName: "m" });

    expect(
      renderWebView(letterPlan, JANE, urlsFor(JANE), new Date("2025-12-24T00:00:00Z")),
    ).toContain("<p>2025-12-24</p>");
  });
});

describe("open pixel", () => {
  it("goes before </body> when open tracking is on", () => {
    const html = renderMessage(compiled(), JANE, contextFor(JANE)).html;

    expect(html).toMatch(
      /<\/p>\n<img src="https:\/\/t\.example\.net\/o\/101" width="1" height="1" alt="" style="[^"]*" \/><\/body><\/html>\n$/,
    );
  });

  it("is absent when open tracking is off", () => {
    const html = renderMessage(
      compiled({ settings: settings({ trackClicks: true }) }),
      JANE,
      contextFor(JANE),
    ).html;

    expect(html).not.toContain("/o/");
  });

  it("goes at the end of a letter without </body>", () => {
    const plan = compileLetter(letter("<p>Hi</p>", { settings: settings({ trackOpens: true }) }), {
      mailingName: "m",
    });

    expect(renderMessage(plan, JANE, contextFor(JANE)).html).toMatch(
      /^<p>Hi<\/p><img src="[^"]+\/o\/101"[^>]*\/>$/,
    );
  });
});
