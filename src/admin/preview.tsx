/**
 * A letter's preview for one subscriber, rendered by the letter engine
 * exactly as the sender renders it, except that links lead straight to their
 * destinations instead of through /c/ click tracking. The HTML is shown in a
 * sandboxed iframe (`sandbox` without allow-scripts or allow-same-origin),
 * so the letter's scripts never run and it cannot reach the panel's origin.
 */
import { Hono } from "hono";
import type { FC } from "hono/jsx";
import type { AppEnv } from "../http/app";
import { letterSource, type LetterRow } from "../letters/source";
import { loadRecipient } from "../mailings/recipients";
import {
  compileLetter,
  renderContent,
  renderWebView,
  resolveLinkUrl,
  type CompiledLetter,
  type LetterIssue,
  type Recipient,
  type RecipientUrls,
} from "../render";
import { requireApi } from "./api";
import { Badge, Notice, renderPage } from "./layout";

/** Subscribers offered in the chooser's suggestions. */
const SUGGESTED_SUBSCRIBERS = 100;

interface SubscriberOption {
  id: number;
  email: string;
  first_name: string;
  last_name: string;
}

/** The rendered letter for one recipient. */
interface Preview {
  subject: string;
  html: string;
  text: string;
  links: Array<{ idx: number; url: string }>;
}

export const previewPages = new Hono<AppEnv>();

previewPages.get("/letters/:id{[0-9]+}/preview", async (c) => {
  const id = Number(c.req.param("id"));
  const { letter, issues } = await requireApi<{ letter: LetterRow; issues: LetterIssue[] }>(
    c,
    "GET",
    `/api/letters/${id}`,
  );
  const query = (c.req.query("subscriber") ?? "").trim();
  const [options, subscriberId] = await Promise.all([
    suggestedSubscribers(c.env.DB),
    findSubscriberId(c.env.DB, query),
  ]);
  const recipient = subscriberId === null ? null : await loadRecipient(c.env.DB, subscriberId);

  const errors = issues.filter((issue) => issue.severity === "error");
  const preview = recipient && errors.length === 0 ? renderPreview(letter, recipient) : null;

  return renderPage(c, {
    title: `Preview: ${letter.name}`,
    section: "letters",
    body: (
      <>
        <p class="small">
          <a href="/admin/letters">Letters</a> / <a href={`/admin/letters/${id}`}>{letter.name}</a>{" "}
          /
        </p>
        <h1>Preview</h1>
        <form
          method="get"
          action={`/admin/letters/${id}/preview`}
          class="card stack"
          id="preview-form"
        >
          <label for="subscriber">
            Subscriber <span class="hint">email or id; empty shows the first subscriber</span>
          </label>
          <input
            type="search"
            id="subscriber"
            name="subscriber"
            value={query}
            list="subscriber-options"
            autocomplete="off"
          />
          <datalist id="subscriber-options">
            {options.map((option) => (
              <option value={option.email}>
                {`${option.first_name} ${option.last_name}`.trim()}
              </option>
            ))}
          </datalist>
          <div class="actions">
            <button type="submit">Show preview</button>
          </div>
        </form>
        {errors.length > 0 && (
          <Notice kind="error" title={`The letter has ${errors.length} error(s)`}>
            <p>
              It cannot be rendered until they are fixed. The first: <Badge value="error" />{" "}
              {errors[0].part ?? "letter"} line {errors[0].line}: {errors[0].message}.{" "}
              <a href={`/admin/letters/${id}`}>Edit the letter</a>.
            </p>
          </Notice>
        )}
        {!recipient && (
          <Notice kind="error" title="No subscriber to preview for">
            <p>
              {query
                ? `No subscriber has the email or id "${query}". Pick one from the suggestions.`
                : "There are no subscribers yet. Import a list first."}
            </p>
          </Notice>
        )}
        {recipient && preview && <PreviewView recipient={recipient} preview={preview} />}
      </>
    ),
  });
});

const PreviewView: FC<{ recipient: Recipient; preview: Preview }> = ({ recipient, preview }) => (
  <section id="preview">
    <table>
      <tbody>
        <tr>
          <th>To</th>
          <td id="preview-to">
            <bdi>{`${recipient.firstName} ${recipient.lastName}`.trim()}</bdi> &lt;
            {recipient.email}&gt; <span class="muted small">(subscriber {recipient.id})</span>
          </td>
        </tr>
        <tr>
          <th>Subject</th>
          <td id="preview-subject">
            <bdi>{preview.subject}</bdi>
          </td>
        </tr>
      </tbody>
    </table>
    <p class="muted small">
      Links below lead straight to their destinations; in the sent message they go through click
      tracking first. Images from other hosts are not loaded here.
    </p>
    <iframe
      class="preview"
      title="Letter preview"
      sandbox=""
      referrerpolicy="no-referrer"
      srcdoc={preview.html}
    ></iframe>
    <h2>Text part</h2>
    <pre class="text" id="preview-text">
      {preview.text}
    </pre>
    {preview.links.length > 0 && (
      <>
        <h2>Tracked links ({preview.links.length})</h2>
        <table>
          <thead>
            <tr>
              <th class="num">#</th>
              <th>Destination for this subscriber</th>
            </tr>
          </thead>
          <tbody>
            {preview.links.map((link) => (
              <tr>
                <td class="num">{link.idx}</td>
                <td class="wrap">{link.url}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </>
    )}
  </section>
);

/** Compiles the letter and renders it for `recipient` with preview URLs. */
function renderPreview(letter: LetterRow, recipient: Recipient): Preview {
  const compiled = compileLetter(letterSource(letter), { mailingName: letter.name });
  const destinations = new Map(
    compiled.links.map((link) => [link.idx, resolveLinkUrl(link, recipient)]),
  );
  const urls = previewUrls(compiled, destinations);
  const now = new Date();

  const { subject, text } = renderContent(compiled, recipient, urls, now);
  return {
    subject,
    html: renderWebView(compiled, recipient, urls, now),
    text,
    links: [...destinations].map(([idx, url]) => ({ idx, url })),
  };
}

/**
 * URLs for the preview: each tracked link is its destination, and the
 * unsubscribe and web-view links are fragments, because a preview has no
 * delivery whose signed ids they could carry.
 */
function previewUrls(compiled: CompiledLetter, destinations: Map<number, string>): RecipientUrls {
  return {
    click: (idx) => destinations.get(idx) ?? compiled.links[idx]?.url ?? "#",
    open: "",
    unsubscribe: "#unsubscribe-link",
    web: "#web-view-link",
  };
}

async function suggestedSubscribers(db: D1Database): Promise<SubscriberOption[]> {
  const { results } = await db
    .prepare("SELECT id, email, first_name, last_name FROM subscribers ORDER BY id LIMIT ?")
    .bind(SUGGESTED_SUBSCRIBERS)
    .all<SubscriberOption>();
  return results;
}

/** Finds a subscriber by id or email; an empty query picks the first subscriber. */
async function findSubscriberId(db: D1Database, query: string): Promise<number | null> {
  let row: { id: number } | null;
  if (query === "") {
    row = await db.prepare("SELECT id FROM subscribers ORDER BY id LIMIT 1").first();
  } else if (/^\d{1,15}$/.test(query)) {
    row = await db.prepare("SELECT id FROM subscribers WHERE id = ?").bind(Number(query)).first();
  } else {
    // Emails are stored trimmed, NFC-normalised and lower-cased by the import.
    const email = query.normalize("NFC").toLowerCase();
    row = await db.prepare("SELECT id FROM subscribers WHERE email = ?").bind(email).first();
  }
  return row?.id ?? null;
}
