/**
 * Letters in the panel: the list of letters, and one form to write or paste
 * a letter (layout HTML, subject, sender, analytics settings) that shows the
 * letter check's issues with their lines after each save.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import type { FC } from "hono/jsx";
import type { AppEnv } from "../http/app";
import type { LetterIssue } from "../render";
import type { LetterRow } from "../letters/source";
import { callApi, requireApi, type ApiProblem } from "./api";
import { labelDetails, readForm, type FormFields } from "./forms";
import { Badge, ErrorBox, formatTime, Notice, renderPage } from "./layout";

const UTM_FIELDS = ["source", "medium", "campaign", "content", "term"] as const;

/** The letter form's values, as the inputs show them. */
interface LetterForm {
  name: string;
  subject: string;
  preheader: string;
  fromName: string;
  fromEmail: string;
  replyTo: string;
  layout: string;
  textBody: string;
  trackClicks: boolean;
  trackOpens: boolean;
  utm: Record<(typeof UTM_FIELDS)[number], string>;
}

/** Form labels of the API's field paths, for error messages. */
const FIELD_LABELS: Record<string, string> = {
  name: "Name",
  subject: "Subject",
  preheader: "Preheader",
  fromName: "Sender name",
  fromEmail: "Sender email",
  replyTo: "Reply-To",
  layout: "Layout HTML",
  textBody: "Text part",
  ...Object.fromEntries(UTM_FIELDS.map((field) => [`settings.utm.${field}`, `UTM ${field}`])),
};

/** Editor element of each letter part, for the links on issue lines. */
const EDITOR_OF_PART: Record<string, string> = {
  subject: "field-subject",
  preheader: "field-preheader",
  layout: "field-layout",
  textBody: "field-textBody",
  from: "field-fromEmail",
};

interface LetterSummary {
  id: number;
  name: string;
  subject: string;
  updatedAt: number;
}

export const letterPages = new Hono<AppEnv>();

letterPages.get("/letters", async (c) => {
  const { letters } = await requireApi<{ letters: LetterSummary[] }>(c, "GET", "/api/letters");
  return renderPage(c, {
    title: "Letters",
    section: "letters",
    body: (
      <>
        <h1>Letters</h1>
        <div class="actions">
          <a class="button" href="/admin/letters/new">
            New letter
          </a>
        </div>
        {letters.length === 0 ? (
          <p class="muted">No letters yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Subject</th>
                <th>Updated</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {letters.map((letter) => (
                <tr>
                  <td>
                    <a href={`/admin/letters/${letter.id}`}>{letter.name}</a>
                  </td>
                  <td>{letter.subject}</td>
                  <td>{formatTime(letter.updatedAt)}</td>
                  <td>
                    <a href={`/admin/letters/${letter.id}/preview`}>Preview</a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </>
    ),
  });
});

letterPages.get("/letters/new", (c) =>
  letterPage(c, { form: emptyForm(c.env.SENDER_EMAIL ?? "") }),
);

letterPages.post("/letters", async (c) => {
  const form = formFromFields(await readForm(c));
  const result = await callApi<{ letter: LetterRow }>(c, "POST", "/api/letters", {
    json: letterBody(form, []),
  });
  if (!result.ok) return letterPage(c, { form, error: labelDetails(result.error, FIELD_LABELS) });

  return c.redirect(`/admin/letters/${result.data.letter.id}?saved`, 303);
});

letterPages.get("/letters/:id{[0-9]+}", async (c) => {
  const id = Number(c.req.param("id"));
  const { letter, issues } = await requireApi<{ letter: LetterRow; issues: LetterIssue[] }>(
    c,
    "GET",
    `/api/letters/${id}`,
  );
  return letterPage(c, {
    id,
    form: formFromRow(letter),
    issues,
    blocks: letter.blocks.length,
    saved: c.req.query("saved") !== undefined,
  });
});

letterPages.post("/letters/:id{[0-9]+}", async (c) => {
  const id = Number(c.req.param("id"));
  const form = formFromFields(await readForm(c));
  // The form has no block editor; the stored blocks are sent back unchanged.
  const { letter } = await requireApi<{ letter: LetterRow }>(c, "GET", `/api/letters/${id}`);

  const result = await callApi(c, "PUT", `/api/letters/${id}`, {
    json: letterBody(form, letter.blocks),
  });
  if (!result.ok) {
    const error = labelDetails(result.error, FIELD_LABELS);
    return letterPage(c, { id, form, error, blocks: letter.blocks.length });
  }
  return c.redirect(`/admin/letters/${id}?saved`, 303);
});

interface LetterPageState {
  id?: number;
  form: LetterForm;
  issues?: LetterIssue[];
  error?: ApiProblem;
  blocks?: number;
  saved?: boolean;
}

function letterPage(c: Context<AppEnv>, state: LetterPageState) {
  const title = state.id ? state.form.name || `Letter ${state.id}` : "New letter";
  return renderPage(c, {
    title,
    section: "letters",
    status: state.error ? state.error.status : 200,
    body: (
      <>
        <p class="small">
          <a href="/admin/letters">Letters</a> /
        </p>
        <h1>{title}</h1>
        {state.id && (
          <div class="actions">
            <a class="button secondary" href={`/admin/letters/${state.id}/preview`}>
              Preview
            </a>
            <a class="button secondary" href={`/admin/mailings?letter=${state.id}#new-mailing`}>
              New mailing with this letter
            </a>
          </div>
        )}
        {state.saved && (
          <Notice kind="success" title="Letter saved">
            <p>The letter check ran on the saved letter; its findings are below.</p>
          </Notice>
        )}
        {state.error && <ErrorBox problem={state.error} title="The letter was not saved" />}
        {state.issues && <IssuesView issues={state.issues} />}
        <LetterFormView id={state.id} form={state.form} blocks={state.blocks ?? 0} />
      </>
    ),
  });
}

const IssuesView: FC<{ issues: LetterIssue[] }> = ({ issues }) => {
  const errors = issues.filter((issue) => issue.severity === "error").length;
  const warnings = issues.length - errors;
  if (issues.length === 0) {
    return (
      <Notice kind="success" title="No issues found">
        <p>A mailing can start with this letter.</p>
      </Notice>
    );
  }

  return (
    <section id="letter-issues">
      {errors > 0 ? (
        <Notice kind="error" title={`${errors} error(s), ${warnings} warning(s)`}>
          <p>No mailing can start with this letter until the errors are fixed.</p>
        </Notice>
      ) : (
        <Notice kind="info" title={`${warnings} warning(s)`}>
          <p>A mailing can start with this letter; check that the warnings are intended.</p>
        </Notice>
      )}
      <table>
        <thead>
          <tr>
            <th>Severity</th>
            <th>Where</th>
            <th>Problem</th>
            <th>Text</th>
          </tr>
        </thead>
        <tbody>
          {issues.map((issue) => (
            <tr class={`issue ${issue.severity}`}>
              <td>
                <Badge value={issue.severity} />
              </td>
              <td>
                <IssuePlace issue={issue} />
              </td>
              <td>{issue.message}</td>
              <td class="wrap">
                <code>{issue.text}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
};

const IssuePlace: FC<{ issue: LetterIssue }> = ({ issue }) => {
  const part = issue.part ?? "letter";
  if (issue.line <= 0) return <>{part}</>;

  const editor = EDITOR_OF_PART[part];
  const label = `${part} line ${issue.line}`;
  if (!editor) return <>{label}</>;
  return (
    <a href={`#${editor}`} data-line={String(issue.line)} data-editor={editor}>
      {label}
    </a>
  );
};

const LetterFormView: FC<{ id?: number; form: LetterForm; blocks: number }> = (props) => {
  const { form } = props;
  return (
    <form
      method="post"
      action={props.id ? `/admin/letters/${props.id}` : "/admin/letters"}
      class="card stack"
      id="letter-form"
    >
      <label for="field-name">Name</label>
      <input type="text" id="field-name" name="name" value={form.name} required maxlength={200} />
      <label for="field-subject">
        Subject{" "}
        <span class="hint">Tokens such as {"{{ first_name }}"} are filled per recipient.</span>
      </label>
      <input type="text" id="field-subject" name="subject" value={form.subject} required />
      <label for="field-preheader">
        Preheader <span class="hint">Preview text shown after the subject in most inboxes.</span>
      </label>
      <input type="text" id="field-preheader" name="preheader" value={form.preheader} />
      <div class="row">
        <div>
          <label for="field-fromName">Sender name</label>
          <input type="text" id="field-fromName" name="fromName" value={form.fromName} />
        </div>
        <div>
          <label for="field-fromEmail">Sender email</label>
          <input
            type="email"
            id="field-fromEmail"
            name="fromEmail"
            value={form.fromEmail}
            required
          />
        </div>
        <div>
          <label for="field-replyTo">
            Reply-To <span class="hint">optional</span>
          </label>
          <input type="email" id="field-replyTo" name="replyTo" value={form.replyTo} />
        </div>
      </div>
      <label for="field-layout">
        Layout HTML <span class="hint">The whole HTML document: write or paste it here.</span>
      </label>
      <textarea id="field-layout" name="layout" class="code" required spellcheck={false} wrap="off">
        {textareaValue(form.layout)}
      </textarea>
      <p class="hint">
        Or load an HTML file into the editor:{" "}
        <input type="file" accept=".html,.htm,text/html" data-load-into="field-layout" />
      </p>
      {props.blocks > 0 && (
        <p class="hint">
          This letter has {props.blocks} block(s); they are kept as they are. Edit blocks through
          the JSON API.
        </p>
      )}
      <label for="field-textBody">
        Text part <span class="hint">optional; empty generates it from the HTML</span>
      </label>
      <textarea id="field-textBody" name="textBody" rows={5} spellcheck={false}>
        {textareaValue(form.textBody)}
      </textarea>
      <fieldset>
        <legend>Analytics</legend>
        <div class="checks">
          <label>
            <input type="checkbox" name="trackClicks" value="on" checked={form.trackClicks} />
            Click tracking
          </label>
          <label>
            <input type="checkbox" name="trackOpens" value="on" checked={form.trackOpens} />
            Open tracking
          </label>
        </div>
        <p class="hint">UTM values are added to every tracked link; leave all empty for none.</p>
        <div class="row">
          {UTM_FIELDS.map((field) => (
            <div>
              <label for={`field-utm-${field}`}>utm_{field}</label>
              <input
                type="text"
                id={`field-utm-${field}`}
                name={`utm_${field}`}
                value={form.utm[field]}
                maxlength={200}
              />
            </div>
          ))}
        </div>
      </fieldset>
      <div class="actions">
        <button type="submit">Save and check</button>
      </div>
    </form>
  );
};

/** HTML drops one newline right after `<textarea>`; doubling it keeps a leading newline. */
function textareaValue(value: string): string {
  return /^\r?\n/.test(value) ? `\n${value}` : value;
}

function emptyForm(senderEmail: string): LetterForm {
  return {
    name: "",
    subject: "",
    preheader: "",
    fromName: "",
    fromEmail: senderEmail,
    replyTo: "",
    layout: "",
    textBody: "",
    trackClicks: true,
    trackOpens: true,
    utm: { source: "", medium: "", campaign: "", content: "", term: "" },
  };
}

function formFromRow(row: LetterRow): LetterForm {
  const utm = row.settings.utm ?? {};
  return {
    name: row.name,
    subject: row.subject,
    preheader: row.preheader,
    fromName: row.fromName,
    fromEmail: row.fromEmail,
    replyTo: row.replyTo ?? "",
    layout: row.layout,
    textBody: row.textBody ?? "",
    trackClicks: row.settings.trackClicks,
    trackOpens: row.settings.trackOpens,
    utm: Object.fromEntries(
      UTM_FIELDS.map((field) => [field, utm[field] ?? ""]),
    ) as LetterForm["utm"],
  };
}

function formFromFields(fields: FormFields): LetterForm {
  return {
    name: fields.name ?? "",
    subject: fields.subject ?? "",
    preheader: fields.preheader ?? "",
    fromName: fields.fromName ?? "",
    fromEmail: (fields.fromEmail ?? "").trim(),
    replyTo: (fields.replyTo ?? "").trim(),
    layout: fields.layout ?? "",
    textBody: fields.textBody ?? "",
    trackClicks: fields.trackClicks === "on",
    trackOpens: fields.trackOpens === "on",
    utm: Object.fromEntries(
      UTM_FIELDS.map((field) => [field, (fields[`utm_${field}`] ?? "").trim()]),
    ) as LetterForm["utm"],
  };
}

/** Builds the API body of a letter; `blocks` are the stored blocks, which the form does not edit. */
function letterBody(form: LetterForm, blocks: LetterRow["blocks"]) {
  const utmEntries = UTM_FIELDS.filter((field) => form.utm[field] !== "").map((field) => [
    field,
    form.utm[field],
  ]);
  return {
    name: form.name,
    subject: form.subject,
    preheader: form.preheader,
    fromName: form.fromName,
    fromEmail: form.fromEmail,
    replyTo: form.replyTo || null,
    layout: form.layout,
    blocks,
    textBody: form.textBody.trim() === "" ? null : form.textBody,
    settings: {
      trackClicks: form.trackClicks,
      trackOpens: form.trackOpens,
      utm: utmEntries.length > 0 ? Object.fromEntries(utmEntries) : null,
    },
  };
}
