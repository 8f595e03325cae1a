/**
 * The page frame of the admin panel and the small components every page
 * uses: notices, error boxes, status badges and time cells. hono/jsx escapes
 * every text and attribute value, so subscriber and letter data is shown as
 * written and never interpreted as HTML.
 */
import type { Context } from "hono";
import type { Child, FC, PropsWithChildren } from "hono/jsx";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "../http/app";
import { log } from "../log";
import type { ApiProblem } from "./api";

/** The section a page belongs to, highlighted in the navigation. */
export type Section = "mailings" | "letters" | "lists" | "none";

/**
 * Content-Security-Policy of every panel page. Scripts come only from
 * /admin/assets, and images only from this origin or data: URLs. A srcdoc
 * document inherits this policy, so a letter preview loads nothing from
 * another host.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

interface PageProps {
  title: string;
  section: Section;
  /** False on the login page, which has no navigation or logout button. */
  loggedIn?: boolean;
}

const Page: FC<PropsWithChildren<PageProps>> = ({ title, section, loggedIn = true, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="referrer" content="same-origin" />
      <title>{`${title} · Trickle admin`}</title>
      <link rel="stylesheet" href="/admin/assets/panel.css" />
      <script src="/admin/assets/panel.js" defer></script>
    </head>
    <body>
      <header class="top">
        <span class="brand">Trickle admin</span>
        {loggedIn && (
          <>
            <nav>
              <NavLink href="/admin/mailings" current={section === "mailings"}>
                Mailings
              </NavLink>
              <NavLink href="/admin/letters" current={section === "letters"}>
                Letters
              </NavLink>
              <NavLink href="/admin/lists" current={section === "lists"}>
                Lists
              </NavLink>
            </nav>
            <form method="post" action="/admin/logout">
              <button type="submit" class="link">
                Log out
              </button>
            </form>
          </>
        )}
      </header>
      <main>{children}</main>
    </body>
  </html>
);

const NavLink: FC<PropsWithChildren<{ href: string; current: boolean }>> = (props) => (
  <a href={props.href} class={props.current ? "current" : undefined}>
    {props.children}
  </a>
);

/** Renders a full panel page with the security headers every page gets. */
export function renderPage(
  c: Context<AppEnv>,
  props: PageProps & { body: Child; status?: ContentfulStatusCode },
): Response | Promise<Response> {
  setPageHeaders(c);
  const page = (
    <Page title={props.title} section={props.section} loggedIn={props.loggedIn}>
      {props.body}
    </Page>
  );
  return c.html("<!doctype html>" + page.toString(), props.status ?? 200);
}

/** Renders a fragment of a page (for live refresh) with the same headers. */
export function renderFragment(c: Context<AppEnv>, fragment: Child): Response | Promise<Response> {
  setPageHeaders(c);
  return c.html(<>{fragment}</>);
}

/** Headers of every panel response: no caching, no framing, strict CSP. */
export function setPageHeaders(c: Context<AppEnv>): void {
  c.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
  c.header("Cache-Control", "no-store");
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Referrer-Policy", "same-origin");
}

/**
 * A green, blue or red box with a heading and optional text. With
 * `untilFinal`, the page script removes it once the live progress section
 * reaches a final status.
 */
export const Notice: FC<
  PropsWithChildren<{ kind: "success" | "info" | "error"; title: string; untilFinal?: boolean }>
> = (props) => (
  <div
    class={`notice ${props.kind}`}
    role={props.kind === "error" ? "alert" : "status"}
    data-until-final={props.untilFinal ? "" : undefined}
  >
    <h3>{props.title}</h3>
    {props.children}
  </div>
);

/** An API error: its message, then every detail with the place it names (a field or a line). */
export const ErrorBox: FC<{ problem: ApiProblem; title?: string }> = ({ problem, title }) => (
  <Notice kind="error" title={title ?? "That did not work"}>
    <p class="error-message">{problem.message}</p>
    {problem.details.length > 0 && (
      <ul class="error-details">
        {problem.details.map((detail) =>
          // A detail that repeats the message adds only its place.
          detail.message === problem.message ? (
            <li>
              at <strong>{detail.field}</strong>
            </li>
          ) : (
            <li>
              {detail.field && <strong>{detail.field}: </strong>}
              {detail.message}
            </li>
          ),
        )}
      </ul>
    )}
  </Notice>
);

/** A coloured label for a mailing status or an issue severity; `label` replaces the shown text. */
export const Badge: FC<{ value: string; label?: string }> = ({ value, label }) => (
  <span class={`badge ${value}`}>{label ?? value}</span>
);

/** Labels of the mailing statuses that src/mailings defines. */
const STATUS_LABELS: Record<string, string> = {
  draft: "draft",
  wait: "waiting for its start time",
  sending: "sending",
  paused: "paused",
  done: "done",
  cancelled: "cancelled",
};

/** A mailing status badge with its label; the class keeps the raw status. */
export const StatusBadge: FC<{ status: string }> = ({ status }) => (
  <Badge value={status} label={STATUS_LABELS[status] ?? status} />
);

/** Text shown in place of a time that is not a valid Date. */
export const INVALID_TIME = "invalid time";

/**
 * Formats a Unix-ms time as `YYYY-MM-DD HH:MM UTC`, or a dash when absent.
 * A value that is no valid Date (not a finite number, or beyond ±8.64e15 ms)
 * becomes `invalid time (<value>)` instead of throwing, so one bad row never
 * breaks a page.
 */
export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";

  const time = typeof ms === "number" ? new Date(ms) : null;
  if (!time || Number.isNaN(time.getTime())) return `${INVALID_TIME} (${String(ms)})`;

  // toISOString writes years past 9999 as +YYYYYY, so split at the "T" instead of a fixed offset.
  const [date, clock] = time.toISOString().split("T");
  return `${date} ${clock.slice(0, 5)} UTC`;
}

/**
 * Renders each item with `render`. An item whose rendering throws becomes a
 * row that shows the error, and the error is logged, so the other rows still show.
 */
export function renderRows<T>(
  items: T[],
  columns: number,
  render: (item: T) => Child,
  describe: (item: T) => Record<string, unknown>,
): Child[] {
  return items.map((item) => {
    try {
      return render(item);
    } catch (error) {
      log.error("admin row rendering failed", { ...describe(item), error: String(error) });
      return (
        <tr class="row-error">
          <td colspan={columns}>{`This row could not be shown: ${String(error)}`}</td>
        </tr>
      );
    }
  });
}

/** Formats a ratio as a percentage with one decimal. */
export function formatPercent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)} %`;
}

/** Formats a number with thousands separators. */
export function formatCount(value: number): string {
  return typeof value === "number" ? value.toLocaleString("en-US") : "–";
}
