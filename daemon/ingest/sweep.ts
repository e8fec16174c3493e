// The sweep: reads transcripts that no hook announced. Hooks are how rbk learns of a live session,
// but a session can run without them (hooks not installed yet, a project whose settings set
// disableAllHooks, Claude Code started with other setting sources, an IDE or a container run).
// Claude Code deletes its transcripts after 30 days, so a session nobody announced would be lost
// unless something looks. The sweep runs at daemon start and on the `sweep` job's schedule.
//
// It must be cheap when nothing changed, because it runs every few minutes over archives of tens of
// thousands of files: a readdir and a stat per file, compared with the byte offset the store already
// read to. Only new or grown files are read, through the import pipeline (parse worker, deferred
// search indexing). Reading is idempotent (offsets and uniqueness keys), so a file a hook is also
// following is never stored twice.
import path from 'node:path';
import type { SessionQueries } from '../store/sessions.js';
import { findTranscripts, importFiles, type ImportProgress } from './importer.js';
import type { TranscriptIngester } from './transcript-ingester.js';

export interface SweepResult {
  /** Transcript files under the roots. */
  files: number;
  /** New or grown files, which were read. */
  read: number;
  /** Files the store had never seen. */
  newFiles: number;
  /** Sessions the read files belong to. */
  sessions: number;
  /** New sessions with no hook event at all: no hook announced them. */
  unannounced: number;
  unannouncedSessionIds: string[];
  interactionsAdded: number;
  linesRead: number;
  errors: { path: string; error: string }[];
}

export async function sweepTranscripts(deps: {
  ingester: TranscriptIngester;
  sessions: SessionQueries;
  roots: readonly string[];
  isCancelled?: () => boolean;
  onProgress?: (p: ImportProgress) => void;
}): Promise<SweepResult> {
  const known = deps.ingester.readPositions();
  const files: { path: string; size: number }[] = [];
  for (const root of deps.roots) {
    try {
      files.push(...(await findTranscripts(path.resolve(root))));
    } catch (err) {
      // A root that vanished (a removed CLAUDE_CONFIG_DIR) is not an error of the others.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  // A file is unchanged when the store has read it to its current size. A shorter file was
  // truncated or replaced, and the ingester re-reads it; a longer one grew.
  const changed = files.filter((f) => known.get(f.path)?.offset !== f.size);
  const fresh = changed.filter((f) => !known.has(f.path)).map((f) => f.path);
  const result: SweepResult = {
    files: files.length,
    read: changed.length,
    newFiles: fresh.length,
    sessions: 0,
    unannounced: 0,
    unannouncedSessionIds: [],
    interactionsAdded: 0,
    linesRead: 0,
    errors: [],
  };
  if (changed.length === 0) return result;
  const progress = await importFiles(deps.ingester, changed, deps.onProgress ?? (() => {}), deps.isCancelled, undefined, 'sweep');
  result.sessions = progress.sessions;
  result.interactionsAdded = progress.interactionsAdded;
  result.linesRead = progress.linesRead;
  result.errors = progress.errors;
  if (fresh.length > 0) {
    const after = deps.ingester.readPositions();
    const ids = [...new Set(fresh.map((p) => after.get(p)?.sessionId).filter((id): id is string => typeof id === 'string'))];
    result.unannouncedSessionIds = deps.sessions.withoutHookEvents(ids);
    result.unannounced = result.unannouncedSessionIds.length;
  }
  return result;
}
