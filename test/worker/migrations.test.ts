import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";

describe("migrations", () => {
  it("create every table on an empty database", async () => {
    const { results } = await env.DB.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
    ).all<{ name: string }>();
    const names = results.map((row) => row.name);

    for (const table of ["subscribers", "lists", "list_members", "letters", "mailings"]) {
      expect(names).toContain(table);
    }
    for (const table of ["deliveries", "links", "clicks", "opens"]) {
      expect(names).toContain(table);
    }
  });
});
