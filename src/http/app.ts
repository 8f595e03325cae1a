/**
 * The Hono app behind `fetch`: public tracking routes at the root, the JSON
 * API under /api (bearer token), and the admin panel.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { ConfigError, type Env } from "../env";
import { log } from "../log";
import { AppError, errorBody } from "./errors";
import { apiRoutes } from "./api";
import { notFound as publicNotFound, trackingRoutes } from "../tracking/routes";
import { bounceHookRoutes } from "../bounces/webhook";
import { adminRoutes } from "../admin/routes";

export type AppEnv = { Bindings: Env };

export const app = new Hono<AppEnv>();

app.get("/healthz", (c) => c.text("ok"));
app.route("/api", apiRoutes);
app.route("/hooks", bounceHookRoutes);
app.route("/admin", adminRoutes);
app.route("/", trackingRoutes);

app.notFound((c) => {
  if (c.req.path.startsWith("/api/")) {
    return c.json(errorBody(new AppError(404, "not_found", `No route for ${c.req.path}.`)), 404);
  }
  return publicNotFound();
});

app.onError((error, c) => {
  if (error instanceof AppError) {
    return c.json(errorBody(error), error.status);
  }
  // Hono middleware such as bearerAuth throws HTTPException with a ready
  // response (401 with WWW-Authenticate); it is not a server error. API
  // clients get it in the same JSON shape as every other error.
  if (error instanceof HTTPException) {
    if (!c.req.path.startsWith("/api/")) return error.getResponse();
    return apiHttpError(error);
  }
  if (error instanceof ConfigError) {
    log.error("configuration invalid", { setting: error.setting, error });
    const wrapped = new AppError(500, "config_invalid", error.message);
    return c.json(errorBody(wrapped), 500);
  }

  log.error("request failed", { path: c.req.path, method: c.req.method, error });
  const wrapped = new AppError(500, "internal", "The request failed; see the Worker logs.");
  return c.json(errorBody(wrapped), 500);
});

/** Message and code for the HTTP errors Hono's own middleware throws. */
function apiHttpError(error: HTTPException): Response {
  const original = error.getResponse();
  let body: AppError;
  if (error.status === 401) {
    body = new AppError(
      401,
      "unauthorized",
      "The bearer token is missing or wrong. Send the header Authorization: Bearer <ADMIN_TOKEN>.",
    );
  } else if (error.status === 400 && /malformed json/i.test(error.message)) {
    body = new AppError(
      400,
      "invalid_json",
      "The request body is not valid JSON. Send one JSON object with Content-Type: application/json.",
    );
  } else {
    body = new AppError(error.status as AppError["status"], "http_error", error.message);
  }

  const headers = new Headers(original.headers);
  headers.set("content-type", "application/json");
  return new Response(JSON.stringify(errorBody(body)), { status: error.status, headers });
}
