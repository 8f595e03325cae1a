/**
 * The local stack behind `npm start`, the demo and the pipeline benchmark:
 * the loopback mailbox, `wrangler dev` with a local D1 database and local
 * Queues, and a ticker that fires the Worker's cron handler every few seconds.
 *
 * Everything listens on 127.0.0.1. `stop()` ends what `startStack` started:
 * the ticker, the wrangler process group (wrangler and its workerd child) and
 * the mailbox.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  cpSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { startMailbox, type Mailbox } from "./mailbox.ts";

/** Root of the repository: wrangler.toml, migrations/ and .dev.vars live here. */
export const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const HOST = "127.0.0.1";

export interface StackOptions {
  /** HTTP port of `wrangler dev`. 0 or absent picks a free port. */
  port?: number;
  /** SMTP port of the mailbox. 0 or absent picks a free port. */
  smtpPort?: number;
  /** Folder of the local D1 database and queues (`--persist-to`). */
  persistDir: string;
  /**
   * Folder to copy the Worker's sources into and run wrangler from.
   * `wrangler dev` (4.86) always watches its sources and restarts the Worker
   * when one changes, and a restart drops the queue batch in flight. A copy
   * keeps a demo or benchmark run on the code it started with. Absent:
   * wrangler runs in the project folder and reloads on every edit, as
   * `npm start` wants.
   */
  snapshotDir?: string;
  /**
   * Worker settings passed with `--var`. They override wrangler.toml and the
   * secrets file. The stack always sets SMTP_HOST, SMTP_PORT, SMTP_SECURITY,
   * PUBLIC_URL and TICK_SECONDS itself.
   */
  vars?: Record<string, string>;
  /**
   * Secrets file that wrangler reads instead of `.dev.vars` (`--env-file`), so
   * the developer's `.dev.vars` never reaches a run with its own secrets.
   * Absent: wrangler reads `.dev.vars` in the project folder.
   */
  envFile?: string;
  /** Seconds between two cron ticks, also passed to the Worker as TICK_SECONDS. */
  tickSeconds: number;
  /** Whether the stack ticks on its own (default true). False leaves every tick to `tick()`. */
  autoTick?: boolean;
  /** Folder where the mailbox saves every message as `<n>.eml`. Absent keeps them in memory only. */
  mailboxDir?: string;
  /** Print one line per message the mailbox accepts. */
  logMessages?: boolean;
  /** File that receives the full output of `wrangler dev`. */
  workerLogFile: string;
  /** Also print the Worker's output on stdout. */
  echoWorkerLog?: boolean;
  /** Receiver of progress lines. The default prints them on stderr. */
  progress?: (line: string) => void;
  /** Milliseconds to wait for GET /healthz after starting wrangler. Default 90 s. */
  startTimeoutMs?: number;
}

/** Outcome of one cron tick as returned by the local scheduled trigger. */
export interface TickResult {
  ok: boolean;
  status: number;
  body: string;
  ms: number;
}

export interface Stack {
  /** Base URL of the Worker, e.g. `http://127.0.0.1:8787`. */
  url: string;
  port: number;
  mailbox: Mailbox;
  persistDir: string;
  workerLogFile: string;
  /** Fires the cron handler once and waits for it to finish. */
  tick(): Promise<TickResult>;
  /** Number of ticks fired so far, by the ticker and by `tick()`. */
  tickCount(): number;
  /** Returns the last `lines` lines of the Worker's output. */
  workerLogTail(lines?: number): string;
  /** Stops the ticker, wrangler and the mailbox. Calling it again does nothing. */
  stop(): Promise<void>;
}

/**
 * Starts the mailbox, applies the D1 migrations, starts `wrangler dev` and
 * waits until GET /healthz returns 200. On failure it stops whatever it
 * already started and throws an error that includes the end of the wrangler
 * output.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const progress = options.progress ?? ((line: string) => console.error(line));
  mkdirSync(options.persistDir, { recursive: true });
  mkdirSync(dirname(options.workerLogFile), { recursive: true });

  const workerDir = options.snapshotDir ? copyWorkerSources(options.snapshotDir) : PROJECT_DIR;
  progress(`applying D1 migrations to ${relativeToProject(options.persistDir)}`);
  await applyMigrations(workerDir, options.persistDir);

  const mailbox = await startMailbox({
    port: options.smtpPort ?? 0,
    dir: options.mailboxDir,
    logMessages: options.logMessages,
  });
  progress(`mailbox listening on smtp://${HOST}:${mailbox.port}`);

  try {
    const started = await startWorker(options, workerDir, mailbox.port, progress);
    return assembleStack(options, started, mailbox, progress);
  } catch (error) {
    await mailbox.close();
    throw error;
  }
}

/** How many times a port picked here may turn out to be taken before giving up. */
const PORT_ATTEMPTS = 3;

/**
 * Starts `wrangler dev` and waits for /healthz. A free port found here can
 * be taken by another process before workerd binds it (tests start several
 * stacks at once), so a port that is not the user's choice is picked again.
 */
async function startWorker(
  options: StackOptions,
  workerDir: string,
  smtpPort: number,
  progress: (line: string) => void,
): Promise<{ worker: WorkerProcess; url: string; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = options.port || (await findFreePort());
    const inspectorPort = await findFreePort();
    const url = `http://${HOST}:${port}`;
    const vars: Record<string, string> = {
      ...options.vars,
      PUBLIC_URL: url,
      SMTP_HOST: HOST,
      SMTP_PORT: String(smtpPort),
      SMTP_SECURITY: "off",
      TICK_SECONDS: String(options.tickSeconds),
    };
    const worker = new WorkerProcess(options, workerDir, port, inspectorPort, vars);

    try {
      progress(
        `starting wrangler dev on ${url} (log: ${relativeToProject(options.workerLogFile)})`,
      );
      worker.start();
      await waitForHealth(url, worker, options.startTimeoutMs ?? 90_000);
      progress(`worker ready on ${url}`);
      return { worker, url, port };
    } catch (error) {
      await worker.stop();
      const portTaken = /Address already in use/i.test(String(error));
      if (!portTaken || options.port || attempt >= PORT_ATTEMPTS) throw error;
      progress(`a port was taken by another process; retrying (attempt ${attempt + 1})`);
    }
  }
}

function assembleStack(
  options: StackOptions,
  started: { worker: WorkerProcess; url: string; port: number },
  mailbox: Awaited<ReturnType<typeof startMailbox>>,
  progress: (line: string) => void,
): Stack {
  const { worker, url, port } = started;
  const ticker = new Ticker(url, options.tickSeconds, progress);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    ticker.stop();
    await worker.stop();
    await mailbox.close();
    progress("stack stopped");
  };

  if (options.autoTick ?? true) ticker.start();

  return {
    url,
    port,
    mailbox,
    persistDir: options.persistDir,
    workerLogFile: options.workerLogFile,
    tick: () => ticker.tick(),
    tickCount: () => ticker.count,
    workerLogTail: (lines = 40) => worker.tail(lines),
    stop,
  };
}

/**
 * Stops the stack on SIGINT and SIGTERM, then exits with 130 or 143. Returns
 * a function that removes the handlers again.
 *
 * A Ctrl-C reaches this process twice, from the terminal and relayed by tsx,
 * so signals in the first second after the first one are ignored. A signal
 * after that exits at once; the exit hook still kills the wrangler group.
 */
export function stopOnSignals(stack: Pick<Stack, "stop">): () => void {
  let firstAt = 0;
  const handle = (signal: NodeJS.Signals) => {
    const code = signal === "SIGINT" ? 130 : 143;
    if (firstAt > 0) {
      if (Date.now() - firstAt > 1_000) process.exit(code);
      return;
    }
    firstAt = Date.now();
    console.error(`received ${signal}, stopping`);
    stack.stop().finally(() => process.exit(code));
  };
  process.on("SIGINT", handle);
  process.on("SIGTERM", handle);
  return () => {
    process.off("SIGINT", handle);
    process.off("SIGTERM", handle);
  };
}

/**
 * Creates `.dev.vars` with development secrets when it does not exist:
 * a random LINK_SECRET, ADMIN_TOKEN "dev-admin-token" and SMTP_SECURITY=off.
 * Returns the settings in the file and whether it was created.
 */
export function ensureDevVars(path = join(PROJECT_DIR, ".dev.vars")): {
  values: Record<string, string>;
  created: boolean;
} {
  if (existsSync(path)) return { values: parseEnvFile(readFileSync(path, "utf8")), created: false };

  const values = {
    LINK_SECRET: randomSecret(),
    ADMIN_TOKEN: "dev-admin-token",
    SMTP_SECURITY: "off",
  };
  const header = "# Local development settings for `wrangler dev`; never commit this file.\n";
  writeFileSync(path, header + formatEnvFile(values), { mode: 0o600 });
  return { values, created: true };
}

/** Writes `values` as a dotenv file for `--env-file`, readable by the owner only. */
export function writeEnvFile(path: string, values: Record<string, string>): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, formatEnvFile(values), { mode: 0o600 });
}

/**
 * Removes the folders of earlier runs named `<prefix>-*` under .tmp/ and
 * creates a new one, `.tmp/<prefix>-<time>`, whose path it returns. Two runs
 * then never share a database, and .tmp/ does not grow with every run. A
 * folder whose `run.pid` names a live process belongs to a run in progress
 * and stays.
 */
export function freshWorkDir(prefix: string): string {
  const tmp = join(PROJECT_DIR, ".tmp");
  const earlier = existsSync(tmp) ? readdirSync(tmp) : [];
  for (const name of earlier) {
    const dir = join(tmp, name);
    if (name.startsWith(`${prefix}-`) && !isRunning(dir)) {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const dir = join(tmp, `${prefix}-${stamp}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "run.pid"), String(process.pid));
  return dir;
}

function isRunning(dir: string): boolean {
  const pid = Number(
    existsSync(join(dir, "run.pid")) ? readFileSync(join(dir, "run.pid"), "utf8") : 0,
  );
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Returns a random URL-safe secret of 32 bytes. */
export function randomSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** Returns a port on 127.0.0.1 that was free a moment ago. */
export function findFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

/** Returns `path` relative to the project when it lies inside it. */
export function relativeToProject(path: string): string {
  const absolute = resolve(path);
  return absolute.startsWith(PROJECT_DIR + "/") ? absolute.slice(PROJECT_DIR.length + 1) : absolute;
}

function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match) continue;
    values[match[1]] = match[2].replace(/^(["'])(.*)\1$/, "$2");
  }
  return values;
}

function formatEnvFile(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([key, value]) => `${key}=${JSON.stringify(value)}\n`)
    .join("");
}

const require = createRequire(import.meta.url);

/** Path of wrangler's CLI entry point, run with this Node instead of through npx. */
function wranglerBin(): string {
  return require.resolve("wrangler/bin/wrangler.js", { paths: [PROJECT_DIR] });
}

/**
 * Environment of every wrangler call: no usage metrics, and CI=true so
 * `d1 migrations apply` takes its non-interactive path instead of a prompt.
 */
function wranglerEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    CI: "true",
    NO_COLOR: "1",
    FORCE_COLOR: "0",
  };
}

/** Files and folders that `wrangler dev` and `d1 migrations apply` read from the project. */
const WORKER_SOURCES = ["wrangler.toml", "tsconfig.json", "package.json", "src", "migrations"];

/**
 * Copies the Worker's sources into `dir` and returns it. The copy must stay
 * inside the project so esbuild still finds node_modules above it.
 */
function copyWorkerSources(dir: string): string {
  const target = resolve(dir);
  if (!target.startsWith(PROJECT_DIR + "/")) {
    throw new Error(
      `snapshotDir ${target} is outside ${PROJECT_DIR}; node_modules would not resolve.`,
    );
  }
  for (const name of WORKER_SOURCES) {
    cpSync(join(PROJECT_DIR, name), join(target, name), { recursive: true });
  }
  return target;
}

/** Runs `wrangler d1 migrations apply DB --local`; throws with its output when it fails. */
async function applyMigrations(workerDir: string, persistDir: string): Promise<void> {
  const args = ["d1", "migrations", "apply", "DB", "--local", "--persist-to", resolve(persistDir)];
  const child = spawn(process.execPath, [wranglerBin(), ...args], {
    cwd: workerDir,
    env: wranglerEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });

  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.on("close", done));
  if (code !== 0) {
    throw new Error(
      `wrangler d1 migrations apply failed with exit code ${code}. Its output:\n${output.trim()}`,
    );
  }
}

/** Colour and cursor sequences, left out of the log file and of error messages. */
const ANSI_ESCAPE = /\x1b\[[0-9;]*[A-Za-z]/g;

/** Marker of a bundling or startup error. After one, wrangler waits for a file change. */
const BUILD_ERROR = /\[ERROR\]/;

/** `wrangler dev` in its own process group, its output teed to a log file. */
class WorkerProcess {
  private child: ChildProcess | null = null;
  private exitCode: number | null = null;
  private exited: Promise<void> = Promise.resolve();
  private readonly recent: string[] = [];
  /** The first `[ERROR]` line wrangler printed, or null. */
  firstError: string | null = null;

  constructor(
    private readonly options: StackOptions,
    private readonly workerDir: string,
    private readonly port: number,
    private readonly inspectorPort: number,
    private readonly vars: Record<string, string>,
  ) {}

  start(): void {
    const args = [
      wranglerBin(),
      "dev",
      "--ip",
      HOST,
      "--port",
      String(this.port),
      "--inspector-port",
      String(this.inspectorPort),
      "--persist-to",
      resolve(this.options.persistDir),
      "--show-interactive-dev-session=false",
      "--live-reload=false",
      ...Object.entries(this.vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]),
    ];
    if (this.options.envFile) args.push("--env-file", resolve(this.options.envFile));

    // detached: wrangler leads a new process group, so stop() can signal it
    // and its workerd child together. A Ctrl-C in the terminal then reaches
    // only this script, which stops the group in order.
    const child = spawn(process.execPath, args, {
      cwd: this.workerDir,
      env: wranglerEnv(),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.child = child;
    this.exited = new Promise((done) =>
      child.on("exit", (code, signal) => {
        this.exitCode = code ?? (signal ? 128 : 1);
        done();
      }),
    );
    process.on("exit", this.killNow);

    const log = createWriteStream(this.options.workerLogFile, { flags: "a" });
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on("line", (line) => this.onLine(line, log));
    }
  }

  /** Exit code once wrangler has exited, else null. */
  get exitStatus(): number | null {
    return this.exitCode;
  }

  tail(lines: number): string {
    return this.recent.slice(-lines).join("\n");
  }

  /** Sends SIGTERM to the process group, then SIGKILL after 5 s if it still runs. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || this.exitCode !== null) return;

    signalGroup(child, "SIGTERM");
    const timer = setTimeout(() => signalGroup(child, "SIGKILL"), 5_000);
    await this.exited;
    clearTimeout(timer);
    // workerd may outlive wrangler for a moment, and no process of the group may remain.
    signalGroup(child, "SIGKILL");
    process.off("exit", this.killNow);
  }

  /** Last resort when Node exits without stop(): no wrangler or workerd may outlive it. */
  private readonly killNow = () => {
    if (this.child) signalGroup(this.child, "SIGKILL");
  };

  private onLine(raw: string, log: NodeJS.WritableStream): void {
    const line = raw.replace(ANSI_ESCAPE, "");
    if (this.exitCode === null && this.firstError === null && BUILD_ERROR.test(line)) {
      this.firstError = line.trim();
    }
    log.write(line + "\n");
    this.recent.push(line);
    if (this.recent.length > 400) this.recent.splice(0, this.recent.length - 200);
    if (this.options.echoWorkerLog) console.log(line);
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch (error) {
    // ESRCH: the group is already gone.
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

async function waitForHealth(url: string, worker: WorkerProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (worker.exitStatus !== null) {
      throw new Error(
        `wrangler dev exited with code ${worker.exitStatus} before ${url}/healthz responded. ` +
          `Last lines of its output:\n${worker.tail(30)}`,
      );
    }
    if (worker.firstError !== null) {
      // Let wrangler finish printing the error before quoting it.
      await sleep(1_000);
      throw new Error(
        `wrangler dev failed to start: ${worker.firstError}. ` +
          `Last lines of its output:\n${worker.tail(30)}`,
      );
    }
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(250);
  }
  throw new Error(
    `${url}/healthz did not respond within ${timeoutMs / 1000} s (timed out). ` +
      `Last lines of the wrangler output:\n${worker.tail(30)}`,
  );
}

/**
 * Fires the Worker's scheduled handler through wrangler's local trigger
 * route, which `wrangler dev` (4.86) serves without `--test-scheduled`. The
 * response is 200 when the handler finished without throwing.
 */
class Ticker {
  count = 0;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private lastFailure = "";

  constructor(
    private readonly url: string,
    private readonly tickSeconds: number,
    private readonly progress: (line: string) => void,
  ) {}

  start(): void {
    this.running = true;
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  async tick(): Promise<TickResult> {
    this.count++;
    const started = performance.now();
    const target = `${this.url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}`;
    try {
      const response = await fetch(target, { signal: AbortSignal.timeout(120_000) });
      const body = await response.text();
      return { ok: response.ok, status: response.status, body, ms: performance.now() - started };
    } catch (error) {
      const body = error instanceof Error ? error.message : String(error);
      return { ok: false, status: 0, body, ms: performance.now() - started };
    }
  }

  // Ticks never overlap. The next one is scheduled when the previous ends,
  // at the next multiple of the interval after it started.
  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(async () => {
      const started = Date.now();
      const result = await this.tick();
      this.report(result);
      const elapsed = Date.now() - started;
      const interval = this.tickSeconds * 1000;
      this.schedule(Math.max(0, interval - (elapsed % interval)));
    }, delayMs);
  }

  // Prints a failure once, and once more when it changes or clears, so a
  // worker that stays broken does not flood the terminal every few seconds.
  private report(result: TickResult): void {
    if (!this.running) return;

    const failure = result.ok ? "" : `status ${result.status}: ${result.body.slice(0, 300)}`;
    if (failure === this.lastFailure) return;
    if (failure) this.progress(`cron tick failed (${failure}); see the Worker log`);
    else this.progress("cron tick succeeded again");
    this.lastFailure = failure;
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
