// Worker thread for `rbk import`: reads, redacts and parses transcript batches (see
// transcript-batches.ts) while the main thread commits earlier ones to SQLite. Reading,
// redaction and parsing are most of an import's CPU, so on two cores this nearly halves it.
//
// Protocol: the main thread posts {type:'scan'} for each file as soon as it knows the file's
// offset, before the previous file is committed; the worker queues the scans and runs them in
// order, answering each with 'batch' messages and then 'done' (or 'error'). That way the next
// file is being read while the last batch of this one commits: most transcripts are one batch,
// so without it reading and writing took turns. Batches not yet acknowledged ('ack', posted
// after each commit) are bounded across all scans, so memory stays flat; 'cancel' drops a scan
// (queued or running) and returns the credit of its unacknowledged batches.
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

/**
 * Batches posted and not yet committed, across all scans. Two: one committing, one waiting, so
 * the main thread never waits for a batch the worker could have had ready; the worker prepares a
 * third meanwhile. Each is at most BATCH_BYTES of lines (several times that once parsed).
 */
const MAX_UNACKED = 2;

const data = workerData as ParseWorkerData;
const service = data.redaction ? createRedactionService(data.redaction.config, data.redaction.dataDir) : null;
if (service && service.version !== data.redaction!.version) {
  // The same config and key always give the same version; a mismatch means the two disagree.
  throw new Error(`parse worker redaction version ${service.version} differs from the daemon's ${data.redaction!.version}`);
}
const port = parentPort!;

interface ScanRequest {
  id: number;
  file: string;
  offset: number;
  opts: Omit<BatchOptions, 'redact'>;
  unacked: number;
  cancelled: boolean;
  finished: boolean;
}

const queue: ScanRequest[] = [];
const scans = new Map<number, ScanRequest>();
let unacked = 0;
let wake: (() => void) | null = null;
let running = false;

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'scan') {
    const req: ScanRequest = { id: msg.id, file: msg.file, offset: msg.offset, opts: msg.opts, unacked: 0, cancelled: false, finished: false };
    scans.set(req.id, req);
    queue.push(req);
    if (!running) void runQueue();
    return;
  }
  const req = scans.get(msg.id);
  if (!req) return;
  if (msg.type === 'ack') {
    req.unacked -= 1;
    unacked -= 1;
    if (req.finished && req.unacked === 0) scans.delete(req.id);
  } else {
    // The consumer is gone: its unacknowledged batches will never be acked.
    req.cancelled = true;
    unacked -= req.unacked;
    req.unacked = 0;
    scans.delete(req.id);
  }
  wake?.();
});

async function runQueue(): Promise<void> {
  running = true;
  try {
    for (let req = queue.shift(); req; req = queue.shift()) {
      if (!req.cancelled) await scan(req);
    }
  } finally {
    running = false;
  }
}

async function scan(req: ScanRequest): Promise<void> {
  try {
    for await (const batch of prepareBatches(req.file, req.offset, { ...req.opts, redact: service ? (e) => service.redactValue(e) : null })) {
      while (unacked >= MAX_UNACKED && !req.cancelled) await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
      if (req.cancelled) return;
      req.unacked += 1;
      unacked += 1;
      port.postMessage({ type: 'batch', id: req.id, batch, redactions: takeTotals() } satisfies FromWorker);
    }
    if (!req.cancelled) port.postMessage({ type: 'done', id: req.id } satisfies FromWorker);
  } catch (err) {
    if (!req.cancelled) port.postMessage({ type: 'error', id: req.id, message: (err as Error).message } satisfies FromWorker);
  } finally {
    // Acks of a finished scan still arrive and return credit: it stays known until the last one.
    req.finished = true;
    if (req.cancelled || req.unacked === 0) scans.delete(req.id);
  }
}

/** Matches by rule since the last batch, for the daemon's redaction metrics. */
function takeTotals(): Record<string, number> {
  if (!service || service.totals.size === 0) return {};
  const out = Object.fromEntries(service.totals);
  service.totals.clear();
  return out;
}
