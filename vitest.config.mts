import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Tests under test/worker run inside workerd with the Worker's real D1 and
// Queues bindings from wrangler.toml; the migrations are applied by the setup
// file before each test file.
export default defineConfig(async () => ({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations(
            fileURLToPath(new URL("./migrations", import.meta.url)),
          ),
          LINK_SECRET: "1:test-link-secret-0123456789abcdef",
          PUBLIC_URL: "https://t.example.net",
          ADMIN_TOKEN: "test-admin-token",
        },
      },
    }),
  ],
  test: {
    include: ["test/worker/**/*.test.ts"],
    setupFiles: ["./test/worker/setup.ts"],
    globalSetup: ["./test/global-setup.ts"],
    testTimeout: 30_000,
  },
}));
