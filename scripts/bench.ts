/**
 * `npm run bench`: runs every benchmark section, prints progress on stderr
 * and ends with one JSON line on stdout holding every figure.
 *
 *   npm run bench                 all sections
 *   npm run bench -- render      only the named sections
 *
 * Each section is a module in scripts/bench/ exporting `run(progress)`.
 */
import os from "node:os";

type Figures = Record<string, number | string | boolean>;
type Section = { run: (progress: (line: string) => void) => Promise<Figures> };

const SECTIONS = ["pipeline", "render", "redirect"] as const;

const USAGE = `Usage: npm run bench [-- SECTION ...]

Sections (all of them when none is named; about four minutes on two cores):
  pipeline  messages per second from a started mailing to the local SMTP server
  render    per-recipient cost of the letter engine against the naive way
  redirect  click redirect throughput and p99 against a constant 302`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return;
  }
  const options = args.filter((arg) => arg.startsWith("-"));
  if (options.length > 0) {
    console.error(`Unknown option: ${options.join(", ")}.\n\n${USAGE}`);
    process.exit(2);
  }

  const wanted = args;
  const unknown = wanted.filter((name) => !(SECTIONS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    console.error(
      `Unknown benchmark section: ${unknown.join(", ")}. Sections: ${SECTIONS.join(", ")}.`,
    );
    process.exit(2);
  }

  const figures: Record<string, Figures> = {};
  for (const name of wanted.length > 0 ? wanted : SECTIONS) {
    const progress = (line: string) => console.error(`[${name}] ${line}`);
    progress("start");
    const section = (await import(`./bench/${name}.ts`)) as Section;
    figures[name] = await section.run(progress);
    progress(`done ${JSON.stringify(figures[name])}`);
  }

  const machine = {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? "unknown",
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  };
  console.log(JSON.stringify({ machine, ...figures }));
}

await main();
