/**
 * D1 schema for Trickle. Timestamps are Unix milliseconds; JSON columns hold
 * objects that are read and written whole.
 */
import { sql } from "drizzle-orm";
import {
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

/** Subscriber states; every state but `active` is suppressed from all mailings. */
export const SUBSCRIBER_STATUSES = ["active", "unsubscribed", "bounced", "complained"] as const;
export type SubscriberStatus = (typeof SUBSCRIBER_STATUSES)[number];

export const subscribers = sqliteTable(
  "subscribers",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    email: text("email").notNull(),
    firstName: text("first_name").notNull().default(""),
    lastName: text("last_name").notNull().default(""),
    /** Every imported column beyond email and names, as a JSON object of strings. */
    attributes: text("attributes", { mode: "json" })
      .$type<Record<string, string>>()
      .notNull()
      .default(sql`'{}'`),
    status: text("status", { enum: SUBSCRIBER_STATUSES }).notNull().default("active"),
    statusReason: text("status_reason"),
    statusChangedAt: integer("status_changed_at"),
    createdAt: integer("created_at").notNull(),
  },
  (table) => [uniqueIndex("subscribers_email").on(table.email)],
);

/**
 * Addresses whose subscriber was deleted while suppressed (unsubscribed,
 * bounced or complained). The row outlives the delete, so an import that
 * contains the address again creates it with this status, never active.
 * Emails are normalised as on import (see `normalizeEmail`).
 */
export const suppressions = sqliteTable("suppressions", {
  email: text("email").primaryKey(),
  status: text("status", { enum: ["unsubscribed", "bounced", "complained"] }).notNull(),
  reason: text("reason"),
  createdAt: integer("created_at").notNull(),
});

export const lists = sqliteTable(
  "lists",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    name: text("name").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (table) => [uniqueIndex("lists_name").on(table.name)],
);

export const listMembers = sqliteTable(
  "list_members",
  {
    listId: integer("list_id")
      .notNull()
      .references(() => lists.id, { onDelete: "cascade" }),
    subscriberId: integer("subscriber_id")
      .notNull()
      .references(() => subscribers.id, { onDelete: "cascade" }),
    addedAt: integer("added_at").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.listId, table.subscriberId] }),
    index("list_members_subscriber").on(table.subscriberId),
  ],
);

/** Link rewriting switches of a letter; each step of the link pipeline has one. */
export interface AnalyticsSettings {
  trackClicks: boolean;
  trackOpens: boolean;
  /** UTM tags appended to every selected link; null or empty switches UTM off. */
  utm: Partial<Record<"source" | "medium" | "campaign" | "content" | "term", string>> | null;
}

/** A piece of letter HTML, shown only to subscribers who match its condition. */
export interface LetterBlock {
  id: string;
  html: string;
  condition?: unknown;
}

export const letters = sqliteTable("letters", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull(),
  subject: text("subject").notNull(),
  preheader: text("preheader").notNull().default(""),
  fromName: text("from_name").notNull().default(""),
  fromEmail: text("from_email").notNull(),
  replyTo: text("reply_to"),
  /** Full HTML document; `{{ content }}` marks where the blocks go. */
  layout: text("layout").notNull(),
  blocks: text("blocks", { mode: "json" })
    .$type<LetterBlock[]>()
    .notNull()
    .default(sql`'[]'`),
  /** Hand-written text part; null means the text part is generated from the HTML. */
  textBody: text("text_body"),
  settings: text("settings", { mode: "json" }).$type<AnalyticsSettings>().notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const MAILING_STATUSES = [
  "draft",
  "wait",
  "sending",
  "paused",
  "done",
  "cancelled",
] as const;
export type MailingStatus = (typeof MAILING_STATUSES)[number];

export const mailings = sqliteTable(
  "mailings",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    name: text("name").notNull(),
    letterId: integer("letter_id")
      .notNull()
      .references(() => letters.id),
    listId: integer("list_id")
      .notNull()
      .references(() => lists.id),
    status: text("status", { enum: MAILING_STATUSES }).notNull().default("draft"),
    /** When the mailing may start sending, Unix ms. */
    startAt: integer("start_at").notNull(),
    /** Messages per minute for this mailing; null leaves only the account rate. */
    ratePerMinute: integer("rate_per_minute"),
    /** Spread the whole mailing over this many minutes; null sends as fast as pacing allows. */
    windowMinutes: integer("window_minutes"),
    /** The letter as it was when the mailing started; later edits of the letter do not change it. */
    letterSnapshot: text("letter_snapshot", { mode: "json" }),
    total: integer("total").notNull().default(0),
    pausedReason: text("paused_reason"),
    createdAt: integer("created_at").notNull(),
    startedAt: integer("started_at"),
    finishedAt: integer("finished_at"),
  },
  (table) => [index("mailings_due").on(table.status, table.startAt)],
);

export const DELIVERY_STATES = [
  "pending",
  "queued",
  "sending",
  "sent",
  "failed",
  "uncertain",
  "skipped",
] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];
export const FINAL_DELIVERY_STATES: readonly DeliveryState[] = [
  "sent",
  "failed",
  "uncertain",
  "skipped",
];

export const deliveries = sqliteTable(
  "deliveries",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    mailingId: integer("mailing_id")
      .notNull()
      .references(() => mailings.id, { onDelete: "cascade" }),
    subscriberId: integer("subscriber_id")
      .notNull()
      .references(() => subscribers.id, { onDelete: "cascade" }),
    variant: text("variant").notNull().default(""),
    state: text("state", { enum: DELIVERY_STATES }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    messageId: text("message_id"),
    /** Claim token of the cron run that queued the row. */
    batchId: text("batch_id"),
    queuedAt: integer("queued_at"),
    sentAt: integer("sent_at"),
    updatedAt: integer("updated_at"),
  },
  (table) => [
    uniqueIndex("deliveries_mailing_subscriber").on(table.mailingId, table.subscriberId),
    index("deliveries_mailing_state").on(table.mailingId, table.state),
    index("deliveries_subscriber").on(table.subscriberId),
  ],
);

/** Tracked links of a mailing, numbered in document order; click ids select among them. */
export const links = sqliteTable(
  "links",
  {
    mailingId: integer("mailing_id")
      .notNull()
      .references(() => mailings.id, { onDelete: "cascade" }),
    variant: text("variant").notNull().default(""),
    idx: integer("idx").notNull(),
    /** Destination after UTM tagging; may still hold tokens filled per recipient. */
    url: text("url").notNull(),
    hasTokens: integer("has_tokens", { mode: "boolean" }).notNull().default(false),
  },
  (table) => [primaryKey({ columns: [table.mailingId, table.variant, table.idx] })],
);

export const clicks = sqliteTable(
  "clicks",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    mailingId: integer("mailing_id").notNull(),
    subscriberId: integer("subscriber_id").notNull(),
    variant: text("variant").notNull().default(""),
    linkIdx: integer("link_idx").notNull(),
    /** Set for link scanners, prefetchers and proxies; kept out of human counts. */
    machine: integer("machine", { mode: "boolean" }).notNull().default(false),
    at: integer("at").notNull(),
  },
  (table) => [index("clicks_mailing").on(table.mailingId, table.subscriberId)],
);

export const opens = sqliteTable(
  "opens",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    mailingId: integer("mailing_id").notNull(),
    subscriberId: integer("subscriber_id").notNull(),
    variant: text("variant").notNull().default(""),
    machine: integer("machine", { mode: "boolean" }).notNull().default(false),
    /** Set when the open is implied by a click rather than seen through the pixel. */
    implied: integer("implied", { mode: "boolean" }).notNull().default(false),
    at: integer("at").notNull(),
  },
  (table) => [index("opens_mailing").on(table.mailingId, table.subscriberId)],
);

export const BOUNCE_KINDS = ["hard", "soft", "complaint"] as const;
export type BounceKind = (typeof BOUNCE_KINDS)[number];

/**
 * Bounces and complaints as they arrive: delivery status notifications and
 * feedback reports by email, or a provider's webhook. A row is kept even when
 * it matched no delivery, so the operator can see what came in.
 */
export const bounces = sqliteTable(
  "bounces",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    kind: text("kind", { enum: BOUNCE_KINDS }).notNull(),
    source: text("source", { enum: ["email", "webhook"] }).notNull(),
    /** The recipient address the report names, lowercased; null when it names none. */
    email: text("email"),
    /** Enhanced status code (RFC 3463) such as 5.1.1; null for complaints. */
    status: text("status"),
    diagnostic: text("diagnostic"),
    /** How the report was tied to a delivery: `verp`, `message_id` or `email`; null when unmatched. */
    matchedBy: text("matched_by"),
    deliveryId: integer("delivery_id"),
    mailingId: integer("mailing_id"),
    subscriberId: integer("subscriber_id"),
    receivedAt: integer("received_at").notNull(),
  },
  (table) => [
    index("bounces_subscriber").on(table.subscriberId),
    index("bounces_mailing").on(table.mailingId),
  ],
);

/**
 * Send attempts and failures of a mailing in its current auto-pause window;
 * the sender adds to it after every queue message and pauses the mailing
 * when too many fail.
 */
export const mailingHealth = sqliteTable("mailing_health", {
  mailingId: integer("mailing_id")
    .primaryKey()
    .references(() => mailings.id, { onDelete: "cascade" }),
  windowStart: integer("window_start").notNull(),
  attempts: integer("attempts").notNull().default(0),
  failures: integer("failures").notNull().default(0),
});
