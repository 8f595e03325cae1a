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
    /** The seeded chaos mailbox and the settings of the chaos run. */
    chaos: import("../../scripts/lib/chaos-faults").ChaosMailboxInfo;
    /** A mailbox used only by test/worker/delivery/faults.test.ts, for faults at the greeting. */
    faultMailbox: { smtpPort: number; controlPort: number };
  }
}
