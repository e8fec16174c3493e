// Follows live transcripts. Claude Code writes a transcript asynchronously, so a hook firing is
// only a hint that the file will grow: we watch each active project folder (main transcripts,
// flat agent-*.jsonl files, and <session>/subagents/) and read a file again shortly after it changes.
import fs from 'node:fs';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from '../log.js';
import type { TranscriptIngester } from './transcript-ingester.js';

export class TranscriptWatcher {
  private readonly watcher: FSWatcher;
  private readonly dirs = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** When the last change event for each file arrived. */
  private readonly lastEvent = new Map<string, number>();

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

  /**
   * Watches a folder for transcripts that appear or grow in it and up to two levels below (a Codex
   * month folder: DD/rollout-….jsonl). Idempotent; a folder that does not exist yet is skipped.
   */
  watchFolder(dir: string): void {
    if (this.dirs.has(dir) || !fs.existsSync(dir)) return;
    this.dirs.add(dir);
    this.watcher.add(dir);
    this.log.debug('watching transcript folder', { dir });
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

  /**
   * Reads `file` debounceMs after a change, at most once per debounceMs while changes keep
   * coming (restarting the timer on each event would starve a file that is appended to faster
   * than that, as a streaming turn is), and always once more at least debounceMs after the last
   * event: chokidar drops change events that follow an emitted one within 50 ms, so a write in
   * that window is only seen by a read that starts after it.
   */
  schedule(file: string): void {
    if (!file.endsWith('.jsonl')) return;
    this.lastEvent.set(file, Date.now());
    if (!this.timers.has(file)) this.arm(file, this.debounceMs);
  }

  private arm(file: string, delayMs: number): void {
    this.timers.set(
      file,
      setTimeout(() => {
        this.timers.delete(file);
        const startedAt = Date.now();
        this.ingester.ingestFile(file, 'watch').catch((err) => this.log.warn('transcript ingest failed', { path: file, error: err }));
        const sinceLast = startedAt - (this.lastEvent.get(file) ?? 0);
        if (sinceLast < this.debounceMs) this.arm(file, this.debounceMs - sinceLast);
        else this.lastEvent.delete(file);
      }, delayMs),
    );
  }

  async close(): Promise<void> {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.watcher.close();
  }
}
