/**
 * `npm test`: runs the workerd suite, then the Node-side suite, and ends
 * with one plain line `N passed, N failed, N skipped` over both. Extra
 * arguments (file filters) go to both vitest runs.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

interface JsonReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
}

const SUITES = [
  { name: "workerd", config: "vitest.config.mts" },
  { name: "node", config: "vitest.node.config.mts" },
];

const reportDir = join(".tmp", "test-reports");
rmSync(reportDir, { recursive: true, force: true });
mkdirSync(reportDir, { recursive: true });

let passed = 0;
let failed = 0;
let skipped = 0;
let exitCode = 0;

for (const suite of SUITES) {
  const report = join(reportDir, `${suite.name}.json`);
  const args = ["vitest", "run", "--config", suite.config, "--passWithNoTests"];
  args.push("--reporter=default", "--reporter=json", `--outputFile.json=${report}`);
  args.push(...process.argv.slice(2));

  console.log(`\n== ${suite.name} tests (${suite.config})`);
  const result = spawnSync("npx", args, { stdio: "inherit" });
  if (result.status !== 0) exitCode = result.status ?? 1;

  try {
    const counts = JSON.parse(readFileSync(report, "utf8")) as JsonReport;
    passed += counts.numPassedTests;
    failed += counts.numFailedTests;
    skipped += counts.numPendingTests + counts.numTodoTests;
  } catch {
    // A run that crashed before reporting counts as one failure.
    console.error(`The ${suite.name} suite wrote no report at ${report}; counting it as failed.`);
    failed += 1;
    exitCode ||= 1;
  }
}

console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(exitCode || (failed > 0 ? 1 : 0));
