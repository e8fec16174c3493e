// Reading objects from the central copy: checksums, bounded gunzip, NDJSON, manifest validation, and
// the prefixes a pull lists.
import { manifestContent } from '../manifest.js';
import zlib from 'node:zlib';
import { DATASETS, LAYOUT_VERSION, parseKey, type Dataset, type ManifestPart, type SessionManifest } from '../layout.js';
import { createHash } from 'node:crypto';
import { manifestSchema } from './schema.js';
import { HOST, MAX_DAY_PREFIXES, MAX_MANIFEST_BYTES, MAX_PART_BYTES, PART_FILE, PullRequestError, type PullRequest } from './types.js';

// ---------------------------------------------------------------------------------------------
// Reading objects
// ---------------------------------------------------------------------------------------------

export class Skip extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Gunzips with a bound on the output, so that a gzip bomb is a skip, not an out-of-memory. */
export function gunzipBounded(bytes: Uint8Array, maxBytes = MAX_PART_BYTES): Buffer {
  try {
    return zlib.gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || (err instanceof RangeError && /larger than|maxOutputLength/i.test(err.message))) {
      throw new Skip('part-too-large', `gunzipped part exceeds ${maxBytes} bytes`);
    }
    throw new Skip('corrupt-gzip', `not a valid gzip stream (${(err as Error).message.slice(0, 120)})`);
  }
}

/** Parses NDJSON into objects; a line that is not a JSON object is counted, not fatal. */
export function parseNdjson(body: Buffer): { rows: Record<string, unknown>[]; badLines: number } {
  const rows: Record<string, unknown>[] = [];
  let badLines = 0;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new Skip('invalid-utf8', 'part is not valid UTF-8');
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const v = JSON.parse(line) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) rows.push(v as Record<string, unknown>);
      else badLines += 1;
    } catch {
      badLines += 1;
    }
  }
  return { rows, badLines };
}

export interface ValidManifest {
  key: string;
  sha256: string;
  /** The hash the uploader keeps of what it wrote (manifest.ts manifestContent: all but updatedAt). */
  contentSha256: string;
  manifest: SessionManifest & { usage?: unknown[] };
  parts: Record<Dataset, (ManifestPart & { file: string })[]>;
}

/** Checks a manifest against the key it was found under; throws Skip on anything off. */
export function validateManifest(key: string, bytes: Uint8Array): ValidManifest {
  const where = parseKey(key);
  if (where?.dataset !== 'sessions' || where.file !== 'session.json') throw new Skip('not-a-layout-key', 'not a session manifest key');
  if (bytes.length > MAX_MANIFEST_BYTES) throw new Skip('manifest-too-large', `manifest is ${bytes.length} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new Skip('manifest-invalid', `session.json is not valid JSON (${(err as Error).message.slice(0, 120)})`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Skip('manifest-invalid', `session.json: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`);
  }
  const m = parsed.data;
  if (m.sessionId !== where.sessionId || m.host !== where.host || m.date !== where.date) {
    throw new Skip('manifest-mismatch', 'the session, host or date inside session.json differs from its key');
  }
  const parts = { interactions: [], hook_events: [] } as Record<Dataset, (ManifestPart & { file: string })[]>;
  for (const dataset of DATASETS) {
    for (const p of m.parts[dataset]) {
      const at = parseKey(p.key);
      const file = at ? PART_FILE.exec(at.file) : null;
      // A part must live in this very session's prefix of its dataset: a manifest cannot point a
      // reader at another session's (or another host's) objects.
      if (!at || !file || at.dataset !== dataset || at.sessionId !== where.sessionId || at.host !== where.host || at.date !== where.date) {
        throw new Skip('manifest-invalid', `part key outside this session's ${dataset} prefix`);
      }
      const first = Number(file[1]);
      const last = file[2] === undefined ? first : Number(file[2]);
      if (first !== p.first || last !== p.last || p.last < p.first) throw new Skip('manifest-invalid', `part ${at.file} does not cover ${p.first}-${p.last}`);
      parts[dataset].push({ ...p, file: at.file });
    }
    parts[dataset].sort((a, b) => a.first - b.first || b.last - a.last);
  }
  return {
    key,
    sha256: sha256Hex(bytes),
    // From the JSON as written (key order and all), so that it equals the uploader's own hash.
    contentSha256: sha256Hex(Buffer.from(manifestContent(json as SessionManifest))),
    manifest: m as unknown as ValidManifest['manifest'],
    parts,
  };
}

// ---------------------------------------------------------------------------------------------
// Listing
// ---------------------------------------------------------------------------------------------

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The listing prefixes for a request: one per day for a short --since, else the whole dataset. */
export function manifestPrefixes(req: PullRequest, now: number): { prefixes: string[]; sinceDay: string | null } {
  if (req.host !== undefined && !HOST.test(req.host)) {
    throw new PullRequestError(
      `--host "${req.host.slice(0, 80)}" is not a host partition: use letters, digits, '.', '_' and '-' (as rbk sessions shows hosts)`,
    );
  }
  const root = `${LAYOUT_VERSION}/sessions/`;
  if (req.sinceMs === undefined) return { prefixes: [root], sinceDay: null };
  if (!Number.isFinite(req.sinceMs) || req.sinceMs > now + 86_400_000)
    throw new PullRequestError('--since is in the future; give a past time such as 7d or 2026-05-01');
  const sinceDay = utcDay(Math.max(req.sinceMs, 0));
  const days: string[] = [];
  for (let d = Date.parse(`${sinceDay}T00:00:00Z`); d <= now + 86_400_000 && days.length <= MAX_DAY_PREFIXES; d += 86_400_000) days.push(utcDay(d));
  if (days.length > MAX_DAY_PREFIXES) return { prefixes: [root], sinceDay };
  return { prefixes: days.map((d) => `${root}date=${d}/${req.host !== undefined ? `host=${req.host}/` : ''}`), sinceDay };
}
