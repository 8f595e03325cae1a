/**
 * Each SMTP fault on its own, with the delivery state it must lead to. The
 * tests run against the fault mailbox, which no other test file uses, so a
 * fault at the greeting cannot reach another test's connection. Tests in
 * one file run one after another.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, inject, it } from "vitest";
import type { Env } from "../../../src/env";
import { openSendSession, processSendMessage } from "../../../src/sender/consume";
import type { SendMessage } from "../../../src/sender/message";
import { isHardBounce } from "../../../src/sender/outcomes";
import { classifyFailure } from "../../../src/sender/smtp";
import { stateCounts } from "../support/seed";
import {
  claimedMailing,
  deliveryRows,
  MailboxControl,
  mailingRow,
  subscriberStatus,
} from "./support";

const mailbox = MailboxControl.faults();
/** The consumer talks to the fault mailbox and gives up on a reply after one second. */
const FAULT_ENV = {
  SMTP_PORT: String(inject("faultMailbox").smtpPort),
  SMTP_TIMEOUT_SECONDS: "1",
};
/** Longer than the one-second timeout. */
const SLOW_MS = 2500;

/** Runs the sender on one queue message and returns its ack or retry verdict. */
async function send(body: SendMessage, attempt = 1, extra: Partial<Env> = {}) {
  const session = await openSendSession({ ...env, ...FAULT_ENV, ...extra });
  try {
    return await processSendMessage(session, body, attempt);
  } finally {
    await session.connection?.close();
  }
}

const ACK = { ack: true };
const retryAfter = (delaySeconds: number) => ({
  ack: false,
  delaySeconds,
  reason: expect.any(String),
});

afterEach(async () => {
  await mailbox.clearFaults();
});

describe("fault before DATA", () => {
  it("421 at greeting is retried, then sent", async () => {
    const { mailingId, batches, emails } = await claimedMailing(3);
    await mailbox.addFaults([{ stage: "connect", code: 421, times: 1 }]);

    const first = await send(batches[0]);

    expect(first).toEqual(retryAfter(30));
    expect(await mailbox.countsFor(emails)).toEqual([0, 0, 0]);
    const [attempted] = await deliveryRows(mailingId);
    expect(attempted.state).toBe("queued");
    expect(attempted.last_error).toMatch(/^attempt 1: connect: .*421/);

    const second = await send(batches[0], 2);

    expect(second).toEqual(ACK);
    expect(await mailbox.countsFor(emails)).toEqual([1, 1, 1]);
    expect(await stateCounts(mailingId)).toEqual({ sent: 3 });
    expect((await mailingRow(mailingId))?.status).toBe("done");
  });

  it("554 at greeting is retried, not failed", async () => {
    // A relay that turns the client away gives no evidence about the recipients.
    const { mailingId, batches, emails } = await claimedMailing(2);
    await mailbox.addFaults([{ stage: "connect", code: 554, times: 1 }]);

    const first = await send(batches[0]);

    expect(first).toEqual(retryAfter(30));
    expect(await stateCounts(mailingId)).toEqual({ queued: 2 });

    await send(batches[0], 2);
    expect(await mailbox.countsFor(emails)).toEqual([1, 1]);
  });

  it("a refused connection is retried", async () => {
    const { mailingId, batches, emails } = await claimedMailing(2);

    // Port 1 on loopback has no listener: the connection is refused.
    const first = await send(batches[0], 1, { SMTP_PORT: "1" });

    expect(first).toEqual(retryAfter(30));
    expect(await stateCounts(mailingId)).toEqual({ queued: 2 });

    await send(batches[0], 2);
    expect(await mailbox.countsFor(emails)).toEqual([1, 1]);
    expect(await stateCounts(mailingId)).toEqual({ sent: 2 });
  });

  it("451 on RCPT is retried with backoff", async () => {
    const { mailingId, batches, emails } = await claimedMailing(3);
    await mailbox.addFaults([{ stage: "rcpt", code: 451, match: emails[1], times: 2 }]);

    const first = await send(batches[0]);
    expect(first).toEqual(retryAfter(30));
    expect(await mailbox.countsFor(emails)).toEqual([1, 0, 1]);

    const second = await send(batches[0], 2);
    expect(second).toEqual(retryAfter(60));

    const third = await send(batches[0], 3);
    expect(third).toEqual(ACK);
    expect(await mailbox.countsFor(emails)).toEqual([1, 1, 1]);
    const rows = await deliveryRows(mailingId);
    expect(rows.map((row) => [row.state, row.attempts])).toEqual([
      ["sent", 1],
      ["sent", 3],
      ["sent", 1],
    ]);
  });

  it("a transient failure fails once MAX_ATTEMPTS is reached", async () => {
    const { mailingId, batches, emails } = await claimedMailing(1);
    await mailbox.addFaults([{ stage: "rcpt", code: 451, match: emails[0] }]);

    await send(batches[0], 1, { MAX_ATTEMPTS: "2" });
    const last = await send(batches[0], 2, { MAX_ATTEMPTS: "2" });

    expect(last).toEqual(ACK);
    const [row] = await deliveryRows(mailingId);
    expect(row.state).toBe("failed");
    expect(row.attempts).toBe(2);
    expect(row.last_error).toMatch(/^attempt 2: .*451/);
    expect((await mailingRow(mailingId))?.status).toBe("done");
  });

  it("550 5.1.1 on RCPT fails and bounces the subscriber", async () => {
    const { mailingId, batches, emails, subscribers } = await claimedMailing(2);
    await mailbox.addFaults([
      { stage: "rcpt", code: 550, message: "5.1.1 User unknown", match: emails[0] },
    ]);

    const result = await send(batches[0]);

    expect(result).toEqual(ACK);
    const [bounced, other] = await deliveryRows(mailingId);
    expect(bounced.state).toBe("failed");
    expect(bounced.last_error).toContain("550 5.1.1");
    expect(other.state).toBe("sent");
    expect(await subscriberStatus(subscribers[0].id)).toBe("bounced");
    expect(await subscriberStatus(subscribers[1].id)).toBe("active");
  });

  it("a rejected return path bounces nobody", () => {
    // A relay rejecting the sender uses words that also fit a dead recipient.
    const sender =
      "Invalid MAIL FROM: <bounces+1-0a1b2c3d4e@bounce.example.net> 550 5.1.0 Sender address rejected";
    const recipient = "Invalid RCPT TO: <gone@example.org> 550 5.1.1 User unknown";

    expect(isHardBounce(550, sender)).toBe(false);
    expect(isHardBounce(550, recipient)).toBe(true);
  });

  it("a slow RCPT reply times out and is retried", async () => {
    const { mailingId, batches, emails } = await claimedMailing(2);
    await mailbox.addFaults([
      { stage: "rcpt", code: 451, match: emails[0], times: 1, delayMs: SLOW_MS },
    ]);

    const started = Date.now();
    const first = await send(batches[0]);
    const elapsed = Date.now() - started;

    // One timeout for the reply and at most one for QUIT, never the slow server's pace.
    expect(elapsed).toBeLessThan(SLOW_MS);
    expect(first).toEqual(retryAfter(30));
    const [slow] = await deliveryRows(mailingId);
    expect(slow.state).toBe("queued");
    expect(slow.last_error).toMatch(/Timeout/);

    await send(batches[0], 2);
    expect(await mailbox.countsFor(emails)).toEqual([1, 1]);
    expect(await stateCounts(mailingId)).toEqual({ sent: 2 });
  });

  it("a slow greeting times out and is retried", async () => {
    const { mailingId, batches, emails } = await claimedMailing(1);
    await mailbox.addFaults([{ stage: "connect", code: 421, times: 1, delayMs: SLOW_MS }]);

    const started = Date.now();
    const first = await send(batches[0]);

    expect(Date.now() - started).toBeLessThan(SLOW_MS);
    expect(first).toEqual(retryAfter(30));
    expect(await stateCounts(mailingId)).toEqual({ queued: 1 });

    await send(batches[0], 2);
    expect(await mailbox.countsFor(emails)).toEqual([1]);
  });
});

describe("fault in or after DATA", () => {
  it("554 after the message text fails without retry", async () => {
    const { mailingId, batches, emails, subscribers } = await claimedMailing(2);
    await mailbox.addFaults([{ stage: "data", code: 554, match: emails[1] }]);

    const result = await send(batches[0]);

    expect(result).toEqual(ACK);
    const rows = await deliveryRows(mailingId);
    expect(rows.map((row) => row.state)).toEqual(["sent", "failed"]);
    expect(rows[1].last_error).toContain("554");
    expect(await mailbox.countsFor(emails)).toEqual([1, 0]);
    // A rejected message is no evidence against the address.
    expect(await subscriberStatus(subscribers[1].id)).toBe("active");
  });

  it("a drop at the DATA command is retried", async () => {
    const { mailingId, batches, emails } = await claimedMailing(2);
    await mailbox.addFaults([{ stage: "data-start", code: 0, match: emails[0], times: 1 }]);

    const first = await send(batches[0]);

    // The connection is gone, so the second delivery waits for the retry too.
    expect(first).toEqual(retryAfter(30));
    const [row] = await deliveryRows(mailingId);
    expect(row.state).toBe("queued");
    expect(await mailbox.countsFor(emails)).toEqual([0, 0]);

    await send(batches[0], 2);
    expect(await mailbox.countsFor(emails)).toEqual([1, 1]);
    expect(await stateCounts(mailingId)).toEqual({ sent: 2 });
  });

  it("a drop while the text is written is retried", () => {
    // Before the end-of-data line is written the server cannot have the
    // message. On loopback the kernel takes the whole text at once, so this
    // case is checked on the classification itself.
    const lost = "Network connection lost.";

    expect(classifyFailure(lost, true, false)).toEqual({
      kind: "transient",
      code: null,
      reply: `message text not completed: ${lost}`,
    });
    expect(classifyFailure(lost, true, true).kind).toBe("uncertain");
    expect(classifyFailure(`Failed send email body: 451 try again`, true, true).kind).toBe(
      "transient",
    );
  });

  it("a drop after the whole text is uncertain, even if nothing was kept", async () => {
    // The server read the end-of-data line and dropped the message; the
    // client cannot tell this from a drop after the server kept it.
    const { mailingId, batches, emails } = await claimedMailing(2);
    await mailbox.addFaults([{ stage: "data", code: 0, match: emails[0] }]);

    await send(batches[0]);
    await send(batches[0], 2);

    expect(await mailbox.countsFor(emails)).toEqual([0, 1]);
    expect(await stateCounts(mailingId)).toEqual({ sent: 1, uncertain: 1 });
  });

  it("a slow reply after DATA is uncertain and never resent", async () => {
    const { mailingId, batches, emails } = await claimedMailing(2);
    await mailbox.addFaults([
      { stage: "after-data", code: 0, match: emails[0], times: 1, delayMs: SLOW_MS },
    ]);

    const started = Date.now();
    const first = await send(batches[0]);
    expect(Date.now() - started).toBeLessThan(SLOW_MS + 1000);
    expect(first).toEqual(ACK);
    // A copy of the message delivered again must not resend it.
    await send(batches[0], 2);

    expect(await mailbox.countsFor(emails)).toEqual([1, 1]);
    const rows = await deliveryRows(mailingId);
    expect(rows.map((row) => row.state)).toEqual(["uncertain", "sent"]);
    expect(rows[0].last_error).toMatch(/^outcome unknown: .*Timeout/);
    expect((await mailingRow(mailingId))?.status).toBe("done");
  });
});
