// Drains events that `rbk hook` spooled while the daemon was down or slow. Files are deleted only
// after their events are committed, so a crash mid-drain re-reads them, and the idempotent insert
// (on event id) makes that re-read a no-op.
import fs from 'node:fs';
import path from 'node:path';
import { listSpooled, parseSpoolRecord, SPOOL_SUFFIX } from '../../common/spool.js';
import type { Logger } from '../log.js';
import type { IncomingHookEvent } from './hook-events.js';
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
  ) {}

  backlog(): number {
    return listSpooled(this.spoolDir).length;
  }

  drain(): DrainResult {
    const result: DrainResult = { drained: 0, duplicates: 0, rejected: 0, remaining: 0 };
    if (this.running) return { ...result, remaining: this.backlog() };
    this.running = true;
    try {
      const ids = listSpooled(this.spoolDir);
      let next = 0;
      while (next < ids.length) {
        const batch: { id: string; event: IncomingHookEvent }[] = [];
        let bytes = 0;
        while (next < ids.length && batch.length < BATCH && (batch.length === 0 || bytes < BATCH_BYTES)) {
          const id = ids[next++]!;
          const file = path.join(this.spoolDir, id + SPOOL_SUFFIX);
          try {
            const text = fs.readFileSync(file, 'utf8');
            bytes += text.length;
            const r = parseSpoolRecord(text, id);
            batch.push({
              id,
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
        const stored = this.writer.storeBatch(batch.map((b) => b.event));
        for (const [j, b] of batch.entries()) {
          if (stored[j]!.stored) result.drained += 1;
          else result.duplicates += 1;
          fs.rmSync(path.join(this.spoolDir, b.id + SPOOL_SUFFIX), { force: true });
        }
      }
      this.removeAbandonedTemps();
    } finally {
      this.running = false;
    }
    result.remaining = this.backlog();
    if (result.drained + result.duplicates + result.rejected > 0) this.log.info('spool drained', { ...result });
    return result;
  }

  private quarantine(file: string, err: Error): void {
    const dir = path.join(this.spoolDir, 'rejected');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.renameSync(file, path.join(dir, path.basename(file)));
    this.log.warn('unreadable spool file moved aside', { file: path.basename(file), dir, error: err.message });
  }

  private removeAbandonedTemps(): void {
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.spoolDir).filter((n) => n.startsWith('.tmp-'));
    } catch {
      return;
    }
    for (const n of names) {
      const file = path.join(this.spoolDir, n);
      try {
        if (Date.now() - fs.statSync(file).mtimeMs > ABANDONED_TMP_MS) fs.rmSync(file, { force: true });
      } catch {
        /* raced with the hook that renamed it */
      }
    }
  }
}
