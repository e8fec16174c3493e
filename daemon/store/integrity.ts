// Integrity checks of the daemon's SQLite file (see health.ts for what happens on damage).
// - At start: `PRAGMA quick_check` table by table, within a time budget, least recently checked
//   tables first, so that a big file is covered over a few starts instead of delaying each one.
// - On the `integrity` job's schedule: a full `PRAGMA integrity_check`, which also checks the free
//   list and that every page is used once.
// Both run in a worker thread on a read-only connection: the daemon keeps serving meanwhile.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { isCorruption, type IntegrityCheckSummary } from './health.js';
import type { IntegrityWorkerData, IntegrityWorkerMessage } from './integrity-worker.js';

interface CheckState {
  /** Table name → when a quick check last covered it. */
  tables: Record<string, number>;
}

/** Where the cursor of the incremental check lives: beside the database, not in it (it may be damaged). */
export function integrityStateFile(dataDir: string): string {
  return path.join(dataDir, 'integrity.json');
}

function readState(file: string): CheckState {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<CheckState>;
    const tables: Record<string, number> = {};
    for (const [k, n] of Object.entries(v.tables ?? {})) if (typeof n === 'number') tables[k] = n;
    return { tables };
  } catch {
    return { tables: {} };
  }
}

function writeState(file: string, state: CheckState): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export async function checkIntegrity(opts: {
  dbFile: string;
  stateFile: string;
  kind: 'quick' | 'full';
  /** quick only: no table is started after this long. */
  budgetMs?: number;
  signal?: AbortSignal;
  onTable?: (done: number) => void;
}): Promise<IntegrityCheckSummary> {
  const started = Date.now();
  const state = readState(opts.stateFile);
  const data: IntegrityWorkerData = { file: opts.dbFile, kind: opts.kind, budgetMs: opts.budgetMs ?? 5000, lastChecked: state.tables };
  const worker = new Worker(fileURLToPath(new URL('./integrity-worker.js', import.meta.url)), { workerData: data });
  const checked: string[] = [];
  const problems: string[] = [];
  let total = 0;
  let failure: { code: string | null; message: string } | null = null;
  await new Promise<void>((resolve, reject) => {
    const abort = () => void worker.terminate();
    opts.signal?.addEventListener('abort', abort, { once: true });
    worker.on('message', (m: IntegrityWorkerMessage) => {
      if (m.type === 'table') {
        checked.push(m.table);
        problems.push(...m.problems);
        opts.onTable?.(checked.length);
      } else if (m.type === 'done') {
        total = m.tablesTotal;
        problems.push(...m.problems);
      } else failure = { code: m.code, message: m.message };
    });
    worker.on('error', reject);
    worker.on('exit', () => {
      opts.signal?.removeEventListener('abort', abort);
      resolve();
    });
  });
  opts.signal?.throwIfAborted();
  const now = Date.now();
  for (const t of checked) state.tables[t] = now;
  try {
    writeState(opts.stateFile, state);
  } catch {
    /* the cursor only orders the next check; a full disk must not fail the check */
  }
  const f = failure as { code: string | null; message: string } | null;
  const corrupt = f !== null && isCorruption(f);
  return {
    kind: opts.kind,
    finishedUnixMs: now,
    durationMs: now - started,
    tablesChecked: checked.length,
    tablesTotal: total,
    complete: f === null && total > 0 && checked.length >= total,
    result: problems.length > 0 || corrupt ? 'damaged' : f ? 'failed' : 'ok',
    problems: f ? [`${f.message}${f.code ? ` (${f.code})` : ''}`, ...problems] : problems,
  };
}
