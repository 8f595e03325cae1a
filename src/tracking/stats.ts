/**
 * Statistics of one mailing, computed in D1 with set-based queries sent in
 * one `db.batch`. Human and machine hits are counted apart; rates use human
 * hits only.
 */
import { UNSUBSCRIBE_CHANNELS, unsubscribeReason } from "./unsubscribe";

/** Total and unique (distinct subscribers) counts of clicks or opens. */
export interface HitCounts {
  total: number;
  unique: number;
}

/** Counts of opens or clicks, people and machines apart. */
export interface HumanMachineCounts {
  human: HitCounts;
  machine: HitCounts;
}

/** One tracked link of the mailing with its human clicks. */
export interface LinkStats {
  variant: string;
  idx: number;
  url: string;
  /** Distinct subscribers who clicked it (people only). */
  unique: number;
  /** Clicks by people. */
  total: number;
  /** Clicks by scanners, prefetchers and proxies. */
  machine: number;
}

/** Deliveries and human unique opens and clicks of one variant. */
export interface VariantStats {
  variant: string;
  recipients: number;
  sent: number;
  uniqueOpens: number;
  uniqueClicks: number;
  /** uniqueClicks / sent, or 0 before anything was sent. */
  clickRate: number;
}

/** Hits within one hour, starting at `hour` (Unix ms, UTC). */
export interface HourStats {
  hour: number;
  sent: number;
  /** Opens seen through the pixel by people (implied opens are left out). */
  opens: number;
  clicks: number;
  /** Opens and clicks by machines. */
  machine: number;
}

/** Everything the admin panel shows about one mailing's delivery and tracking. */
export interface MailingStats {
  mailingId: number;
  name: string;
  status: string;
  deliveries: {
    total: number;
    pending: number;
    queued: number;
    sending: number;
    sent: number;
    failed: number;
    uncertain: number;
    skipped: number;
  };
  /** Opens, including those implied by a click (`implied` counts those among human opens). */
  opens: HumanMachineCounts & { implied: number };
  clicks: HumanMachineCounts;
  /** Human unique openers / sent, or 0 before anything was sent. */
  openRate: number;
  /** Human unique clickers / sent, or 0 before anything was sent. */
  clickRate: number;
  /** Human unique clickers / human unique openers, or 0 without opens. */
  clickToOpenRate: number;
  /** Subscribers whose current status is unsubscribed through this mailing's link or mailto address. */
  unsubscribes: number;
  links: LinkStats[];
  variants: VariantStats[];
  hours: HourStats[];
}

const HOUR_MS = 3_600_000;

/** Computes a mailing's statistics, or returns null when the mailing does not exist. */
export async function getMailingStats(
  db: D1Database,
  mailingId: number,
): Promise<MailingStats | null> {
  const results = await db.batch([
    db.prepare("SELECT id, name, status FROM mailings WHERE id = ?").bind(mailingId),
    db
      .prepare("SELECT state, COUNT(*) AS n FROM deliveries WHERE mailing_id = ? GROUP BY state")
      .bind(mailingId),
    hitCountsStatement(db, "opens", mailingId),
    hitCountsStatement(db, "clicks", mailingId),
    db
      .prepare(
        `SELECT COUNT(*) AS n FROM subscribers
          WHERE status = 'unsubscribed'
            AND status_reason IN (${UNSUBSCRIBE_CHANNELS.map(() => "?").join(", ")})`,
      )
      .bind(...UNSUBSCRIBE_CHANNELS.map((channel) => unsubscribeReason(mailingId, channel))),
    linksStatement(db, mailingId),
    variantsStatement(db, mailingId),
    hoursStatement(db, mailingId),
  ]);
  const rows = <T>(index: number) => results[index].results as T[];

  const mailing = rows<{ id: number; name: string; status: string }>(0)[0];
  if (!mailing) return null;

  const deliveries = countStates(rows<{ state: string; n: number }>(1));
  const openRows = rows<HitRow>(2);
  const opens = toHumanMachine(openRows);
  const clicks = toHumanMachine(rows<HitRow>(3));
  const implied = openRows.find((row) => row.machine === 0)?.implied ?? 0;
  const variants = rows<Omit<VariantStats, "clickRate">>(6);

  return {
    mailingId: mailing.id,
    name: mailing.name,
    status: mailing.status,
    deliveries,
    opens: { ...opens, implied },
    clicks,
    openRate: ratio(opens.human.unique, deliveries.sent),
    clickRate: ratio(clicks.human.unique, deliveries.sent),
    clickToOpenRate: ratio(clicks.human.unique, opens.human.unique),
    unsubscribes: rows<{ n: number }>(4)[0].n,
    links: rows<LinkStats>(5),
    variants: variants.map((row) => ({ ...row, clickRate: ratio(row.uniqueClicks, row.sent) })),
    hours: rows<HourStats>(7),
  };
}

interface HitRow {
  machine: number;
  total: number;
  unique_subscribers: number;
  implied: number;
}

function hitCountsStatement(
  db: D1Database,
  table: "opens" | "clicks",
  mailingId: number,
): D1PreparedStatement {
  const implied = table === "opens" ? "SUM(implied)" : "0";
  return db
    .prepare(
      `SELECT machine, COUNT(*) AS total, COUNT(DISTINCT subscriber_id) AS unique_subscribers,
              ${implied} AS implied
         FROM ${table} WHERE mailing_id = ? GROUP BY machine`,
    )
    .bind(mailingId);
}

// Clicks store the recipient's variant. A mailing whose links have a single
// variant serves those links to every variant, as the click route does.
function linksStatement(db: D1Database, mailingId: number): D1PreparedStatement {
  return db
    .prepare(
      `SELECT l.variant, l.idx, l.url,
              COUNT(DISTINCT CASE WHEN c.machine = 0 THEN c.subscriber_id END) AS "unique",
              COALESCE(SUM(c.machine = 0), 0) AS total,
              COALESCE(SUM(c.machine = 1), 0) AS machine
         FROM links l
         LEFT JOIN clicks c
           ON c.mailing_id = l.mailing_id
          AND c.link_idx = l.idx
          AND (c.variant = l.variant
               OR (SELECT COUNT(DISTINCT variant) FROM links WHERE mailing_id = ?1) = 1)
        WHERE l.mailing_id = ?1
        GROUP BY l.variant, l.idx
        ORDER BY l.variant, l.idx`,
    )
    .bind(mailingId);
}

function variantsStatement(db: D1Database, mailingId: number): D1PreparedStatement {
  return db
    .prepare(
      `SELECT d.variant AS variant, COUNT(*) AS recipients, SUM(d.state = 'sent') AS sent,
              (SELECT COUNT(DISTINCT o.subscriber_id) FROM opens o
                WHERE o.mailing_id = ?1 AND o.variant = d.variant AND o.machine = 0) AS uniqueOpens,
              (SELECT COUNT(DISTINCT c.subscriber_id) FROM clicks c
                WHERE c.mailing_id = ?1 AND c.variant = d.variant AND c.machine = 0) AS uniqueClicks
         FROM deliveries d
        WHERE d.mailing_id = ?1
        GROUP BY d.variant
        ORDER BY d.variant`,
    )
    .bind(mailingId);
}

function hoursStatement(db: D1Database, mailingId: number): D1PreparedStatement {
  return db
    .prepare(
      `SELECT hour * ${HOUR_MS} AS hour,
              SUM(kind = 'sent') AS sent,
              SUM(kind = 'open') AS opens,
              SUM(kind = 'click') AS clicks,
              SUM(kind = 'machine') AS machine
         FROM (
           SELECT 'sent' AS kind, sent_at / ${HOUR_MS} AS hour
             FROM deliveries WHERE mailing_id = ?1 AND state = 'sent' AND sent_at IS NOT NULL
           UNION ALL
           SELECT CASE WHEN machine = 1 THEN 'machine' ELSE 'open' END, at / ${HOUR_MS}
             FROM opens WHERE mailing_id = ?1 AND implied = 0
           UNION ALL
           SELECT CASE WHEN machine = 1 THEN 'machine' ELSE 'click' END, at / ${HOUR_MS}
             FROM clicks WHERE mailing_id = ?1
         )
        GROUP BY hour
        ORDER BY hour`,
    )
    .bind(mailingId);
}

function countStates(rows: { state: string; n: number }[]): MailingStats["deliveries"] {
  const counts = {
    total: 0,
    pending: 0,
    queued: 0,
    sending: 0,
    sent: 0,
    failed: 0,
    uncertain: 0,
    skipped: 0,
  };
  for (const row of rows) {
    counts.total += row.n;
    if (row.state in counts && row.state !== "total") {
      counts[row.state as keyof typeof counts] = row.n;
    }
  }
  return counts;
}

function toHumanMachine(rows: HitRow[]): HumanMachineCounts {
  const pick = (machine: number): HitCounts => {
    const row = rows.find((candidate) => candidate.machine === machine);
    return { total: row?.total ?? 0, unique: row?.unique_subscribers ?? 0 };
  };
  return { human: pick(0), machine: pick(1) };
}

function ratio(numerator: number, denominator: number): number {
  return denominator > 0 ? numerator / denominator : 0;
}
