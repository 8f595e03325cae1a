import PostalMime from "postal-mime";
import { describe, expect, it } from "vitest";

import { compileLetter, renderMessage, validateLetter } from "../../../src/render";
import {
  contextFor,
  hrefs,
  JANE,
  JOHN,
  letter,
  page,
  recipient,
  render,
  settings,
} from "./support";

const HOSTILE = recipient({ firstName: "Smith & O'Brien <Ltd>" });

describe("tokens that tooling encoded or moved", () => {
  const cases = [
    [
      '<a href="https://example.com/%7B%7B%20first_name%20%7D%7D/offer">Offer</a>',
      '<a href="https://example.com/Jane/offer">Offer</a>',
    ],
    [
      '<a href="https://example.com/%7b%7bfirst_name%7d%7d/offer">Offer</a>',
      '<a href="https://example.com/Jane/offer">Offer</a>',
    ],
    ['<a href="http://{{ domain }}/x">x</a>', '<a href="http://shop.example.org/x">x</a>'],
    [
      "<table>{{ rows }}<tr><td>{{ first_name }}</td></tr></table>",
      "<table><tr><td>Jane</td></tr></table>",
    ],
    ["<p>{{%20first_name%20}}</p>", "<p>Jane</p>"],
  ];

  it.each(cases)("%s", (input, output) => {
    const subscriber = recipient({ attributes: { domain: "shop.example.org" } });
    const result = render(page(input), {}, subscriber);

    expect(result.html).toBe(page(output));
    expect(result.html + result.text).not.toMatch(/\{\{|%7B%7B/i);
  });

  it("fills a token in <title> as escaped text", () => {
    const html =
      "<html><head><title>Hi {{ first_name }} &amp; co</title></head><body><p>x</p></body></html>";

    expect(render(html, {}, HOSTILE).html).toBe(
      "<html><head><title>Hi Smith &amp; O'Brien &lt;Ltd&gt; &amp; co</title></head><body><p>x</p></body></html>",
    );
  });

  it("reports the decoded token as a warning", () => {
    const issues = validateLetter(
      letter(page('<a href="https://example.com/%7B%7B%20first_name%20%7D%7D/offer">x</a>')),
    );

    expect(issues).toEqual([
      expect.objectContaining({
        severity: "warning",
        code: "encoded-token",
        line: 3,
        text: "%7B%7B%20first_name%20%7D%7D",
      }),
    ]);
  });
});

describe("escaping by context", () => {
  it("decodes the subject to the raw value", async () => {
    const result = render(page("<p>x</p>"), {}, HOSTILE, { subject: "Hi {{ first_name }}" });
    const parsed = await PostalMime.parse(result.mime);

    expect(result.subject).toBe("Hi Smith & O'Brien <Ltd>");
    expect(parsed.subject).toBe("Hi Smith & O'Brien <Ltd>");
  });

  it("escapes HTML text", () => {
    const result = render(page("<p>Hi {{ first_name }}</p>"), {}, HOSTILE);

    expect(result.html).toContain("<p>Hi Smith &amp; O'Brien &lt;Ltd&gt;</p>");
  });

  it("escapes attribute values", () => {
    const result = render(
      page(
        '<img src="https://img.example.com/a.png" alt="{{ first_name }}" title=\'{{ first_name }}\'>',
      ),
      {},
      HOSTILE,
    );

    expect(result.html).toContain(
      "alt=\"Smith &amp; O&#39;Brien &lt;Ltd&gt;\" title='Smith &amp; O&#39;Brien &lt;Ltd&gt;'",
    );
  });

  it("percent-encodes inside a URL", () => {
    const result = render(
      page('<a href="https://example.com/?n={{ first_name }}">x</a>'),
      {},
      HOSTILE,
    );

    expect(hrefs(result.html)).toEqual([
      "https://example.com/?n=Smith%20%26%20O%27Brien%20%3CLtd%3E",
    ]);
  });

  it("percent-encodes inside non-link URL attributes", () => {
    const result = render(
      page('<img src="https://img.example.com/{{ first_name }}.png" alt="">'),
      {},
      HOSTILE,
    );

    expect(result.html).toContain(
      'src="https://img.example.com/Smith%20%26%20O%27Brien%20%3CLtd%3E.png"',
    );
  });

  it("writes the text part raw", () => {
    const result = render(page("<p>Hi {{ first_name }}</p>"), {}, HOSTILE);

    expect(result.text).toBe("Hi Smith & O'Brien <Ltd>");
  });

  it("never expands a value again", () => {
    const subscriber = recipient({ firstName: "{{ last_name }}", lastName: "Doe" });
    const result = render(page("<p>Hi {{ first_name }}</p>"), {}, subscriber, {
      subject: "Hi {{ first_name }}",
    });

    expect(result.html).toContain("<p>Hi {{ last_name }}</p>");
    expect(result.subject).toBe("Hi {{ last_name }}");
    expect(result.text).toBe("Hi {{ last_name }}");
  });

  it("keeps line breaks out of the subject", async () => {
    const subscriber = recipient({ firstName: "Eve\r\nBcc: x@example.org" });
    const result = render(page("<p>x</p>"), {}, subscriber, { subject: "Hi {{ first_name }}" });
    const parsed = await PostalMime.parse(result.mime);

    expect(result.subject).toBe("Hi Eve  Bcc: x@example.org");
    expect(parsed.headers.filter((header) => header.key === "bcc")).toEqual([]);
    expect(parsed.to?.[0]?.address).toBe(subscriber.email);
  });

  it("escapes a token in a comment as text", () => {
    const result = render(
      page("<!-- for {{ first_name }} -->"),
      {},
      recipient({ firstName: "a-->b" }),
    );

    expect(result.html).toContain("<!-- for a--&gt;b -->");
  });
});

describe("fallbacks", () => {
  it.each([
    ["missing", undefined, "Hi there,"],
    ["empty", "", "Hi there,"],
    ["blank", "  ", "Hi there,"],
    ["present", "Jane", "Hi Jane,"],
  ])("first_name %s", async (_case, firstName, expected) => {
    const subscriber = recipient({ firstName: firstName as string });
    const template = 'Hi {{ first_name | default: "there" }},';
    const result = render(page(`<p>${template}</p>`), {}, subscriber, { subject: template });
    const parsed = await PostalMime.parse(result.mime);

    expect(result.html).toContain(`<p>${expected}</p>`);
    expect(result.subject).toBe(expected);
    expect(parsed.subject).toBe(expected);
    expect(result.text).toBe(expected);
  });

  it("fills a host from the default and keeps the HTML well-formed", () => {
    const html = page('<a href="https://{{ shop_domain | default: "example.com" }}/x">Shop</a>');
    const result = render(html, {});

    expect(result.html).toBe(page('<a href="https://example.com/x">Shop</a>'));
  });

  it("accepts &quot; quotes that an HTML editor wrote", () => {
    const result = render(
      page("<p>Hi {{ first_name | default: &quot;there&quot; }}</p>"),
      {},
      recipient({ firstName: "" }),
    );

    expect(result.html).toContain("<p>Hi there</p>");
  });

  it("renders a missing attribute without default as empty text", () => {
    const result = render(page("<p>[{{ nickname }}]</p>"), {});

    expect(result.html).toContain("<p>[]</p>");
  });
});

describe("token names and filters", () => {
  const subscriber = recipient({
    id: 7,
    email: "ana@example.com",
    firstName: "ana",
    lastName: "COSTA",
    attributes: { City: "Porto", plan: "pro", signup_date: "2024-02-01", score: "x" },
  });

  it.each([
    ["{{ id }}", "7"],
    ["{{ email }}", "ana@example.com"],
    ["{{ last_name | capitalize }}", "Costa"],
    ["{{ first_name | upper }}", "ANA"],
    ["{{ last_name | lower }}", "costa"],
    ["{{ city }}", "Porto"],
    ["{{ subscriber.plan }}", "pro"],
    ["{{ subscriber.first_name }}", "ana"],
    ["{{ mailing.name }}", "Spring sale"],
    ["{{ date }}", "2026-03-14"],
    ['{{ date | date: "%-d %B %Y, %H:%M" }}', "14 March 2026, 09:30"],
    ['{{ signup_date | date: "%d/%m/%y %a" }}', "01/02/24 Thu"],
    ['{{ score | date: "%Y" | default: "n/a" }}', "n/a"],
    ['{{ plan | upper | default: "none" }}', "PRO"],
    ['{{ nothing | default: "fallback" | upper }}', "FALLBACK"],
  ])("%s", (token, expected) => {
    expect(render(page(`<p>${token}</p>`), {}, subscriber).html).toContain(`<p>${expected}</p>`);
  });

  it("fills the web and unsubscribe URLs in text", () => {
    const result = render(page("<p>{{ web_url }} {{ unsubscribe_url }}</p>"), {}, JOHN);

    expect(result.text).toBe("https://t.example.net/v/102 https://t.example.net/u/102");
  });

  it("renders different values for different recipients from one compile", () => {
    const compiled = compileLetter(
      letter(page("<p>{{ first_name }}</p>"), { settings: settings({}) }),
      { mailingName: "m" },
    );

    expect(renderMessage(compiled, JANE, contextFor(JANE)).html).toContain("<p>Jane</p>");
    expect(renderMessage(compiled, JOHN, contextFor(JOHN)).html).toContain("<p>John</p>");
  });
});

describe("preheader", () => {
  it("goes hidden right after <body> with its tokens filled", () => {
    const result = render("<html><body><p>x</p></body></html>", {}, HOSTILE, {
      preheader: "For {{ first_name }} & friends",
    });

    expect(result.html).toMatch(
      /^<html><body><div style="display:none;[^"]*">For Smith &amp; O'Brien &lt;Ltd&gt; &amp; friends<\/div><p>x<\/p>/,
    );
    expect(result.text).toBe("x");
  });

  it("adds nothing when empty", () => {
    const html = "<html><body><p>x</p></body></html>";

    expect(render(html, {}).html).toBe(html);
  });
});

describe("token name messages", () => {
  it.each(["{{ 123 }}", "{{ 9lives }}", "{{ subscriber.1st }}"])(
    "say %s must start with a letter",
    (token) => {
      const issues = validateLetter(letter(page(`<p>${token}</p>`)));

      expect(issues).toHaveLength(1);
      expect(issues[0].message).toContain("must start with a letter or _");
      expect(issues[0].message).not.toContain("letters, digits, _ and - only");
    },
  );

  it("say a token name with other characters has a bad character", () => {
    const issues = validateLetter(letter(page("<p>{{ first$name }}</p>")));

    expect(issues).toHaveLength(1);
    expect(issues[0].message).toContain("letters, digits, _ and - only");
  });

  it("report a closed token that is too long", () => {
    const issues = validateLetter(letter(page(`<p>{{ ${"a".repeat(100_000)} }}</p>`)));

    expect(issues).toEqual([expect.objectContaining({ severity: "error", code: "token-syntax" })]);
    expect(issues[0].message).toContain("at most 500 characters");
    expect(issues[0].message).not.toContain("never closed");
    expect(issues[0].text.length).toBeLessThanOrEqual(60);
  });

  it("still report a token that is never closed", () => {
    const issues = validateLetter(letter(page(`<p>{{ ${"a".repeat(1000)}</p>`)));

    expect(issues).toEqual([expect.objectContaining({ code: "token-unclosed" })]);
  });
});
