import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { fileURLToPath } from "node:url";
import { createServer } from "node:net";
import { defineConfig } from "vitest/config";

/** A free loopback port, found by binding port 0 and closing again. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

// Tests under test/worker run inside workerd with the Worker's real D1 and
// Queues bindings from wrangler.toml; the migrations are applied by the setup
// file before each test file.
export default defineConfig(async () => {
  // The Worker under test sends to the mailbox that the global setup starts
  // on this port, so its queue consumer talks to a real SMTP server.
  const smtpPort = Number(process.env.TRICKLE_TEST_SMTP_PORT) || (await freePort());
  process.env.TRICKLE_TEST_SMTP_PORT = String(smtpPort);

  return {
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
            SMTP_PORT: String(smtpPort),
            TICK_SECONDS: "1",
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
  };
});
