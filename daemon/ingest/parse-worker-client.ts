// The main thread's side of parse-worker.ts: one worker thread, scans run one after another, each
// one an async iterable of batches that acknowledges a batch when the consumer asks for the next.
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

export class ParseWorker {
  private worker: Worker | null = null;
  private nextId = 1;
  private queue: Promise<void> = Promise.resolve();
  private listener: ((msg: FromWorker) => void) | null = null;
  private failure: ((err: Error) => void) | null = null;

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
    const worker = new Worker(this.script, { workerData: this.data });
    worker.unref();
    worker.on('message', (msg: FromWorker) => this.listener?.(msg));
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = null;
      this.failure?.(err);
    };
    worker.on('error', (err) => {
      this.log.warn('import parse worker failed; starting a new one for the next file', { error: err });
      fail(err);
    });
    worker.on('exit', (code) => fail(new Error(`import parse worker exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  /** The batches of `file` from `offset`, prepared in the worker. Scans queue behind each other. */
  async *scan(file: string, offset: number, opts: Omit<BatchOptions, 'redact'>, onRedactions: (byRule: Record<string, number>) => void): AsyncGenerator<PreparedBatch> {
    let release!: () => void;
    const turn = this.queue;
    this.queue = new Promise<void>((resolve) => (release = resolve));
    await turn;
    const id = this.nextId++;
    const pending: FromWorker[] = [];
    let wake: (() => void) | null = null;
    let failed: Error | null = null;
    let finished = false;
    this.listener = (msg) => {
      if (msg.id !== id) return;
      pending.push(msg);
      wake?.();
    };
    this.failure = (err) => {
      failed = err;
      wake?.();
    };
    try {
      const worker = this.ensureWorker();
      worker.postMessage({ type: 'scan', id, file, offset, opts } satisfies ToWorker);
      for (;;) {
        while (pending.length === 0 && failed === null) await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
        const msg = pending.shift();
        if (!msg) throw failed ?? new Error('import parse worker stopped');
        if (msg.type === 'error') throw new Error(msg.message);
        if (msg.type === 'done') {
          finished = true;
          return;
        }
        if (Object.keys(msg.redactions).length > 0) onRedactions(msg.redactions);
        yield msg.batch;
        this.worker?.postMessage({ type: 'ack', id } satisfies ToWorker);
      }
    } finally {
      // The consumer stopped early (an error while committing): stop the worker's scan too.
      if (!finished && failed === null) this.worker?.postMessage({ type: 'cancel', id } satisfies ToWorker);
      this.listener = null;
      this.failure = null;
      release();
    }
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }
}
