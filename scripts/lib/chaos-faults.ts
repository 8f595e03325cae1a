/**
 * The fault plan of `npm run chaos`: which SMTP fault the loopback mailbox
 * injects at each step, decided by a PRNG seeded with the run's seed.
 *
 * Each decision is a pure function of (seed, stage, recipient, how often
 * that stage was reached for that recipient), so a recipient meets the same
 * faults in the same order whatever the order in which concurrent consumers
 * reach the server. Only the greeting, which comes before any recipient, is
 * keyed by the connection's sequence number instead.
 *
 * This file imports nothing from Node, so the workerd chaos test can read
 * the timing constants and settings from it too.
 */
import type { Fault } from "./mailbox-types";

/** SMTP reply timeout the chaos consumers use, in milliseconds. */
export const CHAOS_TIMEOUT_MS = 400;
/** How long a slow reply takes: well past the timeout. */
export const CHAOS_SLOW_MS = 1200;

/** Settings of one chaos run, from the environment of the vitest process. */
export interface ChaosSettings {
  seed: number;
  recipients: number;
}

/** Ports and settings the workerd chaos test needs to reach the chaos mailbox and repeat the run. */
export interface ChaosMailboxInfo extends ChaosSettings {
  smtpPort: number;
  controlPort: number;
}

export const DEFAULT_CHAOS_SETTINGS: ChaosSettings = { seed: 1, recipients: 200 };

/** One entry of the plan: the probability of a fault at a stage. */
interface PlannedFault {
  probability: number;
  fault: Omit<Fault, "match" | "times">;
  /** Expected outcome at the sender, as documentation of the plan. */
  expect: string;
}

/**
 * Per-stage faults with their probabilities; whatever is left of 1 is a
 * normal reply. The 550 replies `5.1.1 User unknown`, which the sender takes
 * as a hard bounce.
 */
export const CHAOS_PLAN: Record<Fault["stage"], PlannedFault[]> = {
  connect: [
    { probability: 0.03, fault: { stage: "connect", code: 421 }, expect: "retried" },
    {
      probability: 0.01,
      fault: { stage: "connect", code: 421, delayMs: CHAOS_SLOW_MS },
      expect: "timeout, retried",
    },
  ],
  rcpt: [
    { probability: 0.04, fault: { stage: "rcpt", code: 451 }, expect: "retried" },
    {
      probability: 0.01,
      fault: { stage: "rcpt", code: 550, message: "5.1.1 User unknown" },
      expect: "failed, bounced",
    },
    {
      probability: 0.01,
      fault: { stage: "rcpt", code: 554, message: "5.7.1 Relay access denied" },
      expect: "failed",
    },
    {
      probability: 0.01,
      fault: { stage: "rcpt", code: 451, delayMs: CHAOS_SLOW_MS },
      expect: "timeout, retried",
    },
  ],
  "data-start": [{ probability: 0.01, fault: { stage: "data-start", code: 0 }, expect: "retried" }],
  data: [
    { probability: 0.015, fault: { stage: "data", code: 554 }, expect: "failed" },
    { probability: 0.01, fault: { stage: "data", code: 451 }, expect: "retried" },
    { probability: 0.01, fault: { stage: "data", code: 0 }, expect: "uncertain, not received" },
  ],
  "after-data": [
    { probability: 0.015, fault: { stage: "after-data", code: 0 }, expect: "uncertain, received" },
    {
      probability: 0.01,
      fault: { stage: "after-data", code: 0, delayMs: CHAOS_SLOW_MS },
      expect: "timeout, uncertain, received",
    },
  ],
};

/** Reads TRICKLE_CHAOS_SEED and TRICKLE_CHAOS_RECIPIENTS; throws on invalid values. */
export function chaosSettingsFrom(environment: Record<string, string | undefined>): ChaosSettings {
  return {
    seed: readWholeNumber(environment, "TRICKLE_CHAOS_SEED", DEFAULT_CHAOS_SETTINGS.seed, 0),
    recipients: readWholeNumber(
      environment,
      "TRICKLE_CHAOS_RECIPIENTS",
      DEFAULT_CHAOS_SETTINGS.recipients,
      1,
    ),
  };
}

/** Creates a `decideFault` function for the mailbox, driven by the seed. */
export function chaosFaultSource(seed: number) {
  const reached = new Map<string, number>();
  let connections = 0;

  return function decideFault(stage: Fault["stage"], recipient: string): Fault | null {
    const key = stage === "connect" ? `connect#${connections++}` : `${stage}|${recipient}`;
    const count = reached.get(key) ?? 0;
    reached.set(key, count + 1);

    let roll = unitHash(seed, `${key}|${count}`);
    for (const planned of CHAOS_PLAN[stage]) {
      if (roll < planned.probability) return { ...planned.fault };
      roll -= planned.probability;
    }
    return null;
  };
}

/**
 * A number in [0, 1) from the seed and a key: FNV-1a over the key, then the
 * mulberry32 output function, so nearby keys give unrelated numbers.
 */
export function unitHash(seed: number, key: string): number {
  let hash = 0x811c9dc5 ^ seed;
  for (let index = 0; index < key.length; index++) {
    hash = Math.imul(hash ^ key.charCodeAt(index), 0x01000193);
  }

  let t = (hash + 0x6d2b79f5) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function readWholeNumber(
  environment: Record<string, string | undefined>,
  name: string,
  fallback: number,
  min: number,
): number {
  const value = environment[name];
  if (value === undefined || value === "") return fallback;

  const number = Number(value);
  if (!Number.isInteger(number) || number < min) {
    throw new Error(`${name} "${value}" is invalid; expected a whole number of at least ${min}.`);
  }
  return number;
}
