/**
 * Bounces and complaints: parsing of real-shaped reports, the `email`
 * handler that records them, and the signed webhook.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { parseReport } from "../../../src/bounces/report";
import worker from "../../../src/index";
import { buildArf, buildDsn, headerSection, inboundEmail } from "./reports";
import { claimedMailing, consume, deliveryRows, MailboxControl, subscriberStatus } from "./support";

const mailbox = MailboxControl.shared();
const BOUNCE_DOMAIN = "bounce.example.net";
const WEBHOOK_SECRET = "test-webhook-secret-5b1e";

/** Sends a one-batch mailing through the shared mailbox; returns the messages as received. */
async function sentMailing(count: number, overrides: Record<string, string> = {}) {
  const mailing = await claimedMailing(count);
  await consume("trickle-send", mailing.batches[0], 1, overrides);
  const received = await mailbox.receivedFor(mailing.emails);
  const rows = await deliveryRows(mailing.mailingId);
  return { ...mailing, received, rows };
}

async function receiveEmail(raw: string, envelope: { from: string; to: string }, extra = {}) {
  const { message } = inboundEmail(raw, envelope);
  await worker.email(message as unknown as ForwardableEmailMessage, { ...env, ...extra });
}

async function bounceRows(subscriberId: number) {
  const { results } = await env.DB.prepare(
    "SELECT kind, source, email, status, matched_by, delivery_id FROM bounces WHERE subscriber_id = ? ORDER BY id",
  )
    .bind(subscriberId)
    .all();
  return results;
}

async function unmatchedBounces(email: string) {
  const { results } = await env.DB.prepare(
    "SELECT kind, matched_by, subscriber_id FROM bounces WHERE email = ? ORDER BY id",
  )
    .bind(email)
    .all();
  return results;
}

describe("report parsing", () => {
  it("reads each recipient of a delivery status notification", async () => {
    const raw = buildDsn({
      to: "newsletter@example.com",
      recipient: "gone@example.org",
      status: "5.1.1",
      original: {
        kind: "headers",
        text: "Message-ID: <d12.m3@example.com>\r\nTo: Gone <gone@example.org>",
      },
    });

    const report = await parseReport(raw);

    expect(report).toEqual({
      type: "bounce",
      recipients: [
        {
          address: "gone@example.org",
          action: "failed",
          status: "5.1.1",
          diagnostic: "550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown",
        },
      ],
      feedbackType: null,
      original: { messageId: "d12.m3@example.com", returnPath: null, to: ["gone@example.org"] },
    });
  });

  it("reads the original message of a whole returned message", async () => {
    const original = [
      "Return-Path: <bounces+12-0123456789@bounce.example.net>",
      "Message-ID: <d12.m3@example.com>",
      "To: gone@example.org",
      "Subject: Spring sale",
      "",
      "Hello",
    ].join("\r\n");
    const raw = buildDsn({
      to: "bounces+12-0123456789@bounce.example.net",
      recipient: "gone@example.org",
      status: "4.2.2",
      action: "delayed",
      original: { kind: "message", text: original },
    });

    const report = await parseReport(raw);

    expect(report?.recipients.map((recipient) => [recipient.action, recipient.status])).toEqual([
      ["delayed", "4.2.2"],
    ]);
    expect(report?.original).toEqual({
      messageId: "d12.m3@example.com",
      returnPath: "bounces+12-0123456789@bounce.example.net",
      to: ["gone@example.org"],
    });
  });

  it("reads a feedback report as a complaint", async () => {
    const raw = buildArf({
      to: "fbl@example.com",
      originalRecipient: "Angry@Example.org",
      originalMailFrom: "bounces+7-aaaaaaaaaa@bounce.example.net",
      originalHeaders: "Message-ID: <d7.m2@example.com>\r\nTo: angry@example.org",
    });

    const report = await parseReport(raw);

    expect(report?.type).toBe("complaint");
    expect(report?.feedbackType).toBe("abuse");
    expect(report?.recipients.map((recipient) => recipient.address)).toEqual(["angry@example.org"]);
    expect(report?.original.returnPath).toBe("bounces+7-aaaaaaaaaa@bounce.example.net");
  });

  it("returns null for an ordinary message", async () => {
    const raw =
      "From: a@example.org\r\nTo: b@example.com\r\nSubject: Hi\r\n\r\nJust saying hello.\r\n";

    expect(await parseReport(raw)).toBeNull();
  });
});

describe("email handler", () => {
  it("hard bounce to the VERP return path bounces the subscriber", async () => {
    const { received, rows, subscribers } = await sentMailing(2, { BOUNCE_DOMAIN });
    const returnPath = received.find((message) => message.to[0] === rows[0].email)!.from;
    expect(returnPath).toMatch(
      new RegExp(`^bounces\\+${rows[0].id}-[0-9a-f]{10}@${BOUNCE_DOMAIN}$`),
    );

    const raw = buildDsn({ to: returnPath, recipient: rows[0].email, status: "5.1.1" });
    await receiveEmail(
      raw,
      { from: "MAILER-DAEMON@mx.example.org", to: returnPath },
      { BOUNCE_DOMAIN },
    );

    expect(await subscriberStatus(subscribers[0].id)).toBe("bounced");
    expect(await subscriberStatus(subscribers[1].id)).toBe("active");
    expect(await bounceRows(subscribers[0].id)).toEqual([
      {
        kind: "hard",
        source: "email",
        email: rows[0].email,
        status: "5.1.1",
        matched_by: "verp",
        delivery_id: rows[0].id,
      },
    ]);
  });

  it("hard bounce is matched by Message-ID and address", async () => {
    const { received, rows, subscribers } = await sentMailing(1);
    const original = received[0].raw;
    expect(received[0].from).toBe("newsletter@example.com");

    const raw = buildDsn({
      to: "newsletter@example.com",
      recipient: rows[0].email,
      status: "5.1.1",
      original: { kind: "headers", text: headerSection(original) },
    });
    await receiveEmail(raw, { from: "MAILER-DAEMON@mx.example.org", to: "newsletter@example.com" });

    expect(await subscriberStatus(subscribers[0].id)).toBe("bounced");
    const [bounce] = await bounceRows(subscribers[0].id);
    expect(bounce.matched_by).toBe("message_id");
    expect(bounce.delivery_id).toBe(rows[0].id);
  });

  it("Message-ID naming another address suppresses nobody", async () => {
    const { received, subscribers } = await sentMailing(1);

    const raw = buildDsn({
      to: "newsletter@example.com",
      recipient: "someone-else@example.org",
      status: "5.1.1",
      original: { kind: "headers", text: headerSection(received[0].raw) },
    });
    await receiveEmail(raw, { from: "MAILER-DAEMON@mx.example.org", to: "newsletter@example.com" });

    expect(await subscriberStatus(subscribers[0].id)).toBe("active");
    expect(await unmatchedBounces("someone-else@example.org")).toEqual([
      { kind: "hard", matched_by: null, subscriber_id: null },
    ]);
  });

  it("forged VERP tag suppresses nobody", async () => {
    const { rows, subscribers } = await sentMailing(1, { BOUNCE_DOMAIN });
    const forged = `bounces+${rows[0].id}-0000000000@${BOUNCE_DOMAIN}`;

    const raw = buildDsn({ to: forged, recipient: rows[0].email, status: "5.1.1" });
    await receiveEmail(
      raw,
      { from: "MAILER-DAEMON@mx.example.org", to: forged },
      { BOUNCE_DOMAIN },
    );

    expect(await subscriberStatus(subscribers[0].id)).toBe("active");
    expect(await bounceRows(subscribers[0].id)).toEqual([]);
  });

  it("soft bounce is recorded only", async () => {
    const { received, rows, subscribers } = await sentMailing(1, { BOUNCE_DOMAIN });
    const returnPath = received[0].from;

    const raw = buildDsn({
      to: returnPath,
      recipient: rows[0].email,
      status: "4.2.2",
      action: "delayed",
      diagnostic: "smtp; 452 4.2.2 Mailbox full",
    });
    await receiveEmail(
      raw,
      { from: "MAILER-DAEMON@mx.example.org", to: returnPath },
      { BOUNCE_DOMAIN },
    );

    expect(await subscriberStatus(subscribers[0].id)).toBe("active");
    const [bounce] = await bounceRows(subscribers[0].id);
    expect(bounce.kind).toBe("soft");
    expect(bounce.status).toBe("4.2.2");
  });

  it("feedback report marks the subscriber complained", async () => {
    const { received, rows, subscribers } = await sentMailing(1, { BOUNCE_DOMAIN });

    // The feedback loop redacts the recipient but quotes the return path.
    const raw = buildArf({
      to: "fbl@example.com",
      originalMailFrom: received[0].from,
      originalHeaders: headerSection(received[0].raw),
    });
    await receiveEmail(
      raw,
      { from: "feedback@fbl.example.org", to: "fbl@example.com" },
      { BOUNCE_DOMAIN },
    );

    expect(await subscriberStatus(subscribers[0].id)).toBe("complained");
    const [complaint] = await bounceRows(subscribers[0].id);
    expect(complaint).toMatchObject({
      kind: "complaint",
      matched_by: "verp",
      delivery_id: rows[0].id,
    });
  });

  it("ignores an ordinary message", async () => {
    const raw =
      "From: a@example.org\r\nTo: bounces@bounce.example.net\r\nSubject: Hi\r\n\r\nHello.\r\n";

    await receiveEmail(raw, { from: "a@example.org", to: "bounces@bounce.example.net" });

    expect(await unmatchedBounces("a@example.org")).toEqual([]);
  });
});

describe("bounce webhook", () => {
  async function hex(data: string) {
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(WEBHOOK_SECRET),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(data));
    return [...new Uint8Array(mac)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  }

  async function post(
    body: string,
    signature?: string | null,
    secret: string | undefined = WEBHOOK_SECRET,
  ) {
    const headers: Record<string, string> = { "content-type": "application/json" };
    const value = signature === undefined ? `sha256=${await hex(body)}` : signature;
    if (value !== null) headers["x-trickle-signature"] = value;
    const request = new Request("https://t.example.net/hooks/bounces", {
      method: "POST",
      headers,
      body,
    });
    const response = await worker.fetch(
      request,
      { ...env, WEBHOOK_SECRET: secret },
      createExecutionContext(),
    );
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }

  it("hard bounce by Message-ID bounces the subscriber", async () => {
    const { rows, subscribers } = await sentMailing(1);
    const body = JSON.stringify({
      type: "bounce",
      email: rows[0].email,
      messageId: `<${rows[0].message_id}>`,
      status: "5.1.1",
      diagnostic: "550 5.1.1 user unknown",
    });

    const response = await post(body);

    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body.bounce).toMatchObject({
      kind: "hard",
      matchedBy: "message_id",
      deliveryId: rows[0].id,
      suppressedAs: "bounced",
    });
    expect(await subscriberStatus(subscribers[0].id)).toBe("bounced");
  });

  it("complaint by address marks the subscriber complained", async () => {
    const { subscribers, emails } = await claimedMailing(1);

    const response = await post(
      JSON.stringify({ type: "complaint", email: emails[0].toUpperCase() }),
    );

    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body.bounce).toMatchObject({ kind: "complaint", matchedBy: "email" });
    expect(await subscriberStatus(subscribers[0].id)).toBe("complained");
  });

  it("soft bounce is recorded only", async () => {
    const { subscribers, emails } = await claimedMailing(1);

    const response = await post(
      JSON.stringify({ type: "bounce", email: emails[0], status: "4.2.2" }),
    );

    expect(response.body.bounce).toMatchObject({ kind: "soft", suppressedAs: null });
    expect(await subscriberStatus(subscribers[0].id)).toBe("active");
  });

  it.each([
    ["missing", null],
    ["malformed", "sha256=xyz"],
    ["for another body", "sha256=" + "0".repeat(64)],
  ])("rejects a %s signature with 401", async (_name, signature) => {
    const { subscribers, emails } = await claimedMailing(1);

    const response = await post(JSON.stringify({ type: "complaint", email: emails[0] }), signature);

    expect(response.status).toBe(401);
    expect(response.body.errors[0].code).toBe("signature_invalid");
    expect(await subscriberStatus(subscribers[0].id)).toBe("active");
  });

  it.each([
    ["email", { type: "bounce" }],
    ["email", { type: "bounce", email: "not an address" }],
    ["type", { type: "unsubscribe", email: "a@example.org" }],
    ["status", { type: "bounce", email: "a@example.org", status: "550" }],
  ])("rejects a body with a bad %s with 400", async (field, payload) => {
    const response = await post(JSON.stringify(payload));

    expect(response.status).toBe(400);
    expect(
      response.body.errors[0].details.map((detail: { field: string }) => detail.field),
    ).toContain(field);
    expect(response.body.errors[0].message).toContain(field);
  });

  it("rejects a body that is not JSON with 400", async () => {
    const response = await post("{ not json");

    expect(response.status).toBe(400);
    expect(response.body.errors[0].code).toBe("invalid_json");
  });

  it("answers 404 naming WEBHOOK_SECRET when it is not set", async () => {
    const { subscribers, emails } = await claimedMailing(1);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    const body = JSON.stringify({ type: "complaint", email: emails[0] });

    try {
      const first = await post(body, undefined, "");
      const second = await post(body, undefined, "");

      for (const response of [first, second]) {
        expect(response.status).toBe(404);
        expect(response.body.errors[0].code).toBe("webhook_not_configured");
        expect(response.body.errors[0].message).toContain("not configured");
        expect(response.body.errors[0].message).toContain("wrangler secret put WEBHOOK_SECRET");
      }
      expect(errors).not.toHaveBeenCalled();
      expect(warnings.mock.calls.length).toBeLessThanOrEqual(1);
      expect(await subscriberStatus(subscribers[0].id)).toBe("active");
    } finally {
      errors.mockRestore();
      warnings.mockRestore();
    }
  });
});
