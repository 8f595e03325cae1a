/**
 * Lists in the panel: the lists with their counts, a new list, one list's
 * members, and the CSV import with its per-line report.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import type { FC } from "hono/jsx";
import type { AppEnv } from "../http/app";
import type { ListSummary } from "../subscribers/lists";
import type { CsvCounts, DuplicateRow, InvalidRow } from "../subscribers/csv";
import type { SuppressedSubscriber } from "../subscribers/import";
import { callApi, requireApi, type ApiProblem } from "./api";
import { readForm } from "./forms";
import { ErrorBox, formatCount, formatTime, Notice, renderPage } from "./layout";

/** Members per page of the list page. */
const PAGE_SIZE = 50;

/** The body of POST /api/lists/:id/import. */
interface ImportReport {
  imported: number;
  created: number;
  updated: number;
  suppressed: number;
  addedToList: number;
  invalid: InvalidRow[];
  duplicates: DuplicateRow[];
  suppressedSubscribers: SuppressedSubscriber[];
  counts: CsvCounts;
}

interface Member {
  id: number;
  email: string;
  firstName: string;
  lastName: string;
  status: string;
  addedAt: number;
}

interface MemberPage {
  subscribers: Member[];
  total: number;
}

export const listPages = new Hono<AppEnv>();

listPages.get("/lists", async (c) => listsPage(c, null, ""));

listPages.post("/lists", async (c) => {
  const name = (await readForm(c)).name ?? "";
  const result = await callApi<{ list: { id: number } }>(c, "POST", "/api/lists", {
    json: { name },
  });
  if (!result.ok) return listsPage(c, result.error, name);

  return c.redirect(`/admin/lists/${result.data.list.id}?created`, 303);
});

listPages.get("/lists/:id{[0-9]+}", async (c) => {
  const notice = c.req.query("created") !== undefined ? "created" : null;
  return listPage(c, Number(c.req.param("id")), { notice });
});

listPages.post("/lists/:id{[0-9]+}/import", async (c) => {
  const listId = Number(c.req.param("id"));
  // The multipart body goes to the API unchanged; it reads the "file" field
  // and applies the upload size limit.
  const result = await callApi<ImportReport>(c, "POST", `/api/lists/${listId}/import`, {
    raw: c.req.raw.body ?? "",
    contentType: c.req.header("content-type") ?? "",
  });

  if (!result.ok) return listPage(c, listId, { importError: result.error });
  return listPage(c, listId, { report: result.data });
});

async function listsPage(c: Context<AppEnv>, error: ApiProblem | null, name: string) {
  const { lists } = await requireApi<{ lists: ListSummary[] }>(c, "GET", "/api/lists");

  return renderPage(c, {
    title: "Lists",
    section: "lists",
    status: error ? error.status : 200,
    body: (
      <>
        <h1>Lists</h1>
        {lists.length === 0 ? (
          <p class="muted">No lists yet. Create one, then import a CSV file into it.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th class="num">Subscribers</th>
                <th class="num">Active</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {lists.map((list) => (
                <tr>
                  <td>
                    <a href={`/admin/lists/${list.id}`}>{list.name}</a>
                  </td>
                  <td class="num">{formatCount(list.subscribers)}</td>
                  <td class="num">{formatCount(list.active)}</td>
                  <td>{formatTime(list.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <h2>New list</h2>
        {error && <ErrorBox problem={error} title="The list was not created" />}
        <form method="post" action="/admin/lists" class="card stack" id="list-form">
          <label for="list-name">Name</label>
          <input type="text" id="list-name" name="name" value={name} required maxlength={200} />
          <div class="actions">
            <button type="submit">Create list</button>
          </div>
        </form>
      </>
    ),
  });
}

interface ListPageState {
  notice?: "created" | null;
  report?: ImportReport;
  importError?: ApiProblem;
}

async function listPage(c: Context<AppEnv>, listId: number, state: ListPageState) {
  const offset = Math.max(0, Number(c.req.query("offset")) || 0);
  const [{ lists }, members] = await Promise.all([
    requireApi<{ lists: ListSummary[] }>(c, "GET", "/api/lists"),
    requireApi<MemberPage>(
      c,
      "GET",
      `/api/lists/${listId}/subscribers?limit=${PAGE_SIZE}&offset=${offset}`,
    ),
  ]);
  const list = lists.find((candidate) => candidate.id === listId)!;

  return renderPage(c, {
    title: list.name,
    section: "lists",
    status: state.importError ? state.importError.status : 200,
    body: (
      <>
        <p class="small">
          <a href="/admin/lists">Lists</a> /
        </p>
        <h1>{list.name}</h1>
        {state.notice === "created" && (
          <Notice kind="success" title="List created">
            <p>Import a CSV file to add subscribers.</p>
          </Notice>
        )}
        <p>
          {formatCount(list.subscribers)} subscribers, {formatCount(list.active)} of them active.
        </p>
        {state.report && <ImportReportView report={state.report} />}
        <h2>Import a CSV file</h2>
        {state.importError && <ErrorBox problem={state.importError} title="Nothing was imported" />}
        <ImportForm listId={listId} />
        <h2>Subscribers</h2>
        <MembersTable listId={listId} page={members} offset={offset} />
      </>
    ),
  });
}

const ImportForm: FC<{ listId: number }> = ({ listId }) => (
  <form
    method="post"
    action={`/admin/lists/${listId}/import`}
    enctype="multipart/form-data"
    class="card stack"
    id="import-form"
    data-upload
  >
    <label for="csv-file">
      CSV file{" "}
      <span class="hint">
        A header row with an <code>email</code> column; <code>first_name</code>,{" "}
        <code>last_name</code> and any other columns are optional. Comma, semicolon or tab
        separated, at most 10 MB. Existing subscribers are updated, never duplicated.
      </span>
    </label>
    <input type="file" id="csv-file" name="file" accept=".csv,.tsv,.txt,text/csv" required />
    <div class="actions">
      <button type="submit">Import</button>
    </div>
    <div class="upload-status" hidden>
      <progress max="1" value="0"></progress>
      <span>Uploading…</span>
    </div>
  </form>
);

const ImportReportView: FC<{ report: ImportReport }> = ({ report }) => {
  const { counts } = report;
  return (
    <section id="import-report">
      <Notice kind="success" title={`Imported ${formatCount(report.imported)} subscribers`}>
        <p class="import-summary">
          {formatCount(report.imported)} imported ({formatCount(report.created)} new,{" "}
          {formatCount(report.updated)} updated), {formatCount(report.addedToList)} added to this
          list, {formatCount(counts.invalid)} invalid, {formatCount(counts.duplicates)} duplicates,{" "}
          {formatCount(report.suppressed)} suppressed, {formatCount(counts.blank)} blank. The file
          has {formatCount(counts.records)} records on {formatCount(counts.lines)} lines.
        </p>
      </Notice>
      {report.invalid.length > 0 && (
        <>
          <h3>
            Invalid rows ({formatCount(counts.invalid)}), not imported
            <Truncated shown={report.invalid.length} total={counts.invalid} />
          </h3>
          <table id="invalid-rows">
            <thead>
              <tr>
                <th class="num">Line</th>
                <th>Email as written</th>
                <th>Problem</th>
              </tr>
            </thead>
            <tbody>
              {report.invalid.map((row) => (
                <tr>
                  <td class="num">{row.line}</td>
                  <td class="wrap">{row.value}</td>
                  <td>{row.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {report.duplicates.length > 0 && (
        <>
          <h3>
            Duplicate rows ({formatCount(counts.duplicates)}), skipped because an earlier line has
            the same email
            <Truncated shown={report.duplicates.length} total={counts.duplicates} />
          </h3>
          <table id="duplicate-rows">
            <thead>
              <tr>
                <th class="num">Line</th>
                <th>Email</th>
                <th class="num">Kept line</th>
              </tr>
            </thead>
            <tbody>
              {report.duplicates.map((row) => (
                <tr>
                  <td class="num">{row.line}</td>
                  <td class="wrap">{row.email}</td>
                  <td class="num">{row.firstLine}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {report.suppressedSubscribers.length > 0 && (
        <>
          <h3>
            Suppressed ({formatCount(report.suppressed)}): on the list, but they receive no mail
            <Truncated shown={report.suppressedSubscribers.length} total={report.suppressed} />
          </h3>
          <table id="suppressed-rows">
            <thead>
              <tr>
                <th class="num">Line</th>
                <th>Email</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {report.suppressedSubscribers.map((row) => (
                <tr>
                  <td class="num">{row.line ?? "–"}</td>
                  <td class="wrap">{row.email}</td>
                  <td>{row.status}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
};

const Truncated: FC<{ shown: number; total: number }> = ({ shown, total }) =>
  shown < total ? (
    <span class="muted small"> (the first {formatCount(shown)} are listed)</span>
  ) : null;

const MembersTable: FC<{ listId: number; page: MemberPage; offset: number }> = (props) => {
  const { subscribers, total } = props.page;
  if (total === 0) return <p class="muted">No subscribers yet.</p>;

  const last = props.offset + subscribers.length;
  const base = `/admin/lists/${props.listId}`;
  return (
    <>
      <table id="members">
        <thead>
          <tr>
            <th class="num">Id</th>
            <th>Email</th>
            <th>First name</th>
            <th>Last name</th>
            <th>Status</th>
            <th>Added</th>
          </tr>
        </thead>
        <tbody>
          {subscribers.map((member) => (
            <tr>
              <td class="num">{member.id}</td>
              <td class="wrap">{member.email}</td>
              <td>
                <bdi>{member.firstName}</bdi>
              </td>
              <td>
                <bdi>{member.lastName}</bdi>
              </td>
              <td>{member.status}</td>
              <td>{formatTime(member.addedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="actions small">
        <span class="muted">
          {formatCount(props.offset + 1)}–{formatCount(last)} of {formatCount(total)}
        </span>
        {props.offset > 0 && (
          <a href={`${base}?offset=${Math.max(0, props.offset - PAGE_SIZE)}`}>Previous</a>
        )}
        {last < total && <a href={`${base}?offset=${last}`}>Next</a>}
      </div>
    </>
  );
};
