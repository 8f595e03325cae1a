/**
 * Starts the loopback mailbox (SMTP plus its HTTP control API) once for the
 * whole run; tests inside workerd reach it through the injected ports.
 */
import type { TestProject } from "vitest/node";
import { startChaosMailbox } from "../scripts/lib/chaos-mailbox";
import { startMailbox, type Mailbox } from "../scripts/lib/mailbox";

let mailbox: Mailbox | undefined;
// Two more mailboxes for test/worker/delivery: one whose faults follow the
// seeded chaos plan, and one whose greeting faults no other test file meets.
let chaosMailbox: Mailbox | undefined;
let faultMailbox: Mailbox | undefined;

export async function setup(project: TestProject): Promise<void> {
  mailbox = await startMailbox({ port: Number(process.env.TRICKLE_TEST_SMTP_PORT) || 0 });
  project.provide("smtpPort", mailbox.port);
  project.provide("mailboxControlPort", mailbox.controlPort);

  const chaos = await startChaosMailbox(process.env);
  chaosMailbox = chaos.mailbox;
  project.provide("chaos", chaos.info);
  faultMailbox = await startMailbox();
  project.provide("faultMailbox", {
    smtpPort: faultMailbox.port,
    controlPort: faultMailbox.controlPort,
  });
}

export async function teardown(): Promise<void> {
  await mailbox?.close();
  await chaosMailbox?.close();
  await faultMailbox?.close();
}
