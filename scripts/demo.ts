/**
 * `npm run demo`: runs the whole product once, headless, on loopback.
 *
 * It starts the local stack on free ports with a fresh database under .tmp/,
 * imports test/fixtures/subscribers.csv, creates a letter from a fixture
 * template, starts a mailing to the list and lets the cron tick until the
 * mailing is done. Then it acts like recipients. It follows the first tracked
 * link of 20 received messages, loads the open pixel of 30 others and
 * unsubscribes 3 more with an RFC 8058 one-click POST. Last, it checks that
 * the statistics API counts exactly those.
 *
 * Progress goes to stderr. The last line on stdout is one JSON object with the
 * figures. The exit code is 0 only when every check passed.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { ApiClient, type MailingStats } from "./lib/api.ts";
import { createDemoLetter, createDemoList, DEMO_NAME, DEMO_TEMPLATE } from "./lib/seed.ts";
import {
  freshWorkDir,
  randomSecret,
  relativeToProject,
  sleep,
  startStack,
  stopOnSignals,
  writeEnvFile,
  type Stack,
} from "./lib/stack.ts";

/** Subscribers the fixture CSV yields: 200 rows minus 2 invalid rows and 2 duplicates. */
const EXPECTED_SUBSCRIBERS = 196;
const CLICKS = 20;
const OPENS = 30;
const UNSUBSCRIBES = 3;

/** Seconds between cron ticks. The Worker's pacing budget is computed per tick of this length. */
const TICK_SECONDS = 2;
/** 3,000 a minute is 100 a tick, so the mailing takes two ticks and pacing is visible. */
const RATE_PER_MINUTE = 3000;
/** Delivery ids per send queue message. */
const BATCH_SIZE = 25;

const SEND_TIMEOUT_MS = 180_000;
const STATS_TIMEOUT_MS = 30_000;

/**
 * Hits sooner than this after a message was sent count as machines (the
 * tracking code uses 2 s), so the demo waits this long before acting on a message.
 */
const HUMAN_DELAY_MS = 2_500;

/** A desktop browser's User-Agent; tools such as curl or undici are classed as machines. */
const BROWSER_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/** Figures printed as the last line. */
interface Summary {
  mailing: number | null;
  sent: number;
  failed: number;
  skipped: number;
  uncertain: number;
  clicks_followed: number;
  clicks_recorded: number;
  opens_recorded: number;
  unsubscribed: number;
  mailbox: string;
  seconds: number;
  error?: string;
}

/** One received message, parsed. */
interface ReceivedLetter {
  file: string;
  to: string;
  html: string;
  listUnsubscribe: string;
  receivedAt: number;
}

const progress = (line: string) => console.error(`demo: ${line}`);

async function main(): Promise<number> {
  const started = performance.now();
  const workDir = freshWorkDir("demo");
  const mailboxDir = join(workDir, "mailbox");
  const adminToken = randomSecret();
  const envFile = join(workDir, "worker.env");
  writeEnvFile(envFile, { LINK_SECRET: randomSecret(), ADMIN_TOKEN: adminToken });

  const summary: Summary = {
    mailing: null,
    sent: 0,
    failed: 0,
    skipped: 0,
    uncertain: 0,
    clicks_followed: 0,
    clicks_recorded: 0,
    opens_recorded: 0,
    unsubscribed: 0,
    mailbox: relativeToProject(mailboxDir),
    seconds: 0,
  };

  let stack: Stack | null = null;
  let failures: string[] = [];
  try {
    stack = await startStack({
      persistDir: join(workDir, "state"),
      snapshotDir: join(workDir, "worker"),
      envFile,
      vars: { RATE_PER_MINUTE: String(RATE_PER_MINUTE), BATCH_SIZE: String(BATCH_SIZE) },
      tickSeconds: TICK_SECONDS,
      mailboxDir,
      workerLogFile: join(workDir, "wrangler.log"),
      progress,
    });
    stopOnSignals(stack);
    failures = await runDemo(stack, new ApiClient(stack.url, adminToken), mailboxDir, summary);
  } catch (error) {
    failures.push(error instanceof Error ? error.message : String(error));
    if (stack) progress(`last lines of the Worker log:\n${stack.workerLogTail(30)}`);
  } finally {
    await stack?.stop();
  }

  summary.seconds = Math.round((performance.now() - started) / 100) / 10;
  for (const failure of failures) progress(`FAILED: ${failure}`);
  // The JSON line keeps the first line of each failure, and the full text is printed above.
  if (failures.length > 0) summary.error = failures.map((text) => text.split("\n")[0]).join("; ");
  else progress("all checks passed");

  console.log(JSON.stringify(summary));
  return failures.length === 0 ? 0 : 1;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Runs every step and returns the failed checks, an empty list when all passed. */
async function runDemo(
  stack: Stack,
  api: ApiClient,
  mailboxDir: string,
  summary: Summary,
): Promise<string[]> {
  const failures: string[] = [];
  const check = (ok: boolean, message: string) => {
    if (!ok) failures.push(message);
  };

  const listId = await importSubscribers(api, check);
  const letterId = await createLetter(api);

  const mailing = await api.createMailing({ name: DEMO_NAME, letterId, listId });
  summary.mailing = mailing.id;
  const started = await api.startMailing(mailing.id);
  progress(`mailing ${mailing.id} started with ${started.total} recipients`);
  check(
    started.total === EXPECTED_SUBSCRIBERS,
    `mailing ${mailing.id} has ${started.total} recipients, expected ${EXPECTED_SUBSCRIBERS}`,
  );

  const counts = await waitUntilDone(api, mailing.id, started.total);
  Object.assign(summary, {
    sent: counts.sent,
    failed: counts.failed,
    skipped: counts.skipped,
    uncertain: counts.uncertain,
  });
  check(
    counts.sent === EXPECTED_SUBSCRIBERS,
    `sent ${counts.sent}, expected ${EXPECTED_SUBSCRIBERS}`,
  );
  check(counts.failed === 0, `failed ${counts.failed}, expected 0`);
  check(counts.uncertain === 0, `uncertain ${counts.uncertain}, expected 0`);

  const letters = await readMailbox(stack, mailboxDir, check);
  const actions = await actLikeRecipients(stack, letters, summary, check);
  await waitForStats(api, mailing.id, actions, summary, check);
  return failures;
}

async function importSubscribers(
  api: ApiClient,
  check: (ok: boolean, message: string) => void,
): Promise<number> {
  const { listId, result } = await createDemoList(api, "Demo subscribers");
  progress(
    `imported ${result.imported} subscribers into list ${listId} ` +
      `(${result.invalid.length} invalid, ${result.duplicates.length} duplicates)`,
  );
  check(
    result.imported === EXPECTED_SUBSCRIBERS,
    `the import reported ${result.imported} subscribers, expected ${EXPECTED_SUBSCRIBERS}`,
  );
  return listId;
}

async function createLetter(api: ApiClient): Promise<number> {
  const { letterId, warnings } = await createDemoLetter(api);
  progress(
    `letter ${letterId} created from ${relativeToProject(DEMO_TEMPLATE)} (${warnings.length} warnings)`,
  );
  return letterId;
}

/** Polls the mailing until it is done, and throws when that takes longer than SEND_TIMEOUT_MS. */
async function waitUntilDone(api: ApiClient, mailingId: number, total: number) {
  const deadline = Date.now() + SEND_TIMEOUT_MS;
  let last = "";
  while (Date.now() < deadline) {
    const { mailing, counts } = await api.getMailing(mailingId);
    const line = `mailing ${mailingId} ${mailing.status}: ${counts.sent}/${total} sent, ${counts.failed} failed, ${counts.pending} pending, ${counts.queued} queued`;
    if (line !== last) progress(line);
    last = line;
    if (mailing.status === "done") return counts;
    await sleep(500);
  }
  throw new Error(
    `mailing ${mailingId} was not done after ${SEND_TIMEOUT_MS / 1000} s (${last}). ` +
      "The Worker log in the demo folder shows what the sender did.",
  );
}

/** Parses every received message and checks there is one per subscriber. */
async function readMailbox(
  stack: Stack,
  dir: string,
  check: (ok: boolean, message: string) => void,
): Promise<ReceivedLetter[]> {
  const byId = new Map(stack.mailbox.messages.map((message) => [message.id, message]));
  const files = safeReaddir(dir)
    .filter((name) => name.endsWith(".eml"))
    .sort();
  check(
    files.length === EXPECTED_SUBSCRIBERS,
    `${files.length} .eml files in ${relativeToProject(dir)}, expected ${EXPECTED_SUBSCRIBERS}`,
  );

  const letters: ReceivedLetter[] = [];
  for (const file of files) {
    // The mailbox names each file after the message's sequence number.
    const received = byId.get(Number.parseInt(file, 10));
    const parsed = await simpleParser(readFileSync(join(dir, file)));
    letters.push({
      file,
      to: received?.to.join(",") ?? "",
      html: typeof parsed.html === "string" ? parsed.html : "",
      listUnsubscribe: rawHeader(parsed.headerLines, "list-unsubscribe"),
      receivedAt: received?.receivedAt ?? Date.now(),
    });
  }

  const recipients = new Set(letters.map((letter) => letter.to.toLowerCase()));
  check(
    recipients.size === EXPECTED_SUBSCRIBERS,
    `the messages went to ${recipients.size} different recipients, expected ${EXPECTED_SUBSCRIBERS}`,
  );
  const withoutHtml = letters.filter((letter) => !letter.html).map((letter) => letter.file);
  check(withoutHtml.length === 0, `messages without an HTML part: ${withoutHtml.join(", ")}`);
  progress(
    `${letters.length} messages in ${relativeToProject(dir)} for ${recipients.size} recipients`,
  );
  return letters;
}

/**
 * Returns a header's unfolded value from the raw header lines, because
 * mailparser turns List-* headers into an object of its own shape.
 */
function rawHeader(lines: readonly { key: string; line: string }[], name: string): string {
  const line = lines.find((candidate) => candidate.key === name)?.line ?? "";
  return line
    .slice(line.indexOf(":") + 1)
    .replace(/\r?\n[ \t]+/g, " ")
    .trim();
}

/** Counts of the recipients' actions, compared with the statistics. */
interface RecipientActions {
  clicks: number;
  opens: number;
  unsubscribes: number;
}

/**
 * Follows the first tracked link of the first CLICKS messages, loads the open
 * pixel of the next OPENS and unsubscribes the next UNSUBSCRIBES, so each
 * action is by a different subscriber and the counts are exact.
 */
async function actLikeRecipients(
  stack: Stack,
  letters: ReceivedLetter[],
  summary: Summary,
  check: (ok: boolean, message: string) => void,
): Promise<RecipientActions> {
  const needed = CLICKS + OPENS + UNSUBSCRIBES;
  if (letters.length < needed) {
    throw new Error(`only ${letters.length} messages arrived; the demo needs ${needed}`);
  }
  const latest = Math.max(...letters.slice(0, needed).map((letter) => letter.receivedAt));
  await sleep(Math.max(0, latest + HUMAN_DELAY_MS - Date.now()));

  const clicked = letters.slice(0, CLICKS);
  const opened = letters.slice(CLICKS, CLICKS + OPENS);
  const unsubscribing = letters.slice(CLICKS + OPENS, needed);

  const destinations = new Set<string>();
  for (const letter of clicked) {
    const destination = await followFirstLink(stack.url, letter, check);
    if (destination === null) continue;
    summary.clicks_followed++;
    destinations.add(destination);
  }
  progress(
    `followed ${summary.clicks_followed} tracked links; they redirect to ${[...destinations].join(", ")}`,
  );

  let opens = 0;
  for (const letter of opened) if (await loadPixel(stack.url, letter, check)) opens++;
  progress(`loaded ${opens} open pixels`);

  let unsubscribes = 0;
  for (const letter of unsubscribing)
    if (await unsubscribeOneClick(stack.url, letter, check)) unsubscribes++;
  progress(`sent ${unsubscribes} one-click unsubscribes`);

  return { clicks: summary.clicks_followed, opens, unsubscribes };
}

/** Returns the first attribute value `attribute="<base><prefix>…"` in the HTML. */
function findTrackedUrl(html: string, attribute: string, base: string, prefix: string) {
  const pattern = new RegExp(`\\b${attribute}\\s*=\\s*["']([^"']+)["']`, "gi");
  for (const match of html.matchAll(pattern)) {
    const value = match[1].replace(/&amp;/g, "&");
    if (value.startsWith(`${base}${prefix}`)) return value;
  }
  return null;
}

/**
 * Requests the first tracked link of a message without following the
 * redirect. Returns the Location when it leads away from the Worker, else null.
 */
async function followFirstLink(
  base: string,
  letter: ReceivedLetter,
  check: (ok: boolean, message: string) => void,
): Promise<string | null> {
  const link = findTrackedUrl(letter.html, "href", base, "/c/");
  if (!link) {
    check(false, `${letter.file} has no tracked link starting with ${base}/c/`);
    return null;
  }

  // redirect: "manual": the destinations are real sites, and the demo talks to loopback only.
  const response = await fetch(link, {
    redirect: "manual",
    headers: { "user-agent": BROWSER_USER_AGENT },
  });
  await response.arrayBuffer();
  const location = response.headers.get("location") ?? "";
  const redirected = response.status >= 301 && response.status <= 308 && location !== "";
  if (!redirected) {
    check(false, `GET ${link} (${letter.file}) returned ${response.status} without a redirect`);
    return null;
  }

  const destination = safeUrl(location);
  const isExternal =
    destination !== null &&
    destination.origin !== new URL(base).origin &&
    !destination.pathname.startsWith("/c/");
  check(isExternal, `GET ${link} (${letter.file}) redirected to ${location}, not to a destination`);
  return isExternal ? location : null;
}

async function loadPixel(
  base: string,
  letter: ReceivedLetter,
  check: (ok: boolean, message: string) => void,
): Promise<boolean> {
  const pixel = findTrackedUrl(letter.html, "src", base, "/o/");
  if (!pixel) {
    check(false, `${letter.file} has no open pixel starting with ${base}/o/`);
    return false;
  }

  const response = await fetch(pixel, { headers: { "user-agent": BROWSER_USER_AGENT } });
  const type = response.headers.get("content-type") ?? "";
  await response.arrayBuffer();
  const ok = response.status === 200 && type.startsWith("image/");
  check(ok, `GET ${pixel} (${letter.file}) returned ${response.status} ${type}, expected an image`);
  return ok;
}

/** Sends the RFC 8058 one-click POST to the https URL of the List-Unsubscribe header. */
async function unsubscribeOneClick(
  base: string,
  letter: ReceivedLetter,
  check: (ok: boolean, message: string) => void,
): Promise<boolean> {
  const target = [...letter.listUnsubscribe.matchAll(/<([^>]+)>/g)]
    .map((match) => match[1])
    .find((url) => url.startsWith(`${base}/u/`));
  if (!target) {
    check(
      false,
      `${letter.file} has no List-Unsubscribe URL under ${base}/u/: "${letter.listUnsubscribe}"`,
    );
    return false;
  }

  const response = await fetch(target, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "user-agent": BROWSER_USER_AGENT,
    },
    body: "List-Unsubscribe=One-Click",
  });
  await response.arrayBuffer();
  check(response.ok, `POST ${target} (${letter.file}) returned ${response.status}`);
  return response.ok;
}

function safeUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

/**
 * Polls the statistics until they count every action, then checks them.
 * Clicks and opens reach D1 through the events queue, a few seconds late.
 */
async function waitForStats(
  api: ApiClient,
  mailingId: number,
  actions: RecipientActions,
  summary: Summary,
  check: (ok: boolean, message: string) => void,
): Promise<void> {
  const deadline = Date.now() + STATS_TIMEOUT_MS;
  let stats: MailingStats;
  for (;;) {
    stats = await api.mailingStats(mailingId);
    summary.clicks_recorded = stats.clicks.human.total;
    summary.opens_recorded = stats.opens.human.total - stats.opens.implied;
    summary.unsubscribed = stats.unsubscribes;

    const complete =
      summary.clicks_recorded >= actions.clicks &&
      summary.opens_recorded >= actions.opens &&
      summary.unsubscribed >= actions.unsubscribes;
    if (complete || Date.now() > deadline) break;
    await sleep(500);
  }

  progress(
    `statistics: ${summary.clicks_recorded} clicks, ${summary.opens_recorded} pixel opens, ` +
      `${summary.unsubscribed} unsubscribes; machine hits: ${stats.clicks.machine.total} clicks, ${stats.opens.machine.total} opens`,
  );
  check(
    summary.clicks_recorded === CLICKS,
    `clicks recorded ${summary.clicks_recorded}, expected ${CLICKS}`,
  );
  check(
    stats.clicks.human.unique === CLICKS,
    `unique clickers ${stats.clicks.human.unique}, expected ${CLICKS}`,
  );
  check(
    stats.clicks.machine.total === 0,
    `machine clicks ${stats.clicks.machine.total}, expected 0`,
  );
  check(
    summary.opens_recorded === OPENS,
    `pixel opens recorded ${summary.opens_recorded}, expected ${OPENS}`,
  );
  check(stats.opens.machine.total === 0, `machine opens ${stats.opens.machine.total}, expected 0`);
  check(
    summary.unsubscribed === UNSUBSCRIBES,
    `unsubscribes ${summary.unsubscribed}, expected ${UNSUBSCRIBES}`,
  );
}

process.exitCode = await main();
