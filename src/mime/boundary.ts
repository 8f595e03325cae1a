/**
 * Prefix of every boundary. A quoted-printable body can never contain `=_`, because QP
 * writes `=` only before two hex digits or a line break, so a collision needs a body that
 * is not QP. buildMessage still checks each body and varies the boundary if it finds one.
 */
const BOUNDARY_PREFIX = "=_trickle_";

/**
 * Returns a multipart boundary derived from `seed` (the Message-ID) that occurs in none of
 * `bodies`. The same seed and bodies give the same boundary, so rendering a message twice
 * gives the same bytes.
 */
export function chooseBoundary(seed: string, bodies: string[]): string {
  for (let attempt = 0; ; attempt++) {
    const boundary = BOUNDARY_PREFIX + hashHex(attempt === 0 ? seed : `${seed}\u0000${attempt}`);
    if (!bodies.some((body) => body.includes(boundary))) return boundary;
  }
}

/**
 * Returns a 64-bit hash of `text` as 16 hex digits: a 32-bit FNV-1a hash followed by a
 * variant with another offset basis and an xorshift step per character. It needs to be deterministic and spread well, not to resist
 * attacks, because a colliding boundary is detected and replaced.
 */
function hashHex(text: string): string {
  let first = 0x811c9dc5;
  let second = 0x01000193 ^ 0x5bd1e995;

  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    first = Math.imul(first ^ code, 0x01000193);
    second = Math.imul(second ^ code, 0x01000193);
    second ^= second >>> 15;
  }
  return toHex(first) + toHex(second);
}

function toHex(value: number): string {
  return (value >>> 0).toString(16).padStart(8, "0");
}
