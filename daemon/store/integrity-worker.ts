// Runs SQLite's own checks off the main thread, on a read-only connection of its own, so that the
// daemon keeps answering hooks while a large file is checked. See integrity.ts.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { isCorruption } from './health.js';

export interface IntegrityWorkerData {
  file: string;
  kind: 'quick' | 'full';
  /** quick: stop starting tables after this long; the rest are checked first next time. */
  budgetMs: number;
  /** quick: when each table was last checked (never-checked tables go first). */
  lastChecked: Record<string, number>;
}

export type IntegrityWorkerMessage =
  | { type: 'table'; table: string; problems: string[] }
  | { type: 'done'; tablesTotal: number; problems: string[] }
  | { type: 'error'; code: string | null; message: string };

const MAX_PROBLEMS = 100;

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function run(data: IntegrityWorkerData, post: (m: IntegrityWorkerMessage) => void): void {
  const started = performance.now();
  const db = new Database(data.file, { readonly: true, fileMustExist: true, timeout: 5000 });
  try {
    // One row per problem, but a row can hold several lines; "*** in database main ***" only says which file.
    const problemsOf = (rows: Record<string, string>[]): string[] =>
      rows.flatMap((r) => String(Object.values(r)[0]).split('\n')).filter((v) => v !== 'ok' && v !== '' && !v.startsWith('*** in database'));
    // Reading the schema is itself a check: a damaged first page fails here.
    const tables = (
      db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name`).all() as { name: string }[]
    ).map((r) => r.name);
    if (data.kind === 'full') {
      // The whole file: every b-tree, the free list and that every page is used exactly once.
      const problems = problemsOf(db.pragma(`integrity_check(${MAX_PROBLEMS})`) as Record<string, string>[]);
      for (const t of tables) post({ type: 'table', table: t, problems: [] });
      post({ type: 'done', tablesTotal: tables.length, problems });
      return;
    }
    const order = [...tables].sort((a, b) => (data.lastChecked[a] ?? 0) - (data.lastChecked[b] ?? 0) || a.localeCompare(b));
    for (const t of order) {
      if (performance.now() - started > data.budgetMs) break;
      let problems: string[];
      try {
        problems = problemsOf(db.pragma(`quick_check(${quoteIdent(t)})`) as Record<string, string>[]);
      } catch (err) {
        // SQLite may fail the check itself on a damaged page rather than report it in rows.
        if (!isCorruption(err)) throw err;
        problems = [`${t}: ${(err as Error).message}`];
      }
      post({ type: 'table', table: t, problems });
    }
    post({ type: 'done', tablesTotal: tables.length, problems: [] });
  } finally {
    db.close();
  }
}

if (parentPort) {
  const port = parentPort;
  try {
    run(workerData as IntegrityWorkerData, (m) => port.postMessage(m));
  } catch (err) {
    port.postMessage({ type: 'error', code: (err as { code?: string }).code ?? null, message: (err as Error).message ?? String(err) });
  }
}
