// `rbk hook`: Claude Code runs this on every hook event with the event JSON on stdin.
// Contract with Claude Code: exit 0 always, print nothing on stdout (stdout of SessionStart and
// UserPromptSubmit hooks is added to the model's context). When the daemon cannot take the event
// in time, the event goes to the spool and the daemon stores it later: nothing is lost.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { resolvePaths, type RbkPaths } from '../common/paths.js';
import { ensurePrivateDir, writeSpoolRecord, type SpoolRecord } from '../common/spool.js';
import { RBK_VERSION } from '../common/version.js';
import { encodeSubmitHookRequest, unaryCall } from './grpc.js';

const DEFAULT_TIMEOUT_MS = 2000;
const SUBMIT_HOOK = '/rbk.v1.Ingest/SubmitHook';
// Over the daemon's message limit the call would be refused; spool it straight away instead.
const MAX_DIRECT_BYTES = 60 * 1024 * 1024;

/** UUIDv7: time-ordered, so spool files drain in the order the events happened. */
export function newEventId(now = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function readStdin(): Buffer {
  if (process.stdin.isTTY) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  const buf = Buffer.allocUnsafe(1 << 20);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue; // a non-blocking pipe inherited from the parent
      if (code === 'EOF' || code === 'EBADF' || code === 'ENXIO') break;
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

function sniffEventName(payload: Buffer): string {
  const m = /"hook_event_name"\s*:\s*"([A-Za-z]{1,64})"/.exec(payload.subarray(0, 4096).toString('latin1'));
  return m?.[1] ?? '';
}

function timeoutMs(): number {
  const fromEnv = Number(process.env.RBK_HOOK_TIMEOUT_MS);
  return Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : DEFAULT_TIMEOUT_MS;
}

export type DeliveryOutcome = 'direct' | 'spooled' | 'lost';

export interface DeliveryResult {
  eventId: string;
  outcome: DeliveryOutcome;
  /** Why the event was spooled (or lost); null when it went direct. */
  reason: string | null;
}

/**
 * Sends one event to the daemon, or spools it when the daemon cannot take it in time. Never
 * throws. `runHook` is this plus stdin; the fault suite drives it in a loop (test/faults).
 */
export async function deliverHookEvent(opts: {
  payload: Buffer;
  eventName: string;
  started?: number;
  paths?: RbkPaths;
  /** Set when reading stdin failed: the event is spooled with what was read and this reason. */
  readError?: Error | null;
}): Promise<DeliveryResult> {
  const started = opts.started ?? Date.now();
  const paths = opts.paths ?? resolvePaths();
  const eventId = newEventId(started);
  const { payload, eventName } = opts;
  try {
    if (opts.readError) throw opts.readError;
    if (payload.length > MAX_DIRECT_BYTES) throw new Error(`payload of ${payload.length} bytes is over the direct-send limit`);
    const message = encodeSubmitHookRequest({ eventId, eventName, payload, hookStartedUnixMs: started, sentUnixMs: Date.now(), clientVersion: RBK_VERSION });
    await unaryCall(paths.socket, SUBMIT_HOOK, message, timeoutMs());
    return { eventId, outcome: 'direct', reason: null };
  } catch (err) {
    const reason = (err as Error)?.message?.slice(0, 500) ?? String(err);
    const record: SpoolRecord = {
      v: 1,
      event_id: eventId,
      event_name: eventName,
      hook_started_unix_ms: started,
      spooled_unix_ms: Date.now(),
      reason,
      payload_b64: payload.toString('base64'),
    };
    try {
      writeSpoolRecord(paths.spoolDir, record);
      return { eventId, outcome: 'spooled', reason };
    } catch (spoolErr) {
      // The data dir cannot take it (disk full, read-only): try the fallback spool elsewhere.
      try {
        ensurePrivateDir(paths.fallbackSpoolDir);
        writeSpoolRecord(paths.fallbackSpoolDir, { ...record, reason: `${reason.slice(0, 240)}; spool: ${(spoolErr as Error).message.slice(0, 240)}` });
        return { eventId, outcome: 'spooled', reason: `${reason}; fell back to ${paths.fallbackSpoolDir}: ${(spoolErr as Error).message}` };
      } catch (fallbackErr) {
        return { eventId, outcome: 'lost', reason: `${(spoolErr as Error).message}; fallback ${paths.fallbackSpoolDir}: ${(fallbackErr as Error).message}` };
      }
    }
  }
}

export async function runHook(argv: string[] = process.argv.slice(2)): Promise<void> {
  const started = Date.now();
  const paths = resolvePaths();
  let payload: Buffer = Buffer.alloc(0);
  let readError: Error | null = null;
  let eventName = argv.find((a) => !a.startsWith('-')) ?? '';
  try {
    payload = readStdin();
    eventName ||= sniffEventName(payload);
  } catch (err) {
    readError = err as Error;
  }
  const r = await deliverHookEvent({ payload, eventName, started, paths, readError });
  // Last resort: stderr is shown to the user only in verbose mode; never stdout.
  if (r.outcome === 'lost') process.stderr.write(`rbk hook: could not deliver or spool event ${r.eventId}: ${r.reason}\n`);
}
