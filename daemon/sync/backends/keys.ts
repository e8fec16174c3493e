// Object keys reach a backend from layout.ts, but a backend is also the last line of defence: it
// refuses any key that could leave its root (absolute, "..", empty segments, control characters).
export class InvalidKeyError extends Error {}

const SEGMENT = /^[A-Za-z0-9=._-]{1,255}$/;

export function checkKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > 1024) throw new InvalidKeyError(`invalid object key (length ${String(key).length})`);
  const segments = key.split('/');
  for (const s of segments) {
    if (!SEGMENT.test(s) || s === '.' || s === '..')
      throw new InvalidKeyError(`refusing object key ${JSON.stringify(key.slice(0, 120))}: segment ${JSON.stringify(s.slice(0, 40))} is not allowed`);
  }
  return key;
}

/** A list prefix: "" (everything) or safe segments ending in "/" (or a partial last segment). */
export function checkPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  const body = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  checkKey(body);
  return prefix;
}

/** The bucket prefix without leading or trailing "/" ("" = bucket root); refused if unsafe. */
export function normalizePrefix(prefix: string): string {
  const p = prefix.replace(/^\/+|\/+$/g, '');
  if (p !== '') checkKey(p);
  return p;
}
