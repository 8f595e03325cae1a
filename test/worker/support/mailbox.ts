/**
 * Access from workerd tests to the loopback mailbox started by the global
 * setup, through its HTTP control API.
 */
import { inject } from "vitest";
import type { Fault, ReceivedMessage } from "../../../scripts/lib/mailbox-types";

const controlUrl = () => `http://127.0.0.1:${inject("mailboxControlPort")}`;

/** Messages received so far whose recipients include one of `addresses`. */
export async function receivedFor(addresses: string[]): Promise<ReceivedMessage[]> {
  const wanted = new Set(addresses.map((address) => address.toLowerCase()));
  const response = await fetch(`${controlUrl()}/messages`);
  const messages = (await response.json()) as ReceivedMessage[];
  return messages.filter((message) => message.to.some((to) => wanted.has(to.toLowerCase())));
}

/**
 * Adds fault rules to the mailbox. Tests run in parallel against one
 * mailbox, so every rule must `match` addresses unique to its test.
 */
export async function addFaults(faults: Fault[]): Promise<void> {
  for (const fault of faults) {
    if (!fault.match)
      throw new Error("Every fault rule needs a match so parallel tests do not collide.");
  }
  await fetch(`${controlUrl()}/faults`, { method: "POST", body: JSON.stringify(faults) });
}

/** Removes the fault rules added with this match. */
export async function clearFaults(match: string): Promise<void> {
  await fetch(`${controlUrl()}/faults?match=${encodeURIComponent(match)}`, { method: "DELETE" });
}

/** Polls until `check` returns true or the timeout passes. */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
  what = "condition",
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
}
