/**
 * Login, logout and the two guards of every panel route: CSRF protection for
 * form posts and the session check.
 *
 * CSRF: the session cookie is SameSite=Strict, so a browser never sends it
 * with a request started by another site; on top of that `hono/csrf` rejects
 * a form post unless its Sec-Fetch-Site is same-origin or its Origin header is
 * the panel's own origin. The login form is checked too, so another site
 * cannot log a browser into the panel.
 */
import type { Context, MiddlewareHandler } from "hono";
import { Hono } from "hono";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "../http/app";
import { log } from "../log";
import { readForm } from "./forms";
import { formatTime, Notice, renderPage } from "./layout";
import { FAILED_LOGIN_WINDOW_MS, loginLimiter, MAX_FAILED_LOGINS } from "./login-limit";
import { endSession, hasSession, startSession, tokenMatches } from "./session";

const originCheck = csrf();

/** Rejects a cross-site form post with a page that explains the rejection. */
export const csrfProtection: MiddlewareHandler<AppEnv> = async (c, next) => {
  try {
    await originCheck(c, next);
  } catch (error) {
    if (!(error instanceof HTTPException) || error.status !== 403) throw error;

    log.warn("admin form rejected by the origin check", {
      path: c.req.path,
      origin: c.req.header("origin") ?? null,
      secFetchSite: c.req.header("sec-fetch-site") ?? null,
    });
    return renderPage(c, {
      title: "Form rejected",
      section: "none",
      loggedIn: false,
      status: 403,
      body: (
        <Notice kind="error" title="The form was rejected">
          <p>
            It was not sent from this panel's own pages (Origin{" "}
            <code>{c.req.header("origin") ?? "missing"}</code>), so it may have come from another
            site. Open the panel at <a href="/admin">/admin</a> and submit the form again from
            there.
          </p>
        </Notice>
      ),
    });
  }
};

/** Redirects to the login page unless the request has a valid session. */
export const requireSession: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = c.env.ADMIN_TOKEN;
  if (!token) return missingTokenPage(c);
  if (await hasSession(c, token)) return next();

  if (c.req.method === "GET") {
    const url = new URL(c.req.url);
    return c.redirect(`/admin/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
  }
  return renderPage(c, {
    title: "Logged out",
    section: "none",
    loggedIn: false,
    status: 401,
    body: (
      <Notice kind="error" title="Your session has ended">
        <p>
          Nothing was changed. <a href="/admin/login">Log in</a> again, then repeat the action.
        </p>
      </Notice>
    ),
  });
};

/** GET and POST /login, POST /logout. */
export const authRoutes = new Hono<AppEnv>();

authRoutes.get("/login", async (c) => {
  const token = c.env.ADMIN_TOKEN;
  if (!token) return missingTokenPage(c);
  if (await hasSession(c, token)) return c.redirect(safeNext(c.req.query("next")), 303);

  const loggedOut = c.req.query("logged-out") !== undefined;
  return loginPage(c, { next: c.req.query("next") ?? "", loggedOut });
});

// Failed logins are limited per client address, in memory of one isolate only
// (see the NOTE in ./login-limit.ts).
authRoutes.post("/login", async (c) => {
  const token = c.env.ADMIN_TOKEN;
  if (!token) return missingTokenPage(c);

  const client = c.req.header("cf-connecting-ip") ?? "local";
  const now = Date.now();
  const retryAt = loginLimiter.retryAt(client, now);
  if (retryAt !== null) {
    log.warn("admin login rate-limited", { ip: client });
    return tooManyFailuresPage(c, retryAt, now);
  }

  const form = await readForm(c);
  if (!(await tokenMatches(form.token ?? "", token))) {
    loginLimiter.recordFailure(client, now);
    log.warn("admin login rejected", { ip: client });
    return loginPage(c, { next: form.next ?? "", failed: true });
  }

  loginLimiter.reset(client);
  await startSession(c, token);
  log.info("admin login", {});
  return c.redirect(safeNext(form.next), 303);
});

authRoutes.post("/logout", (c) => {
  endSession(c);
  return c.redirect("/admin/login?logged-out", 303);
});

interface LoginState {
  next: string;
  failed?: boolean;
  loggedOut?: boolean;
}

function loginPage(c: Context<AppEnv>, state: LoginState) {
  return renderPage(c, {
    title: "Log in",
    section: "none",
    loggedIn: false,
    status: state.failed ? 401 : 200,
    body: (
      <div class="login card">
        <h1>Log in</h1>
        {state.failed && (
          <Notice kind="error" title="Wrong token">
            <p>
              The token does not match ADMIN_TOKEN. Paste the value that was set with{" "}
              <code>wrangler secret put ADMIN_TOKEN</code> (or in .dev.vars locally).
            </p>
          </Notice>
        )}
        {state.loggedOut && (
          <Notice kind="success" title="Logged out">
            <p>Log in again to continue.</p>
          </Notice>
        )}
        <form method="post" action="/admin/login" class="stack">
          <input type="hidden" name="next" value={state.next} />
          <label for="token">Admin token</label>
          <input
            type="password"
            id="token"
            name="token"
            required
            autocomplete="current-password"
            autofocus
          />
          <div class="actions">
            <button type="submit">Log in</button>
          </div>
        </form>
      </div>
    ),
  });
}

function tooManyFailuresPage(c: Context<AppEnv>, retryAt: number, now: number) {
  const waitSeconds = Math.max(1, Math.ceil((retryAt - now) / 1000));
  c.header("Retry-After", String(waitSeconds));
  return renderPage(c, {
    title: "Too many failed logins",
    section: "none",
    loggedIn: false,
    status: 429,
    body: (
      <Notice kind="error" title="Too many failed logins">
        <p>
          {`${MAX_FAILED_LOGINS} logins from this address failed within ${FAILED_LOGIN_WINDOW_MS / 60_000} minutes, so logins are rejected for now. `}
          Try again after <span id="retry-at">{formatTime(ceilToMinute(retryAt))}</span>
          {` (in ${Math.ceil(waitSeconds / 60)} minutes).`}
        </p>
      </Notice>
    ),
  });
}

/** Rounds up, so the time shown at minute precision is never before the limit ends. */
function ceilToMinute(ms: number): number {
  return Math.ceil(ms / 60_000) * 60_000;
}

function missingTokenPage(c: Context<AppEnv>) {
  log.error("configuration invalid", { setting: "ADMIN_TOKEN" });
  return renderPage(c, {
    title: "Not configured",
    section: "none",
    loggedIn: false,
    status: 500,
    body: (
      <Notice kind="error" title="The admin panel is not configured">
        <p>
          Secret ADMIN_TOKEN is missing. Set it with <code>wrangler secret put ADMIN_TOKEN</code>,
          or in .dev.vars for local development, then reload this page.
        </p>
      </Notice>
    ),
  });
}

/** Returns `next` when it is a path inside the panel, else /admin; prevents open redirects. */
function safeNext(next: string | undefined): string {
  if (next && /^\/admin(\/|$|\?)/.test(next) && !next.startsWith("//")) return next;
  return "/admin";
}
