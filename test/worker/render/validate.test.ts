import { describe, expect, it } from "vitest";

import { compileLetter, LetterError, validateLetter, type LetterIssue } from "../../../src/render";
import { letter, page, render } from "./support";

/** Issues of a letter whose body is `body`, on line 3 of the layout. */
function bodyIssues(body: string): LetterIssue[] {
  return validateLetter(letter(page(body)));
}

describe.each([
  ["{{ first name }}", "token-syntax"],
  ["{{ }}", "token-syntax"],
  ["{{ first_name | nosuch }}", "token-syntax"],
  ["{{ first_name | default: there }}", "token-syntax"],
  ["{{ first_name | default }}", "token-syntax"],
  ['{{ first_name | upper: "x" }}', "token-syntax"],
  ['{{ signup_date | date: "%Q" }}', "token-syntax"],
  ['{{ first_name | default: "open }}', "token-unclosed"],
  ["{{ first_name", "token-unclosed"],
  ["{{ mailing.id }}", "token-syntax"],
  ["{{ foo.bar }}", "token-syntax"],
  ["{{ 9lives }}", "token-syntax"],
  ["{{- first_name -}}", "foreign-placeholder"],
])("invalid token %s", (token, code) => {
  it("is an error with its line", () => {
    const issues = bodyIssues(`<p>\nHi ${token}</p>`);

    expect(issues).toEqual([
      expect.objectContaining({ severity: "error", code, line: 4, part: "layout" }),
    ]);
    expect(issues[0].text).toContain(token.slice(0, 12));
  });
});

describe.each([
  ["{{#if vip}}", "Handlebars"],
  ["{{/if}}", "Handlebars"],
  ["{{else}}", "Handlebars"],
  ["{{> footer}}", "Handlebars"],
  ["{{this.header}}", "Handlebars"],
  ["{{{first_name}}}", "triple-stash"],
  ["{% if vip %}", "Liquid"],
  ["*|MC_PREVIEW_TEXT|*", "Mailchimp"],
  ["*|CITY|*", "{{ city }}"],
  ["[Product Name]", "placeholder"],
  ["[Sender_Name]", "placeholder"],
  ["<%= user.name %>", "ERB"],
  ["%%Member_Busname%%", "Salesforce"],
  ["%%[ set @x = 1 ]%%", "AMPscript"],
  ["%%=v(@x)=%%", "AMPscript"],
])("foreign placeholder %s", (placeholder, mentioned) => {
  it("is an error naming it", () => {
    const issues = bodyIssues(`<p>Hi ${placeholder}</p>`);

    expect(issues).toEqual([
      expect.objectContaining({ severity: "error", line: 3, text: placeholder }),
    ]);
    expect(issues[0].message).toContain(mentioned);
  });

  it("stops the compile", () => {
    expect(() =>
      compileLetter(letter(page(`<p>${placeholder}</p>`)), { mailingName: "m" }),
    ).toThrow(LetterError);
  });
});

describe.each([
  ["*|FNAME|*", "{{ first_name }}", "Jane"],
  ["*|LNAME|*", "{{ last_name }}", "Doe"],
  ["*|EMAIL|*", "{{ email }}", "jane.doe@example.com"],
  ["*|UNSUB|*", "{{ unsubscribe_url }}", "https://t.example.net/u/101"],
  ["*|ARCHIVE|*", "{{ web_url }}", "https://t.example.net/v/101"],
  ["[unsubscribe]", "{{ unsubscribe_url }}", "https://t.example.net/u/101"],
  ["<%asm_global_unsubscribe_raw_url%>", "{{ unsubscribe_url }}", "https://t.example.net/u/101"],
  ["%%FirstName%%", "{{ first_name }}", "Jane"],
  ["%%first_name%%", "{{ first_name }}", "Jane"],
  ["%%emailaddr%%", "{{ email }}", "jane.doe@example.com"],
  ["%%view_email_url%%", "{{ web_url }}", "https://t.example.net/v/101"],
])("translated placeholder %s", (placeholder, token, value) => {
  it("is a warning naming the token", () => {
    const issues = bodyIssues(`<p>${placeholder}</p>`);

    expect(issues).toEqual([
      expect.objectContaining({
        severity: "warning",
        code: "translated-placeholder",
        line: 3,
        text: placeholder,
      }),
    ]);
    expect(issues[0].message).toContain(token);
  });

  it("renders as the token", () => {
    expect(render(page(`<p>${placeholder}</p>`)).html).toContain(`<p>${value}</p>`);
  });

  it("works in an href", () => {
    const result = render(page(`<a href="${placeholder}">x</a>`));

    expect(result.html).not.toContain(placeholder);
  });
});

describe.each([
  ["<style>p { color: {{ color }} }</style>", "token-in-raw-text"],
  ["<script>var n = '{{ first_name }}'</script>", "token-in-raw-text"],
  ["<td {{ attrs }}>x</td>", "token-in-tag"],
  ["<{{ tag }}>x</p>", "token-in-tag"],
  ["<a href={{ url }}>x</a>", "token-unquoted-attribute"],
  ['<a href="{{ base_url }}/offer">x</a>', "token-url-start"],
  ['<img src="{{ cdn }}/logo.png">', "token-url-start"],
  ['<a href="{{ content }}">x</a>', "content-slot-misplaced"],
])("token in the wrong place: %s", (body, code) => {
  it("is an error", () => {
    const errors = bodyIssues(body).filter((found) => found.severity === "error");

    expect(errors).toEqual([expect.objectContaining({ severity: "error", code, line: 3 })]);
  });
});

describe.each([
  ['<a href="{{ unsubscribe_url }}#top">x</a>'],
  ['<a href=" {{ web_url }}?ref=footer">x</a>'],
  ['<a href="{{ offer_url }}">x</a>'],
  ['<a href="https://example.com/?u={{ unsubscribe_url }}">x</a>'],
  ["<p>[1] and [a](b) and <!-- [note] --></p>"],
  ["<style>a:not([class]) { color: red }</style>"],
  ['<p style="width:100%">50% and 100%</p>'],
])("valid %s", (body) => {
  it("has no issues", () => {
    expect(bodyIssues(body)).toEqual([]);
  });
});

describe("the content slot", () => {
  it("is only valid in the layout", () => {
    const issues = validateLetter(
      letter(page("{{ content }}"), { blocks: [{ id: "a", html: "<p>{{ content }}</p>" }] }),
    );

    expect(issues).toEqual([
      expect.objectContaining({ code: "content-slot-misplaced", part: "block a", line: 1 }),
    ]);
  });

  it("appears once", () => {
    const issues = bodyIssues("{{ content }}\n{{ content }}");

    expect(issues).toEqual([expect.objectContaining({ code: "content-slot-repeated", line: 4 })]);
  });
});

describe.each([
  [{ id: "", html: "<p>x</p>" }, "block-invalid"],
  [{ id: "a", html: 5 }, "block-invalid"],
  [{ id: "a", html: '<p>x</p><a href="x' }, "block-unterminated"],
  [{ id: "a", html: "<p>x</p><!-- open" }, "block-unterminated"],
  [{ id: "a", html: "<style>p{}" }, "block-unterminated"],
])("invalid block %j", (block, code) => {
  it("is an error", () => {
    const issues = validateLetter(letter(page("{{ content }}"), { blocks: [block as never] }));

    expect(issues).toEqual([expect.objectContaining({ severity: "error", code })]);
  });
});

it("rejects repeated block ids", () => {
  const blocks = [
    { id: "a", html: "<p>1</p>" },
    { id: "a", html: "<p>2</p>" },
  ];

  expect(validateLetter(letter(page("{{ content }}"), { blocks }))).toEqual([
    expect.objectContaining({ code: "block-invalid", text: "a" }),
  ]);
});

describe.each([
  ["fromEmail", "not-an-address", "from-invalid"],
  ["fromName", "Shop\r\nBcc: x@example.org", "from-invalid"],
  ["fromName", "{{ first_name }} at Shop", "from-invalid"],
  ["replyTo", "nobody", "reply-to-invalid"],
  ["subject", "", "subject-missing"],
  ["subject", "Hi\nthere", "subject-line-break"],
  ["settings", { trackClicks: "yes", trackOpens: false, utm: null }, "settings-invalid"],
  ["settings", { trackClicks: true, trackOpens: false, utm: { source: 5 } }, "settings-invalid"],
  ["settings", { trackClicks: true, trackOpens: false, utm: { soruce: "x" } }, "settings-invalid"],
])("invalid %s %j", (field, value, code) => {
  it("is an error", () => {
    const issues = validateLetter(letter(page("<p>x</p>"), { [field]: value }));

    expect(issues).toEqual([expect.objectContaining({ severity: "error", code })]);
  });
});

describe("tokens in text parts", () => {
  it("reports subject tokens on the subject", () => {
    const issues = validateLetter(letter(page("<p>x</p>"), { subject: "Hi {{ first name }}" }));

    expect(issues).toEqual([
      expect.objectContaining({ code: "token-syntax", part: "subject", line: 1 }),
    ]);
  });

  it("reports text body lines", () => {
    const issues = validateLetter(
      letter(page("<p>x</p>"), { textBody: "Hi\n\n*|FNAME|*\n[Sender Name]" }),
    );

    expect(issues.map((issue) => [issue.severity, issue.line])).toEqual([
      ["warning", 3],
      ["error", 4],
    ]);
  });
});

describe("unknown attributes", () => {
  const source = letter(
    page('<p>{{ city }} {{ nickname }} {{ vip | default: "no" }} {{ first_name }}</p>'),
  );

  it("are not reported without a list of attributes", () => {
    expect(validateLetter(source)).toEqual([]);
  });

  it("are warnings when the attributes are given", () => {
    expect(validateLetter(source, { attributes: ["city", "plan"] })).toEqual([
      expect.objectContaining({
        severity: "warning",
        code: "unknown-attribute",
        text: "{{ nickname }}",
      }),
    ]);
  });
});

it("LetterError carries every issue", () => {
  const source = letter(page("<p>*|FNAME|* {{ bad name }} [Product Name]</p>"));

  try {
    compileLetter(source, { mailingName: "m" });
    expect.unreachable("compileLetter should throw");
  } catch (error) {
    expect(error).toBeInstanceOf(LetterError);
    expect((error as LetterError).issues.map((issue) => issue.code)).toEqual([
      "translated-placeholder",
      "foreign-placeholder",
      "token-syntax",
    ]);
  }
});
