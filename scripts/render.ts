/**
 * `npm run render`: prints the exact MIME message a letter becomes for one
 * subscriber, so an author can check tokens, links and headers without
 * sending anything.
 *
 *   npm run render -- --letter FILE.html [--subject TEXT] [--from "Name <addr>"]
 *                     [--subscriber FILE.json] [--settings FILE.json] [--date ISO]
 *
 * The subscriber file is `{"email": ..., "first_name": ..., "last_name": ...,
 * "id": 1, "list_ids": [1], ...attributes}`; the settings file is
 * `{"trackClicks": true, "trackOpens": true, "utm": {"source": "newsletter"}}`.
 * Tracked links point at a placeholder host, named on stderr. Exits 2 for
 * bad arguments or files and 1 when the letter has errors.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

import {
  compileLetter,
  LetterError,
  renderMessage,
  validateLetter,
  type LetterIssue,
  type LetterSource,
  type Recipient,
} from "../src/render";
import { isEmailAddress } from "../src/render/validate/settings";

const PLACEHOLDER_HOST = "https://trickle.invalid";
const DEFAULT_FROM = "Trickle <newsletter@example.com>";
const DEFAULT_SETTINGS: LetterSource["settings"] = {
  trackClicks: true,
  trackOpens: true,
  utm: null,
};

const USAGE = `Usage: npm run render -- --letter FILE.html [--subject TEXT] [--from "Name <addr>"]
                          [--subscriber FILE.json] [--settings FILE.json] [--date ISO]

  --letter      HTML file of the letter (required)
  --subject     subject line; defaults to the letter's <title>
  --from        sender as "Name <address>" (default: ${DEFAULT_FROM})
  --subscriber  JSON file {"email", "first_name", "last_name", "id", "list_ids", ...attributes}
  --settings    JSON file {"trackClicks", "trackOpens", "utm": {"source", "medium", ...}}
  --date        send date as ISO 8601 (default: now)
  -h, --help    print this help and exit`;

/** A problem with the arguments or input files; exits 2. */
class UsageError extends Error {}

function main(): number {
  let options: ReturnType<typeof readOptions>;
  try {
    options = readOptions();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (!options) {
    console.log(USAGE);
    return 0;
  }

  const issues = validateLetter(options.source);
  printIssues(issues, options.letterPath);
  if (issues.some((issue) => issue.severity === "error")) return 1;

  try {
    const compiled = compileLetter(options.source, { mailingName: "Preview" });
    const message = renderMessage(compiled, options.recipient, {
      urls: {
        click: (idx) => `${PLACEHOLDER_HOST}/c/${idx}`,
        open: `${PLACEHOLDER_HOST}/o/preview`,
        unsubscribe: `${PLACEHOLDER_HOST}/u/preview`,
        web: `${PLACEHOLDER_HOST}/v/preview`,
      },
      unsubscribeMailto: null,
      messageId: `preview.${options.recipient.id}@trickle.invalid`,
      listId: "Preview <preview.trickle.invalid>",
      date: options.date,
    });

    console.error(`Tracking URLs use the placeholder host ${PLACEHOLDER_HOST}.`);
    for (const link of compiled.links) console.error(`  link ${link.idx}: ${link.url}`);
    process.stdout.write(message.mime);
    return 0;
  } catch (error) {
    if (error instanceof LetterError) {
      printIssues(error.issues, options.letterPath);
      return 1;
    }
    console.error(`Rendering failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

function readOptions() {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      options: {
        letter: { type: "string" },
        subject: { type: "string" },
        from: { type: "string" },
        subscriber: { type: "string" },
        settings: { type: "string" },
        date: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }

  if (values.help) return null;
  const text = (name: string) => values[name] as string | undefined;
  const letterPath = text("letter");
  if (!letterPath) throw new UsageError("Missing --letter FILE.html.");
  const layout = readLetter(letterPath);
  const from = parseFrom(text("from") ?? DEFAULT_FROM);
  const subject = text("subject") ?? titleOf(layout) ?? "Preview";

  const source: LetterSource = {
    subject,
    preheader: "",
    fromName: from.name,
    fromEmail: from.email,
    replyTo: null,
    layout,
    blocks: [],
    textBody: null,
    settings: text("settings") ? readSettings(text("settings")!) : DEFAULT_SETTINGS,
  };
  const subscriberPath = text("subscriber");
  const recipient = subscriberPath ? readSubscriber(subscriberPath) : defaultRecipient();
  const dateText = text("date");
  const date = dateText ? parseDate(dateText) : new Date();
  return { source, recipient, date, letterPath };
}

/**
 * Reads the letter as UTF-8 text. A file with NUL bytes or invalid UTF-8 is
 * rejected without printing its bytes, and so is an empty one.
 */
function readLetter(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new UsageError(`Cannot read the letter file ${path}: ${(error as Error).message}`);
  }

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    text = "\u0000";
  }
  if (text.includes("\u0000")) {
    throw new UsageError(
      `The letter file ${path} is not a text/HTML file: it contains binary data or invalid UTF-8. Pass the letter's HTML file.`,
    );
  }
  if (text.trim() === "") {
    throw new UsageError(`The letter file ${path} is empty; write the letter's HTML in it.`);
  }
  return text;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`Cannot read the ${what} file ${path}: ${(error as Error).message}`);
  }
}

function readJson(path: string, what: string): Record<string, unknown> {
  const text = readText(path, what);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`The ${what} file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`The ${what} file ${path} must hold a JSON object.`);
  }
  return value as Record<string, unknown>;
}

function readSettings(path: string): LetterSource["settings"] {
  const value = readJson(path, "settings");
  return {
    trackClicks: (value.trackClicks ?? DEFAULT_SETTINGS.trackClicks) as boolean,
    trackOpens: (value.trackOpens ?? DEFAULT_SETTINGS.trackOpens) as boolean,
    utm: (value.utm ?? null) as LetterSource["settings"]["utm"],
  };
}

function readSubscriber(path: string): Recipient {
  const { email, first_name, last_name, id, list_ids, ...attributes } = readJson(
    path,
    "subscriber",
  );
  if (typeof email !== "string") {
    throw new UsageError(
      `The subscriber file ${path} needs an "email" string, got ${JSON.stringify(email)}.`,
    );
  }
  if (!isEmailAddress(email)) {
    throw new UsageError(
      `The "email" in the subscriber file ${path} is not a valid email address: ${JSON.stringify(email)}.`,
    );
  }
  if (list_ids !== undefined && !(Array.isArray(list_ids) && list_ids.every(Number.isInteger))) {
    throw new UsageError(`"list_ids" in ${path} must be an array of whole numbers.`);
  }

  return {
    id: typeof id === "number" ? id : 1,
    email,
    firstName: String(first_name ?? ""),
    lastName: String(last_name ?? ""),
    attributes: Object.fromEntries(
      Object.entries(attributes).map(([key, value]) => [key, String(value ?? "")]),
    ),
    listIds: (list_ids as number[] | undefined) ?? [],
  };
}

function defaultRecipient(): Recipient {
  return {
    id: 1,
    email: "jane.doe@example.com",
    firstName: "Jane",
    lastName: "Doe",
    attributes: {},
    listIds: [],
  };
}

function parseFrom(value: string): { name: string; email: string } {
  const match =
    /^\s*(?:"?([^"<]*?)"?\s*)?<([^<>\s]+@[^<>\s]+)>\s*$/.exec(value) ??
    /^\s*()([^<>\s]+@[^<>\s]+)\s*$/.exec(value);
  if (!match) throw new UsageError(`--from "${value}" is not "Name <address>" or an address.`);
  return { name: match[1]?.trim() ?? "", email: match[2] };
}

function parseDate(value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new UsageError(`--date "${value}" is not an ISO 8601 date.`);
  return date;
}

function titleOf(html: string): string | null {
  const match = /<title[^>]*>([^<]*)<\/title>/i.exec(html);
  const title = match?.[1].replace(/\s+/g, " ").trim();
  return title ? title : null;
}

function printIssues(issues: LetterIssue[], letterPath: string): void {
  for (const issue of issues) {
    const where =
      issue.part === "layout"
        ? `${letterPath}:${issue.line}`
        : `${issue.part ?? "letter"}${issue.line ? ` line ${issue.line}` : ""}`;
    console.error(`${where}: ${issue.severity}: ${issue.message}`);
  }
}

process.exitCode = main();
