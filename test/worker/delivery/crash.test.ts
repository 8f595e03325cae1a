/**
 * A worker that dies at any point of a batch: 10 recipients in batches of 4,
 * the worker dies during batch 2 (recipients 5 to 8), the batch is delivered
 * again, then batch 3 is sent. No recipient is lost or gets two copies, and
 * only the one delivery in flight when the worker died can end `uncertain`.
 *
 * A crash is a throw from a wrapped D1 binding (before or after one of the
 * sender's D1 round trips) or from the `afterSend` hook (after an SMTP
 * transaction, before its outcome is written).
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { changeMailingStatus } from "../../../src/mailings/control";
import { claimBatch } from "../../../src/scheduler/claim";
import { openSendSession, processSendMessage } from "../../../src/sender/consume";
import type { SendMessage } from "../../../src/sender/message";
import { stateCounts } from "../support/seed";
import { claimedMailing, deliveryRows, MailboxControl, mailingRow } from "./support";

const mailbox = MailboxControl.shared();

class WorkerStopped extends Error {
  constructor() {
    super("worker stopped");
  }
}

type CrashPoint =
  { kind: "d1"; call: number; when: "before" | "after" } | { kind: "afterSend"; send: number };

/**
 * The sender's D1 round trips for a batch of 4: 1 loads the batch, 2 loads
 * the recipients, 3 claims the first delivery, 4 to 6 record one delivery
 * and claim the next, and 7 records the last one with the auto-pause counts.
 * `uncertain` is the index in the batch of the delivery that must end
 * uncertain. `copies` is the number of copies of it in the mailbox.
 */
const CRASHES: { name: string; crash: CrashPoint; uncertain: number | null; copies: number }[] = [
  { name: "before loading the batch", crash: d1(1, "before"), uncertain: null, copies: 0 },
  { name: "after loading the batch", crash: d1(1, "after"), uncertain: null, copies: 0 },
  { name: "after loading the recipients", crash: d1(2, "after"), uncertain: null, copies: 0 },
  { name: "before claiming 5", crash: d1(3, "before"), uncertain: null, copies: 0 },
  { name: "after claiming 5, before sending it", crash: d1(3, "after"), uncertain: 0, copies: 0 },
  { name: "after sending 5", crash: { kind: "afterSend", send: 1 }, uncertain: 0, copies: 1 },
  { name: "before recording 5 and claiming 6", crash: d1(4, "before"), uncertain: 0, copies: 1 },
  { name: "after claiming 6, before sending it", crash: d1(4, "after"), uncertain: 1, copies: 0 },
  { name: "after sending 6", crash: { kind: "afterSend", send: 2 }, uncertain: 1, copies: 1 },
  { name: "before recording 6 and claiming 7", crash: d1(5, "before"), uncertain: 1, copies: 1 },
  { name: "after claiming 7", crash: d1(5, "after"), uncertain: 2, copies: 0 },
  { name: "after sending 7", crash: { kind: "afterSend", send: 3 }, uncertain: 2, copies: 1 },
  { name: "before recording 7 and claiming 8", crash: d1(6, "before"), uncertain: 2, copies: 1 },
  { name: "after claiming 8", crash: d1(6, "after"), uncertain: 3, copies: 0 },
  { name: "after sending 8", crash: { kind: "afterSend", send: 4 }, uncertain: 3, copies: 1 },
  { name: "before recording 8", crash: d1(7, "before"), uncertain: 3, copies: 1 },
  { name: "after recording 8, before the ack", crash: d1(7, "after"), uncertain: null, copies: 0 },
];

function d1(call: number, when: "before" | "after"): CrashPoint {
  return { kind: "d1", call, when };
}

/** Wraps a D1 binding so that batch() throws right before or after its n-th call. */
function crashingDb(db: D1Database, crash: { call: number; when: "before" | "after" }) {
  let calls = 0;
  return new Proxy(db, {
    get(target, property) {
      if (property === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          calls++;
          if (calls === crash.call && crash.when === "before") throw new WorkerStopped();
          const results = await target.batch(statements);
          if (calls === crash.call && crash.when === "after") throw new WorkerStopped();
          return results;
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Runs the sender on one message; its SMTP connection ends with the call, as a worker's does. */
async function deliver(body: SendMessage, attempt: number, crash?: CrashPoint) {
  const db = crash?.kind === "d1" ? crashingDb(env.DB, crash) : env.DB;
  const session = await openSendSession({ ...env, DB: db });
  let sends = 0;
  if (crash?.kind === "afterSend") {
    session.afterSend = () => {
      if (++sends === crash.send) throw new WorkerStopped();
    };
  }

  try {
    return await processSendMessage(session, body, attempt);
  } finally {
    await session.connection?.close();
  }
}

describe("worker dying during batch 2 of 3", () => {
  it.each(CRASHES)("$name", async ({ crash, uncertain, copies }) => {
    const { mailingId, batches, emails } = await claimedMailing(10, { batchSize: 4 });
    expect(batches.map((batch) => batch.deliveryIds.length)).toEqual([4, 4, 2]);

    expect(await deliver(batches[0], 1)).toEqual({ ack: true });
    await expect(deliver(batches[1], 1, crash)).rejects.toThrow(WorkerStopped);

    // The queue delivers batch 2 again; the mailing is not done while batch 3 waits.
    expect(await deliver(batches[1], 2)).toEqual({ ack: true });
    expect((await mailingRow(mailingId))?.status).toBe("sending");
    expect(await deliver(batches[2], 1)).toEqual({ ack: true });

    const counts = await mailbox.countsFor(emails);
    const rows = await deliveryRows(mailingId);
    const expected = rows.map((row, index) =>
      uncertain !== null && index === 4 + uncertain ? "uncertain" : "sent",
    );
    expect(rows.map((row) => row.state)).toEqual(expected);

    // Every sent delivery arrived exactly once; the uncertain one at most once.
    expect(counts.map((count, index) => (expected[index] === "sent" ? count : 1))).toEqual(
      Array(10).fill(1),
    );
    if (uncertain !== null) expect(counts[4 + uncertain]).toBe(copies);

    const mailing = await mailingRow(mailingId);
    expect(mailing?.status).toBe("done");
    const final = await stateCounts(mailingId);
    expect((final.sent ?? 0) + (final.uncertain ?? 0)).toBe(mailing?.total);
  });
});

describe("worker dying before the mailing is paused", () => {
  it("marks the interrupted delivery uncertain, so the mailing can finish", async () => {
    const { mailingId, batches, emails } = await claimedMailing(4);
    await expect(deliver(batches[0], 1, { kind: "afterSend", send: 2 })).rejects.toThrow(
      WorkerStopped,
    );
    await changeMailingStatus(env.DB, mailingId, "pause", Date.now(), "checking the relay");

    expect(await deliver(batches[0], 2)).toEqual({ ack: true });
    const rows = await deliveryRows(mailingId);
    expect(rows.map((row) => row.state)).toEqual(["sent", "uncertain", "pending", "pending"]);

    await changeMailingStatus(env.DB, mailingId, "resume", Date.now());
    const claim = await claimBatch(env.DB, mailingId, 4, Date.now());
    await deliver({ mailingId, batchId: claim.batchId, deliveryIds: claim.deliveryIds }, 1);

    expect(await mailbox.countsFor(emails)).toEqual([1, 1, 1, 1]);
    expect(await stateCounts(mailingId)).toEqual({ sent: 3, uncertain: 1 });
    expect((await mailingRow(mailingId))?.status).toBe("done");
  });
});
