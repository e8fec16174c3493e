// When the engine runs on its own (the cron job and `rbk sync` are elsewhere):
// - Stop / SessionEnd: after sync.debounceMs (so that the transcript's last lines are in), but not
//   sooner than sync.minIntervalMs after the session's last upload: Stop fires after every turn,
//   and PUTs are what an S3 bill is made of;
// - a pending session idle for sync.idleMinutes (crashed sessions never send SessionEnd), but not
//   while `rbk import` runs: every imported session looks idle, and uploading them as the import
//   goes would split each one still being read into extra parts and take CPU from the import. The
//   first check after it ends picks them up;
// - a failed session, when its backoff expires.
import type { Logger } from '../log.js';
import type { SyncEngine } from './engine.js';

export interface TriggerTuning {
  debounceMs: number;
  idleMinutes: number;
  minIntervalMs: number;
}

const SESSION_EVENTS = new Set(['Stop', 'SessionEnd']);
/** Never check for idle sessions more often than this (the check is one indexed query). */
const MAX_IDLE_CHECK_MS = 60_000;

export class SyncTriggers {
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly idleTimer: NodeJS.Timeout;
  private retry: { at: number; timer: NodeJS.Timeout } | undefined;
  private stopped = false;

  constructor(
    private readonly engine: SyncEngine,
    private readonly tuning: TriggerTuning,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
    private readonly importing: () => boolean = () => false,
    private readonly storeWritable: () => boolean = () => true,
  ) {
    const every = Math.min(MAX_IDLE_CHECK_MS, Math.max(1000, (tuning.idleMinutes * 60_000) / 2));
    this.idleTimer = setInterval(() => this.syncIdle(), every);
    this.idleTimer.unref();
    engine.onSessionDone((r) => {
      if (r.outcome === 'failed') this.armRetry();
    });
    // Failures from before a restart resume on their backoff schedule.
    this.armRetry();
  }

  /** hookWriter.onStored observer. */
  onHookEvent(eventName: string, sessionId: string | null): void {
    if (this.stopped || !sessionId || !SESSION_EVENTS.has(eventName)) return;
    const now = this.clock();
    const last = this.engine.state.lastSuccessAt(sessionId);
    const at = Math.max(now + this.tuning.debounceMs, last !== null ? last + this.tuning.minIntervalMs : 0);
    const existing = this.timers.get(sessionId);
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(sessionId);
      this.fire([sessionId], 'hook');
    }, at - now);
    timer.unref();
    this.timers.set(sessionId, { at, timer });
  }

  private syncIdle(): void {
    if (this.stopped || this.importing() || !this.storeWritable()) return;
    const now = this.clock();
    let ids: string[];
    try {
      ids = this.engine.state.idle(now, now - this.tuning.idleMinutes * 60_000).filter((id) => !this.timers.has(id));
    } catch (err) {
      this.log.warn('sync idle check failed', { error: err });
      return;
    }
    if (ids.length > 0) this.fire(ids, 'idle');
  }

  private armRetry(): void {
    if (this.stopped) return;
    const at = this.engine.state.nextRetryAt();
    if (at === null) return;
    if (this.retry && this.retry.at <= at) return;
    if (this.retry) clearTimeout(this.retry.timer);
    const timer = setTimeout(
      () => {
        this.retry = undefined;
        const now = this.clock();
        // Sessions whose backoff has expired, whatever their activity.
        const ids = this.engine.state.due(now, false).filter((id) => !this.timers.has(id));
        if (ids.length > 0) this.fire(ids, 'retry');
        else this.armRetry();
      },
      Math.max(0, at - this.clock()),
    );
    timer.unref();
    this.retry = { at, timer };
  }

  private fire(sessions: string[], trigger: string): void {
    if (this.stopped || !this.storeWritable()) return;
    // Re-arm after every run, failed or not: other sessions may still be waiting out a later
    // backoff, and the timer that fired this run was theirs too.
    this.engine.run({ sessions }).then(
      (s) => {
        this.armRetry();
        this.log.debug('sync triggered', { trigger, sessions: sessions.length, puts: s.puts });
      },
      (err) => {
        this.armRetry();
        this.log.warn('sync run failed', { trigger, error: err });
      },
    );
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.idleTimer);
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    if (this.retry) clearTimeout(this.retry.timer);
  }
}
