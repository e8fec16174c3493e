// sync.maxPartBytes: a part holds no more row text than the bound (a single bigger row goes
// alone), so four sessions uploading at once never hold hundreds of MB of tool output; the run
// keeps going until the backlog is gone, and every row is in exactly one part. Real SQLite file,
// real local backend, the real fixtures of a Claude Code session.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { StorageBackend } from '../../daemon/sync/backend.js';
import { LocalBackend } from '../../daemon/sync/backends/create.js';
import { captureScenario, engineFor, makeMachine, snapshot, type Machine } from './pull-world.js';

const machines: Machine[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const m of machines.splice(0)) m.cleanup();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const BOUND = 4096;

describe('sync.maxPartBytes', () => {
  it('splits a session into parts of at most maxPartBytes of row text, every row once, in one run', async () => {
    const m = makeMachine({ sync: { maxPartBytes: BOUND } });
    machines.push(m);
    const [id] = await captureScenario(m, 'failing-build', 'laptop-a');
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-partbytes-'));
    dirs.push(base);
    const backend = new LocalBackend(base);
    const rowText = m.db
      .prepare(
        'SELECT SUM(length(text) + COALESCE(length(tool_input), 0) + COALESCE(length(tool_use_result), 0) + COALESCE(length(data), 0)) FROM interactions WHERE session_id = ?',
      )
      .pluck()
      .get(id) as number;
    // The fixture session must be bigger than the bound for the test to say anything.
    expect(rowText).toBeGreaterThan(2 * BOUND);

    const summary = await engineFor(m, backend).run({ now: true });
    expect(summary.sessionsFailed).toBe(0);
    expect(summary.backlogSessions).toBe(0);
    const objects = await snapshot(backend);
    const parts = [...objects.keys()].filter((k) => k.startsWith('v1/interactions/')).sort();
    expect(parts.length).toBeGreaterThan(1);
    const seen: string[] = [];
    for (const key of parts) {
      const rows = zlib
        .gunzipSync(objects.get(key)!)
        .toString('utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const text = rows.map((r) => r.text.length + (r.tool_input?.length ?? 0) + (r.tool_use_result?.length ?? 0) + (r.data?.length ?? 0) + 512);
      // Under the bound, except that the row which crossed it is the part's last one.
      expect(text.slice(0, -1).reduce((a, b) => a + b, 0)).toBeLessThan(BOUND);
      seen.push(...rows.map((r) => `${r.uuid}:${r.block_index}`));
    }
    const stored = m.db.prepare("SELECT uuid || ':' || block_index FROM interactions WHERE session_id = ? ORDER BY id").pluck().all(id) as string[];
    expect(seen).toEqual(stored);
    // Nothing is left for a second run.
    const again = await engineFor(m, backend).run({ now: true });
    expect(again.puts).toBe(0);
  });

  it('a run that re-sends a part planned before a failure keeps going until the backlog is gone', async () => {
    const m = makeMachine({ sync: { maxPartBytes: BOUND } });
    machines.push(m);
    const [id] = await captureScenario(m, 'failing-build', 'laptop-a');
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-partbytes-'));
    dirs.push(base);
    const local = new LocalBackend(base);
    // Interactions only: a hook_events part that is full would keep the run going by itself.
    m.db.exec('DELETE FROM hook_events');
    // The first PUT fails after the first part was planned (a dropped connection, a crash).
    let failNext = true;
    const flaky: StorageBackend = {
      name: local.name,
      location: local.location,
      put: (key, body, opts) => {
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('connection reset'));
        }
        return local.put(key, body, opts);
      },
      get: (key) => local.get(key),
      list: (prefix) => local.list(prefix),
      delete: (keys) => local.delete(keys),
      close: () => local.close(),
    };
    const failed = await engineFor(m, flaky).run({ now: true });
    expect(failed.sessionsFailed).toBe(1);
    // The retry starts with the planned part, then goes on through the rest in the same run.
    const retried = await engineFor(m, flaky).run({ now: true });
    expect(retried.sessionsFailed).toBe(0);
    expect(retried.backlogSessions).toBe(0);
    expect(retried.parts).toBeGreaterThan(1);
    const objects = await snapshot(local);
    const seen = [...objects.keys()]
      .filter((k) => k.startsWith('v1/interactions/'))
      .sort()
      .flatMap((k) =>
        zlib
          .gunzipSync(objects.get(k)!)
          .toString('utf8')
          .trim()
          .split('\n')
          .map((l) => {
            const r = JSON.parse(l);
            return `${r.uuid}:${r.block_index}`;
          }),
      );
    const stored = m.db.prepare("SELECT uuid || ':' || block_index FROM interactions WHERE session_id = ? ORDER BY id").pluck().all(id) as string[];
    expect(seen).toEqual(stored);
  });
});
