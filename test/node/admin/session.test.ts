/** The admin session value: derived from ADMIN_TOKEN, bound to its expiry, never the token. */
import { describe, expect, it } from "vitest";
import {
  createSessionValue,
  needsSecureCookie,
  SESSION_SECONDS,
  tokenMatches,
  verifySessionValue,
} from "../../../src/admin/session";

const TOKEN = "admin-token-for-the-session-tests";
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

describe("session value", () => {
  it("verifies until it expires", async () => {
    const value = await createSessionValue(TOKEN, NOW);
    expect(await verifySessionValue(value, TOKEN, NOW)).toBe(true);
    expect(await verifySessionValue(value, TOKEN, NOW + SESSION_SECONDS * 1000 - 1)).toBe(true);
    expect(await verifySessionValue(value, TOKEN, NOW + SESSION_SECONDS * 1000)).toBe(false);
  });

  it("does not contain the token", async () => {
    const value = await createSessionValue(TOKEN, NOW);
    expect(value).not.toContain(TOKEN);
    expect(value).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
  });

  it("fails with another token", async () => {
    const value = await createSessionValue(TOKEN, NOW);
    expect(await verifySessionValue(value, `${TOKEN}-rotated`, NOW)).toBe(false);
  });

  it("fails with a later expiry", async () => {
    const value = await createSessionValue(TOKEN, NOW);
    const [expires, mac] = value.split(".");
    const extended = `${Number(expires) + 3600}.${mac}`;
    expect(await verifySessionValue(extended, TOKEN, NOW)).toBe(false);
  });

  it.each([
    ["missing", undefined],
    ["empty", ""],
    ["the raw token", TOKEN],
    ["no MAC", "9999999999."],
    ["a short MAC", "9999999999.abc"],
  ])("fails when %s", async (_case, value) => {
    expect(await verifySessionValue(value, TOKEN, NOW)).toBe(false);
  });
});

describe("token check", () => {
  it("accepts only the exact token", async () => {
    expect(await tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(await tokenMatches(`${TOKEN} `, TOKEN)).toBe(false);
    expect(await tokenMatches("", TOKEN)).toBe(false);
    expect(await tokenMatches(TOKEN.slice(0, -1), TOKEN)).toBe(false);
  });
});

describe("Secure cookie flag", () => {
  it.each([
    ["https://trickle.example.com/admin/login", true],
    ["https://localhost/admin/login", true],
    ["http://trickle.example.com/admin/login", true],
    ["http://localhost:8787/admin/login", false],
    ["http://127.0.0.1:8787/admin/login", false],
    ["http://127.8.9.10/admin/login", false],
    ["http://[::1]:8787/admin/login", false],
    ["http://127.0.0.1.example.com/admin/login", true],
  ])("%s needs Secure: %s", (url, secure) => {
    expect(needsSecureCookie(url)).toBe(secure);
  });
});
