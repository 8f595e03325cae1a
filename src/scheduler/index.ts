import type { Env } from "../env";
export async function runScheduler(_env: Env, _options: { now: number; ctx: ExecutionContext }) {}
