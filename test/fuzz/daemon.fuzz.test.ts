// Fuzz batches against a real rbkd: hook payloads and event ids through the real SubmitHook RPC
// (and a sample through the real hook bundle), fuzzed transcript files through `rbk import`, and
// fuzzed config files at start-up. After every batch the daemon must still answer its health
// check, and a known-good event or line sent after the batch must still be stored: nothing hangs,
// nothing wedges.
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { stringify as toYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSafeId } from '../../common/ids.js';
import {
  assertBuilt,
  healthCheck,
  hookEventRows,
  hookPayload,
  makeDataDir,
  pool,
  queryOne,
  runCli,
  runHook,
  spawnDaemon,
  startDaemon,
  type DaemonProcess,
  type TempRbk,
} from '../support/rbk.js';
import { rpc } from '../faults/support/faults.js';

let t: TempRbk;
let d: DaemonProcess;
beforeAll(async () => {
  assertBuilt();
  t = makeDataDir({ config: 'log:\n  level: debug\nmetrics:\n  enabled: false\ningest:\n  spoolDrainIntervalMs: 300\n' });
  d = await startDaemon(t);
});
afterAll(async () => {
  await d?.stop();
  t?.cleanup();
});

/** The daemon is alive, serving, and still stores a fresh event. */
async function expectHealthy(label: string): Promise<void> {
  expect(d.isRunning(), `${label}: daemon exited\n${d.log().slice(-2000)}`).toBe(true);
  expect(await healthCheck(t.socket, '', 5000)).toBe('SERVING');
  const id = `canary-${label}-${Date.now()}`;
  await rpc(t.socket, 'Ingest', 'SubmitHook', {
    eventId: id,
    eventName: 'Stop',
    payload: Buffer.from(hookPayload('Stop', 'canary')),
    hookStartedUnixMs: Date.now(),
    sentUnixMs: Date.now(),
    clientVersion: 'fuzz',
  });
  expect(hookEventRows(t, 'event_id = ?', id)).toHaveLength(1);
}

const hostile = fc.oneof(
  fc.string(),
  fc.constantFrom('../../etc/passwd', '..', '/etc/passwd.jsonl', '/tmp/../etc/x.jsonl', 'a\0b', '%2e%2e', 'x'.repeat(300)),
  fc.anything(),
);
const payloadArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .record(
      {
        session_id: hostile,
        hook_event_name: fc.oneof(fc.constantFrom('PreToolUse', 'SessionEnd', 'SubagentStop'), fc.string()),
        transcript_path: hostile,
        agent_id: hostile,
        tool_input: fc.anything(),
      },
      { requiredKeys: [] },
    )
    .map((o) => Buffer.from(JSON.stringify(o))),
  fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.from(b)),
  fc.integer({ min: 1000, max: 200_000 }).map((n) => Buffer.from(`{"session_id":"deep-${n}","hook_event_name":"Stop","x":${'['.repeat(n)}${']'.repeat(n)}}`)),
  fc
    .integer({ min: 1, max: 8 })
    .map((mb) => Buffer.from(JSON.stringify({ session_id: 'big', hook_event_name: 'PostToolUse', tool_response: 'y'.repeat(mb << 20) }))),
);

describe('fuzz batches against a running daemon', () => {
  it('SubmitHook with arbitrary payloads, event ids and names: stored once or refused with INVALID_ARGUMENT', async () => {
    const samples = fc.sample(
      fc.tuple(
        payloadArb,
        fc.oneof({ weight: 4, arbitrary: fc.uuid() }, { weight: 1, arbitrary: hostile.map((v) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''))) }),
        fc.string({ maxLength: 200 }),
      ),
      { numRuns: 300, seed: 42 },
    );
    const seen = new Set<string>();
    let stored = 0;
    let refused = 0;
    for (const [batch, part] of [samples.slice(0, 150), samples.slice(150)].entries()) {
      await pool(part, 8, async ([payload, eventId, eventName]) => {
        const valid = isSafeId(eventId) && eventName.length <= 128;
        try {
          await rpc(
            t.socket,
            'Ingest',
            'SubmitHook',
            { eventId, eventName, payload, hookStartedUnixMs: 1, sentUnixMs: 1, clientVersion: 'fuzz' },
            { timeoutMs: 30_000 },
          );
          expect(valid, `accepted an invalid request: ${JSON.stringify(eventId)} / ${JSON.stringify(eventName)}`).toBe(true);
          seen.add(eventId);
          stored++;
        } catch (err) {
          const e = err as { code: number; details: string };
          expect({ valid, code: e.code }, e.details).toEqual({ valid: false, code: 3 /* INVALID_ARGUMENT */ });
          expect(e.details).toMatch(/^invalid request: /);
          refused++;
        }
      });
      await expectHealthy(`submit-${batch}`);
    }
    for (const id of seen) expect(hookEventRows(t, 'event_id = ?', id)).toHaveLength(1);
    expect(stored).toBeGreaterThan(200);
    expect(refused).toBeGreaterThan(0);
  }, 240_000);

  it('a sample through the real hook bundle: exit 0, nothing on stdout, stored once each', async () => {
    const samples = fc.sample(
      payloadArb.filter((b) => b.length < 1 << 20),
      { numRuns: 40, seed: 7 },
    );
    const before = hookEventRows(t).length;
    const results = await pool(samples, 4, (p) => runHook(t, p, { timeoutMs: 30_000 }));
    for (const r of results) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('');
    }
    await expectHealthy('hook-bundle');
    // 40 fuzzed + 1 canary, whether they went direct or through the spool.
    await new Promise((r) => setTimeout(r, 700));
    expect(hookEventRows(t).length - before).toBe(41);
  }, 120_000);

  it('fuzzed transcript files through rbk import: the good line after them is still indexed', async () => {
    const dir = path.join(t.root, 'fuzz-projects', '-tmp-fuzz');
    fs.mkdirSync(dir, { recursive: true });
    const sid = '0f0f0f0f-0000-4000-8000-00000000f022';
    const lineArb = fc.oneof(
      fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString('latin1').replace(/\n/g, ' ')),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc
        .record(
          { type: fc.constantFrom('user', 'assistant', 'system', 'zzz'), uuid: fc.oneof(fc.uuid(), fc.string()), sessionId: hostile, message: fc.anything() },
          { requiredKeys: ['type'] },
        )
        .map((o) => JSON.stringify(o)),
      fc
        .integer({ min: 1000, max: 100_000 })
        .map((n) => `{"type":"user","uuid":"deep-${n}","message":{"role":"user","content":${'['.repeat(n)}${']'.repeat(n)}}}`),
    );
    const files = fc.sample(fc.array(lineArb, { minLength: 1, maxLength: 60 }), { numRuns: 8, seed: 3 });
    // Each good line says something of its own: the same words at the same millisecond in one
    // session are one prompt written twice (a replay, docs/transcripts.md), stored once by design.
    const goodLine = (uuid: string) =>
      `${JSON.stringify({ type: 'user', uuid, sessionId: sid, timestamp: new Date().toISOString(), message: { role: 'user', content: `still here (${uuid})` } })}\n`;
    // Every fuzzed file ends with a good line: a hostile line must not stop the lines after it.
    for (const [i, ls] of files.entries()) fs.writeFileSync(path.join(dir, `fuzz-${i}.jsonl`), `${ls.join('\n')}\n${goodLine(`after-fuzz-${i}`)}`);
    const veryDeep = files.flat().filter((l) => /^\{"type":"user","uuid":"deep-(\d+)"/.exec(l) && Number(/deep-(\d+)/.exec(l)![1]) >= 20_000).length;
    const good = goodLine('after-the-fuzz');
    // A 70 MB line (over the 64 MiB line limit), then the good line.
    fs.writeFileSync(
      path.join(dir, `${sid}.jsonl`),
      Buffer.concat([Buffer.from('{"type":"user","x":"'), Buffer.alloc(70 << 20, 0x61), Buffer.from('"}\n'), Buffer.from(good)]),
    );
    const r = await runCli(t, ['import', dir, '--json'], { timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { files: number; skipped: Record<string, number> };
    expect(summary.files, r.stdout).toBe(9);
    expect(summary.skipped.oversized).toBe(1);
    expect(queryOne(t, `SELECT text FROM interactions WHERE uuid = 'after-the-fuzz'`)).toEqual({ text: 'still here (after-the-fuzz)' });
    for (let i = 0; i < files.length; i++)
      expect(queryOne(t, `SELECT text FROM interactions WHERE uuid = ?`, `after-fuzz-${i}`), `file ${i}`).toEqual({ text: `still here (after-fuzz-${i})` });
    // Lines nested deeper than the redaction walk can go are counted, not fatal to their file.
    if (veryDeep > 0) expect(summary.skipped['too-deep'], r.stdout).toBeGreaterThanOrEqual(veryDeep);
    console.log(`fuzzed import: ${summary.files} files, skipped ${JSON.stringify(summary.skipped)} (${veryDeep} lines nested 20,000+ deep)`);
    await expectHealthy('import');
  }, 240_000);

  it('fuzzed config files: rbkd starts or exits 2 naming the problem; it never crashes', async () => {
    const configs = fc.sample(
      fc.oneof(
        // Metrics stay off in every variant: a config that starts must not take the shared port 9477.
        fc.string({ unit: 'binary', maxLength: 200 }).map((s) => `metrics:\n  enabled: false\n${s}`),
        fc
          .dictionary(fc.constantFrom('log', 'ingest', 'redaction', 'jobs', 'hook', 'x'), fc.anything(), { maxKeys: 3 })
          .map((o) => toYaml({ ...o, metrics: { enabled: false } })),
      ),
      { numRuns: 4, seed: 11 },
    );
    for (const text of configs) {
      const c = makeDataDir({ config: text });
      try {
        const p = spawnDaemon(c);
        const exit = await Promise.race([p.exited, new Promise<null>((r) => setTimeout(() => r(null), 4000))]);
        if (exit === null) {
          // It started (the text was a valid config): it must be serving.
          expect(await healthCheck(c.socket, '', 10_000)).toBe('SERVING');
          await p.stop();
        } else {
          expect(exit.code, p.log()).toBe(2);
          expect(p.log()).toMatch(/^rbkd: (invalid config in|.*not valid YAML|.*the top level must be)/);
          expect(p.log()).not.toMatch(/failed to start|at .*\.js:\d+/);
        }
      } finally {
        c.cleanup();
      }
    }
  }, 120_000);
});
