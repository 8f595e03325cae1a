import { Hono } from "hono";
import type { AppEnv } from "../http/app";

export const subscriberRoutes = new Hono<AppEnv>();
