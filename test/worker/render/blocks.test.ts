import { describe, expect, it } from "vitest";

import {
  compileLetter,
  renderMessage,
  validateLetter,
  type LetterBlock,
} from "../../../src/render";
import { contextFor, JANE, JOHN, letter, recipient, settings } from "./support";

const LAYOUT = "<html><body>\n<h1>News</h1>\n{{ content }}\n<p>Bye</p>\n</body></html>";

function renderBlocks(blocks: LetterBlock[], subscriber = JANE, layout = LAYOUT) {
  const source = letter(layout, { blocks, settings: settings({}) });
  const compiled = compileLetter(source, { mailingName: "m" });
  return renderMessage(compiled, subscriber, contextFor(subscriber));
}

/** Returns whether a block with this condition is shown to the subscriber. */
function shows(condition: unknown, subscriber = JANE): boolean {
  const html = renderBlocks([{ id: "b", html: "<p>SHOWN</p>", condition }], subscriber).html;
  return html.includes("SHOWN");
}

describe("block conditions", () => {
  const ana = recipient({
    firstName: "Ana",
    email: "ana@example.org",
    attributes: {
      city: " Berlin ",
      plan: "Pro",
      score: "42",
      signup_date: "2024-02-01",
      empty: "  ",
    },
    listIds: [3, 9],
  });

  it.each([
    [{ field: "city", op: "eq", value: "berlin" }, true],
    [{ field: "city", op: "eq", value: "Paris" }, false],
    [{ field: "city", op: "ne", value: "Paris" }, true],
    [{ field: "missing", op: "ne", value: "Paris" }, true],
    [{ field: "plan", op: "in", values: ["free", "pro"] }, true],
    [{ field: "plan", op: "not_in", values: ["free", "basic"] }, true],
    [{ field: "plan", op: "not_in", values: ["pro"] }, false],
    [{ field: "city", op: "exists" }, true],
    [{ field: "empty", op: "exists" }, false],
    [{ field: "missing", op: "empty" }, true],
    [{ field: "empty", op: "empty" }, true],
    [{ field: "score", op: "gt", value: 41 }, true],
    [{ field: "score", op: "gte", value: 42 }, true],
    [{ field: "score", op: "lt", value: 42 }, false],
    [{ field: "score", op: "lte", value: 42.5 }, true],
    [{ field: "city", op: "lt", value: 100 }, false],
    [{ field: "city", op: "gt", value: -100 }, false],
    [{ field: "signup_date", op: "before", value: "2024-03-01" }, true],
    [{ field: "signup_date", op: "after", value: "2024-03-01" }, false],
    [{ field: "signup_date", op: "on_or_after", value: "2024-02-01" }, true],
    [{ field: "signup_date", op: "on_or_before", value: "2024-01-31T23:59:59Z" }, false],
    [{ field: "city", op: "before", value: "2030-01-01" }, false],
    [{ field: "first_name", op: "eq", value: "ana" }, true],
    [{ field: "subscriber.plan", op: "eq", value: "pro" }, true],
    [{ field: "email", op: "eq", value: "ANA@example.org" }, true],
    [{ op: "in_list", list: 9 }, true],
    [{ op: "in_list", list: 4 }, false],
    [{ op: "not_in_list", list: 4 }, true],
    [
      {
        all: [
          { field: "plan", op: "eq", value: "pro" },
          { op: "in_list", list: 3 },
        ],
      },
      true,
    ],
    [
      {
        all: [
          { field: "plan", op: "eq", value: "pro" },
          { op: "in_list", list: 4 },
        ],
      },
      false,
    ],
    [
      {
        any: [
          { field: "plan", op: "eq", value: "free" },
          { op: "in_list", list: 3 },
        ],
      },
      true,
    ],
    [
      {
        any: [
          { field: "plan", op: "eq", value: "free" },
          { op: "in_list", list: 4 },
        ],
      },
      false,
    ],
    [{ not: { field: "plan", op: "eq", value: "free" } }, true],
    [null, true],
  ])("%j is %s", (condition, expected) => {
    expect(shows(condition, ana)).toBe(expected);
  });
});

describe.each([
  ["a string", "city = Berlin", "condition"],
  ["an unknown op", { field: "city", op: "equals", value: "x" }, "condition.op"],
  ["a missing field", { op: "eq", value: "x" }, "condition.field"],
  ["a system field", { field: "unsubscribe_url", op: "exists" }, "condition.field"],
  ["a bad field name", { field: "first name", op: "exists" }, "condition.field"],
  ["a number op on text", { field: "score", op: "gt", value: "10" }, "condition.value"],
  [
    "a date op on a bad date",
    { field: "signup_date", op: "before", value: "03/01/2024" },
    "condition.value",
  ],
  [
    "an impossible date",
    { field: "signup_date", op: "before", value: "2025-02-30" },
    "condition.value",
  ],
  ["an empty values list", { field: "plan", op: "in", values: [] }, "condition.values"],
  ["an object value", { field: "plan", op: "eq", value: { a: 1 } }, "condition.value"],
  ["a bad list id", { op: "in_list", list: "3" }, "condition.list"],
  ["an empty all", { all: [] }, "condition.all"],
  ["a typo key", { field: "plan", op: "eq", valeu: "pro" }, "condition.valeu"],
  [
    "a nested problem",
    { any: [{ field: "plan", op: "eq", value: "pro" }, { not: { op: "nope" } }] },
    "condition.any[1].not.op",
  ],
])("a condition with %s", (_name, condition, path) => {
  it("is an error naming the path", () => {
    const source = letter(LAYOUT, { blocks: [{ id: "vip", html: "<p>x</p>", condition }] });
    const issues = validateLetter(source).filter((issue) => issue.code === "condition-invalid");

    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]).toMatchObject({ severity: "error", part: "block vip", line: 0 });
    expect(issues.map((issue) => issue.message).join("\n")).toContain(`${path}:`);
  });
});

it("rejects conditions nested too deep", () => {
  let condition: unknown = { field: "plan", op: "exists" };
  for (let i = 0; i < 12; i++) condition = { not: condition };
  const issues = validateLetter(
    letter(LAYOUT, { blocks: [{ id: "deep", html: "<p>x</p>", condition }] }),
  );

  expect(issues).toEqual([expect.objectContaining({ code: "condition-invalid" })]);
});

describe("blocks in the letter", () => {
  const blocks: LetterBlock[] = [
    { id: "intro", html: "<p>Hello {{ first_name }}</p>" },
    {
      id: "berlin",
      html: '<p>Berlin: <a href="https://example.com/berlin">events</a></p>',
      condition: { field: "city", op: "eq", value: "Berlin" },
    },
    {
      id: "paris",
      html: "<p>Paris only</p>",
      condition: { field: "city", op: "eq", value: "Paris" },
    },
  ];

  it("shows each recipient the matching blocks in order", () => {
    expect(renderBlocks(blocks, JANE).html).toBe(
      '<html><body>\n<h1>News</h1>\n<p>Hello Jane</p><p>Berlin: <a href="https://example.com/berlin">events</a></p>\n<p>Bye</p>\n</body></html>',
    );
    expect(renderBlocks(blocks, JOHN).html).toBe(
      "<html><body>\n<h1>News</h1>\n<p>Hello John</p><p>Paris only</p>\n<p>Bye</p>\n</body></html>",
    );
  });

  it("leaves no blank lines for hidden blocks in the text part", () => {
    expect(renderBlocks(blocks, JANE).text).toBe(
      "News\n\nHello Jane\n\nBerlin: events [https://example.com/berlin]\n\nBye",
    );
    expect(renderBlocks(blocks, JOHN).text).toBe("News\n\nHello John\n\nParis only\n\nBye");
    expect(renderBlocks(blocks, recipient({ attributes: { city: "Oslo" } })).text).toBe(
      "News\n\nHello Jane\n\nBye",
    );
  });

  it("drops a hidden first block from the text part cleanly", () => {
    const layout = "<html><body>{{ content }}<p>Tail</p></body></html>";
    const only = [
      { id: "p", html: "<p>Paris</p>", condition: { field: "city", op: "eq", value: "Paris" } },
    ];

    expect(renderBlocks(only, JANE, layout).text).toBe("Tail");
    expect(renderBlocks(only, JOHN, layout).text).toBe("Paris\n\nTail");
  });

  it("numbers links of hidden blocks too, so every recipient shares the link table", () => {
    const source = letter(LAYOUT, { blocks, settings: settings({ trackClicks: true }) });
    const compiled = compileLetter(source, { mailingName: "m" });

    expect(compiled.links).toEqual([
      { idx: 0, url: "https://example.com/berlin", hasTokens: false },
    ]);
    expect(renderMessage(compiled, JOHN, contextFor(JOHN)).html).not.toContain("/c/");
  });

  it("appends blocks before </body> when the layout has no slot", () => {
    const html = renderBlocks(
      [{ id: "a", html: "<p>A</p>" }],
      JANE,
      "<html><body><p>Top</p></body></html>",
    ).html;

    expect(html).toBe("<html><body><p>Top</p><p>A</p></body></html>");
  });

  it("puts the open pixel after the blocks", () => {
    const source = letter("<html><body><p>Top</p></body></html>", {
      blocks: [{ id: "a", html: "<p>A</p>" }],
      settings: settings({ trackOpens: true }),
    });
    const html = renderMessage(
      compileLetter(source, { mailingName: "m" }),
      JANE,
      contextFor(JANE),
    ).html;

    expect(html).toMatch(
      /<p>A<\/p><img src="https:\/\/t\.example\.net\/o\/101" width="1" height="1" alt="" [^>]*\/><\/body><\/html>$/,
    );
  });
});
