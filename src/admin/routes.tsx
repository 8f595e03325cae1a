/**
 * The admin panel, mounted at /admin by src/http/app.ts. Pages are rendered
 * on the server with hono/jsx; /admin/assets serves the one stylesheet and
 * script. Every route but the assets and the login page needs a session,
 * and every form post passes the CSRF origin check.
 *
 * The panel's middleware is registered under /admin only, so the public
 * tracking routes (/c/, /o/, /u/, /v/) never run it.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { ConfigError } from "../env";
import type { AppEnv } from "../http/app";
import { AppError } from "../http/errors";
import { log } from "../log";
import { PANEL_CSS, PANEL_JS } from "./assets";
import { authRoutes, csrfProtection, requireSession } from "./auth";
import { ErrorBox, Notice, renderPage } from "./layout";
import { letterPages } from "./letters";
import { listPages } from "./lists";
import { mailingPages } from "./mailings";
import { previewPages } from "./preview";
import { statsPages } from "./stats";

/** Seconds a browser may cache the stylesheet and script. */
const ASSET_MAX_AGE = 300;

export const adminRoutes = new Hono<AppEnv>();

adminRoutes.get("/assets/panel.css", () => asset(PANEL_CSS, "text/css; charset=utf-8"));
adminRoutes.get("/assets/panel.js", () => asset(PANEL_JS, "text/javascript; charset=utf-8"));

adminRoutes.use("*", csrfProtection);
adminRoutes.route("/", authRoutes);

adminRoutes.use("*", requireSession);
adminRoutes.route("/", mailingPages);
adminRoutes.route("/", statsPages);
adminRoutes.route("/", letterPages);
adminRoutes.route("/", previewPages);
adminRoutes.route("/", listPages);

adminRoutes.all("*", (c) =>
  renderPage(c, {
    title: "Not found",
    section: "none",
    status: 404,
    body: (
      <Notice kind="error" title="Page not found">
        <p>
          There is no panel page at <code>{c.req.path}</code>. Go to the{" "}
          <a href="/admin/mailings">mailings</a>, <a href="/admin/letters">letters</a> or{" "}
          <a href="/admin/lists">lists</a>.
        </p>
      </Notice>
    ),
  }),
);

// Errors become a page with the message and no stack trace. AppError
// messages are written for the operator; anything else is logged and
// replaced by a generic message.
adminRoutes.onError((error, c) => {
  if (error instanceof HTTPException) return error.getResponse();

  let problem;
  if (error instanceof AppError) {
    problem = {
      status: error.status,
      code: error.code,
      message: error.message,
      details: error.details,
    };
  } else if (error instanceof ConfigError) {
    log.error("configuration invalid", { setting: error.setting, error });
    problem = { status: 500 as const, code: "config_invalid", message: error.message, details: [] };
  } else {
    log.error("admin page failed", { path: c.req.path, method: c.req.method, error });
    problem = {
      status: 500 as const,
      code: "internal",
      message:
        'The page could not be built because of an unexpected error. It is in the Worker logs under "admin page failed"; reload to try again.',
      details: [],
    };
  }

  return renderPage(c, {
    title: "Error",
    section: "none",
    status: problem.status,
    body: (
      <>
        <ErrorBox problem={problem} title="Something went wrong" />
        <p>
          <a href="/admin">Back to the panel</a>
        </p>
      </>
    ),
  });
});

function asset(body: string, contentType: string): Response {
  return new Response(body, {
    headers: {
      "content-type": contentType,
      "cache-control": `private, max-age=${ASSET_MAX_AGE}`,
      "x-content-type-options": "nosniff",
    },
  });
}
