/**
 * The small HTML pages of the public tracking routes. Every value from the
 * database is escaped; the pages load nothing from other hosts.
 */
import { maskEmail, type UnsubscribeContext } from "./unsubscribe";

/** Security headers of every tracking page: no framing (the unsubscribe button could be clickjacked), no indexing. */
export const PAGE_HEADERS: Record<string, string> = {
  "Content-Type": "text/html; charset=utf-8",
  "Cache-Control": "no-store, private",
  "Content-Security-Policy":
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "X-Frame-Options": "DENY",
  "X-Robots-Tag": "noindex",
  "Referrer-Policy": "no-referrer",
};

/** Form field and value that RFC 8058 one-click unsubscribe POSTs; the page's button sends the same. */
export const ONE_CLICK_FIELD = "List-Unsubscribe";
export const ONE_CLICK_VALUE = "One-Click";

/** Renders the page for an id that is invalid, forged or points at nothing. */
export function notFoundPage(): string {
  return layout(
    "Link not found",
    "<h1>Link not found</h1><p>This link is invalid or no longer exists.</p>",
  );
}

/** Renders the page of a GET on /u/: the masked address, the mailing and list, and a button that POSTs the unsubscribe. */
export function unsubscribePage(context: UnsubscribeContext): string {
  if (context.email === null) {
    return layout(
      "Unsubscribe",
      "<h1>Unsubscribe</h1><p>This address is no longer on any list. You will not receive further mail.</p>",
    );
  }
  if (context.status !== "active") {
    return layout(
      "Unsubscribe",
      `<h1>Unsubscribe</h1><p>${escapeHtml(maskEmail(context.email))} receives no further mail from this sender.</p>`,
    );
  }

  return layout(
    "Unsubscribe",
    `<h1>Unsubscribe</h1>
${describeSource(context)}
<p>Stop all mail from this sender to <strong>${escapeHtml(maskEmail(context.email))}</strong>?</p>
<form method="post">
<input type="hidden" name="${ONE_CLICK_FIELD}" value="${ONE_CLICK_VALUE}">
<button type="submit">Unsubscribe</button>
</form>`,
  );
}

/** Renders the confirmation after a POST that unsubscribed the address, now or earlier. */
export function unsubscribedPage(context: UnsubscribeContext): string {
  const who = context.email === null ? "This address" : escapeHtml(maskEmail(context.email));
  return layout(
    "Unsubscribed",
    `<h1>Unsubscribed</h1><p>${who} receives no further mail from this sender.</p>`,
  );
}

/** Renders the response to a POST without `List-Unsubscribe=One-Click`: nothing changed, and the button is offered again. */
export function confirmationMissingPage(): string {
  return layout(
    "Unsubscribe not confirmed",
    `<h1>Unsubscribe not confirmed</h1>
<p>The request did not contain the form field ${ONE_CLICK_FIELD}=${ONE_CLICK_VALUE}, so nothing was changed.</p>
<form method="post">
<input type="hidden" name="${ONE_CLICK_FIELD}" value="${ONE_CLICK_VALUE}">
<button type="submit">Unsubscribe</button>
</form>`,
  );
}

function describeSource(context: UnsubscribeContext): string {
  const mailing = context.mailingName
    ? `<strong>${escapeHtml(context.mailingName)}</strong>`
    : null;
  const list = context.listName ? `<strong>${escapeHtml(context.listName)}</strong>` : null;

  if (mailing && list)
    return `<p>You received the mailing ${mailing} as a member of the list ${list}.</p>`;
  if (mailing) return `<p>You received the mailing ${mailing}.</p>`;
  return "";
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5}button{font-size:1rem;padding:.5rem 1.25rem}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}
