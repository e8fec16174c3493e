// Session-end webhooks from a real rbkd to loopback receivers: the body is a session summary
// signed with HMAC-SHA256 (verified here the way a receiver would), a 500 is retried with the
// same delivery id, deliveries to one endpoint keep the order in which sessions ended, a 4xx is
// not retried, chat formats render, and an endpoint that never answers blocks neither the other
// endpoints nor hook ingestion.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, hookEventRows, hookPayload, makeDataDir, runHook, startDaemon, waitFor, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { startReceiver, verifySignature, type Receiver } from '../ops/support.js';

const FIXTURE = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'claude-code', 'e2e-captured', 'failing-build');
const FIXTURE_SESSION = '49614653-89bf-462c-9741-3e1bae46895c';
const SECRET = 'test-signing-key-\u00e9-not-a-real-one';

let t: TempRbk;
let d: DaemonProcess;
let generic: Receiver;
let slack: Receiver;
let refusing: Receiver;
let blackhole: net.Server;
const held: net.Socket[] = [];

beforeAll(async () => {
  assertBuilt();
  generic = await startReceiver();
  slack = await startReceiver();
  refusing = await startReceiver();
  refusing.respond = () => 400;
  // Accepts connections and never answers.
  blackhole = net.createServer((s) => held.push(s));
  await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', () => r()));
  const blackholeUrl = `http://127.0.0.1:${(blackhole.address() as net.AddressInfo).port}/`;
  // The first attempt of the first delivery fails with a 500.
  generic.respond = ({ index }) => (index === 0 ? 500 : 200);
  t = makeDataDir({
    config: [
      'metrics:',
      '  enabled: false',
      'notify:',
      '  debounceMs: 150',
      '  retry: { maxAttempts: 4, initialDelayMs: 100, maxDelayMs: 400 }',
      '  webhooks:',
      `    - { name: generic, url: "${generic.url}", secretEnv: RBK_OPS_TEST_WEBHOOK_SECRET }`,
      `    - { name: chat, url: "${slack.url}", format: slack }`,
      `    - { name: refusing, url: "${refusing.url}", format: discord }`,
      `    - { name: blackhole, url: "${blackholeUrl}", timeoutMs: 60000 }`,
      '',
    ].join('\n'),
  });
  d = await startDaemon(t, { env: { RBK_OPS_TEST_WEBHOOK_SECRET: SECRET } });
});

afterAll(async () => {
  await d?.stop();
  for (const s of held) s.destroy();
  await new Promise<void>((r) => (blackhole ? blackhole.close(() => r()) : r()));
  await Promise.all([generic?.close(), slack?.close(), refusing?.close()]);
  t?.cleanup();
});

/** Replays the captured failing-build hooks with the transcript at a real path. */
async function replayFixtureSession(): Promise<void> {
  const projects = path.join(t.root, 'home', '.claude', 'projects', '-e2e-project');
  fs.mkdirSync(projects, { recursive: true });
  const transcript = path.join(projects, `${FIXTURE_SESSION}.jsonl`);
  fs.copyFileSync(path.join(FIXTURE, 'projects', '-e2e-project', `${FIXTURE_SESSION}.jsonl`), transcript);
  for (const f of fs.readdirSync(path.join(FIXTURE, 'hooks')).sort()) {
    const payload = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'hooks', f), 'utf8')) as Record<string, unknown>;
    payload.transcript_path = transcript;
    const r = await runHook(t, JSON.stringify(payload));
    expect(r.code).toBe(0);
  }
}

async function shortSession(id: string): Promise<void> {
  for (const e of ['SessionStart', 'UserPromptSubmit', 'SessionEnd']) {
    await runHook(t, hookPayload(e, id, e === 'UserPromptSubmit' ? { prompt: 'hi' } : e === 'SessionEnd' ? { reason: 'other' } : { source: 'startup' }));
  }
}

interface GenericBody {
  event: string;
  deliveryId: string;
  session: {
    id: string;
    project: string | null;
    durationMs: number | null;
    counts: { prompts: number; toolCalls: number; toolFailures: number };
    toolsUsed: { name: string; calls: number; failures: number }[];
    tokens: { total: number; output: number };
    costUsd: number | null;
    command: string;
  };
}

describe('session.end webhooks', () => {
  it('are signed, retried after a 500, delivered in the order sessions ended, and never block hooks', async () => {
    await replayFixtureSession();
    await shortSession('ops-webhook-b');
    // While the blackhole endpoint holds its first delivery open, hooks are still answered fast.
    const started = Date.now();
    await shortSession('ops-webhook-c');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(hookEventRows(t, 'session_id = ?', 'ops-webhook-c')).toHaveLength(3);
    expect(hookEventRows(t, 'session_id = ? AND via = ?', 'ops-webhook-c', 'spool')).toHaveLength(0);

    await waitFor('4 requests at the generic receiver', () => generic.requests.length >= 4, 20_000);
    const reqs = generic.requests;
    const bodies = reqs.map((r) => JSON.parse(r.body) as GenericBody);
    expect(bodies.map((b) => b.session.id)).toEqual([FIXTURE_SESSION, FIXTURE_SESSION, 'ops-webhook-b', 'ops-webhook-c']);
    expect(reqs.map((r) => r.status)).toEqual([500, 200, 200, 200]);
    expect(reqs.map((r) => r.headers['x-rbk-attempt'])).toEqual(['1', '2', '1', '1']);
    // A retry is the same delivery: same id, same body, fresh signature timestamp.
    expect(reqs[1]!.headers['x-rbk-delivery']).toBe(reqs[0]!.headers['x-rbk-delivery']);
    expect(reqs[1]!.body).toBe(reqs[0]!.body);
    expect(new Set(reqs.map((r) => r.headers['x-rbk-delivery'])).size).toBe(3);
    for (const r of reqs) {
      expect(r.headers['x-rbk-event']).toBe('session.end');
      expect(r.headers['content-type']).toBe('application/json');
      expect(verifySignature(SECRET, r.headers, r.body)).toBe(true);
      // Tampering is detected.
      expect(verifySignature(SECRET, r.headers, r.body.replace('session', 'sessiom'))).toBe(false);
      expect(verifySignature('wrong key', r.headers, r.body)).toBe(false);
    }

    const a = bodies[1]!;
    expect(a.event).toBe('session.end');
    expect(a.session).toMatchObject({
      id: FIXTURE_SESSION,
      project: expect.any(String),
      counts: { prompts: 1, toolCalls: 2, toolFailures: 1 },
      toolsUsed: [{ name: 'Bash', calls: 2, failures: 1 }],
      command: `rbk sessions show ${FIXTURE_SESSION}`,
    });
    // The transcript was ingested before the notification went out: tokens and cost are in.
    expect(a.session.tokens.output).toBe(245);
    expect(a.session.costUsd).toBeGreaterThan(0);
    expect(a.session.durationMs).toBeGreaterThan(0);

    // Slack format: a text message, unsigned (no secretEnv), in the same order.
    await waitFor('3 slack messages', () => slack.requests.length >= 3, 10_000);
    const texts = slack.requests.map((r) => (JSON.parse(r.body) as { text: string }).text);
    expect(texts[0]).toContain(`Claude Code session ${FIXTURE_SESSION.slice(0, 8)} ended`);
    expect(texts[0]).toContain('2 tool call(s), 1 failure(s)');
    expect(texts[0]).toContain(`rbk sessions show ${FIXTURE_SESSION}`);
    expect(texts[2]).toContain('ops-webh');
    expect(slack.requests[0]!.headers['x-rbk-signature']).toBeUndefined();

    // A 4xx is permanent: each delivery is tried once, and the next one still goes out.
    await waitFor('3 refused requests', () => refusing.requests.length >= 3, 10_000);
    await new Promise((r) => setTimeout(r, 600));
    expect(refusing.requests).toHaveLength(3);
    expect(refusing.requests.map((r) => r.headers['x-rbk-attempt'])).toEqual(['1', '1', '1']);
    expect((JSON.parse(refusing.requests[0]!.body) as { content: string }).content).toContain('ended in');

    // The daemon logged each outcome as JSON lines (it runs without a TTY).
    const log = d.log();
    expect(log).toMatch(/"msg":"webhook attempt failed".*"webhook":"generic".*"status":500/);
    expect(log).toMatch(/"msg":"webhook delivered".*"webhook":"generic".*"attempt":2/);
    expect(log).not.toContain(SECRET);
    // The blackhole endpoint did get its connection, and is still holding it.
    expect(held.length).toBeGreaterThanOrEqual(1);
  });

  it('shutdown does not wait for an endpoint that never answers, and says what was not sent', async () => {
    const started = Date.now();
    const exit = await d.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(d.log()).toMatch(/"msg":"webhook deliveries not sent before shutdown".*"queued":3/);
  });
});
