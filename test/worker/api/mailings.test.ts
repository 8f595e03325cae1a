import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { seedLetter, seedList } from "../support/seed";

const AUTH = { authorization: "Bearer test-admin-token" };

async function request(method: string, path: string, body?: string, type = "application/json") {
  const headers: Record<string, string> = { ...AUTH };
  if (type) headers["content-type"] = type;
  const response = await SELF.fetch(`https://t.example.net/api${path}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, type: response.headers.get("content-type"), text };
}

async function draft(count: number, startAt?: number) {
  const { listId } = await seedList(count);
  const letterId = await seedLetter("<p>Hi {{ first_name }}</p>");
  const body = JSON.stringify({ name: "Spring", letterId, listId, startAt });
  const created = await request("POST", "/mailings", body);
  expect(created.status, created.text).toBe(201);
  return JSON.parse(created.text).mailing.id as number;
}

describe("mailings API errors", () => {
  it.each([
    ["malformed JSON", "{not json", "application/json", 400, "invalid_json"],
    ["a text body", '{"name":"x"}', "text/plain", 415, "unsupported_media_type"],
    ["no content type", '{"name":"x"}', "", 415, "unsupported_media_type"],
  ])("rejects %s with a JSON error", async (_case, body, type, status, code) => {
    const response = await request("POST", "/mailings", body, type);

    expect(response.status, response.text).toBe(status);
    expect(response.type).toContain("application/json");
    expect(JSON.parse(response.text).errors[0].code).toBe(code);
  });

  it("rejects a missing token as JSON", async () => {
    const response = await SELF.fetch("https://t.example.net/api/mailings");

    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toContain("Bearer");
    const body = (await response.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0].code).toBe("unauthorized");
    expect(body.errors[0].message).toContain("Authorization: Bearer");
  });

  it("rejects a start time no date can hold", async () => {
    const { listId } = await seedList(1);
    const letterId = await seedLetter("<p>Hi</p>");
    const body = JSON.stringify({ name: "x", letterId, listId, startAt: 8_640_000_000_000_001 });

    const response = await request("POST", "/mailings", body);

    expect(response.status, response.text).toBe(400);
    expect(JSON.parse(response.text).errors[0].details[0].field).toBe("startAt");
  });

  it("rejects starting a list without active subscribers", async () => {
    const id = await draft(0);

    const response = await request("POST", `/mailings/${id}/start`);

    expect(response.status, response.text).toBe(422);
    expect(JSON.parse(response.text).errors[0].code).toBe("list_empty");
    const row = await env.DB.prepare("SELECT status FROM mailings WHERE id = ?").bind(id).first();
    expect(row).toEqual({ status: "draft" });
  });
});

describe("mailing control", () => {
  it("pauses with an empty body", async () => {
    const id = await draft(2);
    await request("POST", `/mailings/${id}/start`);

    const response = await request("POST", `/mailings/${id}/pause`, "");

    expect(response.status, response.text).toBe(200);
    expect(JSON.parse(response.text).mailing.status).toBe("paused");
  });

  it("resumes an unstarted mailing to wait", async () => {
    const id = await draft(2, Date.UTC(2030, 0, 1));
    await request("POST", `/mailings/${id}/start`);
    await request("POST", `/mailings/${id}/pause`, '{"reason":"check the letter"}');

    const response = await request("POST", `/mailings/${id}/resume`);

    expect(response.status, response.text).toBe(200);
    expect(JSON.parse(response.text).mailing.status).toBe("wait");
  });
});
