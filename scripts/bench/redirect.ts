/**
 * Click redirect benchmark: `GET /c/:id` against a constant 302 of the same
 * Worker (`GET /c-baseline`), both under `wrangler dev` on a free loopback
 * port with a fresh local D1.
 *
 * Steps: apply the migrations to a new --persist-to folder, seed one mailing
 * with one link, one subscriber and a sent delivery through
 * `wrangler d1 execute`, start `wrangler dev` with TRICKLE_DEBUG=1, warm both
 * routes, then let autocannon send a fixed number of requests to each route
 * in alternating rounds. The D1 query counter of the tracking routes
 * (`GET /_debug/tracking`) is read before and after the measured rounds.
 *
 * Figures:
 *   redirect_vs_baseline       median redirect throughput / median baseline throughput (goal >= 0.7)
 *   redirect_p99_vs_baseline   median redirect p99 latency / median baseline p99 latency (goal <= 2)
 *   d1_queries_per_warm_redirect  D1 statements per measured redirect (goal 0)
 *   link_id_length             characters of the benchmarked click id
 *   clicks_recorded_ratio      clicks stored in D1 by the events consumer / redirects sent
 *
 * REDIRECT_BENCH_REQUESTS (default 3000) and REDIRECT_BENCH_ROUNDS (default 5)
 * set the requests per round and route, and the number of rounds.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { loadLinkKeys, signRecipient } from "../../src/tracking/ids";

type Progress = (line: string) => void;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const LINK_SECRET = "1:bench-link-secret-0123456789abcdef";
const ADMIN_TOKEN = "bench-admin-token";

/** Requests per measured round and route; rounds alternate between the two routes. */
const REQUESTS_PER_ROUND = Number(process.env.REDIRECT_BENCH_REQUESTS ?? 3_000);
const ROUNDS = Number(process.env.REDIRECT_BENCH_ROUNDS ?? 5);
const WARMUP_REQUESTS = 500;
const CONNECTIONS = 8;
const STARTUP_TIMEOUT_MS = 90_000;

// No metrics, and no download of the `request.cf` sample from Cloudflare: the
// benchmark talks to loopback only.
const WRANGLER_ENV = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  CI: "true",
};

/** Runs the benchmark and returns its figures; stops wrangler and removes its data before returning. */
export async function run(progress: Progress): Promise<Record<string, number>> {
  const persistTo = await mkdtemp(path.join(tmpdir(), "trickle-bench-redirect-"));
  let wrangler: ChildProcess | null = null;

  try {
    progress(`applying migrations in ${persistTo}`);
    await runWrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo]);
    const seed = await seedDatabase(persistTo);

    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    progress(`starting wrangler dev on ${baseUrl}`);
    wrangler = startWrangler(port, persistTo, baseUrl);
    await waitUntilReady(`${baseUrl}/healthz`, wrangler);

    const keys = await loadLinkKeys(LINK_SECRET, "");
    const linkId = (await signRecipient(keys, seed.mailingId, seed.subscriberId)).click(0);
    const redirectUrl = `${baseUrl}/c/${linkId}`;
    const baselineUrl = `${baseUrl}/c-baseline`;
    await expectRedirect(redirectUrl, seed.destination);
    await expectRedirect(baselineUrl, "https://example.com/");

    progress("warming up");
    await drive(redirectUrl, WARMUP_REQUESTS);
    await drive(baselineUrl, WARMUP_REQUESTS);

    const before = await readCounters(baseUrl);
    const redirectRuns: RunFigures[] = [];
    const baselineRuns: RunFigures[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      baselineRuns.push(await drive(baselineUrl, REQUESTS_PER_ROUND));
      redirectRuns.push(await drive(redirectUrl, REQUESTS_PER_ROUND));
      progress(
        `round ${round}: baseline ${baselineRuns.at(-1)!.rps.toFixed(0)} req/s p99 ${baselineRuns.at(-1)!.p99} ms, ` +
          `redirect ${redirectRuns.at(-1)!.rps.toFixed(0)} req/s p99 ${redirectRuns.at(-1)!.p99} ms`,
      );
    }
    const after = await readCounters(baseUrl);
    const expectedClicks = 1 + WARMUP_REQUESTS + ROUNDS * REQUESTS_PER_ROUND;
    const recordedClicks = await waitForRecordedClicks(
      baseUrl,
      seed.mailingId,
      expectedClicks,
      progress,
    );

    const redirect = median(redirectRuns);
    const baseline = median(baselineRuns);
    return {
      redirect_rps: round2(redirect.rps),
      baseline_rps: round2(baseline.rps),
      redirect_p99_ms: round2(redirect.p99),
      baseline_p99_ms: round2(baseline.p99),
      redirect_vs_baseline: round2(redirect.rps / baseline.rps),
      redirect_p99_vs_baseline: round2(redirect.p99 / Math.max(baseline.p99, 1)),
      d1_queries_per_warm_redirect:
        (after.statements - before.statements) / (ROUNDS * REQUESTS_PER_ROUND),
      link_id_length: linkId.length,
      clicks_recorded_ratio: round2(recordedClicks / expectedClicks),
      requests_per_round: REQUESTS_PER_ROUND,
      rounds: ROUNDS,
      connections: CONNECTIONS,
    };
  } finally {
    if (wrangler) await stopWrangler(wrangler);
    await rm(persistTo, { recursive: true, force: true });
  }
}

interface Seed {
  mailingId: number;
  subscriberId: number;
  destination: string;
}

/** Inserts one list, subscriber, letter, sending mailing, sent delivery and link. */
async function seedDatabase(persistTo: string): Promise<Seed> {
  // Ids of a realistic size, so that link_id_length is typical (18 characters).
  const seed: Seed = {
    mailingId: 42,
    subscriberId: 12_345,
    destination: "https://example.com/spring?utm_source=trickle",
  };
  const now = Date.now();
  const sentAt = now - 3_600_000;
  const sql = `
INSERT INTO lists (id, name, created_at) VALUES (1, 'Bench list', ${now});
INSERT INTO subscribers (id, email, first_name, last_name, attributes, status, created_at)
  VALUES (${seed.subscriberId}, 'bench@example.com', 'Bench', 'Reader', '{}', 'active', ${now});
INSERT INTO list_members (list_id, subscriber_id, added_at) VALUES (1, ${seed.subscriberId}, ${now});
INSERT INTO letters (id, name, subject, from_email, layout, settings, created_at, updated_at)
  VALUES (1, 'Bench letter', 'Hello', 'news@example.com', '<p>Hi</p>',
          '{"trackClicks":true,"trackOpens":true,"utm":null}', ${now}, ${now});
INSERT INTO mailings (id, name, letter_id, list_id, status, start_at, total, created_at)
  VALUES (${seed.mailingId}, 'Bench mailing', 1, 1, 'sending', ${now}, 1, ${now});
INSERT INTO deliveries (mailing_id, subscriber_id, variant, state, sent_at, updated_at)
  VALUES (${seed.mailingId}, ${seed.subscriberId}, '', 'sent', ${sentAt}, ${sentAt});
INSERT INTO links (mailing_id, variant, idx, url, has_tokens)
  VALUES (${seed.mailingId}, '', 0, '${seed.destination}', 0);
`;
  const file = path.join(persistTo, "seed.sql");
  await writeFile(file, sql);
  await runWrangler(["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--file", file]);
  return seed;
}

interface RunFigures {
  rps: number;
  p99: number;
}

/** Sends `amount` GET requests with autocannon and checks that every response was a 302. */
async function drive(url: string, amount: number): Promise<RunFigures> {
  // autocannon notices the end of a run at its next sample tick (1 s by
  // default), so a short sample interval keeps the measured time exact.
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    amount,
    timeout: 10,
    sampleInt: 10,
  });

  const redirects = result["3xx"];
  if (redirects !== amount || result.errors > 0 || result.timeouts > 0) {
    throw new Error(
      `Benchmark run against ${url} expected ${amount} redirects, got ${redirects} (errors ${result.errors}, timeouts ${result.timeouts}, 2xx ${result["2xx"]}, 4xx ${result["4xx"]}, 5xx ${result["5xx"]}).`,
    );
  }
  const seconds = (new Date(result.finish).getTime() - new Date(result.start).getTime()) / 1000;
  return { rps: amount / seconds, p99: result.latency.p99 };
}

/** Median throughput and median p99 of the rounds: one disturbed round on a shared machine moves neither. */
function median(runs: RunFigures[]): RunFigures {
  const middle = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const half = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[half] : (sorted[half - 1] + sorted[half]) / 2;
  };
  return { rps: middle(runs.map((run) => run.rps)), p99: middle(runs.map((run) => run.p99)) };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

async function readCounters(baseUrl: string): Promise<{ statements: number; roundTrips: number }> {
  const response = await fetch(`${baseUrl}/_debug/tracking`);
  if (!response.ok) {
    throw new Error(`GET /_debug/tracking returned ${response.status}; is TRICKLE_DEBUG=1 set?`);
  }
  return (await response.json()) as { statements: number; roundTrips: number };
}

/**
 * Polls the statistics API until the events consumer has stored `expected`
 * clicks or the count stops growing for 10 seconds; returns the last count.
 */
async function waitForRecordedClicks(
  baseUrl: string,
  mailingId: number,
  expected: number,
  progress: Progress,
): Promise<number> {
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const response = await fetch(`${baseUrl}/api/mailings/${mailingId}/stats`, {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    if (!response.ok)
      throw new Error(`GET /api/mailings/${mailingId}/stats returned ${response.status}.`);

    const { stats } = (await response.json()) as {
      stats: { clicks: { human: { total: number }; machine: { total: number } } };
    };
    const clicks = stats.clicks.human.total + stats.clicks.machine.total;
    if (clicks >= expected) return clicks;
    if (clicks !== last) {
      last = clicks;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > 10_000) {
      progress(`events consumer stored ${clicks} of ${expected} clicks`);
      return clicks;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function expectRedirect(url: string, location: string): Promise<void> {
  const response = await fetch(url, { redirect: "manual" });
  const actual = response.headers.get("Location");
  if (response.status !== 302 || actual !== location) {
    throw new Error(
      `GET ${url} returned ${response.status} to ${actual}; expected 302 to ${location}.`,
    );
  }
}

function startWrangler(port: number, persistTo: string, publicUrl: string): ChildProcess {
  const vars = {
    LINK_SECRET,
    ADMIN_TOKEN,
    PUBLIC_URL: publicUrl,
    TRICKLE_DEBUG: "1",
  };
  const args = [
    "wrangler",
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--persist-to",
    persistTo,
    "--inspector-port",
    "0",
    "--log-level",
    "warn",
    "--show-interactive-dev-session=false",
    ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
  ];

  // A process group of its own, so that stopping it also stops workerd.
  const child = spawn("npx", args, {
    cwd: ROOT,
    env: WRANGLER_ENV,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  // The Worker's structured logs arrive on stdout; show its warnings and errors.
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) {
        if (/"level":"(warn|error)"|\berror\b/i.test(line))
          process.stderr.write(`[wrangler] ${line}\n`);
      }
    });
  }
  return child;
}

async function waitUntilReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`wrangler dev exited with code ${child.exitCode} before it was ready.`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`wrangler dev did not respond to ${url} within ${STARTUP_TIMEOUT_MS / 1000} s.`);
}

async function stopWrangler(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;

  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(-child.pid, "SIGTERM");
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  }, 10_000);
  await exited;
  clearTimeout(timer);
}

function runWrangler(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("npx", ["wrangler", ...args], {
      cwd: ROOT,
      env: WRANGLER_ENV,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `wrangler ${args.slice(0, 3).join(" ")} failed with code ${code}:\n${output.slice(-2000)}`,
          ),
        );
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
