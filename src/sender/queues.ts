import type { Env } from "../env";
export async function handleQueueBatch(
  _batch: MessageBatch<unknown>,
  _env: Env,
  _ctx: ExecutionContext,
) {}
