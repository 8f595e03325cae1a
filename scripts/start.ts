/**
 * `npm start`: the Worker on this machine with everything it needs, until Ctrl-C.
 *
 *   - `wrangler dev` on http://127.0.0.1:$PORT (default 8787) with the local D1
 *     database in .wrangler/state, the same one a plain `wrangler dev` uses;
 *   - a loopback SMTP server on $SMTP_PORT (default 2525) that accepts every
 *     message, saves it as .eml under .mailbox/<start time>/ and prints one line;
 *   - a cron tick every $TICK_SECONDS seconds (default 5) instead of every minute.
 *
 * Secrets come from .dev.vars, which is created with development values when
 * it is missing. SMTP settings always point at the local mailbox, so nothing
 * started here can send mail to another host. An empty database gets a demo
 * list, letter and draft mailing.
 */
import { join } from "node:path";
import { ApiClient } from "./lib/api.ts";
import { createDemoLetter, createDemoList, DEMO_NAME } from "./lib/seed.ts";
import {
  ensureDevVars,
  PROJECT_DIR,
  relativeToProject,
  startStack,
  stopOnSignals,
  type Stack,
} from "./lib/stack.ts";

const progress = (line: string) => console.log(`trickle: ${line}`);

async function main(): Promise<void> {
  const port = readPort("PORT", 8787);
  const smtpPort = readPort("SMTP_PORT", 2525);
  const tickSeconds = readPort("TICK_SECONDS", 5);

  const devVars = ensureDevVars();
  if (devVars.created) progress("created .dev.vars with development secrets");
  const adminToken = devVars.values.ADMIN_TOKEN;
  if (!adminToken) {
    throw new Error(
      ".dev.vars has no ADMIN_TOKEN. Add a line ADMIN_TOKEN=<token>, or delete .dev.vars to have it created with development values.",
    );
  }

  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const mailboxDir = join(PROJECT_DIR, ".mailbox", stamp);
  const stack = await startStack({
    port,
    smtpPort,
    persistDir: join(PROJECT_DIR, ".wrangler/state"),
    tickSeconds,
    mailboxDir,
    logMessages: true,
    workerLogFile: join(PROJECT_DIR, ".wrangler/trickle-dev.log"),
    echoWorkerLog: true,
    progress,
  });
  stopOnSignals(stack);

  try {
    await seedWhenEmpty(new ApiClient(stack.url, adminToken));
  } catch (error) {
    // The stack still serves the API, so a failed seed is reported, not fatal.
    progress(`seeding the demo failed: ${error instanceof Error ? error.message : error}`);
  }

  await printUrls(stack, adminToken, mailboxDir, tickSeconds);
}

/** Reads a whole number from the environment, or returns `fallback` when it is unset. */
function readPort(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;

  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`${name}="${text}" is invalid; expected a whole number from 1 to 65535.`);
  }
  return value;
}

/**
 * Creates the demo list, letter and a draft mailing when the database has no
 * list, letter or mailing yet. The mailing is not started: starting it is
 * the first thing to try.
 */
async function seedWhenEmpty(api: ApiClient): Promise<void> {
  const [lists, letters, mailings] = await Promise.all([
    api.listLists(),
    api.listLetters(),
    api.listMailings(),
  ]);
  if (lists.length + letters.length + mailings.length > 0) return;

  progress("the database is empty; creating a demo list, letter and draft mailing");
  const { listId, result } = await createDemoList(api, "Demo subscribers");
  const { letterId, warnings } = await createDemoLetter(api);
  const mailing = await api.createMailing({ name: DEMO_NAME, letterId, listId });
  progress(
    `list ${listId}: ${result.imported} subscribers (${result.invalid.length} invalid rows, ` +
      `${result.duplicates.length} duplicates); letter ${letterId} (${warnings.length} warnings); ` +
      `draft mailing ${mailing.id}`,
  );
}

async function printUrls(
  stack: Stack,
  adminToken: string,
  mailboxDir: string,
  tickSeconds: number,
): Promise<void> {
  const admin = await fetch(`${stack.url}/admin`, { redirect: "manual" }).catch(() => null);
  const lines = [
    "",
    admin && admin.status !== 404
      ? `  Admin panel   ${stack.url}/admin`
      : "  Admin panel   not served by this Worker yet",
    `  JSON API      ${stack.url}/api  (Authorization: Bearer ${adminToken})`,
    `  SMTP mailbox  smtp://127.0.0.1:${stack.mailbox.port}, messages saved in ${relativeToProject(mailboxDir)}/`,
    `  Database      ${relativeToProject(stack.persistDir)} (local D1)`,
    `  Cron          fired every ${tickSeconds} s by this script (TICK_SECONDS=${tickSeconds})`,
    `  Worker log    ${relativeToProject(stack.workerLogFile)}`,
    "",
    `  Try: curl -H "Authorization: Bearer ${adminToken}" ${stack.url}/api/mailings`,
    "  Press Ctrl-C to stop.",
    "",
  ];
  console.log(lines.join("\n"));
}

/** Says which setting picks a port that turned out to be in use. */
function explainPortInUse(message: string): string | null {
  const port = /(?:EADDRINUSE[^\d]*|Address already in use \()[\d.:[\]]*?:(\d+)/.exec(message)?.[1];
  if (!port) return null;

  const smtpPort = process.env.SMTP_PORT || "2525";
  const setting = port === smtpPort ? "SMTP_PORT" : "PORT";
  return `Port ${port} is already in use by another program. Stop that program, or choose a free port: ${setting}=<port> npm start`;
}

try {
  await main();
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`trickle: ${explainPortInUse(message) ?? message}`);
  process.exit(1);
}
