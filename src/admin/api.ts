/**
 * The panel's access to the JSON API. Requests go to the same `apiRoutes`
 * handlers inside this Worker invocation, with no HTTP round trip, so the
 * panel and the API share every check and message. The bearer token is
 * added on the server and never reaches the browser.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "../http/app";
import { apiRoutes } from "../http/api";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError, errorBody, type ErrorDetail } from "../http/errors";

/** An API error as the panel shows it: the message and where the problem is. */
export interface ApiProblem {
  status: ContentfulStatusCode;
  code: string;
  message: string;
  details: ErrorDetail[];
}

/** Outcome of one API call: the parsed JSON body, or the error the API returned. */
export type ApiResult<T> = { ok: true; status: number; data: T } | { ok: false; error: ApiProblem };

/** Request body of an API call: JSON, or raw bytes with their media type. */
export type ApiBody = { json: unknown } | { raw: BodyInit; contentType: string };

// The API mounted at /api as in app.ts, with the JSON error mapping of app.ts.
// Errors other than AppError and HTTPException propagate to the panel's
// error handler, which logs them.
const api = new Hono<AppEnv>();
api.route("/api", apiRoutes);
api.onError((error, c) => {
  if (error instanceof AppError) return c.json(errorBody(error), error.status);
  if (error instanceof HTTPException) return error.getResponse();
  throw error;
});

/** Calls the JSON API at `path` (starting with /api/) as the operator. */
export async function callApi<T>(
  c: Context<AppEnv>,
  method: string,
  path: string,
  body?: ApiBody,
): Promise<ApiResult<T>> {
  const headers = new Headers({ authorization: `Bearer ${c.env.ADMIN_TOKEN ?? ""}` });
  let payload: BodyInit | undefined;
  if (body && "json" in body) {
    headers.set("content-type", "application/json");
    payload = JSON.stringify(body.json);
  } else if (body) {
    headers.set("content-type", body.contentType);
    payload = body.raw;
  }

  const request = new Request(new URL(path, c.req.url), { method, headers, body: payload });
  const response = await api.fetch(request, c.env, executionContext(c));
  return readResult<T>(response);
}

/** Calls the API and throws the problem as an AppError, for reads that a page cannot do without. */
export async function requireApi<T>(
  c: Context<AppEnv>,
  method: string,
  path: string,
  body?: ApiBody,
): Promise<T> {
  const result = await callApi<T>(c, method, path, body);
  if (result.ok) return result.data;

  const { status, code, message, details } = result.error;
  throw new AppError(status, code, message, details);
}

async function readResult<T>(response: Response): Promise<ApiResult<T>> {
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }

  if (response.ok) return { ok: true, status: response.status, data: parsed as T };
  return { ok: false, error: toProblem(response.status, parsed, text) };
}

function toProblem(responseStatus: number, parsed: unknown, text: string): ApiProblem {
  const status = responseStatus as ContentfulStatusCode;
  const first = (parsed as { errors?: Array<Partial<ApiProblem>> } | null)?.errors?.[0];
  if (first?.message) {
    return {
      status,
      code: first.code ?? "error",
      message: first.message,
      details: first.details ?? [],
    };
  }

  // A response from Hono middleware, such as the bearer check's 401.
  const message =
    status === 401
      ? "The API rejected the panel's token. Check that ADMIN_TOKEN is set, then log in again."
      : `The API returned status ${status}: ${text.slice(0, 200) || "(empty body)"}`;
  return { status, code: "error", message, details: [] };
}

/** Returns the invocation's ExecutionContext, or undefined without one (`app.request` in tests). */
function executionContext(c: Context<AppEnv>): ExecutionContext | undefined {
  try {
    return c.executionCtx as ExecutionContext;
  } catch {
    return undefined;
  }
}
