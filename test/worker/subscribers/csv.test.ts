import { describe, expect, it } from "vitest";
import fixture from "../../fixtures/subscribers.csv?raw";
import { parseSubscriberCsv, type CsvParseResult } from "../../../src/subscribers/csv";
import { normalizeEmail } from "../../../src/subscribers/email";

const encode = (text: string) => new TextEncoder().encode(text);

function parsed(input: string | Uint8Array) {
  const result = parseSubscriberCsv(input);
  if (!result.ok)
    throw new Error(`expected a parsed file, got ${result.error.code}: ${result.error.message}`);
  return result;
}

function failed(input: string | Uint8Array) {
  const result = parseSubscriberCsv(input);
  if (result.ok) throw new Error("expected a file error, got a parsed file");
  return result.error;
}

function byEmail(result: Extract<CsvParseResult, { ok: true }>, email: string) {
  const row = result.rows.find((candidate) => candidate.email === email);
  if (!row) throw new Error(`no row for ${email}`);
  return row;
}

describe("parseSubscriberCsv on the fixture", () => {
  const result = parsed(fixture);

  it("finds 196 valid distinct subscribers", () => {
    expect(result.rows).toHaveLength(196);
    expect(new Set(result.rows.map((row) => row.email)).size).toBe(196);
    expect(result.counts).toEqual({
      lines: 202,
      records: 200,
      blank: 0,
      valid: 196,
      invalid: 2,
      duplicates: 2,
    });
  });

  it("has no warnings", () => {
    expect(result.warnings).toEqual([]);
  });

  it("reports the two invalid rows with their lines", () => {
    expect(result.invalid).toEqual([
      { line: 110, value: "not-an-email", reason: "email has no @" },
      { line: 123, value: "double@@example.org", reason: "email has more than one @" },
    ]);
  });

  it("reports the two duplicates with both lines", () => {
    expect(result.duplicates).toEqual([
      { line: 29, email: "alex.kim@example.net", firstLine: 25 },
      { line: 47, email: "sam.lee@example.com", firstLine: 36 },
    ]);
  });

  it("maps the header onto fields and attributes", () => {
    expect(result.delimiter).toBe(",");
    expect(result.columns).toEqual({
      email: "email",
      firstName: "first_name",
      lastName: "last_name",
      attributes: [
        { header: "city", key: "city" },
        { header: "plan", key: "plan" },
        { header: "signup_date", key: "signup_date" },
      ],
    });
  });

  it("numbers rows after a multi-line field by their start", () => {
    expect(byEmail(result, "header.inject@example.net").line).toBe(142);
    expect(byEmail(result, "lena.king@example.com").line).toBe(144);
    expect(byEmail(result, "sophia74@example.org").line).toBe(202);
  });

  it("trims and lower-cases emails and trims values", () => {
    expect(byEmail(result, "john.smith@example.com").line).toBe(14);
    expect(byEmail(result, "spaced.out@example.com")).toEqual({
      line: 5,
      email: "spaced.out@example.com",
      firstName: "Pat",
      lastName: "Doe",
      attributes: { city: "Berlin", plan: "pro", signup_date: "2024-02-01" },
    });
    expect(byEmail(result, "tab.leading@example.org").firstName).toBe("Tina");
  });

  it.each([
    ["header.inject@example.net", "Eve\r\nBcc: x@example.org", "Mallory"],
    ["html.inject@example.com", "<b>Bold</b>", "Tester"],
    ["template.inject@example.org", "{{x}}", "Curly"],
    ["literal.escape@example.com", "Eve\\r\\nBcc: x@example.org", "Literal"],
    ["quote.nick@example.com", 'Robert "Bob"', "Tables"],
    ["junior.smith@example.net", "Will", "Smith, Jr."],
    ["zoe.party@example.com", "Zo\u00eb \u{1F389}", "Nguyen"],
    ["ana.dev@example.org", "Ana \u{1F469}\u200D\u{1F4BB}", "Costa"],
    ["layla.haddad@example.com", "\u0644\u064A\u0644\u0649", "\u062D\u062F\u0627\u062F"],
    ["jose.nfd@example.net", "Jose\u0301", "Pe\u0301rez"],
    ["anon.user@example.com", "", "Anonymous"],
  ])("keeps the name of %s as written", (email, firstName, lastName) => {
    const row = byEmail(result, email);
    expect(row.firstName).toBe(firstName);
    expect(row.lastName).toBe(lastName);
  });

  it("gives the same result for bytes, string and ArrayBuffer", () => {
    const bytes = encode(fixture);
    expect(parsed(bytes)).toEqual(result);
    expect(parseSubscriberCsv(bytes.buffer as ArrayBuffer)).toEqual(result);
  });

  it.each([
    ["no BOM", fixture.replace(/^\uFEFF/, "")],
    ["LF line breaks", fixture.replaceAll("\r\n", "\n")],
    ["CR line breaks", fixture.replaceAll("\r\n", "\r")],
  ])("gives the same rows with %s", (_name, text) => {
    const other = parsed(text);
    const linesAndEmails = (rows: typeof result.rows) => rows.map((row) => [row.line, row.email]);

    expect(linesAndEmails(other.rows)).toEqual(linesAndEmails(result.rows));
    expect(other.invalid).toEqual(result.invalid);
    expect(other.duplicates).toEqual(result.duplicates);
    expect(other.counts).toEqual(result.counts);
  });
});

describe("parseSubscriberCsv file errors", () => {
  describe.each([
    ["an empty string", "", "csv_empty", undefined],
    ["whitespace and line breaks", " \r\n\n\t\n", "csv_empty", undefined],
    ["a byte order mark only", new Uint8Array([0xef, 0xbb, 0xbf]), "csv_empty", undefined],
    ["no bytes", new Uint8Array(0), "csv_empty", undefined],
    ["a header only", "email,first_name\r\n", "csv_no_rows", 1],
    ["a header and blank lines", "email,first_name\n\n,\n  ,  \n", "csv_no_rows", 1],
    ["no email column", "name,city\nAna,Porto\n", "csv_no_email_column", 1],
    ["no header", "ana@example.org,Ana\nbo@example.org,Bo\n", "csv_no_email_column", 1],
    [
      "NUL bytes",
      new Uint8Array([0x65, 0, 0, 0, 0x2c, 0, 0, 0, 0x0a, 0, 0]),
      "csv_not_text",
      undefined,
    ],
    [
      "UTF-16 with a BOM",
      new Uint8Array([0xff, 0xfe, 0x65, 0, 0x6d, 0, 0x61, 0, 0x69, 0, 0x6c, 0]),
      "csv_not_text",
      undefined,
    ],
    [
      "UTF-16 without a BOM",
      new Uint8Array([...encode("email\na@example.org\n")].flatMap((byte) => [byte, 0])),
      "csv_not_text",
      undefined,
    ],
    [
      "a ZIP archive",
      new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00]),
      "csv_not_text",
      undefined,
    ],
    [
      "Windows-1252 text",
      new Uint8Array([
        ...encode("email,city\na@example.org,Porto\nb@example.org,Montr"),
        0xe9,
        0x61,
        0x6c,
      ]),
      "csv_not_text",
      3,
    ],
    [
      "random bytes",
      new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff]),
      "csv_not_text",
      1,
    ],
    [
      "a quote never closed",
      'email,first_name\na@example.org,Ana\nb@example.org,"Bo\nc@example.org,Cy\n',
      "csv_unclosed_quote",
      3,
    ],
    [
      "too many columns",
      `email,${Array.from({ length: 200 }, (_, i) => `c${i}`).join(",")}\n`,
      "csv_too_many_columns",
      1,
    ],
  ] as const)("a file with %s", (_name, input, code, line) => {
    it(`fails with ${code}`, () => {
      const error = failed(input);
      expect(error.code).toBe(code);
      expect(error.line).toBe(line);
      expect(error.message.length).toBeGreaterThan(20);
    });
  });

  it("lists the columns found when no email column exists", () => {
    const error = failed("Name, City ,plan\nAna,Porto,free\n");
    expect(error.columns).toEqual(["Name", "City", "plan"]);
    expect(error.message).toContain('"Name", "City", "plan"');
  });

  it("says a header is missing when line 1 is data", () => {
    const error = failed("ana@example.org,Ana\n");
    expect(error.message).toContain("looks like a subscriber");
  });

  it("says how to save the sheet as UTF-8", () => {
    const error = failed(new Uint8Array([...encode("email\n"), 0xe9, 0x0a]));
    expect(error.message).toContain("CSV UTF-8");
  });
});

describe("parseSubscriberCsv rows", () => {
  it("rejects a row with more fields than the header", () => {
    const result = parsed(
      "email,first_name\na@example.org,Ana\nb@example.org,Bo,extra\nc@example.org,Cy\n",
    );
    expect(result.rows.map((row) => row.email)).toEqual(["a@example.org", "c@example.org"]);
    expect(result.invalid).toEqual([
      {
        line: 3,
        value: "b@example.org",
        reason: 'row has 3 fields but the header has 2; quote values that contain ","',
      },
    ]);
  });

  it("accepts extra fields that are empty", () => {
    const result = parsed("email,first_name\na@example.org,Ana,,\n");
    expect(result.invalid).toEqual([]);
    expect(result.rows[0].firstName).toBe("Ana");
  });

  it("fills missing trailing fields with empty values", () => {
    const result = parsed("email,first_name,city\na@example.org\n");
    expect(result.rows[0]).toMatchObject({ firstName: "", attributes: { city: "" } });
  });

  it("rejects text after a closing quote", () => {
    const result = parsed('email,first_name\na@example.org,"Ana"x\n');
    expect(result.rows).toEqual([]);
    expect(result.invalid[0].line).toBe(2);
    expect(result.invalid[0].reason).toContain("field 2 has text after its closing quote");
  });

  it("allows spaces after a closing quote", () => {
    const result = parsed('email,first_name\n"a@example.org"  ,"Ana" \n');
    expect(result.rows[0]).toMatchObject({ email: "a@example.org", firstName: "Ana" });
  });

  it("keeps a quote inside a bare field", () => {
    const result = parsed('email,first_name\na@example.org,Ana "the" Bold\n');
    expect(result.rows[0].firstName).toBe('Ana "the" Bold');
  });

  it("reads quoted commas, quotes and line breaks", () => {
    const text =
      'email,first_name,city\r\n"a@example.org","Ana, ""A""\r\nB","x\ny\rz"\r\nb@example.org,Bo,\r\n';
    const result = parsed(text);
    expect(result.rows[0]).toMatchObject({
      line: 2,
      firstName: 'Ana, "A"\r\nB',
      attributes: { city: "x\ny\rz" },
    });
    expect(result.rows[1].line).toBe(6);
    expect(result.counts.lines).toBe(6);
  });

  it("skips blank lines and keeps counting lines", () => {
    const result = parsed("\n\nemail\n\na@example.org\n,\n\nb@example.org");
    expect(result.rows.map((row) => row.line)).toEqual([5, 8]);
    expect(result.counts).toMatchObject({ lines: 8, records: 2, blank: 3 });
  });

  it("removes NUL from names with a warning", () => {
    const result = parsed("email,first_name,city\na@example.org,A\0na,Rio\nb@example.org,Bo,\0\n");

    expect(result.rows.map((row) => [row.email, row.firstName, row.attributes.city])).toEqual([
      ["a@example.org", "Ana", "Rio"],
      ["b@example.org", "Bo", ""],
    ]);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0].code).toBe("csv_nul_removed");
    expect(result.warnings[0].lines).toEqual([2, 3]);
    expect(result.warnings[0].message).toContain("lines 2, 3");
  });

  it.each([
    ["after the address", "x@example.com\0"],
    ["inside the address", "b\0@example.org"],
  ])("rejects a NUL %s", (_, cell) => {
    const result = parsed(`email,first_name\n${cell},Bo\na@example.org,Ana\n`);

    expect(result.rows.map((row) => row.email)).toEqual(["a@example.org"]);
    expect(result.invalid).toEqual([
      { line: 2, value: cell, reason: "email contains a NUL character (U+0000)" },
    ]);
    expect(result.warnings).toEqual([]);
  });

  it("notes NULs on the header and blank lines", () => {
    const result = parsed("email\0\n\0\na@example.org\n");

    expect(result.rows.map((row) => row.email)).toEqual(["a@example.org"]);
    expect(result.warnings.map((warning) => warning.lines)).toEqual([[1, 2]]);
  });

  it("lists at most ten lines in the NUL warning", () => {
    const rows = Array.from({ length: 12 }, (_, index) => `u${index}@example.org,N\0`);
    const result = parsed(`email,first_name\n${rows.join("\n")}\n`);

    expect(result.warnings[0].lines).toHaveLength(12);
    expect(result.warnings[0].message).toContain("2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 2 more");
  });

  it("rejects a name longer than 256 characters", () => {
    const result = parsed(`email,first_name\na@example.org,${"x".repeat(257)}\n`);
    expect(result.invalid[0]).toMatchObject({
      line: 2,
      reason: "first name is longer than 256 characters",
    });
  });

  it("rejects an attribute longer than 1024 characters", () => {
    const result = parsed(`email,notes\na@example.org,${"x".repeat(1025)}\n`);
    expect(result.invalid[0]).toMatchObject({
      line: 2,
      reason: "notes is longer than 1024 characters",
    });
  });

  it("reports each later duplicate against the first line", () => {
    const result = parsed("email\nA@example.org\na@example.org\n a@EXAMPLE.org \n");
    expect(result.rows.map((row) => row.line)).toEqual([2]);
    expect(result.duplicates).toEqual([
      { line: 3, email: "a@example.org", firstLine: 2 },
      { line: 4, email: "a@example.org", firstLine: 2 },
    ]);
  });

  it("skips invalid rows in duplicate checks", () => {
    const result = parsed("email,first_name,x\na@example.org,A,1,2\na@example.org,B,1\n");
    expect(result.invalid.map((row) => row.line)).toEqual([2]);
    expect(result.duplicates).toEqual([]);
    expect(result.rows[0]).toMatchObject({ line: 3, firstName: "B" });
  });
});

describe("parseSubscriberCsv delimiters", () => {
  it.each([
    ["semicolon", "email;first_name;city\na@example.org;Ana;Porto, PT\n"],
    ["tab", "email\tfirst_name\tcity\na@example.org\tAna\tPorto, PT\n"],
    ["sep= line", "sep=;\nemail;first_name;city\na@example.org;Ana;Porto, PT\n"],
  ])("reads a %s delimited file", (_name, text) => {
    const result = parsed(text);
    expect(result.rows).toEqual([
      {
        line: text.startsWith("sep=") ? 3 : 2,
        email: "a@example.org",
        firstName: "Ana",
        lastName: null,
        attributes: { city: "Porto, PT" },
      },
    ]);
  });
});

describe("parseSubscriberCsv header mapping", () => {
  it.each([
    ["email"],
    ["Email"],
    [" EMAIL "],
    ["E-mail"],
    ["e_mail"],
    ["Email Address"],
    ["E-Mail-Adresse"],
    ["mail"],
  ])("finds the email column named %j", (header) => {
    const result = parsed(`${header},x\na@example.org,1\n`);
    expect(result.columns.email).toBe(header.trim());
    expect(result.rows[0].email).toBe("a@example.org");
  });

  it.each([
    ["first_name", "last_name"],
    ["First Name", "Last Name"],
    ["firstname", "surname"],
    ["Given Name", "Family Name"],
  ])("finds name columns %j and %j", (first, last) => {
    const result = parsed(`email,${first},${last}\na@example.org,Ana,Costa\n`);
    expect(result.rows[0]).toMatchObject({ firstName: "Ana", lastName: "Costa", attributes: {} });
  });

  it("warns about a second email column", () => {
    const result = parsed("email,first_name,Email\na@example.org,Ana,b@example.org\n");

    expect(result.rows[0]).toMatchObject({
      email: "a@example.org",
      attributes: { email_2: "b@example.org" },
    });
    expect(result.warnings).toEqual([
      {
        code: "csv_duplicate_email_column",
        message:
          'Column 3 "Email" is a second email column. Addresses were read from column 1 "email", and column 3 was stored as the attribute "email_2". Rename or remove one of the two columns if that is wrong.',
        lines: [1],
      },
    ]);
  });

  it("warns about each extra email column", () => {
    const result = parsed("E-mail,mail,Email Address\na@example.org,b@example.org,c@example.org\n");

    expect(result.rows[0].email).toBe("a@example.org");
    expect(result.warnings.map((warning) => warning.code)).toEqual([
      "csv_duplicate_email_column",
      "csv_duplicate_email_column",
    ]);
    expect(result.warnings[1].message).toContain('Column 3 "Email Address"');
  });

  it("puts a full name column into first_name unsplit", () => {
    const result = parsed("email,Name\na@example.org,Ana Costa\n");
    expect(result.rows[0]).toMatchObject({
      firstName: "Ana Costa",
      lastName: null,
      attributes: {},
    });
  });

  it("keeps a name column as an attribute when first_name exists", () => {
    const result = parsed("email,first_name,name\na@example.org,Ana,Ana Costa\n");
    expect(result.rows[0]).toMatchObject({ firstName: "Ana", attributes: { name: "Ana Costa" } });
  });

  it("leaves names null when the file has no name columns", () => {
    const result = parsed("email,city\na@example.org,Porto\n");
    expect(result.rows[0]).toMatchObject({ firstName: null, lastName: null });
  });

  it("normalises attribute keys", () => {
    const headers = [
      "email",
      " Signup Date ",
      "Município",
      "  ",
      "2024 score",
      "city",
      "City",
      "Email",
    ];
    const result = parsed(`${headers.join(",")}\na@example.org,d,m,b,s,c1,c2,other@example.org\n`);
    expect(result.columns.attributes.map((column) => column.key)).toEqual([
      "signup_date",
      "municipio",
      "column_4",
      "column_2024_score",
      "city",
      "city_2",
      "email_2",
    ]);
    expect(result.rows[0].attributes).toEqual({
      signup_date: "d",
      municipio: "m",
      column_4: "b",
      column_2024_score: "s",
      city: "c1",
      city_2: "c2",
      email_2: "other@example.org",
    });
  });

  it("turns __proto__ into a plain key", () => {
    const result = parsed("email,__proto__\na@example.org,x\n");
    expect(result.rows[0].attributes).toEqual({ proto: "x" });
    expect(Object.getPrototypeOf(result.rows[0].attributes)).toBe(Object.prototype);
  });
});

const NON_ASCII_LOCAL_PART =
  "email has a non-ASCII character before the @, and sending to it needs SMTPUTF8, which is not supported. Use an ASCII address";

describe("normalizeEmail", () => {
  it.each([
    ["  Ana.Costa@Example.ORG ", "ana.costa@example.org"],
    ["jane+newsletter@example.com", "jane+newsletter@example.com"],
    ["o'brien@example.ie", "o'brien@example.ie"],
    ["user@sub.example.co.uk", "user@sub.example.co.uk"],
    ["jose@EXA\u0301MPLE.es", "jose@xn--exmple-qta.es"],
    ["ana@exämple.com", "ana@xn--exmple-cua.com"],
    ["ana@例子.广告", "ana@xn--fsqu00a.xn--4rr70v"],
    ["ana@xn--exmple-cua.com", "ana@xn--exmple-cua.com"],
  ])("accepts %j as %j", (raw, email) => {
    expect(normalizeEmail(raw)).toEqual({ ok: true, email });
  });

  it.each([
    ["", "email is empty"],
    ["not-an-email", "email has no @"],
    ["double@@example.org", "email has more than one @"],
    ["a@b@example.org", "email has more than one @"],
    ["@example.org", "email has nothing before the @"],
    ["ana@", "email has no domain after the @"],
    ["ana@localhost", 'email domain "localhost" has no dot'],
    ["ana costa@example.org", "email contains a space or a control character"],
    ["ana@example.org\r\nBcc: x@example.org", "email contains a space or a control character"],
    ["ana\u200B@example.org", "email contains a space or a control character"],
    ["x@example.com\0", "email contains a NUL character (U+0000)"],
    ["ünicode@exämple.com", NON_ASCII_LOCAL_PART],
    ["jörg@example.com", NON_ASCII_LOCAL_PART],
    ["JOSE\u0301@example.es", NON_ASCII_LOCAL_PART],
    ["用户@例子.广告", NON_ASCII_LOCAL_PART],
    [
      "ana@exämple.123",
      'email domain "exämple.123" is not a valid internationalised domain name, so it has no punycode (xn--) form. Check the spelling of the domain',
    ],
    [
      `ana@${"ä".repeat(60)}.org`,
      `email domain "${"ä".repeat(60)}.org" is not a valid internationalised domain name, so it has no punycode (xn--) form. Check the spelling of the domain`,
    ],
    [
      "ana,bo@example.org",
      "email has a character before the @ that needs quoting, such as a comma or bracket",
    ],
    [
      "<ana@example.org>",
      "email has a character before the @ that needs quoting, such as a comma or bracket",
    ],
    [
      ".ana@example.org",
      "email has a dot at the start or end of the part before the @, or two dots in a row",
    ],
    [
      "ana..bo@example.org",
      "email has a dot at the start or end of the part before the @, or two dots in a row",
    ],
    ["ana@example..org", 'email domain "example..org" is not a valid host name'],
    ["ana@-example.org", 'email domain "-example.org" is not a valid host name'],
    ["ana@example.org.", 'email domain "example.org." is not a valid host name'],
    ["ana@exa_mple.org", 'email domain "exa_mple.org" is not a valid host name'],
    [`${"a".repeat(65)}@example.org`, "email has more than 64 characters before the @"],
    [`a@${"b".repeat(250)}.org`, "email is longer than 254 characters"],
  ])("rejects %j", (raw, reason) => {
    expect(normalizeEmail(raw)).toEqual({ ok: false, reason });
  });
});
