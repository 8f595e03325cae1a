/**
 * Starts the loopback mailbox (SMTP plus its HTTP control API) once for the
 * whole run; tests inside workerd reach it through the injected ports.
 */
import type { TestProject } from "vitest/node";
import { startMailbox, type Mailbox } from "../scripts/lib/mailbox";

let mailbox: Mailbox | undefined;

export async function setup(project: TestProject): Promise<void> {
  mailbox = await startMailbox({ port: Number(process.env.TRICKLE_TEST_SMTP_PORT) || 0 });
  project.provide("smtpPort", mailbox.port);
  project.provide("mailboxControlPort", mailbox.controlPort);
}

export async function teardown(): Promise<void> {
  await mailbox?.close();
}
