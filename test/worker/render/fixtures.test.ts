import { parse } from "csv-parse/sync";
import { parseHTML } from "linkedom";
import PostalMime from "postal-mime";
import { describe, expect, it } from "vitest";

import {
  compileLetter,
  renderMessage,
  resolveLinkUrl,
  validateLetter,
  type LetterSource,
  type Recipient,
} from "../../../src/render";
import subscribersCsv from "../../fixtures/subscribers.csv?raw";
import cerberus from "../../fixtures/templates/cerberus--cerberus-hybrid.html?raw";
import colorlibLinked from "../../fixtures/templates/colorlib--14-business--linked.html?raw";
import colorlib from "../../fixtures/templates/colorlib--14-business.html?raw";
import leemunroe from "../../fixtures/templates/leemunroe--email-inlined.html?raw";
import postmark from "../../fixtures/templates/postmark--basic-full-welcome.html?raw";
import passwordReset from "../../fixtures/templates/sendgrid--paste-password-reset.html?raw";
import specialSale from "../../fixtures/templates/sendgrid--special_sale.html?raw";
import narrativeLinked from "../../fixtures/templates/sendwithus--narrative-reignite--linked.html?raw";
import narrative from "../../fixtures/templates/sendwithus--narrative-reignite.html?raw";
import { contextFor, letter, settings, T } from "./support";

/**
 * The fixtures as an author would save them after fixing what validation
 * rejected: bracket placeholders replaced with text, and the Handlebars
 * loop of the special-sale letter unrolled into plain HTML.
 */
const FIXTURES: Record<string, string> = {
  "cerberus--cerberus-hybrid": cerberus,
  "colorlib--14-business": colorlib,
  "colorlib--14-business--linked": colorlibLinked,
  "leemunroe--email-inlined": leemunroe,
  "postmark--basic-full-welcome": postmark
    .replaceAll("[Product Name]", "Trickle")
    .replaceAll("[Sender Name]", "Sam"),
  "sendgrid--paste-password-reset": passwordReset.replaceAll(
    "[type_of_action]",
    "a password reset",
  ),
  "sendgrid--special_sale": specialSale
    .replace(/\{\{(#each|#if|else if|\/if|\/each)[^}]*\}\}/g, "")
    .replaceAll("{{this.header}}", "Deal of the week")
    .replace(/\{\{this\.image0\d\}\}/g, "https://img.example.com/deal.png")
    .replaceAll("{{this.text}}", "Only this week.")
    .replaceAll("{{this.c2a_link}}", "https://shop.example.com/deal?id=5")
    .replaceAll("{{this.c2a_button}}", "Shop now")
    .replaceAll("[Unsubscribe_Preferences]", "{{ unsubscribe_url }}")
    .replace(/\[Sender_(\w+)\]/g, "Sender $1"),
  "sendwithus--narrative-reignite": narrative,
  "sendwithus--narrative-reignite--linked": narrativeLinked,
};

const ORIGINALS: Record<string, string> = {
  "postmark--basic-full-welcome": postmark,
  "sendgrid--paste-password-reset": passwordReset,
  "sendgrid--special_sale": specialSale,
};

/** Subscribers from the fixture CSV: a few ordinary rows and every hostile one. */
function pickSubscribers(): Recipient[] {
  const rows = parse(subscribersCsv, { columns: true, bom: true, skip_empty_lines: true }) as Array<
    Record<string, string>
  >;
  const valid = rows.filter((row) => /^[^@\s]+@[^@\s]+\.[a-z]+$/i.test(row.email.trim()));
  const hostile = valid.filter((row) =>
    /[<>{}\r\n\\]|[^\x00-\x7f]/.test(Object.values(row).join("")),
  );
  const picked = [...valid.slice(0, 3), ...hostile];

  return picked.map((row, i) => ({
    id: 1000 + i,
    email: row.email.trim(),
    firstName: row.first_name,
    lastName: row.last_name,
    attributes: {
      city: row.city,
      plan: row.plan,
      signup_date: row.signup_date,
      action_url: "https://app.example.com/welcome?step=1",
      name: row.first_name,
    },
    listIds: [1],
  }));
}

const SUBSCRIBERS = pickSubscribers();

function source(layout: string, switches: Parameters<typeof settings>[0]): LetterSource {
  return letter(layout, {
    subject: 'Hi {{ first_name | default: "there" }}, news from {{ city }}',
    preheader: "This week for {{ first_name }}",
    settings: settings(switches),
  });
}

/** Anchors as linkedom reads them: decoded href values, in document order. */
function anchorHrefs(html: string): Array<string | null> {
  const { document } = parseHTML(html);
  return [...document.querySelectorAll("a")].map((anchor) => anchor.getAttribute("href"));
}

/** Foreign unsubscribe placeholders that validation translates to `{{ unsubscribe_url }}`. */
const TRANSLATED_UNSUBSCRIBE = /^\[unsubscribe\]$|^<%asm_(?:global|group)_unsubscribe_raw_url%>$/i;

function countConditionals(html: string): number[] {
  return [/<!--\[if/g, /<!\[if/g, /<!\[endif\]/g].map(
    (pattern) => html.match(pattern)?.length ?? 0,
  );
}

/** Removes the recipient's own data from the output, so a `{{x}}` first name is not taken for a leak. */
function withoutRecipientData(output: string, subscriber: Recipient): string {
  let rest = output;
  for (const value of [subscriber.firstName, subscriber.lastName, subscriber.attributes.city]) {
    if (value.trim() === "") continue;
    const forms = [value, value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")];
    for (const form of forms) rest = rest.split(form).join("");
  }
  return rest;
}

it("picks ordinary and hostile subscribers", () => {
  const names = SUBSCRIBERS.map((subscriber) => subscriber.firstName);

  expect(names).toContain("<b>Bold</b>");
  expect(names).toContain("{{x}}");
  expect(names).toContain("Eve\r\nBcc: x@example.org");
  expect(names).toContain("ليلى");
  expect(names).toContain("Zoë 🎉");
});

describe("fixtures as saved", () => {
  it("rejects the Handlebars letter with line numbers", () => {
    const issues = validateLetter(source(ORIGINALS["sendgrid--special_sale"], {}));
    const handlebars = issues.filter(
      (issue) => issue.text.startsWith("{{#") || issue.text.startsWith("{{/"),
    );

    expect(handlebars.map((issue) => [issue.text, issue.line])).toEqual([
      ["{{#each user.w_deal}}", 145],
      ["{{#if this.deal01}}", 146],
      ["{{/if}}", 535],
      ["{{/each}}", 536],
    ]);
  });

  it("rejects bracket placeholders and translates [unsubscribe]", () => {
    const issues = validateLetter(source(ORIGINALS["sendgrid--paste-password-reset"], {}));

    expect(issues.map((issue) => [issue.severity, issue.text, issue.line])).toEqual([
      ["error", "[type_of_action]", 285],
      ["error", "[type_of_action]", 285],
      ["warning", "[unsubscribe]", 290],
    ]);
  });

  it("rejects the Postmark product placeholders", () => {
    const errors = validateLetter(source(ORIGINALS["postmark--basic-full-welcome"], {})).filter(
      (issue) => issue.severity === "error",
    );

    expect(new Set(errors.map((issue) => issue.text))).toEqual(
      new Set(["[Product Name]", "[Sender Name]"]),
    );
    expect(errors.map((issue) => issue.line)).toEqual([458, 466, 479, 479, 544, 544, 545, 566]);
  });
});

describe.each(Object.entries(FIXTURES))("fixture %s", (name, layout) => {
  it("validates without errors once translated", () => {
    const errors = validateLetter(source(layout, {})).filter((issue) => issue.severity === "error");

    expect(errors).toEqual([]);
  });

  it("tracks every http(s) link and leaves the others alone", () => {
    const compiled = compileLetter(
      source(layout, { trackClicks: true, trackOpens: true, utm: true }),
      { mailingName: name },
    );
    const before = anchorHrefs(layout);

    for (const subscriber of SUBSCRIBERS) {
      const { html } = renderMessage(compiled, subscriber, contextFor(subscriber));
      const after = anchorHrefs(html);
      expect(after.length).toBe(before.length);

      before.forEach((href, i) => {
        const value = href?.trim() ?? null;
        if (value && /^https?:\/\/[^/?#{]+(?:[/?#]|$)/i.test(value)) {
          expect(after[i]).toMatch(new RegExp(`^${T}/c/${subscriber.id}-\\d+$`));
        } else if (value && TRANSLATED_UNSUBSCRIBE.test(value)) {
          expect(after[i]).toBe(`${T}/u/${subscriber.id}`);
        } else if (value?.includes("{{")) {
          expect(after[i]).not.toContain("{{");
        } else {
          expect(after[i]).toBe(href);
        }
      });
    }
  });

  it("keeps conditional comments and leaks no placeholder", async () => {
    const compiled = compileLetter(
      source(layout, { trackClicks: true, trackOpens: true, utm: true }),
      { mailingName: name },
    );

    for (const subscriber of SUBSCRIBERS) {
      const message = renderMessage(compiled, subscriber, contextFor(subscriber));
      expect(countConditionals(message.html)).toEqual(countConditionals(layout));

      const output = withoutRecipientData(
        message.html + message.text + message.subject,
        subscriber,
      );
      expect(output).not.toMatch(/\{\{|%7B%7B|\*\||<%|\[Product Name\]/i);
      expect(message.text).not.toMatch(/[\uFFF0\uFFF1]/);
      expect(message.html).toContain(`<img src="${T}/o/${subscriber.id}"`);
    }
  });

  it("builds messages that parse back to the rendered parts", async () => {
    const compiled = compileLetter(
      source(layout, { trackClicks: true, trackOpens: true, utm: true }),
      { mailingName: name },
    );

    for (const subscriber of SUBSCRIBERS) {
      const message = renderMessage(compiled, subscriber, contextFor(subscriber));
      const parsed = await PostalMime.parse(message.mime);
      const header = (key: string) => parsed.headers.find((entry) => entry.key === key)?.value;

      expect(parsed.subject).toBe(message.subject);
      expect(parsed.html?.replace(/\r\n/g, "\n")).toBe(message.html.replace(/\r\n/g, "\n"));
      expect(parsed.text?.replace(/\r\n/g, "\n").trimEnd()).toBe(
        message.text.replace(/\r\n/g, "\n").trimEnd(),
      );
      expect(parsed.to?.[0]?.address).toBe(subscriber.email);
      expect(header("bcc")).toBeUndefined();
      expect(header("list-unsubscribe")).toBe(
        `<${T}/u/${subscriber.id}>, <mailto:unsubscribe@example.com?subject=unsubscribe-${subscriber.id}>`,
      );
      expect(header("list-unsubscribe-post")).toBe("List-Unsubscribe=One-Click");
      expect(header("list-id")).toBe("Spring news <list-3.trickle.example.net>");
    }
  });

  it("renders the same bytes twice", () => {
    const switches = { trackClicks: true, trackOpens: true, utm: true };
    const first = compileLetter(source(layout, switches), { mailingName: name });
    const second = compileLetter(source(layout, switches), { mailingName: name });

    for (const subscriber of SUBSCRIBERS) {
      const a = renderMessage(first, subscriber, contextFor(subscriber)).mime;
      expect(renderMessage(first, subscriber, contextFor(subscriber)).mime).toBe(a);
      expect(renderMessage(second, subscriber, contextFor(subscriber)).mime).toBe(a);
    }
  });

  it("stores destinations that resolve without tokens", () => {
    const compiled = compileLetter(source(layout, { trackClicks: true, utm: true }), {
      mailingName: name,
    });

    for (const link of compiled.links) {
      for (const subscriber of SUBSCRIBERS) {
        const url = resolveLinkUrl(link, subscriber);
        expect(url).toMatch(/^https?:\/\//i);
        expect(url).not.toMatch(/[{}\s]|[^\x00-\x7f]/);
        expect(url).toContain("utm_medium=");
      }
    }
  });

  it("is byte-identical with every switch off when nothing needs filling", () => {
    if (validateLetter(letter(layout)).length > 0 || layout.includes("{{")) return;
    const compiled = compileLetter(letter(layout, { settings: settings({}) }), {
      mailingName: name,
    });

    expect(renderMessage(compiled, SUBSCRIBERS[0], contextFor(SUBSCRIBERS[0])).html).toBe(layout);
  });

  it("makes a readable text part", () => {
    const compiled = compileLetter(source(layout, { trackClicks: true }), { mailingName: name });
    const { text } = renderMessage(compiled, SUBSCRIBERS[0], contextFor(SUBSCRIBERS[0]));

    expect(text.length).toBeGreaterThan(100);
    expect(text).not.toMatch(/<\/?(?:td|p|div|table)\b/i);
    if (compiled.links.length > 0)
      expect(text).toMatch(new RegExp(`\\[${T}/c/${SUBSCRIBERS[0].id}-\\d+\\]`));
  });
});
