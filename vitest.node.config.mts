import { defineConfig } from "vitest/config";

// Tests under test/node run in plain Node, for checks that need Node-only libraries such as
// mailparser. Run them with `npx vitest run --config vitest.node.config.mts`.
export default defineConfig({
  test: {
    include: ["test/node/**/*.test.ts"],
    environment: "node",
    // Each file starts its own wrangler dev stack; one at a time keeps two
    // cores from being shared by several workerd processes and Chromium.
    fileParallelism: false,
  },
});
