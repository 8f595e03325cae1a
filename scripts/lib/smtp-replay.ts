/**
 * Sends finished messages to a local SMTP server over one connection from a
 * separate Node process, and measures how long that takes.
 *
 * The sender runs in its own process so that the server's event loop and the
 * client's do not take turns on one thread, the same arrangement as workerd
 * sending to the mailbox. The parent passes the messages over the IPC
 * channel before the clock starts.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SmtpClient } from "./smtp-client.ts";

/** A message to send again: envelope and raw RFC 5322 text. */
export interface ReplayMessage {
  from: string;
  to: string[];
  raw: string;
}

type ParentMessage = { type: "message"; message: ReplayMessage } | { type: "start"; port: number };
type ChildMessage = { type: "done"; seconds: number } | { type: "failed"; error: string };

/**
 * Forks a Node process that sends `messages` to 127.0.0.1:`port` over one
 * connection. Returns the seconds from connecting to the reply to QUIT,
 * measured in that process.
 */
export async function replayInChildProcess(
  port: number,
  messages: ReplayMessage[],
): Promise<{ seconds: number }> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, TRICKLE_SMTP_REPLAY_CHILD: "1" },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });

  const result = new Promise<{ seconds: number }>((resolve, reject) => {
    child.on("message", (reply: ChildMessage) => {
      if (reply.type === "done") resolve({ seconds: reply.seconds });
      else reject(new Error(`SMTP replay failed: ${reply.error}`));
    });
    child.on("exit", (code) => reject(new Error(`SMTP replay process exited with code ${code}`)));
  });

  for (const message of messages) await send(child, { type: "message", message });
  await send(child, { type: "start", port });
  try {
    return await result;
  } finally {
    child.kill();
  }
}

function send(child: ReturnType<typeof fork>, message: ParentMessage): Promise<void> {
  return new Promise((resolve, reject) =>
    child.send(message, (error) => (error ? reject(error) : resolve())),
  );
}

/** Runs the child side: collects the messages, then sends them on the `start` message. */
function runChild(): void {
  const messages: ReplayMessage[] = [];
  const reply = (message: ChildMessage) => process.send!(message, () => process.exit(0));

  process.on("message", async (message: ParentMessage) => {
    if (message.type === "message") {
      messages.push(message.message);
      return;
    }

    try {
      const started = performance.now();
      const client = await SmtpClient.connect("127.0.0.1", message.port);
      for (const item of messages) await client.send(item.from, item.to, item.raw);
      await client.quit();
      reply({ type: "done", seconds: (performance.now() - started) / 1000 });
    } catch (error) {
      reply({ type: "failed", error: error instanceof Error ? error.message : String(error) });
    }
  });
}

if (process.env.TRICKLE_SMTP_REPLAY_CHILD === "1" && process.send) runChild();
