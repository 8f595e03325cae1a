/**
 * The JSON API under /api. Every route needs `Authorization: Bearer
 * <ADMIN_TOKEN>`; each concept mounts its own routes here.
 */
import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import type { AppEnv } from "./app";
import { AppError } from "./errors";
import { letterRoutes } from "../letters/routes";
import { retryRoutes } from "../mailings/retry";
import { mailingRoutes } from "../mailings/routes";
import { subscriberRoutes } from "../subscribers/routes";
import { trackingApiRoutes } from "../tracking/api";

export const apiRoutes = new Hono<AppEnv>();

apiRoutes.use("*", async (c, next) => {
  const token = c.env.ADMIN_TOKEN;
  if (!token) {
    throw new AppError(
      500,
      "config_invalid",
      "Secret ADMIN_TOKEN is missing. Set it with `wrangler secret put ADMIN_TOKEN`, or in .dev.vars for local development.",
    );
  }
  const auth = bearerAuth({ token });
  return auth(c as never, next);
});

apiRoutes.route("/", subscriberRoutes);
apiRoutes.route("/", letterRoutes);
apiRoutes.route("/", mailingRoutes);
apiRoutes.route("/", retryRoutes);
apiRoutes.route("/", trackingApiRoutes);
