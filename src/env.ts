/**
 * Bindings and settings of the Worker, and the one place that checks them.
 * Every handler calls `readConfig` first, so a missing secret fails with a
 * message that names it instead of a TypeError deep inside a send.
 */
import type { SendMessage } from "./sender/message";
import type { TrackingEvent } from "./tracking/events";

export interface Env {
  DB: D1Database;
  SEND_QUEUE: Queue<SendMessage>;
  EVENTS_QUEUE: Queue<TrackingEvent>;
  ANALYTICS?: AnalyticsEngineDataset;

  PUBLIC_URL?: string;
  SMTP_HOST?: string;
  SMTP_PORT?: string;
  SMTP_SECURITY?: string;
  SMTP_USER?: string;
  SMTP_PASSWORD?: string;
  SENDER_EMAIL?: string;
  /** Current HMAC key for link ids, as `<key id>:<secret>` or a bare secret (key id 1). */
  LINK_SECRET?: string;
  /** Earlier keys, comma separated `<key id>:<secret>`, still accepted on incoming ids. */
  LINK_SECRET_PREVIOUS?: string;
  RATE_PER_MINUTE?: string;
  TICK_SECONDS?: string;
  BATCH_SIZE?: string;
  MAX_ATTEMPTS?: string;
  /** Bearer token for the JSON API and the admin panel. */
  ADMIN_TOKEN?: string;
  /** Domain of VERP return paths (`bounces+<id>-<tag>@domain`); empty sends from SENDER_EMAIL. */
  BOUNCE_DOMAIN?: string;
  /** HMAC-SHA-256 key of the bounce webhook's `X-Trickle-Signature` header. */
  WEBHOOK_SECRET?: string;
  /** Maximum wait for one SMTP reply, in seconds (default 15). */
  SMTP_TIMEOUT_SECONDS?: string;
}

export type SmtpSecurity = "tls" | "starttls" | "off";

export interface SmtpConfig {
  host: string;
  port: number;
  security: SmtpSecurity;
  /** Null when the relay takes no authentication (local development only). */
  credentials: { username: string; password: string } | null;
  /** Maximum wait for one SMTP reply or write, in milliseconds. */
  timeoutMs: number;
}

export interface Config {
  publicUrl: string;
  smtp: SmtpConfig;
  senderEmail: string;
  linkSecret: string;
  linkSecretPrevious: string;
  ratePerMinute: number;
  tickSeconds: number;
  batchSize: number;
  maxAttempts: number;
  /** Domain of VERP return paths, or null to use SENDER_EMAIL as the return path. */
  bounceDomain: string | null;
}

/** A binding, variable or secret that is missing or invalid. */
export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(message);
    this.name = "ConfigError";
  }
}

const SECRET_HINT = (name: string) =>
  `Set it with \`wrangler secret put ${name}\`, or in .dev.vars for local development.`;
const VAR_HINT = (name: string) =>
  `Set it under [vars] in wrangler.toml, or in .dev.vars for local development.`;

/** Reads and checks every setting; throws ConfigError naming the first bad one. */
export function readConfig(env: Env): Config {
  requireBinding(env.DB, "DB", "[[d1_databases]]");
  requireBinding(env.SEND_QUEUE, "SEND_QUEUE", "[[queues.producers]]");
  requireBinding(env.EVENTS_QUEUE, "EVENTS_QUEUE", "[[queues.producers]]");

  const publicUrl = requireVar(env.PUBLIC_URL, "PUBLIC_URL").replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]+/.test(publicUrl)) {
    throw new ConfigError(
      "PUBLIC_URL",
      `PUBLIC_URL "${publicUrl}" is not an http(s) URL. ${VAR_HINT("PUBLIC_URL")}`,
    );
  }

  return {
    publicUrl,
    smtp: readSmtpConfig(env),
    senderEmail: requireVar(env.SENDER_EMAIL, "SENDER_EMAIL"),
    linkSecret: requireSecret(env.LINK_SECRET, "LINK_SECRET"),
    linkSecretPrevious: env.LINK_SECRET_PREVIOUS ?? "",
    ratePerMinute: readInteger(env.RATE_PER_MINUTE, "RATE_PER_MINUTE", 600, 1),
    tickSeconds: readInteger(env.TICK_SECONDS, "TICK_SECONDS", 60, 1),
    batchSize: readInteger(env.BATCH_SIZE, "BATCH_SIZE", 50, 1, 500),
    maxAttempts: readInteger(env.MAX_ATTEMPTS, "MAX_ATTEMPTS", 5, 1, 50),
    bounceDomain: readBounceDomain(env.BOUNCE_DOMAIN),
  };
}

function readSmtpConfig(env: Env): SmtpConfig {
  const security = (env.SMTP_SECURITY ?? "starttls").toLowerCase();
  if (security !== "tls" && security !== "starttls" && security !== "off") {
    throw new ConfigError(
      "SMTP_SECURITY",
      `SMTP_SECURITY "${env.SMTP_SECURITY}" is invalid; use tls, starttls or off. ${VAR_HINT("SMTP_SECURITY")}`,
    );
  }

  // A relay on the public internet always needs a login; only a local
  // development server may run without one.
  const username = env.SMTP_USER ?? "";
  const password = env.SMTP_PASSWORD ?? "";
  if (security !== "off") {
    requireSecret(env.SMTP_USER, "SMTP_USER");
    requireSecret(env.SMTP_PASSWORD, "SMTP_PASSWORD");
  }

  return {
    host: requireVar(env.SMTP_HOST, "SMTP_HOST"),
    port: readInteger(env.SMTP_PORT, "SMTP_PORT", 587, 1, 65535),
    security,
    credentials: username ? { username, password } : null,
    timeoutMs: readInteger(env.SMTP_TIMEOUT_SECONDS, "SMTP_TIMEOUT_SECONDS", 15, 1, 300) * 1000,
  };
}

function readBounceDomain(value: string | undefined): string | null {
  const domain = (value ?? "").trim().toLowerCase();
  if (domain === "") return null;

  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(domain)) {
    throw new ConfigError(
      "BOUNCE_DOMAIN",
      `BOUNCE_DOMAIN "${value}" is not a domain name such as bounces.example.com. ${VAR_HINT("BOUNCE_DOMAIN")}`,
    );
  }
  return domain;
}

function requireBinding(value: unknown, name: string, section: string): void {
  if (!value) {
    throw new ConfigError(
      name,
      `Binding ${name} is missing. Declare it under ${section} in wrangler.toml.`,
    );
  }
}

function requireVar(value: string | undefined, name: string): string {
  if (!value || !value.trim()) {
    throw new ConfigError(name, `Variable ${name} is missing. ${VAR_HINT(name)}`);
  }
  return value.trim();
}

function requireSecret(value: string | undefined, name: string): string {
  if (!value || !value.trim()) {
    throw new ConfigError(name, `Secret ${name} is missing. ${SECRET_HINT(name)}`);
  }
  return value;
}

function readInteger(
  value: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined || value === "") return fallback;

  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new ConfigError(
      name,
      `${name} "${value}" is invalid; expected a whole number from ${min} to ${max}. ${VAR_HINT(name)}`,
    );
  }
  return number;
}
