/**
 * The admin panel driven like an operator would drive it: Debian's Chromium
 * (through playwright-core) against the local stack (wrangler dev with a fresh
 * D1 database, the loopback mailbox and the cron ticker), all on 127.0.0.1.
 *
 * The steps depend on each other and run in order: log in, import the
 * fixture CSV, write a letter, preview it, send a mailing until it is done,
 * pause, resume and cancel another, and read the statistics. Screenshots of
 * the main pages go to .tmp/admin-screens/.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  PROJECT_DIR,
  randomSecret,
  sleep,
  startStack,
  writeEnvFile,
  type Stack,
} from "../../../scripts/lib/stack.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const FIXTURES = join(PROJECT_DIR, "test/fixtures");
const CSV_PATH = join(FIXTURES, "subscribers.csv");
const TEMPLATE_PATH = join(FIXTURES, "templates/leemunroe--email-inlined.html");
const SCREENS_DIR = join(PROJECT_DIR, ".tmp/admin-screens");

/** Recipients who click in the statistics test; one scanner clicks as well. */
const CLICKING_RECIPIENTS = 5;
/** Clicks sooner than 2 s after sending count as machines, so the test waits a little longer. */
const HUMAN_DELAY_MS = 2_500;
const BROWSER_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/** Seconds between cron ticks of the stack. */
const TICK_SECONDS = 2;
/** Maximum wait for the fixture mailing to reach done, in milliseconds. */
const SEND_TIMEOUT_MS = 180_000;

const csvText = readFileSync(CSV_PATH, "utf8");
const csvLines = csvText.replace(/^\uFEFF/, "").split(/\r?\n/);

/** 1-based line of the fixture CSV whose email cell is exactly `email`. */
function csvLineOf(email: string): number {
  const index = csvLines.findIndex((line) => line.split(",")[0] === email);
  if (index < 0) throw new Error(`${email} is not in ${CSV_PATH}`);
  return index + 1;
}

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let adminToken: string;
/** Requests the browser tried to send to a host other than 127.0.0.1; they are aborted. */
const foreignRequests: string[] = [];

const state = { listId: 0, letterId: 0, brokenLetterId: 0, mailingId: 0 };

beforeAll(async () => {
  // Folders of earlier runs are removed; this run's folder stays for its wrangler.log.
  const tmp = join(PROJECT_DIR, ".tmp");
  mkdirSync(tmp, { recursive: true });
  for (const name of readdirSync(tmp)) {
    if (name.startsWith("admin-test-")) rmSync(join(tmp, name), { recursive: true, force: true });
  }
  const workDir = join(tmp, `admin-test-${process.pid}`);
  rmSync(SCREENS_DIR, { recursive: true, force: true });
  mkdirSync(SCREENS_DIR, { recursive: true });

  adminToken = randomSecret();
  const envFile = join(workDir, "worker.env");
  writeEnvFile(envFile, { LINK_SECRET: randomSecret(), ADMIN_TOKEN: adminToken });

  stack = await startStack({
    persistDir: join(workDir, "state"),
    snapshotDir: join(workDir, "worker"),
    envFile,
    vars: { RATE_PER_MINUTE: "3000", BATCH_SIZE: "50" },
    tickSeconds: TICK_SECONDS,
    workerLogFile: join(workDir, "wrangler.log"),
    progress: () => {},
  });

  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === "127.0.0.1") return route.continue();
    foreignRequests.push(url.href);
    return route.abort();
  });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
}, 150_000);

// The Worker's output stays in .tmp/admin-test-<pid>/wrangler.log until the next run.
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENS_DIR, `${name}.png`), fullPage: true });
}

/** Returns the session cookie of the browser context as a Cookie header value. */
async function sessionCookieHeader(): Promise<string> {
  const cookies = await context.cookies(stack.url + "/admin");
  return cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join("; ");
}

/** Finds the first click-tracking URL in a received message's HTML part. */
async function firstTrackedLink(raw: string): Promise<string> {
  const parsed = await simpleParser(raw);
  const html = typeof parsed.html === "string" ? parsed.html : "";
  for (const match of html.matchAll(/\shref="([^"]+)"/g)) {
    const href = match[1].replaceAll("&amp;", "&");
    if (href.startsWith(`${stack.url}/c/`)) return href;
  }
  throw new Error(`No ${stack.url}/c/ link in the message to ${parsed.to?.toString()}`);
}

/** Accepts (or dismisses) the next dialog and returns its message. */
function answerNextDialog(accept: boolean): Promise<string> {
  return new Promise((resolve) => {
    page.once("dialog", async (dialog) => {
      const message = dialog.message();
      if (accept) await dialog.accept();
      else await dialog.dismiss();
      resolve(message);
    });
  });
}

describe("admin panel in Chromium", () => {
  it("rejects a wrong token, then logs in", async () => {
    await page.goto(`${stack.url}/admin/mailings`);
    expect(new URL(page.url()).pathname).toBe("/admin/login");
    await screenshot("01-login");

    await page.fill("#token", "not-the-token");
    const rejected = page.waitForResponse((response) => response.request().method() === "POST");
    await page.click("button[type=submit]");
    expect((await rejected).status()).toBe(401);
    await expect.poll(() => page.textContent(".notice.error h3")).toBe("Wrong token");
    expect(await context.cookies(stack.url + "/admin")).toEqual([]);

    await page.fill("#token", adminToken);
    await Promise.all([page.waitForURL("**/admin/mailings"), page.click("button[type=submit]")]);
    expect(await page.textContent("h1")).toBe("Mailings");
  }, 30_000);

  it("sets an HttpOnly SameSite=Strict cookie without the token", async () => {
    const [cookie, ...others] = await context.cookies(stack.url + "/admin");
    expect(others).toEqual([]);
    expect(cookie.name).toBe("trickle_admin");
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe("Strict");
    expect(cookie.path).toBe("/admin");
    // Plain HTTP on 127.0.0.1: a Secure cookie would never come back.
    expect(cookie.secure).toBe(false);
    expect(cookie.value).not.toContain(adminToken);
    expect(cookie.value).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
  });

  it("rejects form posts from another origin", async () => {
    const cookie = await sessionCookieHeader();
    const post = (headers: Record<string, string>) =>
      fetch(`${stack.url}/admin/lists`, {
        method: "POST",
        redirect: "manual",
        headers: {
          cookie,
          "content-type": "application/x-www-form-urlencoded",
          ...headers,
        },
        body: "name=Forged",
      });

    const foreign = await post({ origin: "http://evil.example" });
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).toContain("The form was rejected");

    const missing = await post({});
    expect(missing.status).toBe(403);

    const crossSite = await post({ "sec-fetch-site": "cross-site" });
    expect(crossSite.status).toBe(403);
  });

  it("asks for the token again without a session", async () => {
    const response = await fetch(`${stack.url}/admin/lists`, { redirect: "manual" });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/admin/login?next=%2Fadmin%2Flists");

    const forged = await fetch(`${stack.url}/admin/lists`, {
      redirect: "manual",
      headers: { cookie: `trickle_admin=${adminToken}` },
    });
    expect(forged.status).toBe(303);
  });

  it("imports the fixture CSV with a per-line report", async () => {
    await page.goto(`${stack.url}/admin/lists`);
    await page.fill("#list-name", "Fixture list");
    await Promise.all([page.waitForURL(/\/admin\/lists\/\d+/), page.click("#list-form button")]);
    state.listId = Number(/\/admin\/lists\/(\d+)/.exec(page.url())![1]);
    expect(await page.textContent(".notice.success h3")).toBe("List created");

    // Hold the upload for a moment so the progress feedback can be seen.
    let releaseUpload = () => {};
    const uploadHeld = new Promise<void>((resolve) => (releaseUpload = resolve));
    await page.route("**/import", async (route) => {
      await uploadHeld;
      await route.continue();
    });
    await page.setInputFiles("#csv-file", CSV_PATH);
    await page.click("#import-form button[type=submit]");
    await page.locator(".upload-status").waitFor({ state: "visible" });
    expect(await page.locator(".upload-status span").textContent()).toMatch(
      /Uploading|Uploaded. The server is checking/,
    );
    releaseUpload();

    const report = page.locator("#import-report");
    await report.waitFor({ timeout: 30_000 });
    await page.unroute("**/import");
    expect(await report.locator(".notice h3").textContent()).toBe("Imported 196 subscribers");
    const summary = await report.locator(".import-summary").textContent();
    expect(summary).toContain("196 imported (196 new, 0 updated)");
    expect(summary).toContain("2 invalid");
    expect(summary).toContain("2 duplicates");

    const invalid = await page.locator("#invalid-rows tbody tr").allTextContents();
    expect(invalid).toHaveLength(2);
    const invalidLines = await page
      .locator("#invalid-rows tbody tr td:first-child")
      .allTextContents();
    expect(invalidLines).toEqual([
      String(csvLineOf("not-an-email")),
      String(csvLineOf("double@@example.org")),
    ]);

    const duplicateRows = page.locator("#duplicate-rows tbody tr");
    expect(await duplicateRows.count()).toBe(2);
    const duplicates = await duplicateRows.evaluateAll((rows) =>
      rows.map((row) => [...row.querySelectorAll("td")].map((cell) => cell.textContent)),
    );
    expect(duplicates).toEqual([
      [
        String(csvLineOf("Alex.Kim@EXAMPLE.NET")),
        "alex.kim@example.net",
        String(csvLineOf("alex.kim@example.net")),
      ],
      [
        String(csvLineOf("SAM.LEE@example.com")),
        "sam.lee@example.com",
        String(csvLineOf("sam.lee@example.com")),
      ],
    ]);
    await screenshot("02-list-import-report");
  }, 60_000);

  it("shows hostile subscriber names as text", async () => {
    const names: string[] = [];
    for (let offset = 0; offset < 200; offset += 50) {
      await page.goto(`${stack.url}/admin/lists/${state.listId}?offset=${offset}`);
      expect(await page.locator("#members b, #members script").count()).toBe(0);
      names.push(...(await page.locator("#members tbody td:nth-child(3)").allTextContents()));
    }
    expect(names).toHaveLength(196);
    expect(names).toContain("<b>Bold</b>");
    expect(names).toContain("{{x}}");
    expect(names).toContain("ليلى");
    expect(names).toContain("Zoë 🎉");
    expect(names.some((name) => /^Eve\r?\nBcc: x@example\.org$/.test(name))).toBe(true);
  }, 30_000);

  it("keeps the import form and explains a bad CSV", async () => {
    await page.goto(`${stack.url}/admin/lists/${state.listId}`);
    await page.setInputFiles("#csv-file", {
      name: "no-email.csv",
      mimeType: "text/csv",
      buffer: Buffer.from("name,city\nAda,London\n"),
    });
    await page.click("#import-form button[type=submit]");

    const error = page.locator(".notice.error");
    await error.waitFor({ timeout: 30_000 });
    expect(await error.locator("h3").textContent()).toBe("Nothing was imported");
    expect(await error.locator(".error-message").textContent()).toMatch(/email/i);
    expect(await page.locator("#csv-file").count()).toBe(1);
    expect(await page.textContent("body")).not.toMatch(/\n\s+at \S+ \(/);
    await screenshot("03-list-import-error");
  }, 30_000);

  it("saves a letter from a fixture template", async () => {
    await page.goto(`${stack.url}/admin/letters/new`);
    await page.fill("#field-name", "Fixture letter");
    await page.fill("#field-subject", 'Hello {{ first_name | default: "there" }}');
    await page.fill("#field-fromName", "Trickle News");
    await page.fill("#field-fromEmail", "news@example.com");
    await page.fill("#field-layout", readFileSync(TEMPLATE_PATH, "utf8"));
    await page.fill("#field-utm-source", "newsletter");
    await page.fill("#field-utm-campaign", "panel-test");
    await Promise.all([
      page.waitForURL(/\/admin\/letters\/\d+\?saved/),
      page.click("#letter-form button"),
    ]);

    state.letterId = Number(/\/admin\/letters\/(\d+)/.exec(page.url())![1]);
    expect(await page.textContent(".notice.success h3")).toBe("Letter saved");
    expect(await page.locator(".issue.error").count()).toBe(0);
    expect(await page.inputValue("#field-utm-campaign")).toBe("panel-test");
    expect(await page.isChecked("input[name=trackClicks]")).toBe(true);
  }, 30_000);

  it("lists the issues of a broken letter by line", async () => {
    const lines = readFileSync(TEMPLATE_PATH, "utf8").split("\n");
    const bodyLine = lines.findIndex((line) => /<body/i.test(line));
    lines.splice(bodyLine + 1, 0, "<p>Hi {{ first_name | bogus }}</p>");
    const brokenLine = bodyLine + 2;

    await page.goto(`${stack.url}/admin/letters/new`);
    await page.fill("#field-name", "Broken letter");
    await page.fill("#field-subject", "Broken");
    await page.fill("#field-fromEmail", "news@example.com");
    await page.fill("#field-layout", lines.join("\n"));
    await Promise.all([
      page.waitForURL(/\/admin\/letters\/\d+\?saved/),
      page.click("#letter-form button"),
    ]);
    state.brokenLetterId = Number(/\/admin\/letters\/(\d+)/.exec(page.url())![1]);

    const issue = page.locator(".issue.error").first();
    expect(await issue.locator("td:nth-child(2)").textContent()).toBe(`layout line ${brokenLine}`);
    expect(await issue.locator("td:nth-child(3)").textContent()).toContain(
      '"bogus" is not a known filter',
    );
    expect(await page.textContent("#letter-issues .notice.error")).toContain(
      "No mailing can start with this letter",
    );

    // The validation problem's link selects the invalid line in the editor.
    await issue.locator("a[data-line]").click();
    const selected = await page.$eval("#field-layout", (editor) => {
      const area = editor as HTMLTextAreaElement;
      return area.value.slice(area.selectionStart, area.selectionEnd);
    });
    expect(selected).toBe("<p>Hi {{ first_name | bogus }}</p>");
    await screenshot("04-letter-issues");
  }, 30_000);

  it("rejects an invalid sender with the field named", async () => {
    await page.goto(`${stack.url}/admin/letters/${state.letterId}`);
    await page.$eval("#field-fromEmail", (input) => input.setAttribute("type", "text"));
    await page.fill("#field-fromEmail", "not an address");
    const response = page.waitForResponse((candidate) => candidate.request().method() === "POST");
    await page.click("#letter-form button");
    expect((await response).status()).toBe(400);
    await page.locator(".notice.error").waitFor();
    expect(await page.textContent(".notice.error h3")).toBe("The letter was not saved");
    expect(await page.textContent(".error-details")).toContain("Sender email");
    // The form keeps what was typed.
    expect(await page.inputValue("#field-fromEmail")).toBe("not an address");
    expect(await page.inputValue("#field-name")).toBe("Fixture letter");
  }, 30_000);

  it("previews the letter for a subscriber in a sandbox", async () => {
    await page.goto(`${stack.url}/admin/letters/${state.letterId}/preview`);
    await page.fill("#subscriber", "html.inject@example.com");
    await Promise.all([page.waitForURL(/subscriber=/), page.click("#preview-form button")]);

    expect(await page.textContent("#preview-subject")).toBe("Hello <b>Bold</b>");
    expect(await page.locator("#preview-subject b").count()).toBe(0);
    expect(await page.textContent("#preview-to")).toContain("html.inject@example.com");

    const frame = page.locator("iframe.preview");
    expect(await frame.getAttribute("sandbox")).toBe("");
    const frameText = await page.frameLocator("iframe.preview").locator("body").textContent();
    expect(frameText).toContain("Hi there");
    expect(await page.locator("#preview-text").textContent()).toContain("Hi there");

    const links = await page
      .locator("#preview table")
      .last()
      .locator("tbody td.wrap")
      .allTextContents();
    expect(links.length).toBeGreaterThan(0);
    expect(
      links
        .filter((url) => url.startsWith("http"))
        .every((url) => url.includes("utm_campaign=panel-test")),
    ).toBe(true);
    await screenshot("05-letter-preview");
  }, 30_000);

  it("runs no script of a previewed letter", async () => {
    await page.goto(`${stack.url}/admin/letters/${state.letterId}`);
    const layout = await page.inputValue("#field-layout");
    const script = `<script>document.body.setAttribute("data-ran", "yes"); parent.document.title = "pwned";</script>`;
    await page.fill("#field-layout", layout.replace(/<\/body>/i, `${script}</body>`));
    await Promise.all([page.waitForURL(/\?saved/), page.click("#letter-form button")]);

    await page.goto(`${stack.url}/admin/letters/${state.letterId}/preview`);
    const body = page.frameLocator("iframe.preview").locator("body");
    await body.waitFor();
    expect(await body.getAttribute("data-ran")).toBeNull();
    expect(await page.title()).not.toBe("pwned");
  }, 30_000);

  it("refuses to start a mailing with a broken letter", async () => {
    await page.goto(`${stack.url}/admin/mailings`);
    await page.fill("#mailing-name", "Broken mailing");
    await page.selectOption("#mailing-letter", String(state.brokenLetterId));
    await page.selectOption("#mailing-list", String(state.listId));
    await Promise.all([page.waitForURL(/notice=created/), page.click("#mailing-form button")]);

    const dialog = answerNextDialog(true);
    await page.click("form[action$='/start'] button");
    expect(await dialog).toContain("Start this mailing?");
    await page.locator(".notice.error").waitFor();
    expect(await page.textContent(".notice.error .error-message")).toContain("has 1 error(s)");
    expect(await page.textContent(".notice.error .error-details")).toMatch(/line \d+/);
    expect(await page.getAttribute("#progress", "data-status")).toBe("draft");
  }, 30_000);

  it(
    "sends a mailing to done after a confirmed start",
    async () => {
      await page.goto(`${stack.url}/admin/mailings?letter=${state.letterId}`);
      await page.fill("#mailing-name", "Fixture mailing");
      expect(await page.inputValue("#mailing-letter")).toBe(String(state.letterId));
      await page.selectOption("#mailing-list", String(state.listId));
      await Promise.all([page.waitForURL(/notice=created/), page.click("#mailing-form button")]);
      state.mailingId = Number(/\/admin\/mailings\/(\d+)/.exec(page.url())![1]);
      await screenshot("06-mailing-draft");
      // A draft created without a start time starts when it is started.
      expect(await page.textContent("#start-time")).toBe("when started");
      // The page script drops the notice from the URL, so a reload does not repeat it.
      await expect.poll(() => page.url()).toBe(`${stack.url}/admin/mailings/${state.mailingId}`);

      // Dismissing the dialog starts nothing.
      const dismissed = answerNextDialog(false);
      await page.click("form[action$='/start'] button");
      await dismissed;
      expect(await page.getAttribute("#progress", "data-status")).toBe("draft");

      const accepted = answerNextDialog(true);
      await Promise.all([
        page.waitForURL(/notice=start/),
        page.click("form[action$='/start'] button"),
      ]);
      await accepted;
      expect(await page.textContent(".notice.success h3")).toBe("Mailing started");

      // The progress section refreshes itself until the mailing is done.
      await page
        .locator("#progress[data-status=sending]")
        .or(page.locator("#progress[data-status=done]"))
        .waitFor({ timeout: 60_000 });
      await screenshot("07-mailing-progress");
      await page.locator("#progress[data-status=done]").waitFor({ timeout: SEND_TIMEOUT_MS });
      expect(await page.textContent("#delivery-counts td[data-state=sent]")).toBe("196");
      expect(await page.textContent("#delivery-counts td[data-state=failed]")).toBe("0");
      expect(stack.mailbox.messages.length).toBe(196);
      // The start notice no longer applies once the mailing is done.
      expect(await page.locator(".notice.success").count()).toBe(0);
      await screenshot("08-mailing-done");

      await page.reload();
      expect(await page.locator(".notice").count()).toBe(0);
      expect(await page.textContent("table.details tr:has(#start-time) th")).toBe("Started");
      expect(await page.textContent("#start-time")).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
    },
    SEND_TIMEOUT_MS + 60_000,
  );

  it("pauses, resumes and cancels a mailing", async () => {
    await page.goto(`${stack.url}/admin/mailings`);
    await page.fill("#mailing-name", "Slow mailing");
    await page.selectOption("#mailing-letter", String(state.letterId));
    await page.selectOption("#mailing-list", String(state.listId));
    await page.fill("#mailing-window", "10000");
    await Promise.all([page.waitForURL(/notice=created/), page.click("#mailing-form button")]);
    expect(await page.textContent("table")).toContain("spread over 10,000 minutes");

    const started = answerNextDialog(true);
    await Promise.all([
      page.waitForURL(/notice=start/),
      page.click("form[action$='/start'] button"),
    ]);
    await started;

    await Promise.all([
      page.waitForURL(/notice=pause/),
      page.click("form[action$='/pause'] button"),
    ]);
    expect(await page.getAttribute("#progress", "data-status")).toBe("paused");
    expect(await page.textContent("#paused-reason")).toBe("paused by the operator");

    await Promise.all([
      page.waitForURL(/notice=resume/),
      page.click("form[action$='/resume'] button"),
    ]);
    // A mailing paused before the scheduler first claimed it goes back to waiting.
    const resumed = await page.getAttribute("#progress", "data-status");
    expect(["wait", "sending"]).toContain(resumed);
    const label = resumed === "wait" ? "waiting for its start time" : "sending";
    expect(await page.textContent("#progress h2 .badge")).toBe(label);

    const dismissed = answerNextDialog(false);
    await page.click("form[action$='/cancel'] button");
    expect(await dismissed).toContain("Cancel this mailing?");
    expect(await page.getAttribute("#progress", "data-status")).toBe(resumed);

    const accepted = answerNextDialog(true);
    await Promise.all([
      page.waitForURL(/notice=cancel/),
      page.click("form[action$='/cancel'] button"),
    ]);
    await accepted;
    expect(await page.getAttribute("#progress", "data-status")).toBe("cancelled");
    expect(await page.locator("form[action$='/cancel']").count()).toBe(0);
  }, 60_000);

  it("asks for confirmation when a start comes without it", async () => {
    await page.goto(`${stack.url}/admin/mailings`);
    await page.fill("#mailing-name", "Unconfirmed mailing");
    await page.selectOption("#mailing-letter", String(state.letterId));
    await page.selectOption("#mailing-list", String(state.listId));
    await Promise.all([page.waitForURL(/notice=created/), page.click("#mailing-form button")]);
    const path = new URL(page.url()).pathname;

    const response = await fetch(`${stack.url}${path}/start`, {
      method: "POST",
      redirect: "manual",
      headers: {
        cookie: await sessionCookieHeader(),
        origin: stack.url,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: "confirmed=",
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("Please confirm");

    await page.reload();
    expect(await page.getAttribute("#progress", "data-status")).toBe("draft");
  }, 30_000);

  it("shows the statistics of the sent mailing", async () => {
    // Five recipients follow their first tracked link; a scanner follows one more.
    const messages = stack.mailbox.messages.slice(0, CLICKING_RECIPIENTS + 1);
    const latest = Math.max(...messages.map((message) => message.receivedAt));
    await sleep(Math.max(0, latest + HUMAN_DELAY_MS - Date.now()));
    for (const [index, message] of messages.entries()) {
      const link = await firstTrackedLink(message.raw);
      const userAgent = index < CLICKING_RECIPIENTS ? BROWSER_USER_AGENT : "curl/8.5.0";
      const response = await fetch(link, {
        redirect: "manual",
        headers: { "user-agent": userAgent },
      });
      expect(response.status).toBe(302);
    }

    const statsUrl = `${stack.url}/admin/mailings/${state.mailingId}/stats`;
    await expect
      .poll(
        async () => {
          await page.goto(statsUrl);
          return page.textContent("#figure-clicks .value");
        },
        { timeout: 20_000, interval: 1_000 },
      )
      .toBe(String(CLICKING_RECIPIENTS));

    expect(await page.textContent("#figure-sent .value")).toBe("196");
    expect(await page.textContent("#figure-recipients .value")).toBe("196");
    expect(await page.textContent("#figure-click-rate .value")).toBe("2.6 %");
    const clickRow = page.locator("#human-machine tbody tr").nth(1);
    expect(await clickRow.locator("td").allTextContents()).toEqual(["5", "5", "1", "1"]);

    const firstLink = await page.locator("#links tbody tr").first().locator("td").allTextContents();
    expect(firstLink[0]).toBe("0");
    expect(firstLink.slice(2)).toEqual(["5", "5", "1"]);
    expect(await page.locator("#hours tbody tr").count()).toBeGreaterThan(0);
    await screenshot("09-mailing-stats");
  }, 60_000);

  it("shows errors as pages without a stack trace", async () => {
    const response = await page.goto(`${stack.url}/admin/mailings/99999`);
    expect(response?.status()).toBe(404);
    expect(await page.textContent(".error-message")).toBe("Mailing 99999 does not exist.");

    const missing = await page.goto(`${stack.url}/admin/no-such-page`);
    expect(missing?.status()).toBe(404);
    expect(await page.textContent(".notice.error h3")).toBe("Page not found");
  }, 30_000);

  it("lists mailings with their status", async () => {
    await page.goto(`${stack.url}/admin/mailings`);
    const rows = page.locator("#mailings tbody tr");
    expect(await rows.count()).toBe(4);
    const statuses = await page.locator("#mailings tbody .badge").allTextContents();
    expect(statuses.sort()).toEqual(["cancelled", "done", "draft", "draft"]);
    await screenshot("10-mailings");
  }, 30_000);

  it("leaves tracking routes to the tracking code", async () => {
    // No session redirect and none of the panel's headers: the panel's middleware did not run.
    const response = await fetch(`${stack.url}/c/not-a-valid-id`, { redirect: "manual" });
    expect(response.status).toBe(404);
    expect(response.headers.get("location")).toBeNull();
    expect(response.headers.get("content-security-policy")).not.toContain("script-src 'self'");
  });

  it("logs out", async () => {
    await page.goto(`${stack.url}/admin/mailings`);
    await Promise.all([page.waitForURL(/logged-out/), page.click("header form button")]);
    expect(await context.cookies(stack.url + "/admin")).toEqual([]);
    await page.goto(`${stack.url}/admin/mailings`);
    expect(new URL(page.url()).pathname).toBe("/admin/login");
  }, 30_000);

  it("rate-limits failed logins per address", async () => {
    const login = (ip: string) =>
      fetch(`${stack.url}/admin/login`, {
        method: "POST",
        redirect: "manual",
        headers: {
          origin: stack.url,
          "content-type": "application/x-www-form-urlencoded",
          "cf-connecting-ip": ip,
        },
        body: "token=wrong-token&next=",
      });

    for (let attempt = 1; attempt <= 5; attempt++) {
      expect((await login("203.0.113.7")).status, `attempt ${attempt}`).toBe(401);
    }
    const limited = await login("203.0.113.7");
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(9 * 60);
    const text = await limited.text();
    expect(text).toContain("Too many failed logins");
    expect(text).toMatch(/Try again after <span id="retry-at">\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);

    // Another address still gets the ordinary 401 response.
    expect((await login("203.0.113.8")).status).toBe(401);
  });

  it("requests nothing from other hosts", () => {
    expect(foreignRequests).toEqual([]);
  });
});
