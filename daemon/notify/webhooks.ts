// Webhooks on session end. A SessionEnd hook event schedules a notification after a short
// debounce (so the transcript's tail is ingested first); the summary is then queued for every
// webhook that wants the event. Each webhook has its own bounded queue and one worker, so
// deliveries to one endpoint arrive in order, a slow endpoint delays only itself, and nothing
// here ever blocks hook ingestion. Failed attempts (network errors, 5xx, 408, 429) are retried
// with exponential backoff; other 4xx are permanent. Queues live in memory: deliveries still
// pending when the daemon stops are lost (and logged).
//
// Signing: X-Rbk-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>"> with the key from
// the environment variable named by secretEnv, and X-Rbk-Timestamp: <unix seconds>.
import { createHmac, randomUUID } from 'node:crypto';
import type { RbkConfig } from '../config/schema.js';
import type { DaemonContext } from '../context.js';
import type { Logger } from '../log.js';
import type { WebhookMetrics } from '../metrics/metrics.js';
import { buildSessionSummary, summaryText, type SessionSummary } from './summary.js';

type WebhookConfig = RbkConfig['notify']['webhooks'][number];
type NotifyConfig = RbkConfig['notify'];

export type NotifyEvent = 'session.end';

export interface Delivery {
  id: string;
  event: NotifyEvent;
  body: string;
  createdAt: number;
}

export function signBody(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export function renderBody(format: WebhookConfig['format'], event: NotifyEvent, deliveryId: string, summary: SessionSummary): string {
  if (format === 'slack') return JSON.stringify({ text: summaryText(summary) });
  if (format === 'discord') return JSON.stringify({ content: summaryText(summary).slice(0, 2000), allowed_mentions: { parse: [] } });
  return JSON.stringify({ event, deliveryId, sentAt: new Date().toISOString(), session: summary });
}

const noMetrics: WebhookMetrics = { attempt: () => {}, outcome: () => {}, queue: () => {} };

class Endpoint {
  readonly name: string;
  private readonly queue: Delivery[] = [];
  private running = false;
  private readonly aborter = new AbortController();
  private wake: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly config: WebhookConfig,
    private readonly notify: NotifyConfig,
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: Logger,
    private readonly metrics: WebhookMetrics,
  ) {
    this.name = config.name ?? new URL(config.url).host;
  }

  enqueue(d: Delivery): void {
    if (this.aborter.signal.aborted) return;
    if (this.queue.length >= this.notify.queueLimit) {
      this.metrics.outcome(this.name, 'dropped');
      this.log.warn('webhook queue full; delivery dropped', { webhook: this.name, delivery: d.id, queued: this.queue.length });
      return;
    }
    this.queue.push(d);
    this.metrics.queue(this.name, this.queue.length);
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.aborter.signal.aborted) {
        const d = this.queue[0]!;
        await this.deliver(d);
        this.queue.shift();
        this.metrics.queue(this.name, this.queue.length);
      }
    } finally {
      this.running = false;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Attempts until delivered, permanently refused, out of attempts, or stopped. */
  private async deliver(d: Delivery): Promise<void> {
    const { maxAttempts, initialDelayMs, maxDelayMs } = this.notify.retry;
    let secret: string | undefined;
    if (this.config.secretEnv) {
      secret = this.env[this.config.secretEnv];
      if (!secret) {
        this.metrics.attempt(this.name, 'unsigned');
        this.metrics.outcome(this.name, 'failed');
        this.log.error('webhook not sent: its signing secret is missing', {
          webhook: this.name,
          delivery: d.id,
          secretEnv: this.config.secretEnv,
          fix: `set ${this.config.secretEnv} in the daemon's environment (systemd: ~/.config/rbk/env) and restart rbkd`,
        });
        return;
      }
    }
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (this.aborter.signal.aborted) return;
      const timestamp = Math.floor(Date.now() / 1000);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'rbk-webhook/1',
        'x-rbk-event': d.event,
        'x-rbk-delivery': d.id,
        'x-rbk-timestamp': String(timestamp),
        'x-rbk-attempt': String(attempt),
      };
      if (secret) headers['x-rbk-signature'] = signBody(secret, timestamp, d.body);
      let retryable = true;
      let retryAfterMs: number | undefined;
      let result: string;
      try {
        const res = await fetch(this.config.url, {
          method: 'POST',
          headers,
          body: d.body,
          redirect: 'manual',
          signal: AbortSignal.any([this.aborter.signal, AbortSignal.timeout(this.config.timeoutMs)]),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.status >= 200 && res.status < 300) {
          this.metrics.attempt(this.name, 'ok');
          this.metrics.outcome(this.name, 'delivered');
          this.log.info('webhook delivered', { webhook: this.name, delivery: d.id, event: d.event, attempt, status: res.status });
          return;
        }
        result = res.status >= 500 ? 'http_5xx' : 'http_4xx';
        retryable = res.status >= 500 || res.status === 408 || res.status === 429;
        const ra = Number(res.headers.get('retry-after'));
        if (Number.isFinite(ra) && ra > 0) retryAfterMs = Math.min(ra * 1000, maxDelayMs);
        this.log.warn('webhook attempt failed', {
          webhook: this.name,
          delivery: d.id,
          attempt,
          status: res.status,
          willRetry: retryable && attempt < maxAttempts,
        });
      } catch (err) {
        if (this.aborter.signal.aborted) return;
        result = 'network';
        this.log.warn('webhook attempt failed', {
          webhook: this.name,
          delivery: d.id,
          attempt,
          error: (err as Error).cause ?? err,
          willRetry: attempt < maxAttempts,
        });
      }
      this.metrics.attempt(this.name, result);
      if (!retryable || attempt === maxAttempts) break;
      // Exponential backoff with jitter (50-100% of the step).
      const step = Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1));
      await this.sleep(retryAfterMs ?? step * (0.5 + Math.random() * 0.5));
    }
    this.metrics.outcome(this.name, 'failed');
    this.log.error('webhook delivery failed; giving up', { webhook: this.name, delivery: d.id, event: d.event });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const onAbort = () => done();
      this.aborter.signal.addEventListener('abort', onAbort, { once: true });
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): number {
    const pending = this.queue.length;
    this.aborter.abort();
    this.wake?.();
    return pending;
  }
}

export class WebhookNotifier {
  private readonly endpoints: Endpoint[];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly ctx: Pick<DaemonContext, 'db' | 'hookWriter' | 'ingester' | 'log' | 'config'>,
    metrics: WebhookMetrics = noMetrics,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const log = ctx.log.child({ component: 'notify' });
    this.endpoints = ctx.config.notify.webhooks.map((w) => new Endpoint(w, ctx.config.notify, env, log, metrics));
    if (this.endpoints.length === 0) return;
    for (const e of this.endpoints) {
      if (e.config.secretEnv && !env[e.config.secretEnv]) {
        log.warn('webhook signing secret is not set; its deliveries will not be sent', { webhook: e.name, secretEnv: e.config.secretEnv });
      }
    }
    ctx.hookWriter.onStored((_event, result) => {
      if (result.stored && result.eventName === 'SessionEnd' && result.sessionId) this.sessionEnded(result.sessionId, result.transcripts);
    });
  }

  /** Schedules the session.end notification after the debounce. Never throws, never blocks. */
  sessionEnded(sessionId: string, transcripts: string[] = []): void {
    if (this.closed || this.endpoints.length === 0) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      // Chained, so that notifications are queued in the order the sessions ended even when
      // one session's transcript takes longer to catch up than the next one's.
      const p = this.chain
        .then(() => this.fire(sessionId, transcripts))
        .catch((err: Error) => this.ctx.log.error('session.end notification failed', { session: sessionId, error: err }));
      this.chain = p;
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }, this.ctx.config.notify.debounceMs);
    timer.unref();
    this.timers.add(timer);
  }

  private async fire(sessionId: string, transcripts: string[]): Promise<void> {
    // Read whatever the transcript gained since the hook fired (bounded wait).
    const known = this.ctx.db.prepare('SELECT path FROM transcripts WHERE session_id = ?').pluck().all(sessionId) as string[];
    const files = [...new Set([...transcripts, ...known])];
    await Promise.race([Promise.allSettled(files.map((f) => this.ctx.ingester.ingestFile(f, 'hook'))), new Promise((r) => setTimeout(r, 10_000).unref())]);
    if (this.closed) return;
    const summary = buildSessionSummary(this.ctx.db, sessionId);
    if (!summary) return;
    const id = randomUUID();
    for (const e of this.endpoints) {
      if (!e.config.events.includes('session.end')) continue;
      e.enqueue({ id, event: 'session.end', body: renderBody(e.config.format, 'session.end', id, summary), createdAt: Date.now() });
    }
  }

  /** Resolves when every scheduled notification has been delivered or given up (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.timers.size > 0 || this.inFlight.size > 0) await new Promise((r) => setTimeout(r, 20));
    await Promise.all(this.endpoints.map((e) => e.idle()));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    const dropped = this.timers.size;
    this.timers.clear();
    await Promise.allSettled([...this.inFlight]);
    let pending = 0;
    for (const e of this.endpoints) pending += e.stop();
    if (dropped + pending > 0) this.ctx.log.warn('webhook deliveries not sent before shutdown', { scheduled: dropped, queued: pending });
  }
}
