// The main thread's side of parse-worker.ts: one worker thread that prepares scans in the order
// they were started, each one an async iterable of batches that acknowledges a batch when the
// consumer asks for the next.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import type { FromWorker, ParseWorkerData, ToWorker } from './parse-worker.js';
import type { BatchOptions, PreparedBatch } from './transcript-batches.js';
import type { RbkConfig } from '../config/schema.js';

export interface WorkerRedaction {
  readonly version: string;
  readonly settings: { config: RbkConfig; dataDir: string };
}

const WORKER_YOUNG_GENERATION_MB = 8;

interface ScanState {
  pending: FromWorker[];
  wake: (() => void) | null;
  failed: Error | null;
}

export class ParseWorker {
  private worker: Worker | null = null;
  private nextId = 1;
  /** Open scans by id: their messages, and how to wake their consumer. */
  private readonly scans = new Map<number, ScanState>();

  private constructor(
    private readonly script: string,
    private readonly data: ParseWorkerData,
    private readonly log: Logger,
  ) {}

  /**
   * A worker for imports, or null when this build has no worker script (running from sources)
   * or redaction cannot be rebuilt in a thread; the caller then parses in-thread.
   */
  static create(redaction: WorkerRedaction | null | undefined, redactionOn: boolean, log: Logger): ParseWorker | null {
    const script = fileURLToPath(new URL('./parse-worker.js', import.meta.url));
    if (!fs.existsSync(script)) return null;
    if (redactionOn && !redaction?.settings) return null;
    const data: ParseWorkerData = { redaction: redactionOn && redaction ? { ...redaction.settings, version: redaction.version } : null };
    return new ParseWorker(script, data, log);
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    // A smaller nursery than the main thread's default (48 MB here): the worker allocates fast
    // and briefly, so it only GCs a little more often, and the daemon's peak RSS during an
    // import drops by about 50 MB. Old space is not capped: one line can be 50 MB.
    const worker = new Worker(this.script, { workerData: this.data, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
    worker.unref();
    worker.on('message', (msg: FromWorker) => {
      const scan = this.scans.get(msg.id);
      if (!scan) return;
      scan.pending.push(msg);
      scan.wake?.();
    });
    const fail = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = null;
      // Every scan the dead worker held fails; the next scan starts a new worker.
      for (const scan of this.scans.values()) {
        scan.failed ??= err;
        scan.wake?.();
      }
    };
    worker.on('error', (err) => {
      this.log.warn('import parse worker failed; starting a new one for the next file', { error: err });
      fail(err);
    });
    worker.on('exit', (code) => fail(new Error(`import parse worker exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  /**
   * The batches of `file` from `offset`, prepared in the worker; `onRedactions` gets the matches
   * by rule as each batch arrives. The worker is asked at once, so a scan started while another
   * is being consumed is read meanwhile; scans are prepared in the order they were started. The
   * caller must iterate what this returns (to its end or until it breaks out): a scan nobody
   * consumes keeps the worker's credit and stalls the scans behind it.
   */
  scan(
    file: string,
    offset: number,
    opts: Omit<BatchOptions, 'redact'>,
    onRedactions: (byRule: Record<string, number>) => void,
  ): AsyncGenerator<PreparedBatch> {
    const id = this.nextId++;
    const state: ScanState = { pending: [], wake: null, failed: null };
    this.scans.set(id, state);
    const worker = this.ensureWorker();
    worker.postMessage({ type: 'scan', id, file, offset, opts } satisfies ToWorker);
    return this.consume(worker, id, state, onRedactions);
  }

  private async *consume(worker: Worker, id: number, state: ScanState, onRedactions: (byRule: Record<string, number>) => void): AsyncGenerator<PreparedBatch> {
    let finished = false;
    try {
      for (;;) {
        while (state.pending.length === 0 && state.failed === null) await new Promise<void>((resolve) => (state.wake = resolve));
        state.wake = null;
        const msg = state.pending.shift();
        if (!msg) throw state.failed ?? new Error('import parse worker stopped');
        if (msg.type === 'error') {
          finished = true;
          throw new Error(msg.message);
        }
        if (msg.type === 'done') {
          finished = true;
          return;
        }
        if (Object.keys(msg.redactions).length > 0) onRedactions(msg.redactions);
        yield msg.batch;
        if (this.worker === worker) worker.postMessage({ type: 'ack', id } satisfies ToWorker);
      }
    } finally {
      this.scans.delete(id);
      // The consumer stopped early (an error while committing): stop the worker's scan too and
      // give back the credit of the batches it will not ack.
      if (!finished && state.failed === null && this.worker === worker) worker.postMessage({ type: 'cancel', id } satisfies ToWorker);
    }
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }
}
