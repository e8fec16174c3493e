// Whether the database may be written. Claude Code deletes transcripts after 30 days, so for older
// sessions the store is the only copy; once SQLite reports damage (a check, or an error on any
// write), the daemon stops writing to the file so that nothing new is put at risk: hooks are
// refused and spool (the hook writes them to the spool when the daemon says UNAVAILABLE),
// transcript reads and jobs wait. `rbk recover` rebuilds the file; the spool drains after it.
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';

/** SQLite's codes for a damaged file: SQLITE_CORRUPT and its extended codes, and a file that is not a database at all. */
export function isCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && (code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT_') || code === 'SQLITE_NOTADB');
}

export type DamageFoundBy = 'start-check' | 'scheduled-check' | 'write' | 'read';

export interface StoreDamage {
  /** What SQLite said, first lines. */
  detail: string;
  foundBy: DamageFoundBy;
  sinceUnixMs: number;
}

export interface IntegrityCheckSummary {
  kind: 'quick' | 'full';
  finishedUnixMs: number;
  durationMs: number;
  tablesChecked: number;
  tablesTotal: number;
  /** Every table was checked (a quick check at start stops at its time budget and goes on next time). */
  complete: boolean;
  result: 'ok' | 'damaged' | 'failed';
  problems: string[];
}

/** Refused because the store is damaged: the hook spools the event, and nothing is lost. */
export class StoreDamagedError extends UserError {
  readonly code = 'RBK_STORE_DAMAGED';
  constructor(damage: StoreDamage) {
    super(`the database is damaged (${damage.detail}); rbk stopped writing to it and hook events spool meanwhile. Run: rbk recover`, 'unavailable');
  }
}

export class StoreHealth {
  damage: StoreDamage | null = null;
  lastCheck: IntegrityCheckSummary | null = null;
  private readonly listeners: ((d: StoreDamage) => void)[] = [];

  constructor(
    private readonly log: Logger,
    private readonly dbFile: string,
  ) {}

  onDamage(listener: (d: StoreDamage) => void): void {
    this.listeners.push(listener);
  }

  get writable(): boolean {
    return this.damage === null;
  }

  /** Throws StoreDamagedError once damage was seen: call before any write to the core tables. */
  assertWritable(): void {
    if (this.damage) throw new StoreDamagedError(this.damage);
  }

  /** Looks at an error from SQLite: damage marks the store; anything else is not this module's. */
  noteError(err: unknown, foundBy: DamageFoundBy): void {
    if (isCorruption(err)) this.markDamaged(((err as Error).message ?? String(err)).replaceAll('\n', '; ').slice(0, 300), foundBy);
  }

  markDamaged(detail: string, foundBy: DamageFoundBy): void {
    if (this.damage) return;
    this.damage = { detail, foundBy, sinceUnixMs: Date.now() };
    this.log.error(
      'the database is damaged: rbkd stopped writing to it; hook events spool and transcripts wait, so nothing new is lost. Run `rbk recover`: it stops rbkd, keeps the damaged file, rebuilds the database, re-reads the transcripts still on disk and drains the spool',
      { db: this.dbFile, detail, foundBy },
    );
    for (const l of this.listeners) {
      try {
        l(this.damage);
      } catch (err) {
        this.log.warn('damage listener failed', { error: err });
      }
    }
  }

  noteCheck(summary: IntegrityCheckSummary): void {
    this.lastCheck = summary;
    if (summary.result === 'damaged')
      this.markDamaged(summary.problems.slice(0, 3).join('; ') || 'integrity check failed', summary.kind === 'quick' ? 'start-check' : 'scheduled-check');
  }
}
