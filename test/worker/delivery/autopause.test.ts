/**
 * Auto-pause: 20 or more send attempts within 10 minutes, half of them or
 * more failed, pause the mailing; resuming works as usual.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../../src/index";
import { claimBatch } from "../../../src/scheduler/claim";
import { openSendSession, processSendMessage } from "../../../src/sender/consume";
import type { SendMessage } from "../../../src/sender/message";
import { stateCounts } from "../support/seed";
import { claimedMailing, MailboxControl, mailingRow } from "./support";

const mailbox = MailboxControl.shared();
const added: string[] = [];

async function failRcpt(matches: string[]) {
  added.push(...matches);
  await mailbox.addFaults(matches.map((match) => ({ stage: "rcpt" as const, code: 451, match })));
}

afterEach(async () => {
  for (const match of added.splice(0)) await mailbox.clearFaults(match);
  vi.restoreAllMocks();
});

async function deliver(body: SendMessage, attempt = 1, now = Date.now()) {
  const session = await openSendSession(env);
  session.now = () => now;
  try {
    return await processSendMessage(session, body, attempt);
  } finally {
    await session.connection?.close();
  }
}

async function health(mailingId: number) {
  return env.DB.prepare("SELECT attempts, failures FROM mailing_health WHERE mailing_id = ?")
    .bind(mailingId)
    .first<{ attempts: number; failures: number }>();
}

describe("auto-pause", () => {
  it("pauses a mailing whose sends fail, and resumes", async () => {
    const { mailingId, batches, emails, tag } = await claimedMailing(25);
    await failRcpt([tag]);
    const warn = vi.spyOn(console, "warn");

    const verdict = await deliver(batches[0]);

    expect(verdict.ack).toBe(false);
    const mailing = await mailingRow(mailingId);
    expect(mailing?.status).toBe("paused");
    expect(mailing?.paused_reason).toMatch(
      /^auto-paused: 25 of 25 send attempts failed within 10 minutes; last error: .*451/,
    );
    const logged = warn.mock.calls.map((call) => String(call[0]));
    expect(logged.some((line) => line.includes('"message":"mailing auto-paused"'))).toBe(true);
    expect(await health(mailingId)).toEqual({ attempts: 0, failures: 0 });

    // The retried message finds the mailing paused and hands its deliveries back.
    expect(await deliver(batches[0], 2)).toEqual({ ack: true });
    expect(await stateCounts(mailingId)).toEqual({ pending: 25 });
    expect(await mailbox.countsFor(emails)).toEqual(Array(25).fill(0));

    // The relay is fixed; the operator resumes.
    await mailbox.clearFaults(tag);
    const response = await worker.fetch(
      new Request(`https://t.example.net/api/mailings/${mailingId}/resume`, {
        method: "POST",
        headers: { authorization: "Bearer test-admin-token" },
      }),
      env,
      createExecutionContext(),
    );
    expect(response.status).toBe(200);
    expect((await mailingRow(mailingId))?.status).toBe("sending");

    const claim = await claimBatch(env.DB, mailingId, 25, Date.now());
    await deliver({ mailingId, batchId: claim.batchId, deliveryIds: claim.deliveryIds });
    expect(await mailbox.countsFor(emails)).toEqual(Array(25).fill(1));
    expect(await stateCounts(mailingId)).toEqual({ sent: 25 });
    expect((await mailingRow(mailingId))?.status).toBe("done");
  });

  it("keeps sending with fewer than 20 attempts", async () => {
    const { mailingId, batches, tag } = await claimedMailing(19);
    await failRcpt([tag]);

    await deliver(batches[0]);

    expect((await mailingRow(mailingId))?.status).toBe("sending");
    expect(await health(mailingId)).toEqual({ attempts: 19, failures: 19 });
  });

  it("keeps sending with fewer than half failed", async () => {
    const { mailingId, batches, emails } = await claimedMailing(40);
    await failRcpt(emails.slice(0, 19));

    await deliver(batches[0]);

    expect((await mailingRow(mailingId))?.status).toBe("sending");
    expect(await health(mailingId)).toEqual({ attempts: 40, failures: 19 });
  });

  it("counts only the current 10-minute window", async () => {
    const { mailingId, batches, emails } = await claimedMailing(30, { batchSize: 15 });
    await failRcpt(emails);
    const start = Date.now();

    await deliver(batches[0], 1, start);
    await deliver(batches[1], 1, start + 11 * 60_000);
    expect((await mailingRow(mailingId))?.status).toBe("sending");
    expect(await health(mailingId)).toEqual({ attempts: 15, failures: 15 });

    await deliver(batches[0], 2, start + 12 * 60_000);
    expect((await mailingRow(mailingId))?.status).toBe("paused");
  });
});
