/**
 * Mailings in the panel: the list of mailings, a new mailing (letter, list,
 * start time, pacing), and one mailing's page with its live progress and
 * the start, pause, resume and cancel actions. Start and cancel need a
 * confirmation. The script shows a dialog, and a post without the
 * confirmation gets a confirmation page instead.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import type { FC } from "hono/jsx";
import type { AppEnv } from "../http/app";
import type { ListSummary } from "../subscribers/lists";
import { callApi, requireApi, type ApiProblem } from "./api";
import { FieldErrors, labelDetails, readForm, startTimeField, type FormFields } from "./forms";
import {
  ErrorBox,
  formatCount,
  formatTime,
  Notice,
  renderFragment,
  renderPage,
  renderRows,
  StatusBadge,
} from "./layout";

/** A mailing as GET /api/mailings returns it. */
interface Mailing {
  id: number;
  name: string;
  letterId: number;
  listId: number;
  status: string;
  startAt: number;
  ratePerMinute: number | null;
  windowMinutes: number | null;
  total: number;
  pausedReason: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

type DeliveryCounts = Record<(typeof STATE_ORDER)[number], number>;

/** Delivery states in the order of the progress bar: final states first. */
const STATE_ORDER = [
  "sent",
  "failed",
  "uncertain",
  "skipped",
  "sending",
  "queued",
  "pending",
] as const;

/** Statuses whose page refreshes its progress. */
const LIVE_STATUSES = new Set(["wait", "sending", "paused"]);

/**
 * The API stores startAt = createdAt when a mailing is created without a
 * start time, so only a startAt later than createdAt by more than this
 * margin counts as an explicit start time.
 */
const EXPLICIT_START_MARGIN_MS = 60_000;

/** Milliseconds between two refreshes of a live mailing's progress. */
const REFRESH_MS = 2000;

type Action = "start" | "pause" | "resume" | "cancel";

/** The statuses each action applies to, as src/mailings/control.ts and start.ts define them. */
const ACTIONS: Record<Action, { from: string[]; label: string; done: string; confirm?: string }> = {
  start: {
    from: ["draft"],
    label: "Start",
    done: "Mailing started",
    confirm: "Start this mailing? Every active subscriber of the list will receive the letter.",
  },
  pause: { from: ["wait", "sending"], label: "Pause", done: "Mailing paused" },
  resume: { from: ["paused"], label: "Resume", done: "Mailing resumed" },
  cancel: {
    from: ["draft", "wait", "sending", "paused"],
    label: "Cancel mailing",
    done: "Mailing cancelled",
    confirm: "Cancel this mailing? Messages not yet handed to the SMTP server are never sent.",
  },
};

const BUTTON_CLASS: Record<Action, string | undefined> = {
  start: undefined,
  pause: "secondary",
  resume: "secondary",
  cancel: "danger",
};

const FIELD_LABELS: Record<string, string> = {
  name: "Name",
  letterId: "Letter",
  listId: "List",
  startAt: "Start time",
  ratePerMinute: "Rate per minute",
  windowMinutes: "Window",
};

export const mailingPages = new Hono<AppEnv>();

mailingPages.get("/", (c) => c.redirect("/admin/mailings", 303));

mailingPages.get("/mailings", async (c) => {
  const letterId = Number(c.req.query("letter")) || 0;
  return mailingsPage(c, { fields: { letterId: String(letterId) } });
});

mailingPages.post("/mailings", async (c) => {
  const fields = await readForm(c);
  const errors = new FieldErrors();
  const body = {
    name: (fields.name ?? "").trim(),
    letterId: errors.requiredId(fields, "letterId", "Letter"),
    listId: errors.requiredId(fields, "listId", "List"),
    startAt: startTimeField(fields),
    ratePerMinute: errors.optionalInteger(fields, "ratePerMinute", "Rate per minute", 1, 100_000),
    windowMinutes: errors.optionalInteger(fields, "windowMinutes", "Window", 1, 60 * 24 * 14),
  };
  const formProblem = errors.problem();
  if (formProblem) return mailingsPage(c, { fields, error: formProblem });

  const result = await callApi<{ mailing: Mailing }>(c, "POST", "/api/mailings", { json: body });
  if (!result.ok) {
    return mailingsPage(c, { fields, error: labelDetails(result.error, FIELD_LABELS) });
  }
  return c.redirect(`/admin/mailings/${result.data.mailing.id}?notice=created`, 303);
});

mailingPages.get("/mailings/:id{[0-9]+}", async (c) => {
  const notice = c.req.query("notice") ?? null;
  return mailingPage(c, Number(c.req.param("id")), { notice });
});

mailingPages.get("/mailings/:id{[0-9]+}/progress", async (c) => {
  const id = Number(c.req.param("id"));
  const { mailing, counts } = await loadMailing(c, id);
  return renderFragment(c, <Progress mailing={mailing} counts={counts} />);
});

mailingPages.post("/mailings/:id{[0-9]+}/:action{start|pause|resume|cancel}", async (c) => {
  const id = Number(c.req.param("id"));
  const action = c.req.param("action") as Action;
  const fields = await readForm(c);

  if (ACTIONS[action].confirm && fields.confirmed !== "yes") {
    return confirmPage(c, id, action);
  }

  // Pause is the one action with a JSON body (an optional reason).
  const body = action === "pause" ? { json: {} } : undefined;
  const result = await callApi(c, "POST", `/api/mailings/${id}/${action}`, body);
  if (!result.ok) return mailingPage(c, id, { error: result.error, action });
  return c.redirect(`/admin/mailings/${id}?notice=${action}`, 303);
});

interface MailingsPageState {
  fields: FormFields;
  error?: ApiProblem;
}

async function mailingsPage(c: Context<AppEnv>, state: MailingsPageState) {
  const [{ mailings }, { letters }, { lists }] = await Promise.all([
    requireApi<{ mailings: Mailing[] }>(c, "GET", "/api/mailings"),
    requireApi<{ letters: Array<{ id: number; name: string }> }>(c, "GET", "/api/letters"),
    requireApi<{ lists: ListSummary[] }>(c, "GET", "/api/lists"),
  ]);
  const { fields } = state;

  return renderPage(c, {
    title: "Mailings",
    section: "mailings",
    status: state.error ? state.error.status : 200,
    body: (
      <>
        <h1>Mailings</h1>
        {mailings.length === 0 ? (
          <p class="muted">No mailings yet. Create one below.</p>
        ) : (
          <MailingsTable mailings={mailings} />
        )}
        <h2 id="new-mailing">New mailing</h2>
        {state.error && <ErrorBox problem={state.error} title="The mailing was not created" />}
        {letters.length === 0 || lists.length === 0 ? (
          <p class="muted">
            A mailing needs a <a href="/admin/letters/new">letter</a> and a{" "}
            <a href="/admin/lists">list</a>.
          </p>
        ) : (
          <form method="post" action="/admin/mailings" class="card stack" id="mailing-form">
            <label for="mailing-name">Name</label>
            <input
              type="text"
              id="mailing-name"
              name="name"
              value={fields.name ?? ""}
              required
              maxlength={200}
            />
            <div class="row">
              <div>
                <label for="mailing-letter">Letter</label>
                <select id="mailing-letter" name="letterId" required>
                  {letters.map((letter) => (
                    <option
                      value={String(letter.id)}
                      selected={fields.letterId === String(letter.id)}
                    >
                      {letter.name}
                    </option>
                  ))}
                </select>
              </div>
              <div>
                <label for="mailing-list">List</label>
                <select id="mailing-list" name="listId" required>
                  {lists.map((list) => (
                    <option value={String(list.id)} selected={fields.listId === String(list.id)}>
                      {`${list.name} (${formatCount(list.active)} active)`}
                    </option>
                  ))}
                </select>
              </div>
            </div>
            <div class="row">
              <div>
                <label for="mailing-start">
                  Start time <span class="hint">your time zone; empty: when started</span>
                </label>
                <input
                  type="datetime-local"
                  id="mailing-start"
                  name="startAt"
                  value={fields.startAt ?? ""}
                  data-iso-target="startAtIso"
                />
                <input type="hidden" name="startAtIso" value="" />
              </div>
              <div>
                <label for="mailing-rate">
                  Rate per minute <span class="hint">optional</span>
                </label>
                <input
                  type="number"
                  id="mailing-rate"
                  name="ratePerMinute"
                  min="1"
                  max="100000"
                  value={fields.ratePerMinute ?? ""}
                />
              </div>
              <div>
                <label for="mailing-window">
                  Window in minutes <span class="hint">optional: spread the sending</span>
                </label>
                <input
                  type="number"
                  id="mailing-window"
                  name="windowMinutes"
                  min="1"
                  max="20160"
                  value={fields.windowMinutes ?? ""}
                />
              </div>
            </div>
            <p class="hint">
              The account rate (RATE_PER_MINUTE) always applies; a rate or a window here can only
              slow this mailing down. The mailing is saved as a draft: start it from its page.
            </p>
            <div class="actions">
              <button type="submit">Create draft</button>
            </div>
          </form>
        )}
      </>
    ),
  });
}

const MailingsTable: FC<{ mailings: Mailing[] }> = ({ mailings }) => (
  <table id="mailings">
    <thead>
      <tr>
        <th>Name</th>
        <th>Status</th>
        <th class="num">Recipients</th>
        <th>Start</th>
        <th>Finished</th>
        <th></th>
      </tr>
    </thead>
    <tbody>
      {renderRows(
        mailings,
        6,
        (mailing) => (
          <tr>
            <td>
              <a href={`/admin/mailings/${mailing.id}`}>{mailing.name}</a>
            </td>
            <td>
              <StatusBadge status={mailing.status} />
            </td>
            <td class="num">{mailing.status === "draft" ? "–" : formatCount(mailing.total)}</td>
            <td>{startText(mailing)}</td>
            <td>{formatTime(mailing.finishedAt)}</td>
            <td>
              {mailing.status !== "draft" && (
                <a href={`/admin/mailings/${mailing.id}/stats`}>Statistics</a>
              )}
            </td>
          </tr>
        ),
        (mailing) => ({ mailingId: mailing.id }),
      )}
    </tbody>
  </table>
);

/**
 * Describes the start of a mailing: startedAt once sending began, else startAt when it
 * was set explicitly, else "when started" for a draft, and for a started
 * mailing that has not sent yet, the next scheduler run.
 */
function startText(mailing: Mailing): string {
  if (mailing.startedAt !== null && mailing.startedAt !== undefined) {
    return formatTime(mailing.startedAt);
  }
  const explicit = mailing.startAt - mailing.createdAt > EXPLICIT_START_MARGIN_MS;
  if (explicit || !Number.isFinite(mailing.startAt)) return `at ${formatTime(mailing.startAt)}`;
  return mailing.status === "draft" ? "when started" : "at the next scheduler run";
}

interface MailingPageState {
  notice?: string | null;
  error?: ApiProblem;
  action?: Action;
}

async function loadMailing(c: Context<AppEnv>, id: number) {
  return requireApi<{ mailing: Mailing; counts: DeliveryCounts }>(c, "GET", `/api/mailings/${id}`);
}

async function mailingPage(c: Context<AppEnv>, id: number, state: MailingPageState) {
  const [{ mailing, counts }, { letters }, { lists }] = await Promise.all([
    loadMailing(c, id),
    requireApi<{ letters: Array<{ id: number; name: string }> }>(c, "GET", "/api/letters"),
    requireApi<{ lists: ListSummary[] }>(c, "GET", "/api/lists"),
  ]);
  const letterName = letters.find((letter) => letter.id === mailing.letterId)?.name;
  const listName = lists.find((list) => list.id === mailing.listId)?.name;
  const notice = state.notice === "created" ? "Draft created" : noticeOf(state.notice);

  return renderPage(c, {
    title: mailing.name,
    section: "mailings",
    status: state.error ? state.error.status : 200,
    body: (
      <>
        <p class="small">
          <a href="/admin/mailings">Mailings</a> /
        </p>
        <h1>{mailing.name}</h1>
        {notice && (
          <Notice kind="success" title={notice} untilFinal={state.notice === "start"}>
            {state.notice === "created" && <p>Check the details, then start it.</p>}
          </Notice>
        )}
        {state.error && (
          <ErrorBox
            problem={state.error}
            title={`${ACTIONS[state.action ?? "start"].label} did not work`}
          />
        )}
        <table class="details">
          <tbody>
            <tr>
              <th>Letter</th>
              <td>
                <a href={`/admin/letters/${mailing.letterId}`}>
                  {letterName ?? `Letter ${mailing.letterId}`}
                </a>{" "}
                (<a href={`/admin/letters/${mailing.letterId}/preview`}>preview</a>)
              </td>
            </tr>
            <tr>
              <th>List</th>
              <td>
                <a href={`/admin/lists/${mailing.listId}`}>
                  {listName ?? `List ${mailing.listId}`}
                </a>
              </td>
            </tr>
            <tr>
              <th>{mailing.startedAt ? "Started" : "Start time"}</th>
              <td id="start-time">{startText(mailing)}</td>
            </tr>
            <tr>
              <th>Pacing</th>
              <td>{pacingText(mailing)}</td>
            </tr>
            <tr>
              <th>Created</th>
              <td>{formatTime(mailing.createdAt)}</td>
            </tr>
          </tbody>
        </table>
        <Progress mailing={mailing} counts={counts} />
      </>
    ),
  });
}

function noticeOf(action: string | null | undefined): string | null {
  return action && action in ACTIONS ? ACTIONS[action as Action].done : null;
}

function pacingText(mailing: Mailing): string {
  const parts: string[] = [];
  if (mailing.ratePerMinute) parts.push(`at most ${formatCount(mailing.ratePerMinute)} per minute`);
  if (mailing.windowMinutes)
    parts.push(`spread over ${formatCount(mailing.windowMinutes)} minutes`);
  return parts.length > 0 ? parts.join(", ") : "account rate only";
}

/**
 * Status, delivery counts and the actions that apply now. While the mailing
 * is live, the script replaces this section with a fresh copy every
 * REFRESH_MS.
 */
const Progress: FC<{ mailing: Mailing; counts: DeliveryCounts }> = ({ mailing, counts }) => {
  const live = LIVE_STATUSES.has(mailing.status);
  const total = STATE_ORDER.reduce((sum, state) => sum + counts[state], 0);
  const finished = counts.sent + counts.failed + counts.uncertain + counts.skipped;

  return (
    <section
      id="progress"
      class="card"
      data-status={mailing.status}
      data-refresh-url={live ? `/admin/mailings/${mailing.id}/progress` : undefined}
      data-refresh-ms={live ? String(REFRESH_MS) : undefined}
    >
      <h2>
        Progress <StatusBadge status={mailing.status} />
      </h2>
      {mailing.pausedReason && mailing.status === "paused" && (
        <p>
          Paused: <span id="paused-reason">{mailing.pausedReason}</span>
        </p>
      )}
      {mailing.status === "draft" ? (
        <p class="muted">Nothing is sent before the mailing is started.</p>
      ) : (
        <>
          <p>
            {formatCount(finished)} of {formatCount(total)} deliveries finished,{" "}
            {formatCount(counts.sent)} sent. Started {formatTime(mailing.startedAt)}, finished{" "}
            {formatTime(mailing.finishedAt)}.
          </p>
          <div class="bar" aria-hidden="true">
            {STATE_ORDER.map((state) =>
              counts[state] > 0 ? (
                <span
                  class={`state-${state}`}
                  style={`width: ${(100 * counts[state]) / Math.max(total, 1)}%`}
                ></span>
              ) : null,
            )}
          </div>
          <table id="delivery-counts">
            <thead>
              <tr>
                {STATE_ORDER.map((state) => (
                  <th class="num">
                    <span class="legend">
                      <span>
                        <i class={`state-${state}`}></i>
                        {state}
                      </span>
                    </span>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              <tr>
                {STATE_ORDER.map((state) => (
                  <td class="num" data-state={state}>
                    {formatCount(counts[state])}
                  </td>
                ))}
              </tr>
            </tbody>
          </table>
        </>
      )}
      <div class="actions">
        {(Object.keys(ACTIONS) as Action[])
          .filter((action) => ACTIONS[action].from.includes(mailing.status))
          .map((action) => (
            <ActionButton mailingId={mailing.id} action={action} />
          ))}
        {mailing.status !== "draft" && (
          <a class="button secondary" href={`/admin/mailings/${mailing.id}/stats`}>
            Statistics
          </a>
        )}
      </div>
      {live && <p class="muted small refresh-note">Updates every {REFRESH_MS / 1000} seconds.</p>}
    </section>
  );
};

const ActionButton: FC<{ mailingId: number; action: Action }> = ({ mailingId, action }) => {
  const { label, confirm } = ACTIONS[action];
  return (
    <form method="post" action={`/admin/mailings/${mailingId}/${action}`} data-confirm={confirm}>
      {confirm && <input type="hidden" name="confirmed" value="" />}
      <button type="submit" class={BUTTON_CLASS[action]}>
        {label}
      </button>
    </form>
  );
};

/** Renders the confirmation page for a post without `confirmed=yes` (the script did not run). */
async function confirmPage(c: Context<AppEnv>, id: number, action: Action) {
  const { mailing } = await loadMailing(c, id);
  const { label, confirm } = ACTIONS[action];
  return renderPage(c, {
    title: `${label}?`,
    section: "mailings",
    body: (
      <>
        <h1>{`${label}: ${mailing.name}`}</h1>
        <Notice kind="info" title="Please confirm">
          <p>{confirm}</p>
        </Notice>
        <div class="actions">
          <form method="post" action={`/admin/mailings/${id}/${action}`}>
            <input type="hidden" name="confirmed" value="yes" />
            <button type="submit" class={BUTTON_CLASS[action]}>
              {`Yes, ${label.toLowerCase()}`}
            </button>
          </form>
          <a class="button secondary" href={`/admin/mailings/${id}`}>
            No, go back
          </a>
        </div>
      </>
    ),
  });
}
