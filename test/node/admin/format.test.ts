/**
 * The panel's time formatting and the failed-login limiter, as plain
 * functions. The API may store a start time that is no valid Date, and no
 * stack test can rely on such a value being accepted, so the formatting is
 * checked here.
 */
import { describe, expect, it } from "vitest";
import { formatTime, INVALID_TIME, renderRows } from "../../../src/admin/layout";
import { LoginLimiter } from "../../../src/admin/login-limit";

describe("formatTime", () => {
  it("formats a Unix-ms time in UTC", () => {
    expect(formatTime(Date.UTC(2024, 4, 6, 7, 8, 9))).toBe("2024-05-06 07:08 UTC");
  });

  it("shows a dash for a missing time", () => {
    expect(formatTime(null)).toBe("–");
    expect(formatTime(undefined)).toBe("–");
  });

  it("marks times that are no valid Date", () => {
    for (const value of [8_640_000_000_000_001, -8_640_000_000_000_001, NaN, Infinity]) {
      expect(formatTime(value)).toBe(`${INVALID_TIME} (${String(value)})`);
    }
  });

  it("marks a value that is not a number", () => {
    expect(formatTime("2024-05-06" as unknown as number)).toBe(`${INVALID_TIME} (2024-05-06)`);
  });

  it("formats the largest valid Date", () => {
    expect(formatTime(8_640_000_000_000_000)).toBe("+275760-09-13 00:00 UTC");
  });
});

describe("renderRows", () => {
  it("replaces a row that throws", () => {
    const rows = renderRows(
      [1, 2, 3],
      4,
      (n) => {
        if (n === 2) throw new RangeError("Invalid time value");
        return `row ${n}`;
      },
      (n) => ({ n }),
    );
    expect(rows[0]).toBe("row 1");
    expect(rows[2]).toBe("row 3");
    const html = String(rows[1]);
    expect(html).toContain('colspan="4"');
    expect(html).toContain("This row could not be shown: RangeError: Invalid time value");
  });
});

describe("LoginLimiter", () => {
  const MINUTE = 60_000;

  it("rejects after the fifth failure", () => {
    const limiter = new LoginLimiter(5, 10 * MINUTE);
    for (let i = 0; i < 4; i++) limiter.recordFailure("203.0.113.1", i * MINUTE);
    expect(limiter.retryAt("203.0.113.1", 4 * MINUTE)).toBeNull();

    limiter.recordFailure("203.0.113.1", 4 * MINUTE);
    expect(limiter.retryAt("203.0.113.1", 5 * MINUTE)).toBe(10 * MINUTE);
  });

  it("counts each address on its own", () => {
    const limiter = new LoginLimiter(5, 10 * MINUTE);
    for (let i = 0; i < 5; i++) limiter.recordFailure("203.0.113.1", i);
    expect(limiter.retryAt("203.0.113.1", 10)).not.toBeNull();
    expect(limiter.retryAt("203.0.113.2", 10)).toBeNull();
  });

  it("forgets failures older than the window", () => {
    const limiter = new LoginLimiter(5, 10 * MINUTE);
    for (let i = 0; i < 5; i++) limiter.recordFailure("local", i * MINUTE);
    expect(limiter.retryAt("local", 10 * MINUTE - 1)).toBe(10 * MINUTE);
    expect(limiter.retryAt("local", 10 * MINUTE)).toBeNull();
  });

  it("forgets failures after a reset", () => {
    const limiter = new LoginLimiter(5, 10 * MINUTE);
    for (let i = 0; i < 5; i++) limiter.recordFailure("local", i);
    limiter.reset("local");
    expect(limiter.retryAt("local", 10)).toBeNull();
  });
});
