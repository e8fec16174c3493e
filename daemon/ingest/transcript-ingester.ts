// Tails transcript files into SQLite. Each batch of lines is committed together with the file's
// new byte offset, so a kill at any moment resumes exactly where the last commit ended, and the
// (uuid, block_index) and usage-key uniqueness make any re-read (resume, fork copies, truncation,
// a replaced file) a no-op. One ingest per file runs at a time; a request that arrives meanwhile
// is folded into one more pass.
import fs from 'node:fs';
import { localHostname } from '../../common/host.js';
import type { StoreHealth } from '../store/health.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import { type InteractionInsert, InteractionStore } from '../store/interactions.js';
import { SessionStore, type TranscriptSessionFacts } from '../store/session-store.js';
import { type UsageRow, UsageStore } from '../store/usage-store.js';
import type { StoredBody } from '../store/line-codec.js';
import { costOf, PRICING_VERSION, WEB_SEARCH_USD_PER_REQUEST, webSearchesOf, type ModelPrice } from '../pricing/pricing.js';
import { classifyTranscriptPath, isWarmupPrompt, parseSubagentMeta, type TranscriptLayout } from './transcripts/layout.js';
import type { HookRedaction } from './hook-events.js';
import { SearchBacklog } from './search-backlog.js';
import type { Interaction, UsageRecord } from './transcripts/types.js';
import { prepareBatches, type LineFacts, type PreparedBatch, type PreparedLine } from './transcript-batches.js';
import { ParseWorker, type WorkerRedaction } from './parse-worker-client.js';
import { addUsage, mergeUsage } from './transcripts/usage.js';
import { projectOf } from './project.js';
import { contentKey as transcriptContentKey } from './transcripts/identity.js';
import { bareInteraction } from './transcripts/parse.js';
import { LegacySidechains } from './legacy-sidechains.js';
import { WebSearchLinks } from './web-searches.js';

/** Who first asked for a file to be read; kept in transcripts.source ("sweep" = no hook announced it). */
export type TranscriptSource = 'hook' | 'watch' | 'import' | 'sweep';

export interface IngestFileResult {
  path: string;
  sessionIds: string[];
  lines: number;
  bytes: number;
  interactionsAdded: number;
  /** Lines that could not be used, by reason (invalid-json, oversized, unknown-type, …). */
  skipped: Record<string, number>;
  /** The file was truncated or replaced and was read again from the start. */
  reset: boolean;
  error: string | null;
}

interface TranscriptRow {
  path: string;
  session_id: string | null;
  agent_id: string | null;
  byte_offset: number;
  inode: number | null;
  size: number | null;
  lines: number;
  skipped: number;
  layout: string | null;
}

const HOST = localHostname();

/**
 * Redaction at ingest. With `settings` an import's worker thread builds the same redactor; its
 * matches are added to `totals` (the daemon's redaction metrics).
 */
export type IngestRedaction = HookRedaction & Partial<WorkerRedaction> & { readonly totals?: Map<string, number> };

export class TranscriptIngester {
  private readonly running = new Map<string, Promise<IngestFileResult>>();
  private readonly again = new Set<string>();
  private readonly stmts;
  private readonly observers: ((r: IngestFileResult) => void)[] = [];
  /** The connection's own synchronous level, restored after each ingest transaction. */
  private readonly syncLevel: number;
  /** Full-text indexing deferred while imports run (see search-backlog.ts). */
  readonly searchBacklog: SearchBacklog;
  private readonly interactions: InteractionStore;
  private readonly sessions: SessionStore;
  private readonly usageRows: UsageStore;
  /** Parses imports off the main thread; started by the first import, stopped after the last. */
  private parseWorker: ParseWorker | null = null;
  private imports = 0;

  /** Inline sidechains of Claude Code ≤ 2.0.27, attached to their Task calls after each commit. */
  private readonly sidechains: LegacySidechains;
  private readonly webSearches: WebSearchLinks;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly opts: {
      pricingOverrides?: Record<string, Partial<ModelPrice>>;
      /** USD per server-side web search (config pricing.webSearchPerRequest). */
      webSearchPerRequest?: number;
      redaction?: IngestRedaction | null;
      /** Reads wait while the store is damaged (their offsets stay, so nothing is skipped), and write errors report damage. */
      health?: StoreHealth | null;
    } = {},
  ) {
    this.syncLevel = Number(db.pragma('synchronous', { simple: true }));
    this.searchBacklog = new SearchBacklog(db, log);
    this.interactions = new InteractionStore(db);
    this.sessions = new SessionStore(db);
    this.usageRows = new UsageStore(db);
    this.sidechains = new LegacySidechains(db);
    this.webSearches = new WebSearchLinks(db, this.webSearchPrice);
    this.stmts = {
      readPositions: db.prepare('SELECT path, byte_offset, inode, session_id FROM transcripts'),
      getTranscript: db.prepare('SELECT path, session_id, agent_id, byte_offset, inode, size, lines, skipped, layout FROM transcripts WHERE path = ?'),
      registerTranscript: db.prepare(`
        INSERT INTO transcripts (path, session_id, agent_id, source, registered_at, layout) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (path) DO UPDATE SET layout = excluded.layout,
          session_id = COALESCE(transcripts.session_id, excluded.session_id),
          agent_id = COALESCE(transcripts.agent_id, excluded.agent_id)`),
      saveOffset: db.prepare(`
        UPDATE transcripts SET byte_offset = @offset, inode = @inode, size = @size, lines = lines + @lines,
          skipped = skipped + @skipped, last_read_at = @now, last_error = NULL,
          session_id = COALESCE(session_id, @sessionId)
        WHERE path = @path`),
      resetTranscript: db.prepare('UPDATE transcripts SET byte_offset = 0, inode = ?, size = ?, lines = 0, skipped = 0 WHERE path = ?'),
      saveError: db.prepare('UPDATE transcripts SET last_error = ?, last_read_at = ? WHERE path = ?'),
      /** After an ignored insert: was the line itself stored before (a re-read), or only its content (a replay)? */
      uuidStored: db.prepare('SELECT 1 FROM interactions WHERE uuid = ? AND block_index = ?').pluck(),
      lastActivity: db.prepare('SELECT MAX(ts) FROM interactions WHERE session_id = ?').pluck(),
      isHidden: db.prepare('SELECT hidden FROM interactions WHERE uuid = ? LIMIT 1').pluck(),
      upsertSubagent: db.prepare(`
        INSERT INTO subagents (session_id, agent_id, kind, agent_type, description, tool_use_id, transcript_path, first_ts, last_ts)
        VALUES (@sessionId, @agentId, @kind, @agentType, @description, @toolUseId, @transcriptPath, @first, @last)
        ON CONFLICT (session_id, agent_id) DO UPDATE SET
          kind = CASE WHEN subagents.kind = 'conversation' THEN excluded.kind ELSE subagents.kind END,
          agent_type = COALESCE(subagents.agent_type, excluded.agent_type),
          description = COALESCE(subagents.description, excluded.description),
          tool_use_id = COALESCE(subagents.tool_use_id, excluded.tool_use_id),
          transcript_path = COALESCE(subagents.transcript_path, excluded.transcript_path),
          first_ts = MIN(COALESCE(subagents.first_ts, excluded.first_ts), COALESCE(excluded.first_ts, subagents.first_ts)),
          last_ts = MAX(COALESCE(subagents.last_ts, excluded.last_ts), COALESCE(excluded.last_ts, subagents.last_ts))`),
      subagentKind: db.prepare('SELECT kind FROM subagents WHERE session_id = ? AND agent_id = ?').pluck(),
    };
  }

  /**
   * An import starts: its files are parsed in a worker thread and full-text indexing waits for
   * endImport(). Imports may overlap; each beginImport() needs one endImport().
   */
  beginImport(): void {
    this.imports += 1;
    this.searchBacklog.begin();
    const redaction = this.opts.redaction ?? null;
    this.parseWorker ??= ParseWorker.create(redaction?.settings ? (redaction as WorkerRedaction) : null, redaction !== null, this.log);
  }

  /**
   * An import ends: once no other runs, the worker stops. The deferred rows are indexed in the
   * background (in short transactions between which hooks and reads go on); the import returns
   * without waiting, and `rbk status` shows the rows still to index. `indexed` resolves when they
   * are, for callers that must wait (tests, the benchmark).
   */
  async endImport(): Promise<{ indexed: Promise<void> }> {
    this.imports = Math.max(0, this.imports - 1);
    if (this.imports === 0 && this.parseWorker) {
      const worker = this.parseWorker;
      this.parseWorker = null;
      await worker.close();
    }
    const indexed = this.searchBacklog.end();
    indexed.catch((err: unknown) => this.log.error('indexing an import for search failed; the next start or import retries it', { error: err }));
    return { indexed };
  }

  /** Whether an `rbk import` is running (the sync waits for it: see sync/triggers.ts). */
  importing(): boolean {
    return this.imports > 0;
  }

  /**
   * What the store has read of every transcript it knows: the sweep (sweep.ts) compares these
   * with a stat of each file and reads only what is new, so an unchanged archive costs no read.
   */
  readPositions(): Map<string, { offset: number; inode: number | null; sessionId: string | null }> {
    const out = new Map<string, { offset: number; inode: number | null; sessionId: string | null }>();
    for (const r of this.stmts.readPositions.iterate() as Iterable<{ path: string; byte_offset: number; inode: number | null; session_id: string | null }>)
      out.set(r.path, { offset: r.byte_offset, inode: r.inode, sessionId: r.session_id });
    return out;
  }

  /** Resolves when no file is being read (used at shutdown, before the database closes). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  onIngested(observer: (r: IngestFileResult) => void): void {
    this.observers.push(observer);
  }

  /** Reads whatever is new in `file`. Concurrent calls for one file share one run plus one re-run. */
  ingestFile(file: string, source: TranscriptSource = 'watch'): Promise<IngestFileResult> {
    const current = this.running.get(file);
    if (current) {
      this.again.add(file);
      return current;
    }
    const run = (async () => {
      let result: IngestFileResult;
      do {
        this.again.delete(file);
        result = await this.ingestOnce(file, source);
      } while (this.again.has(file));
      return result;
    })().finally(() => this.running.delete(file));
    this.running.set(file, run);
    return run;
  }

  private async ingestOnce(file: string, source: string): Promise<IngestFileResult> {
    const result: IngestFileResult = { path: file, sessionIds: [], lines: 0, bytes: 0, interactionsAdded: 0, skipped: {}, reset: false, error: null };
    if (this.opts.health && !this.opts.health.writable) {
      result.error = 'the database is damaged; this transcript is read after rbk recover';
      return result;
    }
    const layout = classifyTranscriptPath(file);
    if (layout.problems.includes('unsafe-path') || layout.problems.includes('not-jsonl')) {
      result.error = `not a transcript path (${layout.problems.join(', ')})`;
      return result;
    }
    // A file name is a session id only when it looks like one; lines carry their own otherwise.
    const sessionIdHint = layout.problems.includes('session-id-not-uuid') ? null : layout.sessionId;
    let row = this.stmts.getTranscript.get(file) as TranscriptRow | undefined;
    // Registered once, not on every pass: a write here would be a commit of its own per append.
    if (!row || row.layout !== layout.layout || (row.session_id === null && sessionIdHint !== null) || (row.agent_id === null && layout.agentId !== null)) {
      this.relaxedSync(() => this.stmts.registerTranscript.run(file, sessionIdHint, layout.agentId, source, Date.now(), layout.layout));
      row = this.stmts.getTranscript.get(file) as TranscriptRow;
    }

    let st: fs.Stats;
    try {
      st = await fs.promises.stat(file);
    } catch (err) {
      result.error = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file no longer exists' : (err as Error).message;
      this.relaxedSync(() => this.stmts.saveError.run(result.error, Date.now(), file));
      return result;
    }
    let offset = row.byte_offset;
    if ((row.inode !== null && row.inode !== st.ino) || st.size < offset) {
      // Truncated or replaced: read it all again; uniqueness keys drop what we already have.
      result.reset = true;
      offset = 0;
      this.relaxedSync(() => this.stmts.resetTranscript.run(st.ino, st.size, file));
      this.log.info('transcript truncated or replaced; re-reading', { path: file });
    }
    if (st.size === offset) return result;

    const touched = new Set<string>();
    const state = new FileState(layout, row, file, this);
    const pulled = new Map<string, boolean>();
    const isPulled = (id: string): boolean => {
      let v = pulled.get(id);
      if (v === undefined) pulled.set(id, (v = this.sessions.pulledFrom(id) !== undefined));
      return v;
    };
    try {
      const opts = {
        untilOffset: st.size,
        sessionIdHint,
        agentIdHint: layout.agentId,
        format: layout.layout === 'codex' ? ('codex' as const) : ('claude' as const),
      };
      // Redaction runs on the parsed line before anything is extracted from it (redaction.mode: ingest).
      const redaction = this.opts.redaction ?? null;
      const worker = source === 'import' || source === 'sweep' ? this.parseWorker : null;
      const batches: AsyncIterable<PreparedBatch> = worker
        ? worker.scan(file, offset, opts, (byRule) => addTotals(redaction?.totals, byRule))
        : prepareBatches(file, offset, { ...opts, redact: redaction ? (e) => redaction.redactValue(e) : null });
      for await (const batch of batches) {
        result.lines += batch.count;
        result.bytes += batch.bytes;
        for (const [k, v] of Object.entries(batch.skipped)) result.skipped[k] = (result.skipped[k] ?? 0) + v;
        offset = batch.end;
        // A session pulled from another machine (rbk pull) is read-only here.
        const lines = batch.lines.filter((l) => {
          if (!l.parsed.sessionId || !isPulled(l.parsed.sessionId)) return true;
          result.skipped['pulled-session-read-only'] = (result.skipped['pulled-session-read-only'] ?? 0) + 1;
          return false;
        });
        result.interactionsAdded += this.commit(state, lines, { offset, st, file, lines: result.lines, skipped: result.skipped }, touched);
      }
    } catch (err) {
      result.error = (err as Error).message;
      this.opts.health?.noteError(err, 'write');
      if (this.opts.health && !this.opts.health.writable) return result;
      this.relaxedSync(() => this.stmts.saveError.run(result.error, Date.now(), file));
      this.log.warn('transcript read failed; will retry on the next change', { path: file, error: err });
    }
    // The file grew while it was read: go again now. A change event for that write may never
    // come: chokidar drops events within its throttle windows, and one whose stat finds the
    // mtime it already saw, with atime moved past it by our own read, looks like a mere access.
    if (result.error === null) {
      const after = await fs.promises.stat(file).catch(() => null);
      if (after && after.ino === st.ino && after.size > st.size) this.again.add(file);
    }
    result.sessionIds = [...touched];
    for (const o of this.observers) o(result);
    return result;
  }

  /** Writes one batch and the offset after it in one transaction. Returns interactions added. */
  private commit(
    state: FileState,
    batch: PreparedLine[],
    pos: { offset: number; st: fs.Stats; file: string; lines: number; skipped: Record<string, number> },
    touched: Set<string>,
  ): number {
    const now = Date.now();
    const skippedTotal = Object.values(pos.skipped).reduce((a, b) => a + b, 0);
    // Lines whose content was stored before under other uuids (see transcripts/identity.ts).
    let replayed = 0;
    const transaction = this.db.transaction(() => {
      let added = 0;
      replayed = 0;
      const markedReplay = new Set<string>();
      // WebSearch results stored in this batch: their searches go on the calling response's usage.
      const searches: { toolUseId: string; n: number }[] = [];
      const metaBySession = new Map<string, SessionMetaAcc>();
      // What this batch adds to each session's counts; applied with the offset, in this transaction.
      const deltas = new Map<string, SessionDelta>();
      // One API response is several lines repeating its usage: merge them here, write each once.
      const usage = new Map<string, UsageRecord>();
      for (const { parsed, interactions, raw, texts, toolUseResults } of batch) {
        const sessionId = parsed.sessionId;
        const hidden = state.isHidden(parsed);
        // Bookkeeping lines (snapshots, queue operations) do not make a session exist.
        let delta: SessionDelta | undefined;
        if (sessionId && (interactions.length > 0 || parsed.usage)) {
          touched.add(sessionId);
          delta = deltas.get(sessionId);
          if (!delta) {
            delta = { id: sessionId, prompts: 0, toolCalls: 0, toolFailures: 0, interactions: 0 };
            deltas.set(sessionId, delta);
          }
          this.sessions.ensureFromTranscript(sessionId, HOST, now);
          if (!parsed.isSidechain) accumulateMeta(metaBySession, sessionId, parsed, state.layout.layout === 'main' ? pos.file : null);
          if (parsed.isSidechain && parsed.agentId) state.noteAgent(sessionId, parsed.agentId, parsed.timestamp, hidden);
        }
        let rawText = raw;
        let lineReplayed = false;
        for (const [k, i] of interactions.entries()) {
          const contentKey = i.sessionId ? transcriptContentKey(i) : null;
          const r = this.interactions.insert(
            this.rowParams(i, { hidden, file: pos.file, text: texts[k] ?? i.text, raw: rawText, toolUseResult: toolUseResults[k] ?? null, now, contentKey }),
          );
          rawText = null;
          added += r.changes;
          if (r.changes === 0 && contentKey && !this.stmts.uuidStored.get(i.uuid, i.blockIndex)) lineReplayed = true;
          if (r.changes > 0 && i.webSearches && i.toolUseId) searches.push({ toolUseId: i.toolUseId, n: i.webSearches });
          if (r.changes > 0 && delta && !hidden && i.sessionId === sessionId) {
            delta.interactions += 1;
            if (i.kind === 'user_prompt' && !i.isSidechain) delta.prompts += 1;
            else if (i.kind === 'tool_use') delta.toolCalls += 1;
            else if (i.kind === 'tool_result' && i.isError) delta.toolFailures += 1;
          }
        }
        if (lineReplayed && sessionId) {
          replayed++;
          if (!markedReplay.has(sessionId)) {
            markedReplay.add(sessionId);
            added += this.markReplay(sessionId, parsed, hidden, pos.file, now);
          }
        }
        if (parsed.usage) addUsage(usage, parsed.usage);
      }
      for (const [key, u] of usage) this.upsertUsage(key, u);
      for (const s of searches) this.webSearches.link(s.toolUseId, s.n);
      for (const [id, m] of metaBySession) this.sessions.mergeTranscript({ ...m, id, now });
      state.flushAgents(this.stmts.upsertSubagent);
      for (const id of deltas.keys()) if (this.sidechains.pending(id)) this.sidechains.attribute(id, now);
      // Counts move by what was inserted (re-reads insert nothing); token totals are re-summed
      // from message_usage, which is small. Recounting interactions instead would read every row
      // of the session, overflow pages and all, on each append.
      for (const d of deltas.values()) this.sessions.countTranscript(d);
      this.stmts.saveOffset.run({
        path: pos.file,
        offset: pos.offset,
        inode: pos.st.ino,
        size: pos.st.size,
        lines: pos.lines - state.committedLines,
        skipped: skippedTotal + replayed - state.committedSkipped,
        now,
        // The file name's session when it is one, else the first session its lines name.
        sessionId: (state.layout.problems.includes('session-id-not-uuid') ? null : state.layout.sessionId) ?? deltas.keys().next().value ?? null,
      });
      state.committedLines = pos.lines;
      state.committedSkipped = skippedTotal + replayed;
      return added;
    });
    const added = this.relaxedSync(transaction);
    if (replayed > 0) pos.skipped.replayed = (pos.skipped.replayed ?? 0) + replayed;
    return added;
  }

  /**
   * A resume that wrote earlier history again: one marker per session and batch, at the session's
   * latest stored moment (where the resume picked up), so the timeline shows where it happened.
   * Its uuid derives from the first replayed line's, so a re-read adds no second marker.
   */
  private markReplay(sessionId: string, parsed: LineFacts, hidden: boolean, file: string, now: number): number {
    if (hidden) return 0;
    const marker = bareInteraction({
      uuid: `replay-${parsed.uuid ?? sessionId}`,
      blockIndex: 0,
      sessionId,
      kind: 'system_event',
      subtype: 'history_replayed',
      timestamp: (this.stmts.lastActivity.get(sessionId) as number | null) ?? parsed.timestamp,
      text: 'resumed: Claude Code wrote earlier history into the transcript again; rbk keeps the first copy',
    });
    return this.interactions.insert(this.rowParams(marker, { hidden: false, file, text: marker.text, raw: null, toolUseResult: null, now, contentKey: null }))
      .changes;
  }

  /** An interaction as the insert's parameters (SQLite has no booleans). */
  private rowParams(
    i: Interaction,
    row: { hidden: boolean; file: string; text: StoredBody; raw: StoredBody; toolUseResult: StoredBody; now: number; contentKey: Buffer | null },
  ): InteractionInsert {
    return {
      ...i,
      isError: i.isError === null ? null : i.isError ? 1 : 0,
      isSidechain: i.isSidechain ? 1 : 0,
      isMeta: i.isMeta ? 1 : 0,
      isCompactSummary: i.isCompactSummary ? 1 : 0,
      hidden: row.hidden ? 1 : 0,
      sourcePath: row.file,
      text: row.text,
      raw: row.raw,
      toolUseResult: row.toolUseResult,
      redactionVersion: this.opts.redaction?.version ?? null,
      now: row.now,
      contentKey: row.contentKey,
      webSearches: i.webSearches ?? null,
    };
  }

  /**
   * Runs writes with synchronous = NORMAL. Transcript rows need no fsync per commit: the file is
   * the source of truth and its offset commits atomically with the rows, so a commit lost to a
   * power cut is simply read again (WAL + NORMAL still survives a crash of the daemon itself).
   * Hook events keep the connection's FULL.
   */
  private relaxedSync<T>(fn: () => T): T {
    if (this.syncLevel <= 1) return fn();
    this.db.pragma('synchronous = NORMAL');
    try {
      return fn();
    } finally {
      this.db.pragma(`synchronous = ${this.syncLevel}`);
    }
  }

  private upsertUsage(key: string, u: UsageRecord): void {
    const existing = this.usageRows.get(key);
    const merged = existing ? mergeUsage(rowToUsage(existing), u) : u;
    if (existing && sameCounts(existing, merged)) return;
    const reported = merged.webSearchRequests ?? 0;
    const tokens = costOf(merged, this.opts.pricingOverrides);
    this.usageRows.upsert({
      ...merged,
      key,
      isSidechain: merged.isSidechain ? 1 : 0,
      cost: tokens === null ? null : tokens + webSearchesOf(reported, existing?.web_search_linked ?? 0) * this.webSearchPrice,
      pricingVersion: PRICING_VERSION,
      webSearchReported: reported,
    });
  }

  private get webSearchPrice(): number {
    return this.opts.webSearchPerRequest ?? WEB_SEARCH_USD_PER_REQUEST;
  }

  /** @internal used by FileState */
  lookupHidden(uuid: string): boolean {
    return this.stmts.isHidden.get(uuid) === 1;
  }

  /** @internal used by FileState */
  lookupSubagentKind(sessionId: string, agentId: string): string | undefined {
    return this.stmts.subagentKind.get(sessionId, agentId) as string | undefined;
  }
}

interface SessionDelta {
  id: string;
  prompts: number;
  toolCalls: number;
  toolFailures: number;
  interactions: number;
}

function rowToUsage(r: UsageRow): UsageRecord {
  return {
    // Rows the ingester reads back are its own (pulled sessions' rows are never merged): both are set.
    messageId: r.message_id as string,
    requestId: r.request_id,
    model: r.model as string,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    cacheCreationTokens: r.cache_creation_tokens,
    cacheCreation5mTokens: r.cache_creation_5m_tokens,
    cacheCreation1hTokens: r.cache_creation_1h_tokens,
    cacheReadTokens: r.cache_read_tokens,
    timestamp: r.ts,
    sessionId: r.session_id,
    agentId: r.agent_id,
    isSidechain: r.is_sidechain === 1,
    webSearchRequests: r.web_search_reported,
  };
}

function sameCounts(r: UsageRow, u: UsageRecord): boolean {
  return (
    r.input_tokens === u.inputTokens &&
    r.output_tokens === u.outputTokens &&
    r.cache_creation_tokens === u.cacheCreationTokens &&
    r.cache_creation_5m_tokens === u.cacheCreation5mTokens &&
    r.cache_creation_1h_tokens === u.cacheCreation1hTokens &&
    r.cache_read_tokens === u.cacheReadTokens &&
    r.web_search_reported === (u.webSearchRequests ?? 0) &&
    r.model === u.model
  );
}

/** What a batch's lines say of their session, gathered for SessionStore.mergeTranscript. */
type SessionMetaAcc = Omit<TranscriptSessionFacts, 'id' | 'now'>;

function accumulateMeta(into: Map<string, SessionMetaAcc>, sessionId: string, p: LineFacts, transcriptPath: string | null): void {
  let m = into.get(sessionId);
  if (!m) {
    m = {
      cwd: null,
      project: null,
      cwdAt: null,
      gitBranch: null,
      version: null,
      model: null,
      agent: null,
      transcriptPath,
      title: null,
      first: null,
      last: null,
    };
    into.set(sessionId, m);
  }
  const meta = p.sessionMeta;
  // The launch directory (store/session-store.ts): the cwd of the earliest line that has one.
  if (meta.cwd && (m.cwd === null || (p.timestamp !== null && (m.cwdAt === null || p.timestamp < m.cwdAt)))) {
    m.cwd = meta.cwd;
    m.project = projectOf(meta.cwd);
    m.cwdAt = p.timestamp;
  }
  if (meta.gitBranch) m.gitBranch = meta.gitBranch;
  if (meta.version) m.version = meta.version;
  if (meta.agent) m.agent = meta.agent;
  if (p.usage?.model && p.usage.model !== '<synthetic>') m.model = p.usage.model;
  const title = meta.customTitle ?? meta.aiTitle ?? meta.summary;
  if (title) m.title = title.slice(0, 200);
  if (p.timestamp !== null) {
    m.first = m.first === null ? p.timestamp : Math.min(m.first, p.timestamp);
    m.last = m.last === null ? p.timestamp : Math.max(m.last, p.timestamp);
  }
}

/**
 * What one ingest pass knows about the file it reads: whether its sidechain runs are hidden
 * (warmup, compaction) and which subagents it has seen.
 */
class FileState {
  committedLines = 0;
  committedSkipped = 0;
  private readonly hiddenUuids = new Set<string>();
  private readonly agents = new Map<string, { sessionId: string; agentId: string; first: number | null; last: number | null; hidden: boolean }>();
  private fileKind: string | undefined;
  private readonly meta: { agentType: string | null; description: string | null; toolUseId: string | null };

  constructor(
    readonly layout: TranscriptLayout,
    row: TranscriptRow,
    private readonly file: string,
    private readonly ingester: TranscriptIngester,
  ) {
    this.meta = { agentType: null, description: null, toolUseId: null };
    if (layout.role === 'subagent') {
      if (layout.internalAgent) this.fileKind = layout.internalAgent;
      else if (row.session_id && row.agent_id) this.fileKind = ingester.lookupSubagentKind(row.session_id, row.agent_id);
      if (layout.metaPath) {
        try {
          const m = parseSubagentMeta(fs.readFileSync(layout.metaPath, 'utf8'));
          if (m) Object.assign(this.meta, { agentType: m.agentType ?? null, description: m.description ?? null, toolUseId: m.toolUseId ?? null });
        } catch {
          /* .meta.json is optional and may be written after the transcript */
        }
      }
    }
  }

  /** Whether this line belongs to a run that counts for cost but is not conversation. */
  isHidden(p: LineFacts): boolean {
    if (this.layout.role === 'subagent') {
      if (this.fileKind === undefined) {
        const prompt = p.interactions.find((i) => i.kind === 'user_prompt');
        if (prompt) this.fileKind = isWarmupPrompt(prompt.text) ? 'warmup' : 'conversation';
      }
      return this.fileKind !== undefined && this.fileKind !== 'conversation';
    }
    if (!p.isSidechain) return false;
    // Inline sidechains (≤ 2.0.27): a warmup chain starts with a "Warmup" prompt and every later
    // line descends from it.
    const parent = p.parentUuid;
    const prompt = p.interactions.find((i) => i.kind === 'user_prompt');
    const hidden =
      (parent === null && prompt !== undefined && isWarmupPrompt(prompt.text)) ||
      (parent !== null && (this.hiddenUuids.has(parent) || this.ingester.lookupHidden(parent)));
    if (hidden && p.uuid) this.hiddenUuids.add(p.uuid);
    return hidden;
  }

  noteAgent(sessionId: string, agentId: string, ts: number | null, hidden: boolean): void {
    const key = `${sessionId}\0${agentId}`;
    const a = this.agents.get(key) ?? { sessionId, agentId, first: ts, last: ts, hidden };
    if (ts !== null) {
      a.first = a.first === null ? ts : Math.min(a.first, ts);
      a.last = a.last === null ? ts : Math.max(a.last, ts);
    }
    a.hidden ||= hidden;
    this.agents.set(key, a);
  }

  flushAgents(stmt: { run(params: Record<string, unknown>): unknown }): void {
    for (const a of this.agents.values()) {
      const kind = this.fileKind ?? (a.hidden ? 'warmup' : 'conversation');
      stmt.run({
        sessionId: a.sessionId,
        agentId: a.agentId,
        kind,
        agentType: this.meta.agentType,
        description: this.meta.description,
        toolUseId: this.meta.toolUseId,
        transcriptPath: this.layout.role === 'subagent' ? this.file : null,
        first: a.first,
        last: a.last,
      });
    }
    this.agents.clear();
  }
}

function addTotals(totals: Map<string, number> | undefined, byRule: Record<string, number>): void {
  if (!totals) return;
  for (const [rule, n] of Object.entries(byRule)) totals.set(rule, (totals.get(rule) ?? 0) + n);
}
