// Follows live transcripts. Claude Code writes a transcript asynchronously, so a hook firing is
// only a hint that the file will grow: we watch each active project folder (main transcripts,
// flat agent-*.jsonl files, and <session>/subagents/) and read a file again after writes settle.
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from '../log.js';
import type { TranscriptIngester } from './transcript-ingester.js';

export class TranscriptWatcher {
  private readonly watcher: FSWatcher;
  private readonly dirs = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly ingester: TranscriptIngester,
    private readonly log: Logger,
    // A burst of appends (one line per content block) costs one read.
    private readonly debounceMs = 60,
  ) {
    this.watcher = watch([], {
      ignoreInitial: true,
      depth: 2,
      ignored: (p, stats) => Boolean(stats?.isFile() && !p.endsWith('.jsonl')) || p.includes(`${path.sep}tool-results`),
    });
    this.watcher.on('add', (p) => this.schedule(p));
    this.watcher.on('change', (p) => this.schedule(p));
    this.watcher.on('error', (err) => this.log.warn('transcript watcher error', { error: err }));
  }

  /** Starts following the folder of this transcript (idempotent) and reads the file now. */
  follow(transcriptPath: string): void {
    const dir = path.dirname(transcriptPath);
    if (!this.dirs.has(dir)) {
      this.dirs.add(dir);
      this.watcher.add(dir);
      this.log.debug('watching transcript folder', { dir });
    }
    this.schedule(transcriptPath);
  }

  schedule(file: string): void {
    if (!file.endsWith('.jsonl')) return;
    // A read is already due: it will see this write too. (Restarting the timer instead would
    // starve a file that is appended to more often than debounceMs, as a streaming turn is.)
    if (this.timers.has(file)) return;
    this.timers.set(
      file,
      setTimeout(() => {
        this.timers.delete(file);
        this.ingester.ingestFile(file, 'watch').catch((err) => this.log.warn('transcript ingest failed', { path: file, error: err }));
      }, this.debounceMs),
    );
  }

  async close(): Promise<void> {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.watcher.close();
  }
}
