// While `rbk import` runs, the sync leaves the central copy alone: every imported session looks
// idle, and uploading them as the import goes would split each session still being read into
// extra parts and take CPU from the import. The idle check and the scheduled job wait; a sync the
// user asks for (`rbk sync`, `rbk jobs run sync`) does not. Real SQLite, ingester and engine, a
// LocalBackend; only the interval timer is driven by hand.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { JobContext } from '../../daemon/jobs/registry.js';
import { silentLogger } from '../../daemon/log.js';
import type { HookWriter } from '../../daemon/ingest/hook-writer.js';
import { LocalBackend } from '../../daemon/sync/backends/local.js';
import { createSyncService } from '../../daemon/sync/service.js';
import { SyncTriggers } from '../../daemon/sync/triggers.js';
import { captureScenario, engineFor, makeMachine, type Machine } from './pull-world.js';

let m: Machine;
let backend: LocalBackend;

beforeEach(() => {
  m = makeMachine();
  backend = new LocalBackend(fs.mkdtempSync(path.join(m.dir, 'bucket-')));
});
afterEach(async () => {
  vi.useRealTimers();
  await backend.close();
  m.cleanup();
});

const objects = async () => (await backend.list('v1/')).length;

function jobContext(trigger: JobContext['trigger']): JobContext {
  return {
    db: m.db,
    clock: { now: () => Date.now() },
    log: silentLogger,
    config: m.config,
    paths: m.paths,
    progress: () => {},
    signal: new AbortController().signal,
    job: 'sync',
    runId: 1,
    trigger,
  };
}

describe('sync during an import', () => {
  it('the scheduled job defers while an import runs, and a manual run does not', async () => {
    await captureScenario(m, 'failing-build', 'laptop-a');
    const service = createSyncService({
      db: m.db,
      // A local copy kept up to date on cron (the default one is written only on demand).
      config: {
        ...m.config,
        sync: { ...m.config.sync, automatic: false },
        integrations: {
          ...m.config.integrations,
          claude: { ...m.config.integrations.claude, sessionStorage: { ...m.config.integrations.claude.sessionStorage, localExport: 'continuous' } },
        },
      },
      paths: m.paths,
      redaction: m.redaction,
      hookWriter: {} as HookWriter,
      log: silentLogger,
      importing: () => m.ingester.importing(),
      backend,
    });
    try {
      m.ingester.beginImport();
      const deferred = await service.job()(jobContext('cron'));
      expect(deferred).toMatchObject({ deferredForImport: 1, uploaded: 0, puts: 0, backlog: 1 });
      expect(await objects()).toBe(0);
      // Asked for by hand, it runs.
      expect(await service.job()(jobContext('manual'))).toMatchObject({ uploaded: 1 });
      await (await m.ingester.endImport()).indexed;
      expect(m.ingester.importing()).toBe(false);
      // And once the import is over, the scheduled run uploads what is pending.
      await captureScenario(m, 'agent-investigation', 'laptop-a');
      const after = await service.job()(jobContext('cron'));
      expect(after).toMatchObject({ uploaded: 1 });
      expect(after.deferredForImport).toBeUndefined();
    } finally {
      await service.close();
    }
  });

  it('the idle check skips its turn while an import runs and uploads the sessions after it', async () => {
    const ids = await captureScenario(m, 'failing-build', 'laptop-a');
    const engine = engineFor(m, backend);
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let importing = true;
    // idleMinutes 1: the check runs every 30 s; the fixture's sessions are long idle.
    const triggers = new SyncTriggers(engine, { debounceMs: 0, idleMinutes: 1, minIntervalMs: 0 }, silentLogger, Date.now, () => importing);
    try {
      vi.advanceTimersByTime(95_000);
      await new Promise((r) => setTimeout(r, 200));
      expect(engine.running).toBe(false);
      expect(await objects()).toBe(0);
      expect(engine.state.status(Date.now()).backlogSessions).toBe(ids.length);

      importing = false;
      vi.advanceTimersByTime(30_000);
      for (let i = 0; i < 100 && engine.state.status(Date.now()).backlogSessions > 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(engine.state.status(Date.now()).backlogSessions).toBe(0);
      expect(await objects()).toBeGreaterThan(0);
    } finally {
      triggers.stop();
      await engine.close();
    }
  });
});
