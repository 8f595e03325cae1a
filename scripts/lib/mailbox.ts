/**
 * A local SMTP server that keeps every message it accepts, for `npm start`,
 * the demo, the benchmarks and the tests. It listens on loopback only.
 *
 * Besides SMTP it serves a small HTTP control API on loopback, so tests that
 * run inside workerd (which cannot share memory with Node) can read what was
 * received and inject faults:
 *
 *   GET    /messages           every accepted message: { id, from, to, raw }
 *   DELETE /messages           forget them
 *   PUT    /faults             replace the Fault rules with a JSON list
 *   POST   /faults             append a JSON list of Fault rules
 *   DELETE /faults?match=TEXT  remove the rules with that match
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { SMTPServer, type SMTPServerSession } from "smtp-server";
import type { Fault, ReceivedMessage } from "./mailbox-types";

export type { Fault, ReceivedMessage } from "./mailbox-types";

export interface MailboxOptions {
  port?: number;
  controlPort?: number;
  /** Folder where every message is also saved as `<id>.eml`. */
  dir?: string;
  /** Require AUTH PLAIN/LOGIN with these credentials. */
  auth?: { username: string; password: string };
  /** Print one line per accepted message. */
  logMessages?: boolean;
  /** Decides faults instead of the rule list, e.g. a seeded random chaos source. */
  decideFault?: (stage: Fault["stage"], recipient: string) => Fault | null;
}

export interface Mailbox {
  port: number;
  controlPort: number;
  messages: ReceivedMessage[];
  faults: Fault[];
  close(): Promise<void>;
}

/** Starts the SMTP server and its control API; resolves once both listen. */
export async function startMailbox(options: MailboxOptions = {}): Promise<Mailbox> {
  const messages: ReceivedMessage[] = [];
  const faults: Fault[] = [];
  if (options.dir) mkdirSync(options.dir, { recursive: true });

  const pickFault = (stage: Fault["stage"], recipient: string): Fault | null => {
    if (options.decideFault) return options.decideFault(stage, recipient);

    const index = faults.findIndex(
      (fault) => fault.stage === stage && (!fault.match || recipient.includes(fault.match)),
    );
    if (index < 0) return null;

    const fault = faults[index];
    if (fault.times !== undefined && --fault.times <= 0) faults.splice(index, 1);
    return fault;
  };

  const smtp = new SMTPServer({
    secure: false,
    disabledCommands: options.auth ? ["STARTTLS"] : ["AUTH", "STARTTLS"],
    authMethods: ["PLAIN", "LOGIN"],
    allowInsecureAuth: true,
    banner: "Trickle local mailbox",
    size: 50 * 1024 * 1024,
    logger: false,
    // A reverse DNS lookup per connection costs about 100 ms and would query
    // the system resolver, which is not on loopback.
    disableReverseLookup: true,

    onConnect(_session, callback) {
      const fault = pickFault("connect", "");
      if (!fault) return callback();
      delayed(fault, () =>
        callback(smtpError(fault.code, fault.message ?? "Service not available, try later")),
      );
    },

    onAuth(auth, _session, callback) {
      const expected = options.auth;
      if (expected && auth.username === expected.username && auth.password === expected.password) {
        return callback(null, { user: auth.username });
      }
      callback(smtpError(535, "Authentication credentials invalid"));
    },

    onRcptTo(address, _session, callback) {
      const fault = pickFault("rcpt", address.address);
      if (!fault) return callback();
      delayed(fault, () =>
        callback(smtpError(fault.code, fault.message ?? `Recipient ${address.address} rejected`)),
      );
    },

    onData(stream, session, callback) {
      const recipient = session.envelope.rcptTo.map((rcpt) => rcpt.address).join(",");
      // smtp-server calls onData before it sends the 354 reply, so a drop
      // here means the client never starts the message text.
      if (pickFault("data-start", recipient)) return dropConnection(smtp, session);

      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const dataFault = pickFault("data", recipient);
        if (dataFault) return answerFault(smtp, dataFault, session, callback, "Message rejected");

        const message = accept(session, Buffer.concat(chunks).toString("utf8"));
        const afterFault = pickFault("after-data", recipient);
        if (afterFault) return answerFault(smtp, afterFault, session, callback, "Lost after data");

        callback(null, `Message ${message.id} accepted`);
      });
    },
  });

  const accept = (session: SMTPServerSession, raw: string): ReceivedMessage => {
    const message: ReceivedMessage = {
      id: messages.length + 1,
      from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
      to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
      raw,
      receivedAt: Date.now(),
    };
    messages.push(message);

    if (options.dir) {
      const name = `${String(message.id).padStart(6, "0")}.eml`;
      writeFileSync(join(options.dir, name), raw);
    }
    if (options.logMessages) {
      console.log(
        `mailbox: message ${message.id} to ${message.to.join(", ")} (${raw.length} bytes)`,
      );
    }
    return message;
  };

  const port = await listenSmtp(smtp, options.port ?? 0);
  const control = createControlServer(messages, faults);
  const controlPort = await listenHttp(control, options.controlPort ?? 0);

  return {
    port,
    controlPort,
    messages,
    faults,
    async close() {
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
      await new Promise<void>((resolve) => control.close(() => resolve()));
    },
  };
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

function delayed(fault: Fault, answer: () => void): void {
  if (fault.delayMs) setTimeout(answer, fault.delayMs);
  else answer();
}

/**
 * Replies to a DATA fault: code 0 destroys the socket so the client never sees
 * a reply, which is the case where the outcome of a send is unknown.
 */
function answerFault(
  server: SMTPServer,
  fault: Fault,
  session: SMTPServerSession,
  callback: (error?: Error | null, message?: string) => void,
  text: string,
): void {
  delayed(fault, () => {
    if (fault.code !== 0) return callback(smtpError(fault.code, fault.message ?? text));
    dropConnection(server, session);
  });
}

function dropConnection(server: SMTPServer, session: SMTPServerSession): void {
  // smtp-server keeps sockets on its connection objects, not on the session.
  const connections = (server as unknown as { connections: Set<SmtpConnection> }).connections;
  for (const connection of connections) {
    if (connection.session?.id === session.id) connection._socket.destroy();
  }
}

interface SmtpConnection {
  session?: { id: string };
  _socket: { destroy(): void };
}

function listenSmtp(server: SMTPServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const inner = (server as unknown as { server: Server }).server;
    server.on("error", reject);
    server.listen(port, "127.0.0.1", () => {
      resolve((inner.address() as AddressInfo).port);
    });
  });
}

function createControlServer(messages: ReceivedMessage[], faults: Fault[]): Server {
  return createServer(async (request, response) => {
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };

    if (request.url === "/messages" && request.method === "GET") return send(200, messages);
    if (request.url === "/messages" && request.method === "DELETE") {
      messages.length = 0;
      return send(200, { ok: true });
    }
    const url = new URL(request.url ?? "/", "http://mailbox");
    if (url.pathname === "/faults" && (request.method === "PUT" || request.method === "POST")) {
      const rules = JSON.parse(await readBody(request)) as Fault[];
      if (request.method === "PUT") faults.length = 0;
      faults.push(...rules);
      return send(200, { ok: true, faults: faults.length });
    }
    if (url.pathname === "/faults" && request.method === "DELETE") {
      const match = url.searchParams.get("match");
      const kept = faults.filter((fault) => match !== null && fault.match !== match);
      faults.splice(0, faults.length, ...kept);
      return send(200, { ok: true, faults: faults.length });
    }
    send(404, { error: `No control route ${request.method} ${request.url}` });
  });
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => resolve(body));
    request.on("error", reject);
  });
}

function listenHttp(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.on("error", reject);
    server.listen(port, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}
