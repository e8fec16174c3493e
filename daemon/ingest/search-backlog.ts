// Deferred full-text indexing for backfills (migrations/0007_import.sql).
//
// Indexing each interaction from the insert trigger, one transaction at a time, cost an import
// more than reading, parsing and storing it: FTS5 flushes and merges a small segment per commit.
// Indexing the same rows afterwards with INSERT … SELECT over id ranges does the same work in
// about a third of the CPU. So while any import runs, the triggers skip rows with
// id >= search_index_backlog.from_id, and when the last import ends the backlog is indexed in
// bounded chunks, each one a short transaction that also raises from_id, so the index and the
// watermark always agree, even after a kill. Live rows inserted meanwhile land above the
// watermark too and are indexed by the same catch-up.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';

/** Rows per catch-up transaction: about 0.1 s of FTS5 work, so hooks and live tails wait little. */
const CHUNK_ROWS = 2000;

export class SearchBacklog {
  private readonly stmts;
  private deferrals = 0;
  private draining: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {
    this.stmts = {
      open: db.prepare('INSERT OR IGNORE INTO search_index_backlog (id, from_id) VALUES (1, COALESCE((SELECT MAX(id) FROM interactions), 0) + 1)'),
      fromId: db.prepare('SELECT from_id FROM search_index_backlog WHERE id = 1').pluck(),
      maxId: db.prepare('SELECT COALESCE(MAX(id), 0) FROM interactions').pluck(),
      index: db.prepare(`
        INSERT INTO interactions_fts (rowid, text, tool_input)
        SELECT id, text, tool_input FROM interactions_text WHERE id >= ? AND id < ?`),
      raise: db.prepare('UPDATE search_index_backlog SET from_id = ? WHERE id = 1'),
      pendingRows: db.prepare('SELECT count(*) FROM interactions_text WHERE id >= (SELECT from_id FROM search_index_backlog WHERE id = 1)').pluck(),
      close: db.prepare('DELETE FROM search_index_backlog WHERE id = 1'),
    };
  }

  /** Rows inserted from now on are not indexed until the matching end() has run. */
  begin(): void {
    this.deferrals += 1;
    this.stmts.open.run();
  }

  /**
   * Ends one begin() and indexes the backlog; resolves when that is done. The import does not
   * wait for it (search may trail an import: pendingRows() says how far it is). While another
   * import still runs, only the rows stored so far are indexed: chasing that import's inserts
   * would keep this one from finishing.
   */
  async end(): Promise<void> {
    this.deferrals = Math.max(0, this.deferrals - 1);
    if (this.deferrals === 0) return this.drain();
    await this.drainChunks(this.stmts.maxId.get() as number);
  }

  /** Visible conversation rows not in the full-text index yet (0 when it is complete). */
  pendingRows(): number {
    return this.stmts.pendingRows.get() as number;
  }

  /** Whether some interactions are not searchable yet. */
  pending(): boolean {
    return this.stmts.fromId.get() !== undefined;
  }

  /**
   * Indexes everything at or above the watermark. When no import is running any more the
   * watermark is dropped and the triggers index everything again; otherwise it is left just above
   * the newest row, so whoever awaited this can search everything stored so far. Also run at
   * start-up, for a backlog left by a daemon that stopped mid-import.
   */
  drain(): Promise<void> {
    this.draining ??= this.drainChunks().finally(() => {
      this.draining = null;
    });
    return this.draining;
  }

  /** Indexes from the watermark up to the newest row, or up to `limit` when given. */
  private async drainChunks(limit?: number): Promise<void> {
    const started = Date.now();
    let rows = 0;
    for (;;) {
      // Shutdown closes the database between two chunks: the rest waits for the next start.
      if (!this.db.open) return;
      const done = this.db.transaction((): boolean => {
        const from = this.stmts.fromId.get() as number | undefined;
        if (from === undefined) return true;
        const newest = this.stmts.maxId.get() as number;
        const max = limit === undefined ? newest : Math.min(newest, limit);
        const to = Math.min(from + CHUNK_ROWS, max + 1);
        if (to > from) rows += this.stmts.index.run(from, to).changes;
        if (to <= max) {
          this.stmts.raise.run(to);
          return false;
        }
        // Everything up to the newest row is indexed, and the triggers take over for what comes
        // next, in this same transaction, so no row falls between the two.
        if (this.deferrals === 0 && max === newest) this.stmts.close.run();
        else this.stmts.raise.run(Math.max(to, from));
        return true;
      })();
      if (done) break;
      await yieldToEventLoop();
    }
    if (rows > 0) this.log.info('search index caught up', { rows, ms: Date.now() - started });
  }
}
