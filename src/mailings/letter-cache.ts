/**
 * Compiled letters, cached per isolate. Compiling parses the letter once;
 * every recipient of the mailing is then rendered with string operations
 * only. The snapshot taken at start never changes, so a cached entry never
 * goes stale; the cache is bounded so a long-lived isolate does not grow.
 */
import { compileLetter, type CompiledLetter, type LetterSource } from "../render";

const MAX_ENTRIES = 32;
const cache = new Map<string, Promise<CompiledLetter | null>>();

/**
 * Returns the compiled letter of a mailing and variant, or null when the
 * mailing does not exist or has not started (it has no snapshot yet).
 */
export function loadCompiledLetter(
  db: D1Database,
  mailingId: number,
  variant = "",
): Promise<CompiledLetter | null> {
  const key = `${mailingId}/${variant}`;
  const cached = cache.get(key);
  if (cached) return cached;

  const loading = compileSnapshot(db, mailingId).catch((error) => {
    cache.delete(key);
    throw error;
  });
  remember(key, loading);
  return loading;
}

async function compileSnapshot(db: D1Database, mailingId: number): Promise<CompiledLetter | null> {
  const row = await db
    .prepare("SELECT name, letter_snapshot AS snapshot FROM mailings WHERE id = ?")
    .bind(mailingId)
    .first<{ name: string; snapshot: string | null }>();
  if (!row?.snapshot) return null;

  const source = JSON.parse(row.snapshot) as LetterSource;
  return compileLetter(source, { mailingName: row.name });
}

function remember(key: string, value: Promise<CompiledLetter | null>): void {
  if (cache.size >= MAX_ENTRIES) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(key, value);
}

/** Drops cached letters; for tests that reuse mailing ids. */
export function clearLetterCache(): void {
  cache.clear();
}
