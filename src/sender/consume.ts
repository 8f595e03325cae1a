/**
 * The sender: consumes batches of delivery ids from the send queue, renders
 * each recipient's message and sends it over one SMTP connection per queue
 * message.
 *
 * Queues deliver at least once, so every step is conditional on D1 state:
 *   - a delivery moves `queued` to `sending` (claimed by batch id) right
 *     before its SMTP transaction, so a second copy of the message skips it;
 *   - the outcome of delivery n is written together with the claim of n + 1,
 *     so recording costs no extra round trip;
 *   - a delivery found in `sending` when a message is redelivered was being
 *     sent when a worker died. It may have reached the server, so it becomes
 *     `uncertain` and is never resent automatically.
 */
import { returnPathFor } from "../bounces/verp";
import { readConfig, type Config, type Env } from "../env";
import { log } from "../log";
import { loadCompiledLetter } from "../mailings/letter-cache";
import { loadRecipients, type RecipientRow } from "../mailings/recipients";
import { renderMessage, type CompiledLetter } from "../render";
import { finishMailings } from "../scheduler/sweep";
import { loadLinkKeys, signRecipient, type LinkKeys } from "../tracking/ids";
import { recipientUrls } from "../tracking/urls";
import { healthStatements, reportAutoPause, SendTally } from "./autopause";
import type { SendMessage } from "./message";
import { claimStatement, outcomeStatements, type DeliveryRef } from "./outcomes";
import { SmtpConnectError, SmtpConnection, type SendOutcome } from "./smtp";

/** Maximum delay before a retried message comes back, in seconds. */
const MAX_RETRY_DELAY = 3600;

interface DeliveryRecord {
  id: number;
  subscriber_id: number;
  state: string;
  attempts: number;
  variant: string;
}

interface MailingRecord {
  id: number;
  name: string;
  status: string;
  list_id: number;
  list_name: string;
}

/** The consumer's decision for one queue message: ack, or retry after a delay. */
export type MessageVerdict = { ack: true } | { ack: false; delaySeconds: number; reason: string };

/** Shared per consumer call: configuration, keys and the lazily opened connection. */
export interface SendSession {
  env: Env;
  config: Config;
  keys: LinkKeys;
  connection: SmtpConnection | null;
  now: () => number;
  /**
   * Called after each SMTP transaction, before its outcome is recorded. Fault
   * injection (tests, `npm run chaos`) throws here to stand for a worker that
   * dies between sending and recording.
   */
  afterSend?: (delivery: DeliveryRef) => void;
}

/** Opens a send session: configuration and keys, checked once per consumer call. */
export async function openSendSession(env: Env): Promise<SendSession> {
  const config = readConfig(env);
  return {
    env,
    config,
    keys: await loadLinkKeys(config.linkSecret, config.linkSecretPrevious),
    connection: null,
    now: Date.now,
  };
}

/**
 * Consumes a batch from the send queue, acking or retrying each message.
 * The messages of one call are sent side by side, each over its own SMTP
 * connection: a Worker may hold six connections open, and the queue's
 * `max_batch_size` (4 in wrangler.toml) keeps a call below that.
 */
export async function consumeSendBatch(batch: MessageBatch<SendMessage>, env: Env): Promise<void> {
  const shared = await openSendSession(env);

  await Promise.all(
    batch.messages.map(async (message) => {
      const session: SendSession = { ...shared, connection: null };
      try {
        settleMessage(message, await processSendMessage(session, message.body, message.attempts));
      } finally {
        await session.connection?.close();
      }
    }),
  );
}

function settleMessage(message: Message<SendMessage>, verdict: MessageVerdict): void {
  if (verdict.ack) {
    message.ack();
    return;
  }

  log.warn("send batch retried", {
    mailingId: message.body.mailingId,
    batchId: message.body.batchId,
    attempt: message.attempts,
    delaySeconds: verdict.delaySeconds,
    reason: verdict.reason,
  });
  message.retry({ delaySeconds: verdict.delaySeconds });
}

/** Sends what one queue message still owes; never sends a delivery twice. */
export async function processSendMessage(
  session: SendSession,
  body: SendMessage,
  messageAttempt: number,
): Promise<MessageVerdict> {
  const { env } = session;
  const db = env.DB;
  const { mailing, deliveries } = await loadBatch(db, body);
  if (!mailing) return { ack: true };

  // Before the status check: a delivery left in `sending` by a worker that
  // died would otherwise stay there for good once the mailing is paused or
  // cancelled, and the mailing could never finish.
  const interrupted = deliveries.filter((delivery) => delivery.state === "sending");
  if (interrupted.length > 0) await markInterrupted(db, body, interrupted, session.now());

  if (mailing.status !== "sending") {
    await releaseBatch(db, body, mailing.status, session.now());
    return { ack: true };
  }

  const queued = deliveries.filter((delivery) => delivery.state === "queued");
  const retryReason = queued.length > 0 ? await sendQueued(session, mailing, body, queued) : null;

  await finishMailings(db, session.now(), mailing.id);
  if (retryReason === null) return { ack: true };

  return { ack: false, delaySeconds: retryDelay(messageAttempt), reason: retryReason };
}

/**
 * Loads the mailing and the deliveries of one message. Each message has its
 * own claim, so its batch id selects exactly its rows, however many.
 */
async function loadBatch(db: D1Database, body: SendMessage) {
  const [mailingResult, deliveryResult] = await db.batch([
    db
      .prepare(
        `SELECT m.id, m.name, m.status, m.list_id, l.name AS list_name
           FROM mailings m JOIN lists l ON l.id = m.list_id WHERE m.id = ?`,
      )
      .bind(body.mailingId),
    db
      .prepare(
        `SELECT id, subscriber_id, state, attempts, variant FROM deliveries
          WHERE mailing_id = ? AND batch_id = ? ORDER BY id`,
      )
      .bind(body.mailingId, body.batchId),
  ]);

  return {
    mailing: (mailingResult.results as MailingRecord[])[0] ?? null,
    deliveries: deliveryResult.results as DeliveryRecord[],
  };
}

/**
 * Releases the queued deliveries of a mailing that stopped sending: back to
 * `pending` when it is paused or waiting again, so it continues where it
 * stopped, and `skipped` when it is cancelled or done.
 */
async function releaseBatch(db: D1Database, body: SendMessage, status: string, now: number) {
  const resumable = status === "paused" || status === "wait";
  const state = resumable ? "pending" : "skipped";
  const error = resumable ? null : `mailing ${status}`;
  await db
    .prepare(
      `UPDATE deliveries SET state = ?1, last_error = ?2, batch_id = CASE WHEN ?1 = 'pending' THEN NULL ELSE batch_id END,
              updated_at = ?3
        WHERE mailing_id = ?4 AND batch_id = ?5 AND state = 'queued'`,
    )
    .bind(state, error, now, body.mailingId, body.batchId)
    .run();
  log.info("send batch released", { mailingId: body.mailingId, batchId: body.batchId, status });
}

async function markInterrupted(
  db: D1Database,
  body: SendMessage,
  interrupted: DeliveryRecord[],
  now: number,
) {
  const marks = interrupted.map(() => "?").join(", ");
  await db
    .prepare(
      `UPDATE deliveries SET state = 'uncertain', updated_at = ?,
              last_error = 'worker stopped during the SMTP transaction; the message may have been delivered'
        WHERE id IN (${marks}) AND state = 'sending' AND batch_id = ?`,
    )
    .bind(now, ...interrupted.map((delivery) => delivery.id), body.batchId)
    .run();
  log.warn("interrupted deliveries marked uncertain", {
    mailingId: body.mailingId,
    batchId: body.batchId,
    deliveryIds: interrupted.map((delivery) => delivery.id),
  });
}

/**
 * Sends every queued delivery of the batch in id order. Returns null when
 * nothing is left for a retry, or the reason why some deliveries wait for one.
 */
async function sendQueued(
  session: SendSession,
  mailing: MailingRecord,
  body: SendMessage,
  queued: DeliveryRecord[],
): Promise<string | null> {
  const db = session.env.DB;
  const recipients = await loadRecipients(
    db,
    queued.map((delivery) => delivery.subscriber_id),
  );

  let pending: D1PreparedStatement[] = [];
  let retryReason: string | null = null;
  const tally = new SendTally();

  for (const delivery of queued) {
    const ref = { id: delivery.id, subscriberId: delivery.subscriber_id, batchId: body.batchId };
    const now = session.now();

    // Record the previous outcome and claim this delivery in one round trip.
    const results = await db.batch([...pending, claimStatement(db, ref, now)]);
    pending = [];
    const claimed = (results.at(-1)?.results as { state: string; attempts: number }[])[0];
    if (!claimed || claimed.state !== "sending") continue;

    const recipient = recipients.get(delivery.subscriber_id);
    const result = await sendOne(session, mailing, ref, delivery.variant, recipient);
    session.afterSend?.(ref);
    pending = outcomeStatements(db, ref, result.outcome, {
      now: session.now(),
      messageId: result.messageId,
      attempts: claimed.attempts,
      maxAttempts: session.config.maxAttempts,
    });
    logOutcome(mailing.id, ref, result.outcome, claimed.attempts);
    tally.add(result.outcome);

    if (result.outcome.kind === "transient" && claimed.attempts < session.config.maxAttempts) {
      retryReason = result.outcome.reply;
    }
    if (result.stop) {
      retryReason ??=
        result.outcome.kind === "transient" ? result.outcome.reply : "connection lost";
      break;
    }
  }

  // The last outcome and the auto-pause counts go to D1 in one round trip.
  const health = tally.attempts > 0 ? healthStatements(db, mailing.id, tally, session.now()) : [];
  if (pending.length + health.length > 0) {
    const results = await db.batch([...pending, ...health]);
    reportAutoPause(results.slice(pending.length), mailing.id);
  }
  const stillQueued = await countQueued(db, body);
  return stillQueued > 0 ? (retryReason ?? "deliveries still queued") : null;
}

interface SendResult {
  outcome: SendOutcome;
  messageId: string;
  /** The connection cannot go on; the rest of the batch waits for the retry. */
  stop: boolean;
}

async function sendOne(
  session: SendSession,
  mailing: MailingRecord,
  delivery: DeliveryRef,
  variant: string,
  recipient: RecipientRow | undefined,
): Promise<SendResult> {
  const { config } = session;
  const domain = config.senderEmail.split("@").pop() ?? "localhost";
  const messageId = `d${delivery.id}.m${mailing.id}@${domain}`;

  if (!recipient) {
    const outcome: SendOutcome = { kind: "permanent", code: 550, reply: "subscriber deleted" };
    return { outcome, messageId, stop: false };
  }

  let raw: string;
  try {
    raw = await renderFor(session, mailing, variant, recipient, messageId);
  } catch (error) {
    const reply = `render failed: ${error instanceof Error ? error.message : String(error)}`;
    return { outcome: { kind: "permanent", code: 554, reply }, messageId, stop: false };
  }

  const connection = await openConnection(session);
  if (!connection.ok) return { outcome: connection.outcome, messageId, stop: true };

  const envelope = { from: await returnPathFor(config, delivery.id), to: recipient.email };
  const outcome = await connection.value.send(envelope, raw);
  if (!connection.value.usable) {
    await connection.value.close();
    session.connection = null;
  }
  const stop = outcome.kind === "transient" && outcome.code === null;
  return { outcome, messageId, stop };
}

async function openConnection(
  session: SendSession,
): Promise<{ ok: true; value: SmtpConnection } | { ok: false; outcome: SendOutcome }> {
  if (session.connection) return { ok: true, value: session.connection };

  try {
    session.connection = await SmtpConnection.open(session.config.smtp);
    return { ok: true, value: session.connection };
  } catch (error) {
    if (!(error instanceof SmtpConnectError)) throw error;

    log.error("smtp connect failed", { host: session.config.smtp.host, error });
    const reply = `connect: ${error.message}`;
    return { ok: false, outcome: { kind: "transient", code: error.code, reply } };
  }
}

const letterCacheMiss = (mailingId: number) =>
  new Error(`Mailing ${mailingId} has no letter snapshot; it was never started.`);

async function renderFor(
  session: SendSession,
  mailing: MailingRecord,
  variant: string,
  recipient: RecipientRow,
  messageId: string,
): Promise<string> {
  const letter: CompiledLetter | null = await loadCompiledLetter(
    session.env.DB,
    mailing.id,
    variant,
  );
  if (!letter) throw letterCacheMiss(mailing.id);

  const { config } = session;
  const ids = await signRecipient(session.keys, mailing.id, recipient.id);
  const domain = config.senderEmail.split("@").pop() ?? "localhost";
  const rendered = renderMessage(letter, recipient, {
    urls: recipientUrls(config.publicUrl, ids),
    unsubscribeMailto: `mailto:${config.senderEmail}?subject=unsubscribe%20${ids.unsubscribe()}`,
    messageId,
    listId: `${mailing.list_name} <list-${mailing.list_id}.${domain}>`,
    date: new Date(session.now()),
  });
  return rendered.mime;
}

async function countQueued(db: D1Database, body: SendMessage): Promise<number> {
  const row = await db
    .prepare("SELECT COUNT(*) AS count FROM deliveries WHERE batch_id = ? AND state = 'queued'")
    .bind(body.batchId)
    .first<{ count: number }>();
  return row?.count ?? 0;
}

function logOutcome(
  mailingId: number,
  delivery: DeliveryRef,
  outcome: SendOutcome,
  attempt: number,
) {
  if (outcome.kind === "sent") return;
  const fields = {
    mailingId,
    deliveryId: delivery.id,
    subscriberId: delivery.subscriberId,
    attempt,
    outcome: outcome.kind,
    reply: outcome.reply,
  };
  if (outcome.kind === "uncertain") log.error("delivery outcome unknown", fields);
  else log.warn("delivery failed", fields);
}

/** Exponential backoff per message attempt: 30 s, 60 s, 120 s ... capped at an hour. */
export function retryDelay(attempt: number): number {
  return Math.min(MAX_RETRY_DELAY, 30 * 2 ** Math.max(0, attempt - 1));
}
