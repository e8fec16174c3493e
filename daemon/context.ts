import type { RbkPaths } from '../common/paths.js';
import type { RbkConfig } from './config/schema.js';
import type { HookWriter } from './ingest/hook-writer.js';
import type { SpoolDrain } from './ingest/spool-drain.js';
import type { TranscriptIngester } from './ingest/transcript-ingester.js';
import type { TranscriptWatcher } from './ingest/transcript-watcher.js';
import type { Logger } from './log.js';
import type { RedactionService } from './redact/service.js';
import type { Db } from './store/db.js';
import type { StoreHealth } from './store/health.js';
import type { Backups } from './maintenance/backup.js';
import type { SessionQueries } from './store/sessions.js';
import type { Scheduler } from './jobs/scheduler.js';
import type { LiveEvents } from './query/live.js';
import type { StorageBackend } from './sync/backend.js';
import type { SyncService } from './sync/service.js';
import type { UiServer } from './http/server.js';
import type { OtlpServer } from './http/otlp.js';
import type { TelemetryStore } from './store/telemetry.js';

/** What every RPC handler and job may use: built once in daemon/main.ts. */
export interface DaemonContext {
  paths: RbkPaths;
  config: RbkConfig;
  configSource: string;
  db: Db;
  /** Whether the database may be written (damage stops all writes until rbk recover). */
  health: StoreHealth;
  log: Logger;
  hookWriter: HookWriter;
  spool: SpoolDrain;
  sessions: SessionQueries;
  ingester: TranscriptIngester;
  redaction: RedactionService;
  watcher: TranscriptWatcher;
  startedAt: number;
  /** How this process was started (RBK_STARTED_BY, or what the service manager set). */
  startedBy: 'systemd' | 'launchd' | 'background' | 'foreground';
  /** `rbk sessions tail`: new hook events and interactions, pushed as they are stored. */
  live: LiveEvents;
  /** The central copy's uploader (daemon/sync). */
  sync: SyncService;
  /** The central copy's storage backend, shared by sync, pull, retention and compaction; null when the config names none that works (sync.engine.backendError says why). */
  storage: StorageBackend | null;
  /** Backups of the database (rbk backup and the backup job). */
  backups: Backups;
  /** Runs the jobs of daemon/job-list.ts on their schedules and on demand. */
  scheduler: Scheduler;
  /** The web console and its JSON API (daemon/http); serves nothing when ui.enabled is false or its port is taken. */
  ui: UiServer;
  /** What agents exported over OTLP (telemetry_events): Claude Code's own per-request cost, tool durations, GenAI spans. */
  telemetry: TelemetryStore;
  /** The OTLP/HTTP receiver (daemon/http/otlp.ts); serves nothing when otel.enabled is false or its port is taken. */
  otlp: OtlpServer;
}
