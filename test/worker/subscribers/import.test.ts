import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import fixture from "../../fixtures/subscribers.csv?raw";
import { parseSubscriberCsv } from "../../../src/subscribers/csv";
import {
  importSubscribers,
  ImportIncompleteError,
  type ImportProgress,
  type ImportRow,
} from "../../../src/subscribers/import";

async function createList(name = `list-${crypto.randomUUID()}`): Promise<number> {
  const row = await env.DB.prepare(
    "INSERT INTO lists (name, created_at) VALUES (?, ?) RETURNING id",
  )
    .bind(name, Date.now())
    .first<{ id: number }>();
  return row!.id;
}

function fixtureRows() {
  const result = parseSubscriberCsv(fixture);
  if (!result.ok) throw new Error(result.error.message);
  return result.rows;
}

/** Generated rows with a unique tag, so tests never share addresses. */
function generatedRows(count: number, tag = crypto.randomUUID().slice(0, 8)): ImportRow[] {
  return Array.from({ length: count }, (_, index) => ({
    line: index + 2,
    email: `user${index}.${tag}@example.com`,
    firstName: `First${index}`,
    lastName: `Last${index}`,
    attributes: { plan: index % 2 ? "pro" : "free", index: String(index) },
  }));
}

async function snapshot(emails: string[]) {
  const { results } = await env.DB.prepare(
    `SELECT id, email, first_name, last_name, attributes, status, status_reason, created_at
       FROM subscribers WHERE email IN (SELECT value FROM json_each(?)) ORDER BY email`,
  )
    .bind(JSON.stringify(emails))
    .all();
  return results;
}

async function memberCount(listId: number): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM list_members WHERE list_id = ?")
    .bind(listId)
    .first<{ n: number }>();
  return row!.n;
}

async function tableCounts() {
  const row = await env.DB.prepare(
    `SELECT (SELECT count(*) FROM subscribers) AS subscribers,
            (SELECT count(*) FROM list_members) AS members`,
  ).first<{ subscribers: number; members: number }>();
  return row!;
}

async function subscriberByEmail(email: string) {
  return env.DB.prepare("SELECT * FROM subscribers WHERE email = ?")
    .bind(email)
    .first<Record<string, unknown>>();
}

describe("importSubscribers with the fixture", () => {
  const rows = fixtureRows();
  const emails = rows.map((row) => row.email);

  it("creates 196 subscribers on a new list", async () => {
    const listId = await createList();
    const result = await importSubscribers(env.DB, listId, rows);

    expect(result.created).toBe(196);
    expect(result.updated).toBe(0);
    expect(result.imported).toBe(196);
    expect(result.addedToList).toBe(196);
    expect(result.suppressed).toEqual([]);
    expect(result.batches).toBe(1);
    expect(await memberCount(listId)).toBe(196);
    expect(await snapshot(emails)).toHaveLength(196);
  });

  it.each([
    ["header.inject@example.net", "Eve\r\nBcc: x@example.org", "Mallory"],
    ["html.inject@example.com", "<b>Bold</b>", "Tester"],
    ["template.inject@example.org", "{{x}}", "Curly"],
    ["quote.nick@example.com", 'Robert "Bob"', "Tables"],
    ["zoe.party@example.com", "Zo\u00eb \u{1F389}", "Nguyen"],
    ["ana.dev@example.org", "Ana \u{1F469}\u200D\u{1F4BB}", "Costa"],
    ["layla.haddad@example.com", "\u0644\u064A\u0644\u0649", "\u062D\u062F\u0627\u062F"],
    ["wang.fang@example.com", "\u82B3", "\u738B"],
    ["jose.nfd@example.net", "Jose\u0301", "Pe\u0301rez"],
  ])("stores the name of %s intact", async (email, firstName, lastName) => {
    const row = await subscriberByEmail(email);
    expect(row?.first_name).toBe(firstName);
    expect(row?.last_name).toBe(lastName);
    expect(row?.status).toBe("active");
  });

  it("stores the other columns as attributes", async () => {
    const row = await subscriberByEmail("layla.haddad@example.com");
    expect(JSON.parse(row!.attributes as string)).toEqual({
      city: "\u0628\u064A\u0631\u0648\u062A",
      plan: "basic",
      signup_date: "2024-10-10",
    });
  });

  it("creates nothing on a second import", async () => {
    const listId = await createList();
    await importSubscribers(env.DB, listId, rows);
    const before = await snapshot(emails);
    const countsBefore = await tableCounts();

    const result = await importSubscribers(env.DB, listId, rows);

    expect(result.created).toBe(0);
    expect(result.updated).toBe(196);
    expect(result.addedToList).toBe(0);
    expect(await tableCounts()).toEqual(countsBefore);
    expect(await snapshot(emails)).toEqual(before);
    expect(await memberCount(listId)).toBe(196);
  });

  it("keeps an unsubscribed subscriber suppressed", async () => {
    const listId = await createList();
    await importSubscribers(env.DB, listId, rows);
    await env.DB.prepare(
      "UPDATE subscribers SET status = 'unsubscribed', status_reason = 'test', status_changed_at = 1 WHERE email = ?",
    )
      .bind("mwhite@example.org")
      .run();

    const result = await importSubscribers(env.DB, listId, rows);

    expect(result.suppressed).toEqual([
      { line: 4, email: "mwhite@example.org", status: "unsubscribed" },
    ]);
    const row = await subscriberByEmail("mwhite@example.org");
    expect(row?.status).toBe("unsubscribed");
    expect(row?.status_reason).toBe("test");
    expect(row?.status_changed_at).toBe(1);
  });
});

describe("importSubscribers updates", () => {
  it("merges attributes and keeps missing names", async () => {
    const listId = await createList();
    const email = `merge.${crypto.randomUUID()}@example.com`;
    await importSubscribers(env.DB, listId, [
      { email, firstName: "Ana", lastName: "Costa", attributes: { city: "Porto", plan: "free" } },
    ]);

    const result = await importSubscribers(env.DB, listId, [
      { email, firstName: null, lastName: null, attributes: { plan: "pro", team: "blue" } },
    ]);

    expect(result.updated).toBe(1);
    const row = await subscriberByEmail(email);
    expect(row?.first_name).toBe("Ana");
    expect(row?.last_name).toBe("Costa");
    expect(JSON.parse(row!.attributes as string)).toEqual({
      city: "Porto",
      plan: "pro",
      team: "blue",
    });
  });

  it("overwrites names the file has", async () => {
    const listId = await createList();
    const email = `rename.${crypto.randomUUID()}@example.com`;
    await importSubscribers(env.DB, listId, [
      { email, firstName: "Ana", lastName: "Costa", attributes: {} },
    ]);

    await importSubscribers(env.DB, listId, [
      { email, firstName: "Anna", lastName: "", attributes: {} },
    ]);

    const row = await subscriberByEmail(email);
    expect(row?.first_name).toBe("Anna");
    expect(row?.last_name).toBe("");
  });

  it("adds an existing subscriber to another list", async () => {
    const first = await createList();
    const second = await createList();
    const rows = generatedRows(5);
    await importSubscribers(env.DB, first, rows);

    const result = await importSubscribers(env.DB, second, rows);

    expect(result.created).toBe(0);
    expect(result.updated).toBe(5);
    expect(result.addedToList).toBe(5);
    expect(await memberCount(first)).toBe(5);
    expect(await memberCount(second)).toBe(5);
  });

  it("ignores a repeated email in the rows", async () => {
    const listId = await createList();
    const email = `twice.${crypto.randomUUID()}@example.com`;
    const result = await importSubscribers(env.DB, listId, [
      { email, firstName: "One", lastName: null, attributes: {} },
      { email, firstName: "Two", lastName: null, attributes: {} },
    ]);

    expect(result.created).toBe(1);
    expect((await subscriberByEmail(email))?.first_name).toBe("One");
  });

  it("rejects an unknown list", async () => {
    const promise = importSubscribers(env.DB, 987_654, generatedRows(1));
    await expect(promise).rejects.toMatchObject({ status: 404, code: "list_not_found" });
  });
});

describe("importSubscribers batches", () => {
  it("reports progress after each batch", async () => {
    const listId = await createList();
    const progress: ImportProgress[] = [];

    const result = await importSubscribers(env.DB, listId, generatedRows(95), {
      rowsPerStatement: 7,
      rowsPerBatch: 20,
      onProgress: (update) => progress.push(update),
    });

    expect(result.created).toBe(95);
    // Chunks of 7 rows, and two chunks (14 rows) fit in a batch of 20.
    expect(result.batches).toBe(7);
    expect(progress.map((update) => update.rowsDone)).toEqual([14, 28, 42, 56, 70, 84, 95]);
    expect(progress.at(-1)).toEqual({
      rowsDone: 95,
      rowsTotal: 95,
      batchesDone: 7,
      batchesTotal: 7,
    });
    expect(await memberCount(listId)).toBe(95);
  });

  it("rolls back a single failed batch", async () => {
    const listId = await createList();
    const rows = generatedRows(30);
    await importSubscribers(env.DB, listId, rows.slice(0, 10));
    const before = await snapshot(rows.map((row) => row.email));
    const countsBefore = await tableCounts();

    // A null email violates NOT NULL in the insert, after the update of the
    // ten existing rows has run in the same batch.
    const renamed = rows.map((row) => ({ ...row, firstName: "Renamed" }));
    const broken = [...renamed, { ...rows[0], email: null as unknown as string }];
    await expect(importSubscribers(env.DB, listId, broken)).rejects.toThrow();

    expect(await tableCounts()).toEqual(countsBefore);
    expect(await snapshot(rows.map((row) => row.email))).toEqual(before);
  });

  it("keeps committed batches when a later one fails", async () => {
    const listId = await createList();
    const rows = generatedRows(25);
    const broken = [...rows, { ...rows[0], email: null as unknown as string }];

    const error = await importSubscribers(env.DB, listId, broken, {
      rowsPerStatement: 5,
      rowsPerBatch: 10,
    }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ImportIncompleteError);
    expect((error as ImportIncompleteError).committedRows).toBe(20);
    expect((error as ImportIncompleteError).lastCommittedLine).toBe(21);
    expect(await memberCount(listId)).toBe(20);
    expect(await snapshot(rows.map((row) => row.email))).toHaveLength(20);
  });

  it("imports 25,000 rows in three batches", async () => {
    const listId = await createList();
    const rows = generatedRows(25_000);

    const started = performance.now();
    const result = await importSubscribers(env.DB, listId, rows);
    const elapsed = performance.now() - started;
    console.log(`imported 25,000 new rows in ${Math.round(elapsed)} ms`);

    expect(result.created).toBe(25_000);
    expect(result.batches).toBe(3);
    expect(await memberCount(listId)).toBe(25_000);

    const again = await importSubscribers(env.DB, listId, rows);
    expect(again.created).toBe(0);
    expect(again.updated).toBe(25_000);
  });
});
