// Validation for every identifier that may later become part of a file path or an object key.
// Claude Code's own ids are UUIDs (sessions) and short hex (agents), but we accept a conservative
// superset so that future formats still work, and refuse anything that could walk a path.
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export function isSafeId(value: unknown): value is string {
  return typeof value === 'string' && SAFE_ID.test(value);
}

export function describeUnsafeId(kind: string, value: unknown): string {
  const shown = typeof value === 'string' ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value) : typeof value;
  return `${kind} ${shown} is not a valid id: ids must be 1-128 characters of letters, digits, '-' and '_', starting with a letter or digit`;
}

/** An absolute, already-normalized path to a .jsonl file: no '..' segments, no NUL bytes. */
export function isSafeTranscriptPath(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 4096) return false;
  if (value.includes('\0') || !value.startsWith('/') || !value.endsWith('.jsonl')) return false;
  return !value.split('/').some((seg) => seg === '..' || seg === '.');
}
