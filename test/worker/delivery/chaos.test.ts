/**
 * The seeded chaos run. `npm test` runs it with 200 recipients and seed 1;
 * `npm run chaos -- --seed N --recipients N` runs this file alone with other
 * settings, which the global setup reads from TRICKLE_CHAOS_SEED and
 * TRICKLE_CHAOS_RECIPIENTS.
 */
import { describe, expect, inject, it } from "vitest";
import { RESULT_MARKER, runChaos } from "./chaos";

const chaos = inject("chaos");

describe("chaos run", () => {
  it(
    `loses and repeats nobody (seed ${chaos.seed}, ${chaos.recipients} recipients)`,
    async () => {
      const { summary, details } = await runChaos(chaos);

      console.log(`chaos details ${JSON.stringify(details)}`);
      console.log(`${RESULT_MARKER}${JSON.stringify(summary)}`);

      expect(summary.duplicates, JSON.stringify(details)).toBe(0);
      expect(summary.lost, JSON.stringify(details)).toBe(0);
      expect(summary.sent + summary.failed + summary.uncertain + details.skipped).toBe(
        chaos.recipients,
      );
      expect(details.mailingStatus).toBe("done");
    },
    // About 0.1 s per recipient on 2 shared cores, with room to spare.
    60_000 + chaos.recipients * 250,
  );
});
