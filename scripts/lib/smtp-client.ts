/**
 * A minimal SMTP client over one TCP connection, for measuring what a single
 * connection to a local server can carry. It waits for the reply to every
 * command before sending the next (no PIPELINING), as the Worker's sender
 * does. It supports neither TLS nor AUTH, so it is for loopback servers only.
 */
import { connect, type Socket } from "node:net";

/** A reply with a code other than the expected one. */
export class SmtpReplyError extends Error {
  constructor(
    readonly command: string,
    readonly code: number,
    readonly reply: string,
  ) {
    super(`SMTP ${command} failed: the server replied ${reply}`);
    this.name = "SmtpReplyError";
  }
}

interface Waiter {
  resolve(reply: { code: number; text: string }): void;
  reject(error: Error): void;
}

export class SmtpClient {
  private buffer = "";
  private lines: string[] = [];
  private readonly waiters: Waiter[] = [];
  private failure: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding("utf8");
    socket.setNoDelay(true);
    socket.on("data", (chunk: string) => this.onData(chunk));
    socket.on("error", (error) => this.fail(error));
    socket.on("close", () => this.fail(new Error("SMTP connection closed by the server")));
  }

  /** Connects, reads the greeting and sends EHLO. */
  static async connect(host: string, port: number): Promise<SmtpClient> {
    const socket = connect({ host, port });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });

    const client = new SmtpClient(socket);
    await client.expect("greeting", 220);
    await client.command("EHLO localhost", 250);
    return client;
  }

  /** Sends one message in one MAIL, RCPT, DATA transaction and resolves on the final 250. */
  async send(from: string, to: string[], raw: string): Promise<void> {
    await this.command(`MAIL FROM:<${from}>`, 250);
    for (const recipient of to) await this.command(`RCPT TO:<${recipient}>`, 250);
    await this.command("DATA", 354);

    // SMTP transparency (RFC 5321, 4.5.2): a line that starts with a dot gets a second one.
    const body = raw.endsWith("\r\n") ? raw : `${raw}\r\n`;
    const stuffed = body.replace(/\r\n\./g, "\r\n..");
    this.socket.write(`${stuffed.startsWith(".") ? "." : ""}${stuffed}.\r\n`);
    await this.expect("end of data", 250);
  }

  /** Sends QUIT and closes the connection. */
  async quit(): Promise<void> {
    try {
      await this.command("QUIT", 221);
    } finally {
      this.socket.destroy();
    }
  }

  private async command(line: string, code: number): Promise<void> {
    this.socket.write(`${line}\r\n`);
    await this.expect(line.split(" ")[0], code);
  }

  private async expect(command: string, code: number): Promise<void> {
    const reply = await this.nextReply();
    if (reply.code !== code) throw new SmtpReplyError(command, reply.code, reply.text);
  }

  private nextReply(): Promise<{ code: number; text: string }> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  // A reply is one or more lines "ddd-text" ending with a line "ddd text".
  private onData(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf("\r\n")) >= 0) {
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      this.lines.push(line);
      if (line.length >= 4 && line[3] === "-") continue;

      const text = this.lines.join("\n");
      this.lines = [];
      this.waiters.shift()?.resolve({ code: Number(line.slice(0, 3)), text });
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }
}
