// Prometheus metrics on metrics.listen (default 127.0.0.1:9477; never 9464, Claude Code's own
// exporter). Three kinds of series:
// - live counters fed by the daemon's observers (hook events, hook-to-durable latency, ingest);
// - totals read from SQLite at scrape time (sessions, tokens, cost), cached for a few seconds;
// - counters over interactions, advanced incrementally by row id, so a scrape reads only the rows
//   added since the last one (the first scrape after a start catches up in chunks, yielding).
// Series for features that do not exist yet (redaction counts, jobs) are left out rather
// than exported as zeros: see docs/operations.md.
import type { OtlpReceiver } from '../ingest/otlp/receiver.js';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeNow, hostForUrl, listenOn } from '../listen.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { RBK_VERSION } from '../../common/version.js';
import type { DaemonContext } from '../context.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import type { SyncMetricsSink, SyncStatus } from '../sync/service.js';
import type { StoredInteraction } from '../store/rows.js';

/** Claude Code's hook events; anything else is counted as "other" (label values stay bounded). */
const KNOWN_EVENTS = new Set([
  'SessionStart',
  'Setup',
  'UserPromptSubmit',
  'UserPromptExpansion',
  'PreToolUse',
  'PermissionRequest',
  'PermissionDenied',
  'PostToolUse',
  'PostToolUseFailure',
  'PostToolBatch',
  'Notification',
  'MessageDisplay',
  'SubagentStart',
  'SubagentStop',
  'TaskCreated',
  'TaskCompleted',
  'Stop',
  'StopFailure',
  'TeammateIdle',
  'InstructionsLoaded',
  'ConfigChange',
  'CwdChanged',
  'FileChanged',
  'WorktreeCreate',
  'WorktreeRemove',
  'PreCompact',
  'PostCompact',
  'Elicitation',
  'ElicitationResult',
  'SessionEnd',
]);

/** Caps the distinct values of a label (tool and model names come from transcripts). */
class LabelCap {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}
  get(value: string | null | undefined): string {
    const v = value && value.length > 0 ? value.slice(0, 120) : 'unknown';
    if (this.seen.has(v)) return v;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(v);
    return v;
  }
}

interface Snapshot {
  sessionsTotal: number;
  sessionsActive: number;
  usage: { model: string; input: number; output: number; cacheCreation: number; cacheRead: number; cost: number; unpriced: number }[];
  transcripts: number;
  transcriptErrors: number;
  unannouncedSessions: number;
}

type InteractionRow = Pick<StoredInteraction, 'id' | 'kind' | 'block_index' | 'tool_name' | 'tool_use_id' | 'is_error' | 'hidden' | 'ts' | 'ingested_at'> & {
  /** The transcript's source (hook, import, sweep…), joined in. */
  source: string | null;
};

/** Sessions with no activity for this long are not counted as active (crashed sessions never end). */
const ACTIVE_WINDOW_MS = 3600_000;
const CHUNK = 5000;

export interface WebhookMetrics {
  attempt(webhook: string, result: string): void;
  outcome(webhook: string, outcome: 'delivered' | 'failed' | 'dropped'): void;
  queue(webhook: string, length: number): void;
}

export class RbkMetrics {
  readonly registry = new Registry();
  private readonly hookEvents;
  private readonly hookLatency;
  private readonly interactions;
  private readonly toolCalls;
  private readonly toolFailures;
  private readonly ingestLag;
  private readonly webhookAttempts;
  private readonly webhookOutcomes;
  private readonly webhookQueue;
  private readonly tools = new LabelCap(300);
  private readonly models = new LabelCap(100);
  private server: http.Server | undefined;
  private snapshotCache: { at: number; ttl: number; value: Promise<Snapshot> } | undefined;
  private lastInteractionId = 0;
  private catchingUp: Promise<void> | undefined;
  private closed = false;
  private readonly stmts;

  constructor(
    private readonly ctx: Pick<DaemonContext, 'db' | 'spool' | 'paths' | 'log' | 'hookWriter' | 'ingester' | 'sessions'> & { otlpReceiver: OtlpReceiver },
  ) {
    const r = [this.registry];
    const db: Db = ctx.db;
    this.stmts = {
      interactions: db.prepare(`
        SELECT i.id, i.kind, i.block_index, i.tool_name, i.tool_use_id, i.is_error, i.hidden, i.ts, i.ingested_at, t.source
        FROM interactions i LEFT JOIN transcripts t ON t.path = i.source_path
        WHERE i.id > ? ORDER BY i.id LIMIT ${CHUNK}`),
      toolOf: db.prepare(`SELECT tool_name FROM interactions WHERE tool_use_id = ? AND kind = 'tool_use' LIMIT 1`).pluck(),
      sessions: db.prepare(`SELECT count(*) AS total, COALESCE(SUM(status = 'active' AND last_activity_at >= ?), 0) AS active FROM sessions`),
      usage: db.prepare(`
        SELECT model, SUM(input_tokens) AS input, SUM(output_tokens) AS output, SUM(cache_creation_tokens) AS cacheCreation,
               SUM(cache_read_tokens) AS cacheRead, COALESCE(SUM(cost_usd), 0) AS cost, count(*) - count(cost_usd) AS unpriced
        FROM message_usage GROUP BY model`),
      transcripts: db.prepare(`SELECT count(*) AS n, count(last_error) AS errors FROM transcripts`),
    };

    collectDefaultMetrics({ register: this.registry, prefix: 'rbk_' });
    // prom-client names these gauges *_total, which Prometheus reserves for counters (promtool
    // check metrics rejects them); the resource counts they carry are in rbk_nodejs_active_*.
    for (const name of ['rbk_nodejs_active_handles_total', 'rbk_nodejs_active_requests_total', 'rbk_nodejs_active_resources_total']) {
      this.registry.removeSingleMetric(name);
    }
    new Gauge({ name: 'rbk_build_info', help: 'rbk version of the running daemon (always 1).', labelNames: ['version'], registers: r }).set(
      { version: RBK_VERSION },
      1,
    );

    // --- live ---------------------------------------------------------------------------------
    this.hookEvents = new Counter({
      name: 'rbk_hook_events_total',
      help: 'Hook events stored by this daemon since it started, by Claude Code event name and path (direct, or spool after an outage).',
      labelNames: ['event', 'via'],
      registers: r,
    });
    this.hookLatency = new Histogram({
      name: 'rbk_hook_durable_latency_seconds',
      help: 'Time from the hook process starting to its event being committed to SQLite. via="spool" includes the time spent waiting in the spool.',
      labelNames: ['via'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
      registers: r,
    });
    const ingestLines = new Counter({
      name: 'rbk_transcript_lines_ingested_total',
      help: 'Transcript lines read by this daemon since it started.',
      registers: r,
    });
    const ingestErrors = new Counter({
      name: 'rbk_transcript_ingest_errors_total',
      help: 'Transcript reads that failed (file gone, unreadable, not a transcript).',
      registers: r,
    });
    ctx.hookWriter.onStored((event, result, durableAt) => {
      if (!result.stored) return;
      const name = KNOWN_EVENTS.has(event.eventName) ? event.eventName : 'other';
      this.hookEvents.inc({ event: name, via: event.via });
      if (typeof event.hookStartedAt === 'number' && event.hookStartedAt > 0) {
        this.hookLatency.observe({ via: event.via }, Math.max(0, durableAt - event.hookStartedAt) / 1000);
      }
    });
    const otlpRecords = new Counter({
      name: 'rbk_otlp_records_total',
      help: 'OTLP log records and spans received by this daemon since it started, by signal and outcome (stored, duplicate: an exporter retry, skipped: not agent telemetry or an unsafe id).',
      labelNames: ['signal', 'outcome'],
      registers: r,
    });
    const otlpMetricPoints = new Counter({
      name: 'rbk_otlp_metric_points_total',
      help: 'OTLP metric data points received since start (counted, not stored: the events carry the same figures).',
      registers: r,
    });
    ctx.otlpReceiver.onExport((res) => {
      if (res.stored > 0) otlpRecords.inc({ signal: res.signal, outcome: 'stored' }, res.stored);
      if (res.duplicates > 0) otlpRecords.inc({ signal: res.signal, outcome: 'duplicate' }, res.duplicates);
      const skipped = Object.values(res.skipped).reduce((a, n) => a + (n ?? 0), 0);
      if (skipped > 0) otlpRecords.inc({ signal: res.signal, outcome: 'skipped' }, skipped);
      if (res.metricPoints > 0) otlpMetricPoints.inc(res.metricPoints);
    });
    ctx.ingester.onIngested((res) => {
      if (res.lines > 0) ingestLines.inc(res.lines);
      if (res.error) ingestErrors.inc();
    });

    // --- gauges read at scrape time -------------------------------------------------------------
    new Gauge({
      name: 'rbk_spool_backlog_events',
      help: 'Hook events waiting in the spool directory to be stored.',
      registers: r,
      collect() {
        this.set(ctx.spool.backlog());
      },
    });
    new Gauge({
      name: 'rbk_db_size_bytes',
      help: 'Size of the SQLite database file plus its write-ahead log.',
      registers: r,
      collect() {
        let n = 0;
        for (const f of [ctx.paths.db, `${ctx.paths.db}-wal`]) {
          try {
            n += fs.statSync(f).size;
          } catch {
            /* no WAL yet */
          }
        }
        this.set(n);
      },
    });
    const snapshot = () => this.snapshot();
    new Gauge({
      name: 'rbk_sessions_active',
      help: `Sessions that have not ended and had activity in the last ${ACTIVE_WINDOW_MS / 60_000} minutes.`,
      registers: r,
      async collect() {
        this.set((await snapshot()).sessionsActive);
      },
    });
    new Counter({
      name: 'rbk_sessions_total',
      help: 'Sessions in the database (captured by hooks or imported from transcripts).',
      registers: r,
      async collect() {
        const s = await snapshot();
        this.reset();
        this.inc(s.sessionsTotal);
      },
    });
    const models = this.models;
    new Counter({
      name: 'rbk_tokens_total',
      help: 'Tokens of all API responses in the database, deduplicated per message, by model and type (input, output, cache_creation, cache_read).',
      labelNames: ['model', 'type'],
      registers: r,
      async collect() {
        const s = await snapshot();
        this.reset();
        for (const u of s.usage) {
          const model = models.get(u.model);
          this.inc({ model, type: 'input' }, u.input);
          this.inc({ model, type: 'output' }, u.output);
          this.inc({ model, type: 'cache_creation' }, u.cacheCreation);
          this.inc({ model, type: 'cache_read' }, u.cacheRead);
        }
      },
    });
    new Counter({
      name: 'rbk_cost_usd_total',
      help: 'Estimated cost in US dollars of the API responses in the database, by model. Responses from models without a known price are not included.',
      labelNames: ['model'],
      registers: r,
      async collect() {
        const s = await snapshot();
        this.reset();
        for (const u of s.usage) this.inc({ model: models.get(u.model) }, u.cost);
      },
    });
    new Counter({
      name: 'rbk_unpriced_responses_total',
      help: 'API responses in the database whose model has no known price (their cost is missing from rbk_cost_usd_total), by model.',
      labelNames: ['model'],
      registers: r,
      async collect() {
        const s = await snapshot();
        this.reset();
        for (const u of s.usage) if (u.unpriced > 0) this.inc({ model: models.get(u.model) }, u.unpriced);
      },
    });
    new Gauge({
      name: 'rbk_transcripts',
      help: 'Transcript files rbk tracks.',
      registers: r,
      async collect() {
        this.set((await snapshot()).transcripts);
      },
    });
    new Gauge({
      name: 'rbk_sessions_unannounced',
      help: 'Sessions the sweep found that no hook announced (hooks off or missing when they ran); rbk doctor says why that can be.',
      registers: r,
      async collect() {
        this.set((await snapshot()).unannouncedSessions);
      },
    });
    new Gauge({
      name: 'rbk_transcripts_with_errors',
      help: 'Tracked transcript files whose last read failed.',
      registers: r,
      async collect() {
        this.set((await snapshot()).transcriptErrors);
      },
    });

    // --- incremental over interactions ------------------------------------------------------------
    const catchUp = () => this.catchUp();
    this.interactions = new Counter({
      name: 'rbk_interactions_total',
      help: 'Conversation blocks stored from transcripts, by kind (user_prompt, assistant_text, tool_use, tool_result, ...). Warmup and compaction-summarizer runs are not counted.',
      labelNames: ['kind'],
      registers: r,
      async collect() {
        await catchUp();
      },
    });
    this.toolCalls = new Counter({ name: 'rbk_tool_calls_total', help: 'Tool calls seen in transcripts, by tool.', labelNames: ['tool'], registers: r });
    this.toolFailures = new Counter({
      name: 'rbk_tool_failures_total',
      help: 'Tool results marked as errors in transcripts, by tool.',
      labelNames: ['tool'],
      registers: r,
    });
    this.ingestLag = new Histogram({
      name: 'rbk_transcript_ingest_lag_seconds',
      help: 'Time from a transcript line being written (its timestamp) to it being stored, by how the file was found: hook/watch (live) or import (backfill).',
      labelNames: ['source'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400, 604800, 2592000],
      registers: r,
    });

    // --- webhooks ---------------------------------------------------------------------------------
    this.webhookAttempts = new Counter({
      name: 'rbk_webhook_attempts_total',
      help: 'Webhook HTTP attempts, by webhook and result (ok, http_4xx, http_5xx, network, unsigned).',
      labelNames: ['webhook', 'result'],
      registers: r,
    });
    this.webhookOutcomes = new Counter({
      name: 'rbk_webhook_deliveries_total',
      help: 'Webhook deliveries by final outcome: delivered, failed (retries exhausted or permanent error) or dropped (queue full).',
      labelNames: ['webhook', 'outcome'],
      registers: r,
    });
    this.webhookQueue = new Gauge({
      name: 'rbk_webhook_queue_length',
      help: 'Deliveries waiting per webhook (including the one in progress).',
      labelNames: ['webhook'],
      registers: r,
    });
  }

  webhookMetrics(): WebhookMetrics {
    return {
      attempt: (webhook, result) => this.webhookAttempts.inc({ webhook, result }),
      outcome: (webhook, outcome) => this.webhookOutcomes.inc({ webhook, outcome }),
      queue: (webhook, length) => this.webhookQueue.set({ webhook }, length),
    };
  }

  private snapshot(): Promise<Snapshot> {
    const now = Date.now();
    if (this.snapshotCache && now - this.snapshotCache.at < this.snapshotCache.ttl) return this.snapshotCache.value;
    const started = performance.now();
    const value = (async (): Promise<Snapshot> => {
      const s = this.stmts.sessions.get(now - ACTIVE_WINDOW_MS) as { total: number; active: number };
      const usage = this.stmts.usage.all() as Snapshot['usage'];
      const t = this.stmts.transcripts.get() as { n: number; errors: number };
      const unannouncedSessions = this.ctx.sessions.unannounced(0).total;
      return { sessionsTotal: s.total, sessionsActive: s.active, usage, transcripts: t.n, transcriptErrors: t.errors, unannouncedSessions };
    })();
    // Cache for at least 5 s, longer when the queries are slow (keeps scrapes under ~5% of a core).
    this.snapshotCache = { at: now, ttl: Math.max(5000, 20 * (performance.now() - started)), value };
    value.catch(() => (this.snapshotCache = undefined));
    return value;
  }

  /** Advances the interaction counters to the newest row, a chunk at a time. */
  private catchUp(): Promise<void> {
    if (this.catchingUp) return this.catchingUp;
    const run = (async () => {
      for (;;) {
        if (this.closed) return;
        const rows = this.stmts.interactions.all(this.lastInteractionId) as InteractionRow[];
        for (const row of rows) this.count(row);
        if (rows.length < CHUNK) return;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    this.catchingUp = run;
    const clear = () => {
      if (this.catchingUp === run) this.catchingUp = undefined;
    };
    run.then(clear, clear);
    return run;
  }

  private count(row: InteractionRow): void {
    this.lastInteractionId = row.id;
    if (row.hidden) return;
    this.interactions.inc({ kind: row.kind });
    if (row.kind === 'tool_use') this.toolCalls.inc({ tool: this.tools.get(row.tool_name) });
    else if (row.kind === 'tool_result' && row.is_error === 1) {
      const tool = row.tool_use_id ? (this.stmts.toolOf.get(row.tool_use_id) as string | undefined) : undefined;
      this.toolFailures.inc({ tool: this.tools.get(tool) });
    }
    if (row.block_index === 0 && typeof row.ts === 'number' && row.ts > 0) {
      const source = row.source === 'import' ? 'import' : row.source === 'hook' ? 'hook' : 'watch';
      this.ingestLag.observe({ source }, Math.max(0, row.ingested_at - row.ts) / 1000);
    }
  }

  /**
   * The central copy (daemon/sync): PUTs and failures counted as they happen, backlog, lag and
   * last success read from `status` at scrape time (cached for 5 s: it sums the pending rows).
   */
  syncMetrics(status: () => SyncStatus | null): SyncMetricsSink {
    const r = [this.registry];
    const puts = new Counter({
      name: 'rbk_sync_puts_total',
      help: 'PUT requests to the storage backend, by backend, object kind (part, manifest) and outcome (ok, error).',
      labelNames: ['backend', 'kind', 'outcome'],
      registers: r,
    });
    const bytes = new Counter({
      name: 'rbk_sync_uploaded_bytes_total',
      help: 'Bytes of objects stored by successful PUTs (gzip parts and manifests), by backend.',
      labelNames: ['backend'],
      registers: r,
    });
    const failures = new Counter({
      name: 'rbk_sync_session_failures_total',
      help: 'Session uploads that failed and were left to retry with backoff, by backend.',
      labelNames: ['backend'],
      registers: r,
    });
    let cache: { at: number; value: SyncStatus | null } | undefined;
    const read = (): SyncStatus | null => {
      const now = Date.now();
      if (!cache || now - cache.at > 5000) cache = { at: now, value: status() };
      return cache.value;
    };
    const gauge = (name: string, help: string, pick: (s: SyncStatus) => number | null) =>
      new Gauge({
        name,
        help,
        registers: r,
        collect() {
          const s = read();
          const v = s ? pick(s) : null;
          if (v !== null) this.set(v);
        },
      });
    gauge('rbk_sync_backlog_sessions', 'Sessions with rows not yet uploaded to the central copy.', (s) => s.backlogSessions);
    gauge('rbk_sync_backlog_bytes', 'Size of the rows not yet uploaded, as stored (before gzip).', (s) => s.backlogBytes);
    gauge('rbk_sync_sessions_in_backoff', 'Pending sessions waiting out a backoff after a failed upload.', (s) => s.sessionsInBackoff);
    gauge('rbk_sync_lag_seconds', 'Age of the oldest pending upload (0 when nothing is pending).', (s) => s.lagMs / 1000);
    gauge(
      'rbk_sync_last_success_timestamp_seconds',
      'Unix time of the last successful session upload; 0 before the first.',
      (s) => (s.lastSuccessAt ?? 0) / 1000,
    );
    return {
      put: (backend, kind, outcome, n) => {
        puts.inc({ backend, kind, outcome });
        if (n > 0) bytes.inc({ backend }, n);
      },
      sessionFailed: (backend) => failures.inc({ backend }),
    };
  }

  /** Serves GET /metrics; resolves with the bound address, or null when the port is unavailable. */
  async listen(listen: string, log: Logger = this.ctx.log): Promise<string | null> {
    const server = http.createServer((req, res) => {
      const url = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (url === '/metrics') {
        this.registry.metrics().then(
          (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(req.method === 'HEAD' ? undefined : body),
          (err: Error) => {
            log.error('metrics scrape failed', { error: err });
            res.writeHead(500, { 'content-type': 'text/plain' }).end(`scrape failed: ${err.message}\n`);
          },
        );
        return;
      }
      res
        .writeHead(url === '/' ? 200 : 404, { 'content-type': 'text/plain' })
        .end(url === '/' ? 'rbkd: metrics at /metrics\n' : 'not found; metrics are at /metrics\n');
    });
    server.keepAliveTimeout = 5000;
    let addr: AddressInfo;
    try {
      addr = await listenOn(server, listen);
    } catch (err) {
      log.warn('metrics server not started; the daemon runs without it', {
        listen,
        error: err,
        fix: 'set metrics.listen to a free host:port, or metrics.enabled: false',
      });
      return null;
    }
    server.unref();
    this.server = server;
    const bound = `${hostForUrl(addr)}:${addr.port}`;
    log.info('metrics listening', { url: `http://${bound}/metrics` });
    return bound;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.catchingUp;
    await this.snapshotCache?.value.catch(() => undefined);
    const server = this.server;
    this.server = undefined;
    if (server) await closeNow(server);
  }
}
