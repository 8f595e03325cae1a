import { defineConfig } from "drizzle-kit";

// drizzle-kit only writes SQL files here; wrangler applies them to D1.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
