// Worlds for the pull, S3 compaction and S3 retention tests: a "machine" is a real SQLite file
// (every migration applied) fed by the real ingest path (HookEventIngest + TranscriptIngester over
// the captured Claude Code fixtures), with the real sync engine writing the central copy to a
// real backend (LocalBackend here; s3rver in the integration tests).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RbkPaths } from '../../common/paths.js';
import { configSchema, type RbkConfig } from '../../daemon/config/schema.js';
import { HookEventIngest } from '../../daemon/ingest/hook-events.js';
import { TranscriptIngester } from '../../daemon/ingest/transcript-ingester.js';
import { silentLogger } from '../../daemon/log.js';
import { createRedactionService, type RedactionService } from '../../daemon/redact/service.js';
import { openDatabase, type Db } from '../../daemon/store/db.js';
import type { StorageBackend } from '../../daemon/sync/backend.js';
import { SyncEngine } from '../../daemon/sync/engine.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const CAPTURED = path.resolve(HERE, '..', 'fixtures', 'claude-code', 'e2e-captured');
export const SCENARIOS = ['failing-build', 'agent-investigation', 'resume'] as const;

export interface Machine {
  dir: string;
  db: Db;
  config: RbkConfig;
  paths: RbkPaths;
  redaction: RedactionService;
  hooks: HookEventIngest;
  ingester: TranscriptIngester;
  cleanup(): void;
}

export function makeMachine(config: unknown = {}): Machine {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-pullw-'));
  const paths: RbkPaths = {
    config: path.join(dir, 'config.yaml'),
    dataDir: dir,
    socket: path.join(dir, 'run', 'rbk.sock'),
    fallbackSpoolDir: path.join(dir, 'spool-fallback'),
    db: path.join(dir, 'rbk.db'),
    spoolDir: path.join(dir, 'spool'),
    lockFile: path.join(dir, 'rbkd.lock'),
    pidFile: path.join(dir, 'rbkd.pid'),
    logFile: path.join(dir, 'rbkd.log'),
    uiSecret: path.join(dir, 'ui-secret'),
    otlpToken: path.join(dir, 'otlp-token'),
  };
  const cfg = configSchema.parse(config);
  const db = openDatabase(paths.db);
  const redaction = createRedactionService(cfg, dir);
  return {
    dir,
    db,
    config: cfg,
    paths,
    redaction,
    hooks: new HookEventIngest(db, redaction),
    ingester: new TranscriptIngester(db, silentLogger, { redaction }),
    cleanup: () => {
      try {
        db.close();
      } catch {
        /* closed */
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

let eventSeq = 0;

/** Feeds one captured scenario (its hook payloads and transcripts) through the real ingest path. */
export async function captureScenario(m: Machine, scenario: string, host: string): Promise<string[]> {
  const base = path.join(CAPTURED, scenario);
  const hookDir = path.join(base, 'hooks');
  const sessions = new Set<string>();
  let at = Date.UTC(2026, 4, 20, 9);
  for (const f of fs.readdirSync(hookDir).sort()) {
    const payload = fs.readFileSync(path.join(hookDir, f));
    at += 1000;
    const r = m.db.transaction(() =>
      m.hooks.store({ eventId: `${scenario}-${f}-${++eventSeq}`, eventName: '', payload, hookStartedAt: at, via: 'direct', receivedAt: at + 5 }),
    )();
    if (r.sessionId) sessions.add(r.sessionId);
  }
  const walk = (dir: string): string[] =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.jsonl') ? [path.join(dir, e.name)] : []));
  for (const file of walk(path.join(base, 'projects')).sort()) {
    const r = await m.ingester.ingestFile(file, 'import');
    for (const s of r.sessionIds) sessions.add(s);
  }
  // The host the rows were "captured" on: this process has one hostname, the world wants several.
  m.db.prepare(`UPDATE sessions SET host = ? WHERE id IN (SELECT value FROM json_each(?))`).run(host, JSON.stringify([...sessions]));
  return [...sessions].sort();
}

export function engineFor(m: Machine, backend: StorageBackend, clock: () => number = Date.now): SyncEngine {
  return new SyncEngine(m.db, backend, null, m.redaction, m.config.sync, silentLogger, null, clock);
}

/** Every object under the backend's root, key → bytes. */
export async function snapshot(backend: StorageBackend): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const o of await backend.list('v1/')) out.set(o.key, Buffer.from((await backend.get(o.key))!));
  return out;
}
