/**
 * Demo content built from the test fixtures through the JSON API: a list
 * imported from test/fixtures/subscribers.csv and a letter made from a real
 * template. `npm start` seeds an empty database with it and the demo sends it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ApiClient, ImportResult, LetterIssue } from "./api.ts";
import { PROJECT_DIR, relativeToProject } from "./stack.ts";

const FIXTURES = join(PROJECT_DIR, "test/fixtures");

/** 200 rows: 196 distinct valid subscribers, 2 invalid rows and 2 duplicates. */
export const SUBSCRIBERS_CSV = join(FIXTURES, "subscribers.csv");

/** A production template with 21 links of many shapes and a `{{ city }}` token in one of them. */
export const DEMO_TEMPLATE = join(FIXTURES, "templates/colorlib--14-business--linked.html");

/** Name of the demo letter and mailing. */
export const DEMO_NAME = "Demo: winter deals";

/** Creates a list and imports `csv` into it (the fixture CSV by default). */
export async function createDemoList(
  api: ApiClient,
  name: string,
  csv: string | Uint8Array = readFileSync(SUBSCRIBERS_CSV),
): Promise<{ listId: number; result: ImportResult }> {
  const list = await api.createList(name);
  return { listId: list.id, result: await api.importCsv(list.id, csv) };
}

/**
 * Creates the demo letter from DEMO_TEMPLATE with click and open tracking
 * and UTM parameters. Throws when the letter check reports errors, because
 * no mailing could start with it. Otherwise returns the warnings.
 */
export async function createDemoLetter(
  api: ApiClient,
): Promise<{ letterId: number; warnings: LetterIssue[] }> {
  const { letter, issues } = await api.createLetter({
    name: DEMO_NAME,
    subject: 'Winter deals in {{ city | default: "your city" }}',
    preheader: 'Hello {{ first_name | default: "there" }}, our winter sale has started.',
    fromName: "Trickle demo",
    fromEmail: "newsletter@example.com",
    layout: readFileSync(DEMO_TEMPLATE, "utf8"),
    settings: {
      trackClicks: true,
      trackOpens: true,
      utm: { source: "trickle", medium: "email", campaign: "demo" },
    },
  });

  const errors = issues.filter((issue) => issue.severity === "error");
  if (errors.length > 0) {
    throw new Error(
      `Letter ${letter.id} made from ${relativeToProject(DEMO_TEMPLATE)} has errors, so no mailing can start with it: ${JSON.stringify(errors)}`,
    );
  }
  return { letterId: letter.id, warnings: issues };
}
