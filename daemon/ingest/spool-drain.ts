// Drains events that `rbk hook` spooled while the daemon was down or slow. Files are deleted only
// after their events are committed, so a crash mid-drain re-reads them, and the idempotent insert
// (on event id) makes that re-read a no-op.
import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, listSpooled, parseSpoolRecord, SPOOL_SUFFIX } from '../../common/spool.js';
import type { Logger } from '../log.js';
import type { IncomingHookEvent, StoredHookResult } from './hook-events.js';
import type { HookWriter } from './hook-writer.js';

export interface DrainResult {
  drained: number;
  duplicates: number;
  rejected: number;
  remaining: number;
}

const BATCH = 200;
// Bounds the memory a drain holds at once: the hook spools payloads of any size.
const BATCH_BYTES = 64 * 1024 * 1024;
// A temp file older than this belongs to a hook that died mid-write (Claude Code kills slow hooks);
// it never completed, so there is no event to recover from it.
const ABANDONED_TMP_MS = 10 * 60_000;

export class SpoolDrain {
  private running = false;

  constructor(
    private readonly spoolDir: string,
    private readonly writer: HookWriter,
    private readonly log: Logger,
    /** The hook's fallback spool (paths.fallbackSpoolDir), used when the data dir's disk is full. */
    private readonly fallbackDir: string | null = null,
  ) {}

  backlog(): number {
    return this.spooled().length;
  }

  /** Spooled events of both folders, oldest first (ids are UUIDv7). */
  private spooled(): { id: string; dir: string }[] {
    const all = listSpooled(this.spoolDir).map((id) => ({ id, dir: this.spoolDir }));
    if (this.fallbackDir && this.fallbackIsPrivate()) all.push(...listSpooled(this.fallbackDir).map((id) => ({ id, dir: this.fallbackDir! })));
    return all.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private fallbackWarned = false;
  /** Events are taken from the fallback folder only if nobody else could have put them there. */
  private fallbackIsPrivate(): boolean {
    if (!fs.existsSync(this.fallbackDir!)) return false;
    try {
      ensurePrivateDir(this.fallbackDir!);
      return true;
    } catch (err) {
      if (!this.fallbackWarned) this.log.warn('fallback spool folder ignored', { dir: this.fallbackDir, error: (err as Error).message });
      this.fallbackWarned = true;
      return false;
    }
  }

  drain(): DrainResult {
    const result: DrainResult = { drained: 0, duplicates: 0, rejected: 0, remaining: 0 };
    if (this.running) return { ...result, remaining: this.backlog() };
    // A damaged store takes nothing (store/health.ts): the events wait here for `rbk recover`.
    if (!this.writer.accepting()) return { ...result, remaining: this.backlog() };
    this.running = true;
    try {
      const ids = this.spooled();
      let next = 0;
      let stopped = false;
      while (next < ids.length) {
        const batch: { file: string; event: IncomingHookEvent }[] = [];
        let bytes = 0;
        while (next < ids.length && batch.length < BATCH && (batch.length === 0 || bytes < BATCH_BYTES)) {
          const { id, dir } = ids[next++]!;
          const file = path.join(dir, id + SPOOL_SUFFIX);
          try {
            const text = fs.readFileSync(file, 'utf8');
            bytes += text.length;
            const r = parseSpoolRecord(text, id);
            batch.push({
              file,
              event: {
                eventId: r.event_id,
                eventName: r.event_name,
                payload: Buffer.from(r.payload_b64, 'base64'),
                hookStartedAt: r.hook_started_unix_ms,
                sentAt: r.spooled_unix_ms,
                via: 'spool',
                receivedAt: Date.now(),
              },
            });
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
            this.quarantine(file, err as Error);
            result.rejected += 1;
          }
        }
        if (batch.length === 0) continue;
        const alreadyFailing = this.writer.writeFailure !== null;
        let stored: (StoredHookResult | null)[];
        try {
          stored = this.writer.storeBatch(batch.map((b) => b.event));
        } catch {
          // One event the store cannot take must not hold up the rest (a poison pill would block
          // the spool for good): retry each alone, and set aside the ones that fail for their own
          // reasons. A database that refuses writes (disk full, I/O error) stops the drain instead.
          stored = [];
          for (const b of batch) {
            try {
              stored.push(this.writer.storeBatch([b.event])[0]!);
            } catch (err) {
              if (isDatabaseFailure(err)) {
                // Said once per outage (HookWriter logs the outage itself); debug on every retry after that.
                this.log[alreadyFailing ? 'debug' : 'error']('spool drain stopped: the database refused the write; the events stay spooled', {
                  error: err,
                  remaining: ids.length - next + batch.length - stored.length,
                });
                stopped = true;
                break;
              }
              this.quarantine(b.file, err as Error);
              result.rejected += 1;
              stored.push(null);
            }
          }
        }
        for (const [j, r] of stored.entries()) {
          if (r === null) continue;
          if (r.stored) result.drained += 1;
          else result.duplicates += 1;
          fs.rmSync(batch[j]!.file, { force: true });
        }
        if (stopped) break;
      }
      this.removeAbandonedTemps(this.spoolDir);
      if (this.fallbackDir) this.removeAbandonedTemps(this.fallbackDir);
    } finally {
      this.running = false;
    }
    result.remaining = this.backlog();
    if (result.drained + result.duplicates + result.rejected > 0) this.log.info('spool drained', { ...result });
    return result;
  }

  private quarantine(file: string, err: Error): void {
    const dir = path.join(path.dirname(file), 'rejected');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.renameSync(file, path.join(dir, path.basename(file)));
    this.log.warn('unreadable spool file moved aside', { file: path.basename(file), dir, error: err.message });
  }

  private removeAbandonedTemps(spoolDir: string): void {
    let names: string[] = [];
    try {
      names = fs.readdirSync(spoolDir).filter((n) => n.startsWith('.tmp-'));
    } catch {
      return;
    }
    for (const n of names) {
      const file = path.join(spoolDir, n);
      try {
        if (Date.now() - fs.statSync(file).mtimeMs > ABANDONED_TMP_MS) fs.rmSync(file, { force: true });
      } catch {
        /* raced with the hook that renamed it */
      }
    }
  }
}

/** SQLite's own errors (SQLITE_FULL, SQLITE_IOERR_*, SQLITE_BUSY, …) and ENOSPC: the store, not the event, is at fault. */
function isDatabaseFailure(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  // RBK_STORE_DAMAGED: the daemon stopped writing to a damaged file (store/health.ts); the events wait for rbk recover.
  return typeof code === 'string' && (code.startsWith('SQLITE_') || code === 'ENOSPC' || code === 'EIO' || code === 'RBK_STORE_DAMAGED');
}
