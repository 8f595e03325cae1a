import { Hono } from "hono";
import type { AppEnv } from "../http/app";

export const trackingRoutes = new Hono<AppEnv>();
