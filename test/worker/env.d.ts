import type { Env as WorkerEnv } from "../../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
      /** Port of the loopback SMTP server started by the global setup. */
      TEST_SMTP_PORT?: string;
    }
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    smtpPort: number;
    mailboxControlPort: number;
  }
}
