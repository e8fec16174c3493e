// Backfill: finds every transcript under the given roots and ingests it through the same path
// as live tailing. Offsets are committed per batch, so a killed import resumes where it stopped
// and a repeated import reads nothing new.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IngestFileResult, TranscriptIngester, TranscriptSource } from './transcript-ingester.js';

/** Files in flight at once: one committing, the next being read by the parse worker. */
const PIPELINE_FILES = 2;

export interface ImportProgress {
  filesTotal: number;
  filesDone: number;
  bytesTotal: number;
  bytesDone: number;
  sessions: number;
  interactionsAdded: number;
  linesRead: number;
  skipped: Record<string, number>;
  errors: { path: string; error: string }[];
  currentFile: string;
  done: boolean;
  startedAt: number;
  /** On the last report: imported sessions that retention will delete on its next run. */
  pastRetention?: { sessions: number; oldestUnixMs: number; days: number };
  /** On the last report: rows not searchable yet (the full-text index catches up in the background). */
  searchIndexPending?: number;
  /** Resolves when this import's rows are searchable (in-process callers that must wait). */
  searchIndexed?: Promise<void>;
}

/** The Codex CLI's rollout folders: $CODEX_HOME (default ~/.codex) sessions/ and archived_sessions/. */
export function codexRoots(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string[] {
  const codexHome = env.CODEX_HOME && env.CODEX_HOME.length > 0 ? path.resolve(env.CODEX_HOME) : path.join(home, '.codex');
  return [path.join(codexHome, 'sessions'), path.join(codexHome, 'archived_sessions')];
}

/**
 * ~/.claude/projects, ~/.config/claude/projects and $CLAUDE_CONFIG_DIR/projects, and the Codex
 * CLI's rollout folders, where they exist.
 */
export function defaultTranscriptRoots(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string[] {
  const roots = [path.join(home, '.claude', 'projects'), path.join(home, '.config', 'claude', 'projects')];
  if (env.CLAUDE_CONFIG_DIR) roots.unshift(path.join(path.resolve(env.CLAUDE_CONFIG_DIR), 'projects'));
  roots.push(...codexRoots(env, home));
  return [...new Set(roots)].filter((r) => fs.existsSync(r));
}

/**
 * Where rbk looks for transcripts when no path is named (`rbk import`, the sweep, doctor): the
 * default roots plus config `ingest.transcriptRoots` (with ~ expanded), where they exist.
 */
export function transcriptRoots(extra: readonly string[], env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string[] {
  const more = extra.map((r) => path.resolve(r === '~' || r.startsWith('~/') ? path.join(home, r.slice(1)) : r));
  return [...new Set([...defaultTranscriptRoots(env, home), ...more])].filter((r) => fs.existsSync(r));
}

/** Every *.jsonl under root (or root itself), not following symlinks, skipping tool-results/. */
export async function findTranscripts(root: string): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  const st = await fs.promises.lstat(root);
  if (st.isFile()) return root.endsWith('.jsonl') ? [{ path: root, size: st.size }] : [];
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() && e.name !== 'tool-results') stack.push(p);
      else if (e.isFile() && e.name.endsWith('.jsonl')) {
        try {
          out.push({ path: p, size: (await fs.promises.stat(p)).size });
        } catch {
          /* removed meanwhile */
        }
      }
    }
  }
  // Main transcripts before subagent files, so parents exist when their agents are linked.
  return out.sort(
    (a, b) =>
      Number(a.path.includes(`${path.sep}subagents${path.sep}`)) - Number(b.path.includes(`${path.sep}subagents${path.sep}`)) || a.path.localeCompare(b.path),
  );
}

export async function importTranscripts(
  ingester: TranscriptIngester,
  roots: string[],
  onProgress: (p: ImportProgress) => void,
  isCancelled: () => boolean = () => false,
  /** Fills in the last report from the sessions the import touched (pastRetention). */
  summarize: (sessionIds: string[]) => Partial<ImportProgress> = () => ({}),
): Promise<ImportProgress> {
  const files: { path: string; size: number }[] = [];
  for (const root of roots) files.push(...(await findTranscripts(path.resolve(root))));
  return importFiles(ingester, files, onProgress, isCancelled, summarize);
}

/** Reads the given files (mains before subagents, as findTranscripts orders them) through the import pipeline. */
export async function importFiles(
  ingester: TranscriptIngester,
  files: { path: string; size: number }[],
  onProgress: (p: ImportProgress) => void,
  isCancelled: () => boolean = () => false,
  summarize: (sessionIds: string[]) => Partial<ImportProgress> = () => ({}),
  source: TranscriptSource = 'import',
): Promise<ImportProgress> {
  const progress: ImportProgress = {
    filesTotal: files.length,
    filesDone: 0,
    bytesTotal: files.reduce((a, f) => a + f.size, 0),
    bytesDone: 0,
    sessions: 0,
    interactionsAdded: 0,
    linesRead: 0,
    skipped: {},
    errors: [],
    currentFile: '',
    done: false,
    startedAt: Date.now(),
  };
  const sessions = new Set<string>();
  let lastReport = 0;
  // Files are parsed in a worker thread, and rows are searchable once the import is done, not
  // while it runs (see search-backlog.ts).
  ingester.beginImport();
  // The next file is started while this one commits, so that the worker reads it meanwhile
  // (see parse-worker.ts), but never across the main/subagent boundary: parents first.
  const started: { file: { path: string; size: number }; result: Promise<IngestFileResult> }[] = [];
  let next = 0;
  const isSubagentFile = (p: string): boolean => p.includes(`${path.sep}subagents${path.sep}`);
  // Once cancelled, no file is started, and the ones already started are finished and counted.
  const mayStartNext = (): boolean =>
    started.length < PIPELINE_FILES &&
    next < files.length &&
    !isCancelled() &&
    (started.length === 0 || isSubagentFile(files[next]!.path) === isSubagentFile(started[0]!.file.path));
  try {
    while (started.length > 0 || mayStartNext()) {
      while (mayStartNext()) {
        const file = files[next++]!;
        started.push({ file, result: ingester.ingestFile(file.path, source) });
      }
      const { file: f, result } = started.shift()!;
      progress.currentFile = f.path;
      const r: IngestFileResult = await result;
      progress.filesDone += 1;
      progress.bytesDone += f.size;
      progress.linesRead += r.lines;
      progress.interactionsAdded += r.interactionsAdded;
      for (const id of r.sessionIds) sessions.add(id);
      progress.sessions = sessions.size;
      for (const [k, v] of Object.entries(r.skipped)) progress.skipped[k] = (progress.skipped[k] ?? 0) + v;
      if (r.error) progress.errors.push({ path: f.path, error: r.error });
      if (Date.now() - lastReport > 200) {
        lastReport = Date.now();
        onProgress({ ...progress });
      }
    }
  } finally {
    // After a failure, files already started finish first: the worker they read through stops
    // at endImport().
    await Promise.allSettled(started.map((s) => s.result));
    progress.currentFile = '';
    progress.searchIndexed = (await ingester.endImport()).indexed;
  }
  progress.searchIndexPending = ingester.searchBacklog.pendingRows();
  progress.done = true;
  progress.currentFile = '';
  Object.assign(progress, summarize([...sessions]));
  onProgress({ ...progress });
  return progress;
}
