/**
 * The mailbox of a chaos run: the loopback mailbox with its faults decided
 * by the seeded fault plan instead of a rule list. The vitest global setup
 * starts it, and `npm run chaos` chooses its seed through the environment.
 */
import { chaosFaultSource, chaosSettingsFrom, type ChaosMailboxInfo } from "./chaos-faults";
import { startMailbox, type Mailbox } from "./mailbox";

/** Starts a chaos mailbox on free loopback ports, seeded from TRICKLE_CHAOS_SEED. */
export async function startChaosMailbox(
  environment: Record<string, string | undefined> = process.env,
): Promise<{ mailbox: Mailbox; info: ChaosMailboxInfo }> {
  const settings = chaosSettingsFrom(environment);
  const mailbox = await startMailbox({ decideFault: chaosFaultSource(settings.seed) });
  return {
    mailbox,
    info: { ...settings, smtpPort: mailbox.port, controlPort: mailbox.controlPort },
  };
}
