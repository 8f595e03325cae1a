/**
 * `npm run chaos`: a fault-injection run of the whole send path.
 *
 *   npm run chaos                               2,000 recipients, a random seed
 *   npm run chaos -- --seed 7 --recipients 500  a given seed and list size
 *
 * It runs test/worker/delivery/chaos.test.ts in workerd (vitest), with the
 * seed and list size passed through TRICKLE_CHAOS_SEED and
 * TRICKLE_CHAOS_RECIPIENTS. The vitest global setup starts the loopback chaos
 * mailbox with that seed. The test drives the real scheduler and sender and
 * checks the outcome, as docs/DELIVERY.md describes. Progress goes to stderr,
 * and the last line on stdout is the JSON summary
 *
 *   {"recipients":…,"sent":…,"failed":…,"uncertain":…,"duplicates":…,"lost":…,"seed":…}
 *
 * The exit code is 0 only when duplicates and lost are both 0.
 */
import { spawn } from "node:child_process";
import { randomInt } from "node:crypto";

const TEST_FILE = "test/worker/delivery/chaos.test.ts";
const RESULT_MARKER = "chaos result ";
const DETAILS_MARKER = "chaos details ";

interface Options {
  seed: number;
  recipients: number;
}

function parseOptions(args: string[]): Options {
  const options: Options = { seed: randomInt(1, 2 ** 31 - 1), recipients: 2000 };

  for (let index = 0; index < args.length; index++) {
    const [flag, inline] = args[index].split("=", 2);
    if (flag !== "--seed" && flag !== "--recipients") {
      throw new Error(`Unknown option ${args[index]}; use --seed N and --recipients N.`);
    }

    const value = inline ?? args[++index];
    const number = Number(value);
    const min = flag === "--seed" ? 0 : 1;
    if (value === undefined || !Number.isInteger(number) || number < min) {
      throw new Error(
        `${flag} "${value ?? ""}" is invalid; expected a whole number of at least ${min}.`,
      );
    }
    if (flag === "--seed") options.seed = number;
    else options.recipients = number;
  }
  return options;
}

/** Runs the chaos test file; resolves with its exit code and everything it printed. */
function runVitest(options: Options): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("npx", ["vitest", "run", TEST_FILE], {
      env: {
        ...process.env,
        NO_COLOR: "1",
        TRICKLE_CHAOS_SEED: String(options.seed),
        TRICKLE_CHAOS_RECIPIENTS: String(options.recipients),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });

    let output = "";
    const collect = (chunk: Buffer) => {
      output += chunk.toString("utf8");
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

/** Returns the rest of the first line that contains `marker`, without terminal colour codes. */
function lineAfter(output: string, marker: string): string | null {
  const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
  const line = plain.split("\n").find((text) => text.includes(marker));
  return line ? line.slice(line.indexOf(marker) + marker.length).trim() : null;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  console.error(`chaos: seed ${options.seed}, ${options.recipients} recipients`);

  const started = Date.now();
  const { code, output } = await runVitest(options);
  const result = lineAfter(output, RESULT_MARKER);
  const details = lineAfter(output, DETAILS_MARKER);

  if (!result) {
    console.error(output.split("\n").slice(-60).join("\n"));
    console.error(
      `chaos: the run printed no result (vitest exit code ${code}); see the output above.`,
    );
    process.exit(1);
  }

  console.error(`chaos: ${details ?? "no details"}`);
  console.error(`chaos: finished in ${Math.round((Date.now() - started) / 1000)} s`);
  console.log(result);

  const summary = JSON.parse(result) as { duplicates: number; lost: number };
  process.exit(summary.duplicates === 0 && summary.lost === 0 ? 0 : 1);
}

main().catch((error: unknown) => {
  console.error(`chaos: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
});
