/** Types shared by the mailbox server and the tests that read it over HTTP. */

export interface ReceivedMessage {
  /** Sequence number in order of acceptance, starting at 1. */
  id: number;
  from: string;
  to: string[];
  raw: string;
  receivedAt: number;
}

/**
 * One injected fault. `stage` picks the SMTP step; `match` limits it to
 * recipients containing that text; `times` limits how often it fires.
 * `data-start` drops the connection when the DATA command arrives, before
 * the 354 reply, so no message text is sent. Its `code` and `delayMs` are
 * ignored.
 */
export interface Fault {
  stage: "connect" | "rcpt" | "data-start" | "data" | "after-data";
  /** SMTP reply code to reply with; for `data` and `after-data` 0 drops the connection. */
  code: number;
  match?: string;
  times?: number;
  /** Milliseconds to wait before replying (slow server). */
  delayMs?: number;
  /** Reply text after the code, such as "5.1.1 User unknown"; each stage has a default. */
  message?: string;
}
