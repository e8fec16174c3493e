// Hook storm under crashes: 8 client processes deliver 10,000 hook events through the real hook
// code (deliverHookEvent: raw HTTP/2 to the socket, else the spool), 200 more come from real
// one-process-per-event hooks (dist/hook/rbk-hook.cjs), and meanwhile the daemon is kill -9'd 20
// times at random moments (during start-up, migrations, the spool drain, or while serving) and
// restarted each time. Afterwards every event is in SQLite exactly once, counted by the event ids
// the clients generated, and the session counters agree.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  assertBuilt,
  hookPayload,
  makeDataDir,
  pool,
  queryAll,
  queryOne,
  runHook,
  sleep,
  spawnDaemon,
  spoolFiles,
  waitFor,
  waitReady,
  type DaemonProcess,
  type TempRbk,
} from '../support/rbk.js';
import { duplicates, integrityCheck, runHookClient, seededRandom } from './support/faults.js';

beforeAll(() => assertBuilt());

const CLIENTS = 8;
const EVENTS_PER_CLIENT = 1250;
const REAL_HOOKS = 200;
const KILLS = 20;
const HOOK_TIMEOUT_MS = 2000;

const daemons: DaemonProcess[] = [];
const dirs: TempRbk[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.kill9()));
  for (const t of dirs.splice(0)) t.cleanup();
});

describe('hook storm with kill -9', () => {
  it(`${CLIENTS * EVENTS_PER_CLIENT} events from ${CLIENTS} clients and ${REAL_HOOKS} real hook processes through ${KILLS} kills: every event stored exactly once`, async () => {
    const t = makeDataDir({ config: 'metrics:\n  enabled: false\ningest:\n  spoolDrainIntervalMs: 200\n' });
    dirs.push(t);
    const rnd = seededRandom('hook storm');
    const env = { RBK_HOOK_TIMEOUT_MS: String(HOOK_TIMEOUT_MS) };

    let d = spawnDaemon(t);
    daemons.push(d);
    await waitReady(t, d, 30_000);

    let clientsRunning = true;
    const clients = Promise.all(Array.from({ length: CLIENTS }, (_, c) => runHookClient(t, c, EVENTS_PER_CLIENT, 20, env))).finally(() => {
      clientsRunning = false;
    });
    const realPayloads = Array.from({ length: REAL_HOOKS }, (_, i) =>
      hookPayload('PostToolUse', 'storm-real-hooks', { tool_name: 'Read', tool_use_id: `toolu_real_${i}`, probe: `real-${i}` }),
    );
    const realHooks = pool(realPayloads, 2, (p) => runHook(t, p, { env, timeoutMs: 30_000 }));

    // Kill at random moments: 40% in start-up (before or during the spool drain and migrations,
    // before the socket serves), 60% while serving, after a random uptime.
    const kills: { phase: 'start-up' | 'serving'; clientsRunning: boolean }[] = [];
    for (let k = 0; k < KILLS; k++) {
      let phase: 'start-up' | 'serving';
      if (rnd.next() < 0.4) {
        phase = 'start-up';
        await sleep(rnd.int(0, 400));
      } else {
        phase = 'serving';
        await waitReady(t, d, 60_000);
        await sleep(rnd.int(100, 1500));
      }
      const exit = await d.kill9();
      // The daemon must die by our signal, never on its own (a crash at start-up would show here).
      expect(exit, `daemon ${k} exited on its own:\n${d.log()}`).toEqual({ code: null, signal: 'SIGKILL' });
      kills.push({ phase, clientsRunning });
      await sleep(rnd.int(0, 300));
      d = spawnDaemon(t);
      daemons.push(d);
    }
    await waitReady(t, d, 60_000);

    const reports = await clients;
    const real = await realHooks;
    const clientIds = reports.flatMap((r) => r.ids);
    expect(clientIds).toHaveLength(CLIENTS * EVENTS_PER_CLIENT);
    expect(duplicates(clientIds)).toEqual([]);

    // The clients never failed and never blocked: an outage costs at most the timeout, then a spool write.
    const outcomes = reports.reduce(
      (a, r) => ({ direct: a.direct + r.outcomes.direct, spooled: a.spooled + r.outcomes.spooled, lost: a.lost + r.outcomes.lost }),
      { direct: 0, spooled: 0, lost: 0 },
    );
    expect(reports.flatMap((r) => r.lostReasons)).toEqual([]);
    expect(outcomes.lost).toBe(0);
    expect(outcomes.spooled).toBeGreaterThan(0);
    expect(outcomes.direct).toBeGreaterThan(0);
    const spoolReasons: Record<string, number> = {};
    for (const r of reports) for (const [k, v] of Object.entries(r.spoolReasons)) spoolReasons[k] = (spoolReasons[k] ?? 0) + v;
    const slowest = Math.max(...reports.map((r) => r.slowestMs));
    expect(slowest).toBeLessThan(HOOK_TIMEOUT_MS + 3000);
    real.forEach((r, i) => {
      expect(r.code, `real hook ${i}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('');
    });

    // Everything drains: the spool empties and all events are stored.
    const total = CLIENTS * EVENTS_PER_CLIENT + REAL_HOOKS;
    await waitFor(
      `${total} stored events and an empty spool`,
      () => spoolFiles(t).length === 0 && (queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM hook_events')?.n ?? 0) >= total,
      120_000,
      200,
    );

    // Exactly once, by the clients' own ids: the stored set is the sent set, with nothing extra.
    const stored = queryAll<{ event_id: string; session_id: string; via: string; seq: string | null; probe: string | null }>(
      t,
      `SELECT event_id, session_id, via, json_extract(payload, '$.storm_seq') AS seq, json_extract(payload, '$.probe') AS probe FROM hook_events`,
    );
    expect(stored).toHaveLength(total);
    const storm = stored.filter((r) => r.session_id?.startsWith('storm-session-'));
    expect(storm.map((r) => r.event_id).sort()).toEqual([...clientIds].sort());
    expect(duplicates(storm.map((r) => r.seq!))).toEqual([]);
    expect(new Set(storm.map((r) => r.seq)).size).toBe(CLIENTS * EVENTS_PER_CLIENT);
    // The real hooks' ids are generated inside each process: count them by their payload probe.
    const realRows = stored.filter((r) => r.session_id === 'storm-real-hooks');
    expect(realRows.map((r) => r.probe).sort()).toEqual(realPayloads.map((_, i) => `real-${i}`).sort());
    expect(duplicates(realRows.map((r) => r.event_id))).toEqual([]);
    // Both paths carried events.
    const viaSpool = stored.filter((r) => r.via === 'spool').length;
    expect(viaSpool).toBeGreaterThan(0);
    expect(stored.length - viaSpool).toBeGreaterThan(0);

    // Counters move in the same transaction as the insert, so they are exact too.
    const counters = queryAll<{ id: string; hook_events: number }>(t, `SELECT id, hook_events FROM sessions WHERE id LIKE 'storm-%' ORDER BY id`);
    expect(counters).toEqual([
      { id: 'storm-real-hooks', hook_events: REAL_HOOKS },
      ...Array.from({ length: CLIENTS }, (_, c) => ({ id: `storm-session-${c}`, hook_events: EVENTS_PER_CLIENT })),
    ]);

    expect(await d.stop()).toEqual({ code: 0, signal: null });
    expect(integrityCheck(t.db)).toBe('ok');
    const duringClients = kills.filter((k) => k.clientsRunning).length;
    console.log(
      `hook storm: ${total} events, ${kills.length} kills (${kills.filter((k) => k.phase === 'start-up').length} in start-up, ${duringClients} while clients sent), ` +
        `${outcomes.direct} direct / ${outcomes.spooled} spooled by the clients (${JSON.stringify(spoolReasons)}), ${viaSpool} stored via the spool, slowest delivery ${slowest} ms`,
    );
  }, 400_000);
});
