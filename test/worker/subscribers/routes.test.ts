import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import fixture from "../../fixtures/subscribers.csv?raw";

const TOKEN = "test-admin-token";

interface ErrorResponse {
  errors: { code: string; message: string; details: { field?: string; message: string }[] }[];
}

interface ImportResponse {
  listId: number;
  imported: number;
  created: number;
  updated: number;
  suppressed: number;
  addedToList: number;
  invalid: { line: number; value: string; reason: string }[];
  duplicates: { line: number; email: string; firstLine: number }[];
  suppressedSubscribers: { line: number; email: string; status: string }[];
  warnings: { code: string; message: string; lines: number[] }[];
  counts: Record<string, number>;
}

function api(path: string, init: RequestInit = {}, token: string | null = TOKEN) {
  const headers = new Headers(init.headers);
  if (token !== null) headers.set("Authorization", `Bearer ${token}`);
  // The Worker's default export; the generated Exports type does not declare it.
  const worker = (exports as unknown as { default: Fetcher }).default;
  return worker.fetch(new Request(`https://trickle.test/api${path}`, { ...init, headers }));
}

function postJson(path: string, body: unknown) {
  return api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

function postCsv(listId: number, body: BodyInit, contentType = "text/csv") {
  return api(`/lists/${listId}/import`, {
    method: "POST",
    headers: { "Content-Type": contentType },
    body,
  });
}

async function createList(name = `list-${crypto.randomUUID()}`): Promise<number> {
  const response = await postJson("/lists", { name });
  expect(response.status).toBe(201);
  const body = await response.json<{ list: { id: number } }>();
  return body.list.id;
}

async function tableCounts() {
  const row = await env.DB.prepare(
    `SELECT (SELECT count(*) FROM subscribers) AS subscribers,
            (SELECT count(*) FROM list_members) AS members,
            (SELECT count(*) FROM lists) AS lists`,
  ).first<{ subscribers: number; members: number; lists: number }>();
  return row!;
}

async function errorOf(response: Response) {
  const body = await response.json<ErrorResponse>();
  return body.errors[0];
}

describe("subscriber API auth", () => {
  it.each([
    ["GET", "/lists"],
    ["POST", "/lists"],
    ["POST", "/lists/1/import"],
    ["GET", "/subscribers/1"],
    ["DELETE", "/subscribers/1"],
  ])("rejects %s %s without a token", async (method, path) => {
    const response = await api(path, { method }, null);
    expect(response.status).toBe(401);
  });

  it("rejects a wrong token", async () => {
    const response = await api("/lists", {}, "wrong-token");
    expect(response.status).toBe(401);
  });
});

describe("POST /lists", () => {
  it("creates a list", async () => {
    const name = `Weekly ${crypto.randomUUID()}`;
    const response = await postJson("/lists", { name: `  ${name} ` });

    expect(response.status).toBe(201);
    const { list } = await response.json<{ list: Record<string, unknown> }>();
    expect(Object.keys(list).sort()).toEqual(["createdAt", "id", "name"]);
    expect(list.name).toBe(name);
    expect(typeof list.id).toBe("number");
    expect(typeof list.createdAt).toBe("number");
  });

  it("rejects a duplicate name with 409", async () => {
    const name = `Monthly ${crypto.randomUUID()}`;
    const id = await createList(name);

    const response = await postJson("/lists", { name });

    expect(response.status).toBe(409);
    const error = await errorOf(response);
    expect(error.code).toBe("list_exists");
    expect(error.message).toContain(`"${name}" already exists (id ${id})`);
  });

  describe.each([
    ["a missing name", {}, "name must be a string"],
    ["an empty name", { name: "   " }, "name must not be empty"],
    ["a number", { name: 42 }, "name must be a string"],
    ["a long name", { name: "x".repeat(201) }, "name must be at most 200 characters"],
  ])("with %s", (_case, body, message) => {
    it("fails with 400 naming the field", async () => {
      const response = await postJson("/lists", body);

      expect(response.status).toBe(400);
      const error = await errorOf(response);
      expect(error.code).toBe("invalid_body");
      expect(error.details).toEqual([{ field: "name", message }]);
    });
  });

  it("rejects a body that is not JSON", async () => {
    const response = await api("/lists", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{name:",
    });

    expect(response.status).toBe(400);
    expect((await errorOf(response)).code).toBe("invalid_json");
  });
});

describe("POST /lists/:id/import", () => {
  it("imports the fixture with exact counts", async () => {
    const listId = await createList();
    const response = await postCsv(listId, fixture);

    expect(response.status).toBe(200);
    const body = await response.json<ImportResponse>();
    expect(body.imported).toBe(196);
    expect(body.created + body.updated).toBe(196);
    expect(body.addedToList).toBe(196);
    expect(body.invalid).toEqual([
      { line: 110, value: "not-an-email", reason: "email has no @" },
      { line: 123, value: "double@@example.org", reason: "email has more than one @" },
    ]);
    expect(body.duplicates).toEqual([
      { line: 29, email: "alex.kim@example.net", firstLine: 25 },
      { line: 47, email: "sam.lee@example.com", firstLine: 36 },
    ]);
    expect(body.counts).toMatchObject({ records: 200, valid: 196, invalid: 2, duplicates: 2 });
  });

  it("creates nothing when the file is imported again", async () => {
    const listId = await createList();
    await postCsv(listId, fixture);
    const before = await tableCounts();

    const response = await postCsv(listId, fixture);

    const body = await response.json<ImportResponse>();
    expect(body.created).toBe(0);
    expect(body.updated).toBe(196);
    expect(body.addedToList).toBe(0);
    expect(await tableCounts()).toEqual(before);
  });

  it("accepts a multipart form with a file field", async () => {
    const listId = await createList();
    const form = new FormData();
    form.set("file", new File([fixture], "subscribers.csv", { type: "text/csv" }));

    const response = await api(`/lists/${listId}/import`, { method: "POST", body: form });

    expect(response.status).toBe(200);
    const body = await response.json<ImportResponse>();
    expect(body.imported).toBe(196);
    expect(body.invalid.map((row) => row.line)).toEqual([110, 123]);
  });

  it("rejects a form without a file field", async () => {
    const listId = await createList();
    const form = new FormData();
    form.set("upload", new File([fixture], "subscribers.csv"));

    const response = await api(`/lists/${listId}/import`, { method: "POST", body: form });

    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe("missing_file");
    expect(error.details[0].field).toBe("file");
  });

  it("keeps an unsubscribed subscriber unsubscribed", async () => {
    const listId = await createList();
    const email = `gone.${crypto.randomUUID()}@example.com`;
    await postCsv(listId, `email,first_name\n${email},Ana\n`);
    const { id } = (await env.DB.prepare("SELECT id FROM subscribers WHERE email = ?")
      .bind(email)
      .first<{ id: number }>())!;
    expect((await api(`/subscribers/${id}/unsubscribe`, { method: "POST" })).status).toBe(200);

    const response = await postCsv(listId, `email,first_name\n${email.toUpperCase()},Anna\n`);

    const body = await response.json<ImportResponse>();
    expect(body.suppressed).toBe(1);
    expect(body.suppressedSubscribers).toEqual([{ line: 2, email, status: "unsubscribed" }]);
    const row = await env.DB.prepare("SELECT status, first_name FROM subscribers WHERE id = ?")
      .bind(id)
      .first<{ status: string; first_name: string }>();
    expect(row?.status).toBe("unsubscribed");
    expect(row?.first_name).toBe("Anna");
  });

  it("rejects addresses the sender cannot send to", async () => {
    const listId = await createList();
    const csv = "email\nünicode@exämple.com\njörg@example.com\nx@example.com\0\nana@exämple.com\n";

    const response = await postCsv(listId, csv);

    expect(response.status).toBe(200);
    const body = await response.json<ImportResponse>();
    expect(body.created).toBe(1);
    expect(body.invalid.map((row) => [row.line, row.reason])).toEqual([
      [2, expect.stringContaining("non-ASCII character before the @")],
      [3, expect.stringContaining("SMTPUTF8")],
      [4, "email contains a NUL character (U+0000)"],
    ]);
    const row = await env.DB.prepare(
      "SELECT email FROM subscribers WHERE email LIKE 'ana@%exmple%'",
    ).first<{ email: string }>();
    expect(row?.email).toBe("ana@xn--exmple-cua.com");
  });

  it("reports warnings for NULs and a second email column", async () => {
    const listId = await createList();
    const email = `nul.${crypto.randomUUID()}@example.com`;

    const response = await postCsv(listId, `email,first_name,email\n${email},A\0na,\n`);

    const body = await response.json<ImportResponse>();
    expect(body.created).toBe(1);
    expect(body.warnings.map((warning) => [warning.code, warning.lines])).toEqual([
      ["csv_duplicate_email_column", [1]],
      ["csv_nul_removed", [2]],
    ]);
  });

  it("returns 404 for an unknown list", async () => {
    const response = await postCsv(987_654, fixture);
    expect(response.status).toBe(404);
    expect((await errorOf(response)).code).toBe("list_not_found");
  });

  it("rejects a JSON body with 415", async () => {
    const listId = await createList();
    const response = await postCsv(listId, "{}", "application/json");
    expect(response.status).toBe(415);
    expect((await errorOf(response)).message).toContain("text/csv");
  });

  it("rejects an upload over 10 MB with 413", async () => {
    const listId = await createList();
    const before = await tableCounts();
    const body = new Uint8Array(10 * 1024 * 1024 + 1).fill(0x61);

    const response = await postCsv(listId, body);

    expect(response.status).toBe(413);
    const error = await errorOf(response);
    expect(error.code).toBe("payload_too_large");
    expect(error.message).toContain("10 MB");
    expect(await tableCounts()).toEqual(before);
  });

  it("rejects a streamed upload over 10 MB with 413", async () => {
    const listId = await createList();
    const chunk = new Uint8Array(1024 * 1024).fill(0x61);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ > 10) controller.close();
        else controller.enqueue(chunk);
      },
    });

    const response = await postCsv(listId, stream);

    expect(response.status).toBe(413);
  });
});

describe("POST /lists/:id/import with a broken file", () => {
  const encode = (text: string) => new TextEncoder().encode(text);

  describe.each([
    ["an empty body", "", "csv_empty"],
    ["a header only", "email,first_name,last_name\r\n", "csv_no_rows"],
    ["no email column", "name,city\nAna,Porto\n", "csv_no_email_column"],
    [
      "binary bytes",
      new Uint8Array([0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00]),
      "csv_not_text",
    ],
    ["UTF-16 text", new Uint8Array([0xff, 0xfe, 0x65, 0x00, 0x0a, 0x00]), "csv_not_text"],
    [
      "invalid UTF-8",
      new Uint8Array([...encode("email,city\nbroken@example.org,Montr"), 0xe9, 0x61, 0x6c]),
      "csv_not_text",
    ],
    [
      "an unclosed quote",
      'email,first_name\nquote.a@example.org,"Ana\nquote.b@example.org,Bo\n',
      "csv_unclosed_quote",
    ],
  ] as const)("with %s", (_case, body, code) => {
    it(`fails with ${code} and changes nothing`, async () => {
      const listId = await createList();
      const before = await tableCounts();

      const response = await postCsv(listId, body);

      expect(response.status).toBe(400);
      const error = await errorOf(response);
      expect(error.code).toBe(code);
      expect(error.message).toMatch(/\. [A-Z]/);
      expect(await tableCounts()).toEqual(before);
    });
  });

  it("names the columns found when email is missing", async () => {
    const listId = await createList();
    const response = await postCsv(listId, "Name,City\nAna,Porto\n");
    const error = await errorOf(response);
    expect(error.message).toContain('the columns found are "Name", "City"');
    expect(error.details).toEqual([{ field: "line 1", message: error.message }]);
  });

  it("reports a row with too many fields and imports the rest", async () => {
    const listId = await createList();
    const tag = crypto.randomUUID().slice(0, 8);
    const csv = `email,first_name\nok.${tag}@example.org,Ana\nwide.${tag}@example.org,Bo,extra\n`;

    const response = await postCsv(listId, csv);

    expect(response.status).toBe(200);
    const body = await response.json<ImportResponse>();
    expect(body.created).toBe(1);
    expect(body.invalid).toEqual([
      {
        line: 3,
        value: `wide.${tag}@example.org`,
        reason: 'row has 3 fields but the header has 2; quote values that contain ","',
      },
    ]);
  });
});

describe("GET /lists", () => {
  it("counts members and active members", async () => {
    const listId = await createList();
    const tag = crypto.randomUUID().slice(0, 8);
    await postCsv(
      listId,
      `email\na.${tag}@example.org\nb.${tag}@example.org\nc.${tag}@example.org\n`,
    );
    await env.DB.prepare("UPDATE subscribers SET status = 'bounced' WHERE email = ?")
      .bind(`b.${tag}@example.org`)
      .run();
    const emptyId = await createList();

    const response = await api("/lists");

    expect(response.status).toBe(200);
    const { lists } = await response.json<{ lists: Record<string, unknown>[] }>();
    const list = lists.find((candidate) => candidate.id === listId);
    expect(list).toMatchObject({ id: listId, subscribers: 3, active: 2 });
    expect(Object.keys(list!).sort()).toEqual(["active", "createdAt", "id", "name", "subscribers"]);
    expect(lists.find((candidate) => candidate.id === emptyId)).toMatchObject({
      subscribers: 0,
      active: 0,
    });
  });
});

describe("GET /lists/:id/subscribers", () => {
  it("pages through the members", async () => {
    const listId = await createList();
    await postCsv(listId, fixture);

    const response = await api(`/lists/${listId}/subscribers?limit=10&offset=190`);

    expect(response.status).toBe(200);
    const body = await response.json<{ subscribers: Record<string, unknown>[]; total: number }>();
    expect(body.total).toBe(196);
    expect(body.subscribers).toHaveLength(6);
    expect(Object.keys(body.subscribers[0]).sort()).toEqual([
      "addedAt",
      "attributes",
      "email",
      "firstName",
      "id",
      "lastName",
      "status",
    ]);
  });

  it.each([
    ["limit=0", "limit"],
    ["limit=501", "limit"],
    ["limit=ten", "limit"],
    ["offset=-1", "offset"],
  ])("rejects %s", async (query, field) => {
    const listId = await createList();
    const response = await api(`/lists/${listId}/subscribers?${query}`);

    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe("invalid_query");
    expect(error.details[0].field).toBe(field);
  });

  it("returns 404 for an unknown list", async () => {
    const response = await api("/lists/987654/subscribers");
    expect(response.status).toBe(404);
  });
});

describe("single subscribers", () => {
  async function importOne() {
    const listId = await createList();
    const email = `one.${crypto.randomUUID()}@example.com`;
    await postCsv(
      listId,
      `email,first_name,last_name,city\n${email},"Eve\r\nBcc: x@example.org",Mallory,Austin\n`,
    );
    const row = await env.DB.prepare("SELECT id FROM subscribers WHERE email = ?")
      .bind(email)
      .first<{ id: number }>();
    return { listId, email, id: row!.id };
  }

  it("returns a subscriber with their lists", async () => {
    const { listId, email, id } = await importOne();

    const response = await api(`/subscribers/${id}`);

    expect(response.status).toBe(200);
    const { subscriber } = await response.json<{ subscriber: Record<string, unknown> }>();
    expect(subscriber).toMatchObject({
      id,
      email,
      firstName: "Eve\r\nBcc: x@example.org",
      lastName: "Mallory",
      attributes: { city: "Austin" },
      status: "active",
    });
    expect(subscriber.lists).toEqual([expect.objectContaining({ id: listId })]);
  });

  it("unsubscribes once and keeps the first reason", async () => {
    const { id } = await importOne();

    const first = await api(`/subscribers/${id}/unsubscribe`, { method: "POST" });
    const second = await api(`/subscribers/${id}/unsubscribe`, { method: "POST" });

    const firstBody = await first.json<{ changed: boolean; subscriber: Record<string, unknown> }>();
    const secondBody = await second.json<{
      changed: boolean;
      subscriber: Record<string, unknown>;
    }>();
    expect(firstBody.changed).toBe(true);
    expect(firstBody.subscriber.status).toBe("unsubscribed");
    expect(firstBody.subscriber.statusReason).toBe("unsubscribed by the operator");
    expect(secondBody.changed).toBe(false);
    expect(secondBody.subscriber.statusChangedAt).toBe(firstBody.subscriber.statusChangedAt);
  });

  it("deletes a subscriber and their memberships", async () => {
    const { listId, id } = await importOne();

    const response = await api(`/subscribers/${id}`, { method: "DELETE" });

    expect(response.status).toBe(204);
    expect((await api(`/subscribers/${id}`)).status).toBe(404);
    const members = await env.DB.prepare("SELECT count(*) AS n FROM list_members WHERE list_id = ?")
      .bind(listId)
      .first<{ n: number }>();
    expect(members?.n).toBe(0);
  });

  it("keeps an unsubscribe after a delete", async () => {
    const { listId, email, id } = await importOne();
    expect((await api(`/subscribers/${id}/unsubscribe`, { method: "POST" })).status).toBe(200);
    expect((await api(`/subscribers/${id}`, { method: "DELETE" })).status).toBe(204);

    const response = await postCsv(listId, `email,first_name\n${email},Eve\n`);

    expect(response.status).toBe(200);
    const body = await response.json<ImportResponse>();
    expect(body.created).toBe(1);
    expect(body.suppressed).toBe(1);
    expect(body.suppressedSubscribers).toEqual([{ line: 2, email, status: "unsubscribed" }]);
    const row = await env.DB.prepare(
      "SELECT status, status_reason FROM subscribers WHERE email = ?",
    )
      .bind(email)
      .first<{ status: string; status_reason: string }>();
    expect(row?.status).toBe("unsubscribed");
    expect(row?.status_reason).toBe("unsubscribed by the operator");
  });

  it.each(["bounced", "complained"])("keeps a %s status after a delete", async (status) => {
    const { listId, email, id } = await importOne();
    await env.DB.prepare("UPDATE subscribers SET status = ?, status_reason = ? WHERE id = ?")
      .bind(status, `${status} in a test`, id)
      .run();
    expect((await api(`/subscribers/${id}`, { method: "DELETE" })).status).toBe(204);

    const suppression = await env.DB.prepare(
      "SELECT status, reason FROM suppressions WHERE email = ?",
    )
      .bind(email)
      .first<{ status: string; reason: string }>();
    expect(suppression).toEqual({ status, reason: `${status} in a test` });

    const body = await (await postCsv(listId, `email\n${email}\n`)).json<ImportResponse>();
    expect(body.suppressedSubscribers).toEqual([{ line: 2, email, status }]);
  });

  it("creates a deleted active subscriber active again", async () => {
    const { listId, email, id } = await importOne();
    expect((await api(`/subscribers/${id}`, { method: "DELETE" })).status).toBe(204);

    const suppression = await env.DB.prepare("SELECT email FROM suppressions WHERE email = ?")
      .bind(email)
      .first();
    expect(suppression).toBeNull();

    const body = await (await postCsv(listId, `email\n${email}\n`)).json<ImportResponse>();
    expect(body.created).toBe(1);
    expect(body.suppressed).toBe(0);
    const row = await env.DB.prepare("SELECT status FROM subscribers WHERE email = ?")
      .bind(email)
      .first<{ status: string }>();
    expect(row?.status).toBe("active");
  });

  it.each([
    ["GET", ""],
    ["DELETE", ""],
    ["POST", "/unsubscribe"],
  ])("returns 404 from %s on an unknown subscriber", async (method, suffix) => {
    const response = await api(`/subscribers/987654${suffix}`, { method });
    expect(response.status).toBe(404);
    expect((await errorOf(response)).code).toBe("subscriber_not_found");
  });
});
