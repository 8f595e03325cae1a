/**
 * Tracking statistics in the JSON API, mounted under /api (bearer token):
 *
 *   GET /api/mailings/:id/stats  `{ stats: MailingStats }`
 */
import { Hono } from "hono";
import type { AppEnv } from "../http/app";
import { AppError } from "../http/errors";
import { getMailingStats } from "./stats";

export const trackingApiRoutes = new Hono<AppEnv>();

trackingApiRoutes.get("/mailings/:id{[0-9]+}/stats", async (c) => {
  const mailingId = Number(c.req.param("id"));
  if (!Number.isSafeInteger(mailingId) || mailingId < 1) {
    throw new AppError(
      400,
      "invalid_id",
      `Mailing id ${c.req.param("id")} is invalid; expected a positive whole number.`,
    );
  }

  const stats = await getMailingStats(c.env.DB, mailingId);
  if (!stats) {
    throw new AppError(404, "mailing_not_found", `Mailing ${mailingId} does not exist.`);
  }
  return c.json({ stats });
});
