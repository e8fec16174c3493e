// Group commit for hook events: every event that arrives while one transaction is being prepared
// joins it, so N concurrent hooks cost one fsync instead of N. Each hook is still answered only
// after its own event is durable.
//
// The commit (fsync) blocks the event loop, and the requests that queued up meanwhile reach the
// handler over the next few loop turns. Flushing on the very next turn therefore committed them
// one by one (bench/ingest.mjs: 1,852 of 1,856 batches held a single event under 8 concurrent
// clients). So the flush waits for the loop to go round with nothing new arriving (QUIET_TURNS
// turns, at most MAX_TURNS in all): a lone event is delayed by microseconds, a burst is committed
// together.
import type { Db } from '../store/db.js';
import type { Logger } from '../log.js';
import type { StoreHealth } from '../store/health.js';
import type { HookEventIngest, IncomingHookEvent, StoredHookResult } from './hook-events.js';

const QUIET_TURNS = 2;
const MAX_TURNS = 16;

interface Pending {
  event: IncomingHookEvent;
  resolve: (r: StoredHookResult) => void;
  reject: (e: Error) => void;
}

export type HookWriterObserver = (event: IncomingHookEvent, result: StoredHookResult, durableAt: number) => void;

/** Why the database refuses writes right now (disk full, I/O error, …), for logs and `rbk status`. */
export interface WriteFailure {
  message: string;
  code: string | null;
  sinceUnixMs: number;
}

const DISK_FULL = new Set(['SQLITE_FULL', 'ENOSPC']);

export class HookWriter {
  private queue: Pending[] = [];
  /** Set while writes fail, cleared by the next successful commit. */
  writeFailure: WriteFailure | null = null;
  private scheduled = false;
  private readonly observers: HookWriterObserver[] = [];

  constructor(
    private readonly db: Db,
    private readonly store: HookEventIngest,
    private readonly log: Logger,
    /** Refuses writes once the file is damaged (the hook then spools), and learns of damage from write errors. */
    private readonly health: StoreHealth | null = null,
    private readonly maxBatch = 512,
  ) {}

  /** False while the store is damaged: nothing may be written until `rbk recover`. */
  accepting(): boolean {
    return this.health?.writable !== false;
  }

  onStored(observer: HookWriterObserver): void {
    this.observers.push(observer);
  }

  submit(event: IncomingHookEvent): Promise<StoredHookResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        this.flushWhenQuiet();
      }
    });
  }

  /** Stores a batch synchronously in one transaction (used by the spool drain). */
  storeBatch(events: IncomingHookEvent[]): StoredHookResult[] {
    let results: StoredHookResult[];
    this.health?.assertWritable();
    try {
      results = this.db.transaction(() => events.map((e) => this.store.store(e))).immediate();
    } catch (err) {
      this.health?.noteError(err, 'write');
      this.noteWriteFailure(err);
      throw err;
    }
    if (this.writeFailure) {
      this.log.info('database writes resumed', { failedForMs: Date.now() - this.writeFailure.sinceUnixMs });
      this.writeFailure = null;
    }
    const durableAt = Date.now();
    for (const [i, e] of events.entries()) this.notify(e, results[i]!, durableAt);
    return results;
  }

  private flushWhenQuiet(): void {
    let turns = 0;
    let quiet = 0;
    let seen = this.queue.length;
    const turn = () => {
      turns++;
      if (this.queue.length > seen) {
        seen = this.queue.length;
        quiet = 0;
      } else quiet++;
      if (quiet >= QUIET_TURNS || turns >= MAX_TURNS) this.flush();
      else setImmediate(turn);
    };
    setImmediate(turn);
  }

  private flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const results = this.storeBatch(batch.map((p) => p.event));
        for (const [i, p] of batch.entries()) p.resolve(results[i]!);
      } catch (batchError) {
        // One bad event must not fail its neighbours: retry each alone, so only it fails.
        this.log.warn('hook batch failed; retrying events one by one', { size: batch.length, error: batchError });
        for (const p of batch) {
          try {
            p.resolve(this.storeBatch([p.event])[0]!);
          } catch (err) {
            p.reject(err as Error);
          }
        }
      }
    }
  }

  private noteWriteFailure(err: unknown): void {
    if (this.writeFailure) return;
    const code = (err as { code?: string }).code ?? null;
    const message =
      code && DISK_FULL.has(code)
        ? `the data dir is out of disk space (${code}); free space there. Hooks spool meanwhile and reads keep working`
        : `database write failed: ${(err as Error)?.message ?? String(err)}`;
    this.writeFailure = { message, code, sinceUnixMs: Date.now() };
    this.log.error('database writes failing; hook events are spooled until they succeed again', { code, error: message });
  }

  private notify(event: IncomingHookEvent, result: StoredHookResult, durableAt: number): void {
    for (const o of this.observers) {
      try {
        o(event, result, durableAt);
      } catch (err) {
        this.log.warn('hook observer failed', { error: err });
      }
    }
  }
}
