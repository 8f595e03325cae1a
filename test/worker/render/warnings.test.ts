import { describe, expect, it } from "vitest";

import {
  compileLetter,
  isTrackableDestination,
  LetterError,
  validateLetter,
  type LetterIssue,
} from "../../../src/render";
import { resolveDestination } from "../../../src/tracking/destination";
import { compile, hrefs, JANE, letter, page, render, settings } from "./support";

/** Issues of a letter whose body starts on line 3 of the layout. */
function bodyIssues(body: string, overrides = {}): LetterIssue[] {
  return validateLetter(letter(page(body), overrides));
}

function codes(issues: LetterIssue[]): string[] {
  return issues.map((found) => found.code);
}

const REJECTED_URLS = [
  "https://good.example.com%2F@evil.example.net",
  "https://good.example.com%2F@evil.example.net/path",
  "https://exa mple.com/x",
  "https://exa<mple.com/",
  "https://example.com:99999/",
  "https://[::1/",
  "https:///path",
];

describe.each(REJECTED_URLS)("link the click route rejects: %s", (url) => {
  const body = `<p>\n<a href="${url}">Shop</a></p>`;

  it("is not tracked", () => {
    const result = render(page(body), { trackClicks: true, utm: true });

    expect(result.compiled.links).toEqual([]);
    expect(result.html).not.toContain("https://t.example.net/c/");
  });

  it("is left as written", () => {
    const result = render(page(body), { trackClicks: true });

    expect(hrefs(result.html)).toEqual([url]);
  });

  it("is a warning with its line", () => {
    const issues = bodyIssues(body);

    expect(issues).toEqual([
      expect.objectContaining({ severity: "warning", code: "link-untrackable", line: 4 }),
    ]);
    expect(issues[0].text).toBe(url);
  });
});

describe("tracked links", () => {
  it("all pass the click route check", () => {
    const body = [
      '<a href="https://example.com/a">a</a>',
      '<a href="https://example.com/p?id={{ id }}">b</a>',
      '<a href="HTTPS://Example.COM:8443/x#y">c</a>',
      '<a href="https://user@example.com/">d</a>',
    ].join("\n");
    const compiled = compile(page(body), { trackClicks: true, utm: true });

    expect(compiled.links).toHaveLength(4);
    for (const link of compiled.links) {
      expect(isTrackableDestination(link.url, link.hasTokens), link.url).toBe(true);
      expect(resolveDestination(1, link, JANE), link.url).not.toBeNull();
    }
  });

  it("leave a rejected link untouched with UTM on", () => {
    const url = "https://good.example.com%2F@evil.example.net/x";
    const result = render(page(`<a href="${url}">Shop</a>`), { trackClicks: true, utm: true });

    expect(hrefs(result.html)).toEqual([url]);
    expect(result.text).toContain(`Shop [${url}]`);
  });

  it("skip a rejected URL in a hand-written text part", () => {
    const url = "https://good.example.com%2F@evil.example.net/x";
    const source = letter(page("<p>Hi</p>"), {
      textBody: `Shop:\n${url}\n`,
      settings: settings({ trackClicks: true }),
    });

    const compiled = compileLetter(source, { mailingName: "m" });

    expect(compiled.links).toEqual([]);
    expect(validateLetter(source)).toEqual([
      expect.objectContaining({ code: "link-untrackable", part: "textBody", line: 2 }),
    ]);
  });
});

describe.each([
  ["<script>alert(1)</script>", "script-tag"],
  ['<img src="x.png" onerror="alert(1)">', "event-handler"],
  ['<body onload="go()">', "event-handler"],
  ['<base href="https://example.com/">', "base-href"],
  ['<meta http-equiv="refresh" content="0;url=https://example.com/">', "meta-refresh"],
  ['<meta http-equiv="Refresh" content="5">', "meta-refresh"],
  ['<a href="javascript:alert(1)">x</a>', "link-javascript"],
  ['<a href=" java\nscript:void(0)">x</a>', "link-javascript"],
])("markup mail clients strip: %s", (body, code) => {
  it("is a warning with its line", () => {
    const issues = bodyIssues(`<p>\n${body}</p>`);

    expect(issues).toEqual([expect.objectContaining({ severity: "warning", code, line: 4 })]);
  });

  it("still compiles", () => {
    expect(() => compile(page(body))).not.toThrow();
  });
});

describe("letter of javascript: links", () => {
  it("warns for every link", () => {
    const body = '<a href="javascript:a()">A</a>\n<a href="JavaScript:b()">B</a>';

    expect(codes(bodyIssues(body))).toEqual(["link-javascript", "link-javascript"]);
  });
});

describe("empty letter", () => {
  it.each(["", "   ", "\n\t\n"])("is an error for layout %j", (layout) => {
    const issues = validateLetter(letter(layout));

    expect(issues).toEqual([
      expect.objectContaining({ severity: "error", code: "letter-empty", part: "layout" }),
    ]);
    expect(() => compileLetter(letter(layout), { mailingName: "m" })).toThrow(LetterError);
  });

  it("is not an error when a block has content", () => {
    const source = letter(" ", { blocks: [{ id: "a", html: "<p>Hi</p>" }] });

    expect(codes(validateLetter(source))).not.toContain("letter-empty");
  });
});

describe("link count", () => {
  const links = (count: number) =>
    Array.from({ length: count }, (_, i) => `<a href="https://example.com/${i}">${i}</a>`).join(
      "\n",
    );

  it("warns above 1,000 links with the count", () => {
    const issues = bodyIssues(links(1001));

    expect(issues).toEqual([
      expect.objectContaining({ severity: "warning", code: "too-many-links" }),
    ]);
    expect(issues[0].message).toContain("1001 links");
  });

  it("does not warn at 1,000 links", () => {
    expect(bodyIssues(links(1000))).toEqual([]);
  });
});
