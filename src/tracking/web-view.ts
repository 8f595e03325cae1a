/**
 * The recipient's letter as a web page (/v/), rendered with the same signed
 * URLs as the message, and marked noindex.
 */
import { ConfigError, type Env } from "../env";
import { loadCompiledLetter } from "../mailings/letter-cache";
import { loadRecipient } from "../mailings/recipients";
import { renderWebView } from "../render";
import { signRecipient, type LinkKeys, type VerifiedId } from "./ids";
import { recipientUrls } from "./urls";

const ROBOTS_META = '<meta name="robots" content="noindex">';

/**
 * Renders the web view for a verified web id, or returns null when the
 * mailing, its letter snapshot, the delivery or the subscriber no longer
 * exists.
 */
export async function renderWebViewPage(
  env: Env,
  keys: LinkKeys,
  verified: VerifiedId,
): Promise<string | null> {
  const { mailingId, subscriberId } = verified;
  const delivery = await env.DB.prepare(
    "SELECT variant FROM deliveries WHERE mailing_id = ? AND subscriber_id = ?",
  )
    .bind(mailingId, subscriberId)
    .first<{ variant: string }>();
  if (!delivery) return null;

  const [letter, recipient] = await Promise.all([
    loadCompiledLetter(env.DB, mailingId, delivery.variant),
    loadRecipient(env.DB, subscriberId),
  ]);
  if (!letter || !recipient) return null;

  const ids = await signRecipient(keys, mailingId, subscriberId);
  const html = renderWebView(letter, recipient, recipientUrls(publicUrl(env), ids));
  return withRobotsMeta(html);
}

function publicUrl(env: Env): string {
  const value = env.PUBLIC_URL?.trim().replace(/\/+$/, "") ?? "";
  if (!/^https?:\/\/[^/]+/.test(value)) {
    throw new ConfigError(
      "PUBLIC_URL",
      `PUBLIC_URL "${value}" is missing or not an http(s) URL. Set it under [vars] in wrangler.toml, or in .dev.vars for local development.`,
    );
  }
  return value;
}

/** Adds `<meta name="robots" content="noindex">` unless the page has a robots meta already. */
export function withRobotsMeta(html: string): string {
  if (/<meta\s[^>]*name\s*=\s*["']?robots/i.test(html)) return html;

  const head = /<head(\s[^>]*)?>/i.exec(html);
  if (head) {
    const end = head.index + head[0].length;
    return `${html.slice(0, end)}${ROBOTS_META}${html.slice(end)}`;
  }
  return `${ROBOTS_META}${html}`;
}
