// Worker thread for `rbk import`: reads, redacts and parses transcript batches (see
// transcript-batches.ts) while the main thread commits the previous batch to SQLite. Reading,
// redaction and parsing are most of an import's CPU, so on two cores this nearly halves it.
//
// Protocol (one scan at a time): the main thread posts {type:'scan'}; the worker answers with
// 'batch' messages and then 'done' (or 'error'). It runs at most one batch ahead of the main
// thread, which posts 'ack' after committing each batch, so memory stays bounded.
import { parentPort, workerData } from 'node:worker_threads';
import type { RbkConfig } from '../config/schema.js';
import { createRedactionService } from '../redact/service.js';
import { prepareBatches, type BatchOptions, type PreparedBatch } from './transcript-batches.js';

export interface ParseWorkerData {
  /** Redaction at ingest, rebuilt here from the daemon's config and key; null when off. */
  redaction: { config: RbkConfig; dataDir: string; version: string } | null;
}

export type ToWorker =
  | { type: 'scan'; id: number; file: string; offset: number; opts: Omit<BatchOptions, 'redact'> }
  | { type: 'ack'; id: number }
  | { type: 'cancel'; id: number };

export type FromWorker =
  | { type: 'batch'; id: number; batch: PreparedBatch; redactions: Record<string, number> }
  | { type: 'done'; id: number }
  | { type: 'error'; id: number; message: string };

const MAX_AHEAD = 0;

const data = workerData as ParseWorkerData;
const service = data.redaction ? createRedactionService(data.redaction.config, data.redaction.dataDir) : null;
if (service && service.version !== data.redaction!.version) {
  // The same config and key always give the same version; a mismatch means the two disagree.
  throw new Error(`parse worker redaction version ${service.version} differs from the daemon's ${data.redaction!.version}`);
}
const port = parentPort!;
let current: { id: number; unacked: number; cancelled: boolean; wake: (() => void) | null } | null = null;

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'scan') {
    current = { id: msg.id, unacked: 0, cancelled: false, wake: null };
    void scan(current, msg.file, msg.offset, msg.opts);
  } else if (current && msg.id === current.id) {
    if (msg.type === 'ack') current.unacked -= 1;
    else current.cancelled = true;
    current.wake?.();
  }
});

async function scan(run: NonNullable<typeof current>, file: string, offset: number, opts: Omit<BatchOptions, 'redact'>): Promise<void> {
  try {
    for await (const batch of prepareBatches(file, offset, { ...opts, redact: service ? (e) => service.redactValue(e) : null })) {
      while (run.unacked > MAX_AHEAD && !run.cancelled) await new Promise<void>((resolve) => (run.wake = resolve));
      run.wake = null;
      if (run.cancelled) return;
      run.unacked += 1;
      port.postMessage({ type: 'batch', id: run.id, batch, redactions: takeTotals() } satisfies FromWorker);
    }
    port.postMessage({ type: 'done', id: run.id } satisfies FromWorker);
  } catch (err) {
    port.postMessage({ type: 'error', id: run.id, message: (err as Error).message } satisfies FromWorker);
  }
}

/** Matches by rule since the last batch, for the daemon's redaction metrics. */
function takeTotals(): Record<string, number> {
  if (!service || service.totals.size === 0) return {};
  const out = Object.fromEntries(service.totals);
  service.totals.clear();
  return out;
}
