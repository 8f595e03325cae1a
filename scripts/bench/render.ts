/**
 * Letter engine benchmark: per-recipient cost of rendering each fixture
 * letter, side by side in one process.
 *
 * For every template in test/fixtures/templates (the three with foreign
 * placeholders get the same text replacements as the fixture tests), with
 * click tracking, open tracking and UTM on, and for the valid subscribers of
 * test/fixtures/subscribers.csv:
 *
 *   (a) engine  `renderContent`: subject, HTML and text from the compiled plan
 *   (b) naive   per recipient: substitute tokens with a regex, parse with
 *               linkedom, tag and track every http(s) link, serialize (HTML only)
 *   (c) bound   concatenating the same output pieces, precomputed, with `+=`
 *               as the engine does (subject, HTML and text)
 *
 * and `buildMessage` (MIME) on the engine's output, timed on its own.
 * Rounds alternate (a), (b), (c) and MIME; each measurement repeats whole
 * passes over the recipients for at least MIN_PASS_MS, and each figure is
 * the median over rounds of the mean time per recipient. Naive renders a
 * subset of the recipients because it is three orders of magnitude slower.
 *
 * Figures:
 *   render_vs_naive_min     smallest (b)/(a) over fixtures (goal >= 100)
 *   render_vs_bound_max     largest (a)/(c) over fixtures (goal <= 5)
 *   render_us_max           largest (a), microseconds per recipient
 *   naive_us_min            smallest (b), microseconds per recipient
 *   mime_us_per_message     mean MIME encoding time over fixtures, microseconds
 *   mime_us_per_message_max largest MIME encoding time of a fixture, microseconds
 *   compile_ms_max          largest compile time of a fixture, milliseconds
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "csv-parse/sync";
import { parseHTML } from "linkedom";

import { buildMessage } from "../../src/mime";
import {
  compileLetter,
  renderContent,
  type CompiledLetter,
  type LetterSource,
  type Recipient,
  type RecipientUrls,
} from "../../src/render";
import { renderParts, RenderState, type Part } from "../../src/render/plan";

type Progress = (line: string) => void;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TEMPLATES = path.join(ROOT, "test/fixtures/templates");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const NAIVE_RECIPIENTS = Number(process.env.BENCH_NAIVE_RECIPIENTS ?? 12);
/** Shortest timed stretch of one measurement; short ones are mostly timer and GC noise. */
const MIN_PASS_MS = 100;
const BASE = "https://t.example.net";
const DATE = new Date("2026-03-14T09:30:00Z");
const UTM = { source: "newsletter", medium: "email", campaign: "spring" };

/** The text replacements the fixture tests apply before a template validates. */
const REPLACEMENTS: Record<string, Array<[RegExp | string, string]>> = {
  "postmark--basic-full-welcome.html": [
    ["[Product Name]", "Trickle"],
    ["[Sender Name]", "Sam"],
  ],
  "sendgrid--paste-password-reset.html": [["[type_of_action]", "a password reset"]],
  "sendgrid--special_sale.html": [
    [/\{\{(#each|#if|else if|\/if|\/each)[^}]*\}\}/g, ""],
    ["{{this.header}}", "Deal of the week"],
    [/\{\{this\.image0\d\}\}/g, "https://img.example.com/deal.png"],
    ["{{this.text}}", "Only this week."],
    ["{{this.c2a_link}}", "https://shop.example.com/deal?id=5"],
    ["{{this.c2a_button}}", "Shop now"],
    ["[Unsubscribe_Preferences]", "{{ unsubscribe_url }}"],
    [/\[Sender_(\w+)\]/g, "Sender $1"],
  ],
};

let sink = 0;

/** Runs the benchmark and returns its figures. */
export async function run(progress: Progress): Promise<Record<string, number>> {
  const recipients = loadRecipients();
  progress(
    `${recipients.length} recipients, ${ROUNDS} rounds, naive on ${NAIVE_RECIPIENTS} per round`,
  );

  const results: Array<{
    name: string;
    engine: number;
    naive: number;
    bound: number;
    mime: number;
    compile: number;
  }> = [];
  for (const file of readdirSync(TEMPLATES)
    .filter((name) => name.endsWith(".html"))
    .sort()) {
    const layout = translate(file, readFileSync(path.join(TEMPLATES, file), "utf8"));
    const result = benchTemplate(layout, recipients);
    results.push({ name: file, ...result });
    progress(
      `${file}: engine ${result.engine.toFixed(1)} us, naive ${result.naive.toFixed(0)} us, bound ${result.bound.toFixed(1)} us, ` +
        `mime ${result.mime.toFixed(0)} us, compile ${result.compile.toFixed(1)} ms; naive/engine ${(result.naive / result.engine).toFixed(0)}, engine/bound ${(result.engine / result.bound).toFixed(2)}`,
    );
  }

  if (sink === 0) progress("no output was produced");
  return {
    render_vs_naive_min: round(Math.min(...results.map((r) => r.naive / r.engine))),
    render_vs_bound_max: round(Math.max(...results.map((r) => r.engine / r.bound))),
    render_us_max: round(Math.max(...results.map((r) => r.engine))),
    naive_us_min: round(Math.min(...results.map((r) => r.naive))),
    mime_us_per_message: round(results.reduce((sum, r) => sum + r.mime, 0) / results.length),
    mime_us_per_message_max: round(Math.max(...results.map((r) => r.mime))),
    compile_ms_max: round(Math.max(...results.map((r) => r.compile))),
  };
}

function benchTemplate(layout: string, recipients: Recipient[]) {
  const compileStart = performance.now();
  const letter = compileLetter(source(layout), { mailingName: "Spring sale" });
  const compile = performance.now() - compileStart;

  const urls = recipients.map((recipient) => urlsFor(recipient, letter.links.length));
  const bounds = recipients.map((recipient, i) => outputPieces(letter, recipient, urls[i]));
  const contents = recipients.map((recipient, i) =>
    renderContent(letter, recipient, urls[i], DATE),
  );

  const engine: number[] = [];
  const naive: number[] = [];
  const bound: number[] = [];
  const mime: number[] = [];
  for (let round = 0; round < ROUNDS + 1; round++) {
    const times = [
      timePerItem(recipients, (recipient, i) => {
        const out = renderContent(letter, recipient, urls[i], DATE);
        sink += out.html.length + out.text.length;
      }),
      timePerItem(recipients.slice(0, NAIVE_RECIPIENTS), (recipient, i) => {
        sink += renderNaive(layout, recipient, urls[i]).length;
      }),
      timePerItem(bounds, (pieces) => {
        sink +=
          concatenate(pieces.subject).length +
          concatenate(pieces.html).length +
          concatenate(pieces.text).length;
      }),
      timePerItem(contents, (content, i) => {
        sink += buildMessage({
          from: { name: "Trickle Shop", email: "news@example.com" },
          to: { name: recipients[i].firstName, email: recipients[i].email },
          subject: content.subject,
          messageId: `d${recipients[i].id}.m1@trickle.example.net`,
          date: DATE,
          html: content.html,
          text: content.text,
        }).length;
      }),
    ];
    // The first round warms the JIT and is not counted.
    if (round === 0) continue;
    engine.push(times[0]);
    naive.push(times[1]);
    bound.push(times[2]);
    mime.push(times[3]);
  }

  return {
    engine: median(engine),
    naive: median(naive),
    bound: median(bound),
    mime: median(mime),
    compile,
  };
}

/** Mean microseconds per item, over as many whole passes over `items` as fit in MIN_PASS_MS (at least one). */
function timePerItem<T>(items: T[], work: (item: T, index: number) => void): number {
  const start = performance.now();
  let passes = 0;
  let elapsed = 0;
  do {
    for (let i = 0; i < items.length; i++) work(items[i], i);
    passes++;
    elapsed = performance.now() - start;
  } while (elapsed < MIN_PASS_MS);
  return (elapsed * 1000) / (items.length * passes);
}

function concatenate(pieces: string[]): string {
  let out = "";
  for (let i = 0; i < pieces.length; i++) out += pieces[i];
  return out;
}

/**
 * The engine's output for one recipient as the list of strings it is made
 * of: the plan's static strings and each slot's value, resolved once here.
 */
function outputPieces(letter: CompiledLetter, recipient: Recipient, urls: RecipientUrls) {
  const state = new RenderState(
    letter,
    { recipient, urls, date: DATE, mailingName: "Spring sale" },
    urls,
    letter.trackOpens,
  );
  const collect = (parts: Part[], out: string[]): string[] => {
    for (const part of parts) {
      if (typeof part === "string") out.push(part);
      else if (part.kind === "block") {
        if (state.shows(part.block)) collect(part.parts, out);
      } else out.push(renderParts([part], state));
    }
    return out;
  };
  return {
    subject: collect(letter.subject, []),
    html: collect(letter.html, []),
    text: collect(letter.text, []),
  };
}

/** The per-recipient DOM round trip the engine replaces. */
function renderNaive(layout: string, recipient: Recipient, urls: RecipientUrls): string {
  const filled = layout.replace(/\{\{\s*([\w.]+)[^}]*\}\}/g, (_token, name: string) =>
    escapeHtml(naiveValue(name, recipient, urls)),
  );
  const { document } = parseHTML(filled);

  let idx = 0;
  for (const anchor of document.querySelectorAll("a[href], area[href]")) {
    const href = anchor.getAttribute("href")?.trim() ?? "";
    if (!/^https?:\/\//i.test(href)) continue;
    try {
      const url = new URL(href);
      for (const [key, value] of Object.entries(UTM)) {
        if (!url.searchParams.has(`utm_${key}`)) url.searchParams.set(`utm_${key}`, value);
      }
      sink += url.href.length;
    } catch {
      // An unparsable URL is tracked as written.
    }
    anchor.setAttribute("href", urls.click(idx++));
  }
  const pixel = document.createElement("img");
  pixel.setAttribute("src", urls.open);
  document.body?.appendChild(pixel);
  return document.toString();
}

function naiveValue(name: string, recipient: Recipient, urls: RecipientUrls): string {
  if (name === "first_name") return recipient.firstName;
  if (name === "last_name") return recipient.lastName;
  if (name === "email") return recipient.email;
  if (name === "unsubscribe_url") return urls.unsubscribe;
  if (name === "web_url") return urls.web;
  return recipient.attributes[name] ?? "";
}

function escapeHtml(value: string): string {
  return value
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

function source(layout: string): LetterSource {
  return {
    subject: 'Hi {{ first_name | default: "there" }}, news from {{ city }}',
    preheader: "This week for {{ first_name }}",
    fromName: "Trickle Shop",
    fromEmail: "news@example.com",
    replyTo: null,
    layout,
    blocks: [],
    textBody: null,
    settings: { trackClicks: true, trackOpens: true, utm: UTM },
  };
}

function translate(file: string, html: string): string {
  let out = html;
  for (const [pattern, replacement] of REPLACEMENTS[file] ?? []) {
    out =
      typeof pattern === "string"
        ? out.replaceAll(pattern, replacement)
        : out.replace(pattern, replacement);
  }
  return out;
}

function loadRecipients(): Recipient[] {
  const csv = readFileSync(path.join(ROOT, "test/fixtures/subscribers.csv"), "utf8");
  const rows = parse(csv, { columns: true, bom: true, skip_empty_lines: true }) as Array<
    Record<string, string>
  >;
  return rows
    .filter((row) => /^[^@\s]+@[^@\s]+\.[a-z]+$/i.test(row.email.trim()))
    .map((row, i) => ({
      id: 1000 + i,
      email: row.email.trim(),
      firstName: row.first_name,
      lastName: row.last_name,
      attributes: { city: row.city, plan: row.plan, signup_date: row.signup_date },
      listIds: [1],
    }));
}

/**
 * A recipient's URLs with every click URL built in advance: building and
 * signing them is the caller's work, not the renderer's, so it stays out of (a).
 */
function urlsFor(recipient: Recipient, linkCount: number): RecipientUrls {
  const clicks = Array.from({ length: linkCount }, (_, idx) => `${BASE}/c/${recipient.id}-${idx}`);
  return {
    click: (idx) => clicks[idx],
    open: `${BASE}/o/${recipient.id}`,
    unsubscribe: `${BASE}/u/${recipient.id}`,
    web: `${BASE}/v/${recipient.id}`,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
