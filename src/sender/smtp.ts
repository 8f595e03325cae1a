/**
 * SMTP transport over worker-mailer, with messages we build ourselves.
 *
 * worker-mailer (pinned at 1.2.1) owns the connection: greeting, EHLO,
 * STARTTLS, AUTH and one MAIL/RCPT/DATA transaction per message. We hand it
 * finished MIME text instead of its own Email builder, whose header encoder
 * breaks long and non-ASCII subjects, and we classify every outcome by the
 * SMTP step that failed, because that decides whether a retry is safe.
 */
import { Email, LogLevel, WorkerMailer } from "worker-mailer";
import type { SmtpConfig } from "../env";

/** Outcome of one send; `uncertain` means the server may have the message. */
export type SendOutcome =
  | { kind: "sent"; reply: string }
  | { kind: "transient"; code: number | null; reply: string }
  | { kind: "permanent"; code: number; reply: string }
  | { kind: "uncertain"; reply: string };

export interface Envelope {
  /** Return path for bounces (MAIL FROM). */
  from: string;
  to: string;
}

/** A worker-mailer Email whose body is a finished MIME message. */
class RawEmail extends Email {
  /** Set once worker-mailer asks for the body, which it does right after DATA got 354. */
  dataStarted = false;
  /** Set right before the end-of-data line (".") is written; until then nothing can be delivered. */
  endOfDataStarted = false;

  constructor(
    envelope: Envelope,
    private readonly raw: string,
  ) {
    super({ from: envelope.from, to: envelope.to, subject: "", text: " " });
  }

  override getEmailData(): string {
    this.dataStarted = true;

    // SMTP transparency (RFC 5321, 4.5.2): a line that starts with a dot gets
    // a second one, and the message ends with CRLF.CRLF.
    const body = this.raw.endsWith("\r\n") ? this.raw : `${this.raw}\r\n`;
    const stuffed = body.replace(/\r\n\./g, "\r\n..");
    return `${stuffed.startsWith(".") ? `.${stuffed}` : stuffed}.\r\n`;
  }
}

interface MailerInternals {
  emailToBeSent: { enqueue(email: Email): void };
  emailSending: Email | null;
  reader: ReadableStreamDefaultReader<Uint8Array>;
  active: boolean;
  responseTimeoutMs: number;
  write(text: string): Promise<void>;
  readTimeout(): Promise<string>;
}

patchClosedSocketRead();
patchBodyWrite();

/** One SMTP connection, reused for every message of a batch. */
export class SmtpConnection {
  private broken = false;

  private constructor(private readonly mailer: WorkerMailer) {}

  /** Opens a connection and logs in; throws SmtpConnectError with the server's reply. */
  static async open(config: SmtpConfig, timeoutMs = config.timeoutMs): Promise<SmtpConnection> {
    try {
      const mailer = await WorkerMailer.connect({
        host: config.host,
        port: config.port,
        secure: config.security === "tls",
        startTls: config.security === "starttls",
        credentials: config.credentials ?? undefined,
        authType: ["plain", "login"],
        socketTimeoutMs: timeoutMs,
        responseTimeoutMs: timeoutMs,
        // Every outcome is logged once, with its ids, by the sender.
        logLevel: LogLevel.NONE,
      });
      return new SmtpConnection(mailer);
    } catch (error) {
      throw new SmtpConnectError(describe(error), replyCode(describe(error)), { cause: error });
    }
  }

  /** False after a failure that leaves the session in an unknown state. */
  get usable(): boolean {
    return !this.broken && (this.mailer as unknown as MailerInternals).active;
  }

  /** Sends one finished message and reports how it ended; never throws. */
  async send(envelope: Envelope, raw: string): Promise<SendOutcome> {
    const email = new RawEmail(envelope, raw);
    (this.mailer as unknown as MailerInternals).emailToBeSent.enqueue(email);

    try {
      await email.sent;
      return { kind: "sent", reply: "250" };
    } catch (error) {
      const outcome = classifyFailure(describe(error), email.dataStarted, email.endOfDataStarted);
      const connectionLost = outcome.kind === "transient" && outcome.code === null;
      if (outcome.kind === "uncertain" || connectionLost) this.broken = true;
      return outcome;
    }
  }

  async close(): Promise<void> {
    await this.mailer.close().catch(() => undefined);
  }
}

/** The connection could not be opened or the login failed. */
export class SmtpConnectError extends Error {
  constructor(
    message: string,
    readonly code: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "SmtpConnectError";
  }

  /** A 5xx at greeting or login will not fix itself by retrying soon. */
  get permanent(): boolean {
    return this.code !== null && this.code >= 500;
  }
}

/**
 * Sorts a failed send by the step it failed in. worker-mailer's messages
 * name the step ("Invalid RCPT TO: <a> 550 ...", "Failed send email body:
 * 451 ..."); a failure without a reply code is a lost connection or a
 * timeout. Before the end-of-data line was written nothing can have been
 * delivered, so a retry is safe; after it, only an explicit reply tells what
 * happened.
 */
export function classifyFailure(
  message: string,
  dataStarted: boolean,
  endOfDataStarted = dataStarted,
): SendOutcome {
  const code = replyCode(message);
  const reply = message.slice(0, 500);

  // The message text was cut off before its final "." line: the server
  // cannot have accepted it.
  if (dataStarted && !endOfDataStarted) {
    return { kind: "transient", code: null, reply: `message text not completed: ${reply}` };
  }

  if (dataStarted && !message.startsWith("Failed send email body")) {
    return { kind: "uncertain", reply };
  }
  if (dataStarted && code === null) return { kind: "uncertain", reply };

  if (code !== null && code >= 500) return { kind: "permanent", code, reply };
  return { kind: "transient", code, reply };
}

/** Returns the first SMTP reply code (4xx or 5xx) after the command text, or null. */
export function replyCode(message: string): number | null {
  const afterAddress = message.includes(">")
    ? message.slice(message.lastIndexOf(">") + 1)
    : message;
  const match = /(?:^|[\s:])([45]\d\d)(?=[\s-]|$)/.exec(afterAddress);
  return match ? Number(match[1]) : null;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * worker-mailer 1.2.1 reads replies in a loop that skips empty reads, so a
 * socket closed by the server makes it spin until the response timeout. This
 * replacement throws as soon as the stream ends.
 * TODO: drop this patch when worker-mailer reports closed sockets itself.
 */
function patchClosedSocketRead(): void {
  const prototype = WorkerMailer.prototype as unknown as {
    read: (this: MailerInternals) => Promise<string>;
  };
  const decoder = new TextDecoder("utf-8");

  prototype.read = async function read(this: MailerInternals): Promise<string> {
    let response = "";
    for (;;) {
      const { value, done } = await this.reader.read();
      if (done) throw new Error("SMTP connection closed by the server");
      if (!value) continue;

      response += decoder.decode(value, { stream: true });
      if (!response.endsWith("\n")) continue;

      // A multi-line reply ends with the line whose code is followed by a space.
      const lines = response.split(/\r?\n/);
      const last = lines[lines.length - 2];
      if (!/^\d{3}-/.test(last)) return response;
    }
  };
}

/**
 * Replaces worker-mailer's body step, which writes the message and the
 * end-of-data line in one write with no timeout. Writing them separately
 * tells a connection lost while the text was still being written (nothing
 * delivered, safe to retry) from one lost after the end-of-data line (the
 * message may have been delivered). Both writes get the response timeout, so
 * a server that stops reading cannot hang the sender.
 */
function patchBodyWrite(): void {
  const prototype = WorkerMailer.prototype as unknown as {
    body: (this: MailerInternals) => Promise<void>;
  };
  const original = prototype.body;

  prototype.body = async function body(this: MailerInternals): Promise<void> {
    const email = this.emailSending;
    if (!(email instanceof RawEmail)) return original.call(this);

    // getEmailData ends with the end-of-data line ".\r\n" after a CRLF.
    const data = email.getEmailData();
    const text = data.slice(0, -3);
    await withTimeout(this.write(text), this.responseTimeoutMs, "writing the message text");

    email.endOfDataStarted = true;
    await withTimeout(this.write(".\r\n"), this.responseTimeoutMs, "writing the end of data");

    const reply = await this.readTimeout();
    if (!reply.startsWith("2")) throw new Error(`Failed send email body: ${reply}`);
  };
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, step: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timeout after ${timeoutMs} ms while ${step}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
