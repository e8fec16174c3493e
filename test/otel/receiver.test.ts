// The OTLP/HTTP receiver against a real daemon on a real loopback port, fed by the OpenTelemetry
// JS SDK's own exporters (protobuf and JSON): what is stored, once; the gate; bad input of every
// kind answered with a clear 4xx and the daemon still up; GenAI spans as sessions; and telemetry
// joined to a transcript (billed vs computed usage, the auxiliary share, tool durations and
// permission decisions).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertBuilt,
  makeDataDir,
  queryAll,
  queryOne,
  REPO_ROOT,
  runCli,
  runNode,
  startDaemon,
  waitFor,
  type DaemonProcess,
  type TempRbk,
} from '../support/rbk.js';
import { apiRequest, captureServer, exportClaudeEvents, post, receiver } from './support.js';

let t: TempRbk;
let d: DaemonProcess;
let url: string;
let token: string;
// The user's own collector, which rbk forwards every stored export to (otel.forward).
let collector: Awaited<ReturnType<typeof captureServer>>;

beforeAll(async () => {
  assertBuilt();
  collector = await captureServer();
  t = makeDataDir({
    config: `metrics: { enabled: false }\nui: { enabled: false }\notel: { listen: "127.0.0.1:0", forward: [{ url: "${collector.url}", headersEnv: RBK_TEST_COLLECTOR_HEADERS }] }\n`,
  });
  d = await startDaemon(t, { env: { RBK_TEST_COLLECTOR_HEADERS: 'x-collector-key=secret%20value' } });
  ({ url, token } = await receiver(t));
}, 60_000);

afterAll(async () => {
  await d?.stop();
  await collector?.close();
  t?.cleanup();
});

const auth = () => ({ authorization: `Bearer ${token}` });
const eventCount = () => (queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM telemetry_events') as { n: number }).n;

function claudeEvents(session: string) {
  return [
    apiRequest(session, 1, [1200, 80, 3000, 400], 0.0123),
    {
      name: 'tool_decision',
      attributes: { 'session.id': session, tool_name: 'Bash', tool_use_id: `toolu_${session.slice(0, 6)}`, decision: 'accept', source: 'config' },
    },
    {
      name: 'tool_result',
      attributes: {
        'session.id': session,
        tool_name: 'Bash',
        tool_use_id: `toolu_${session.slice(0, 6)}`,
        success: 'false',
        duration_ms: 412,
        error_type: 'exit_code',
      },
    },
  ];
}

describe('OTLP receiver', () => {
  it("stores Claude Code's events once each, the same from the SDK's protobuf and JSON exporters", async () => {
    await exportClaudeEvents(url, token, 'protobuf', claudeEvents('s-proto-0001'));
    await exportClaudeEvents(url, token, 'json', claudeEvents('s-json-00001'));
    const cols = `name, agent, service, model, query_source, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens,
                  cost_usd, duration_ms, success, decision, decision_source, error, tool_name`;
    const proto = queryAll(t, `SELECT ${cols} FROM telemetry_events WHERE session_id = 's-proto-0001' ORDER BY id`);
    const json = queryAll(t, `SELECT ${cols} FROM telemetry_events WHERE session_id = 's-json-00001' ORDER BY id`);
    expect(proto).toHaveLength(3);
    expect(json).toEqual(proto);
    expect(proto[0]).toMatchObject({
      name: 'api_request',
      agent: 'claude-code',
      service: 'claude-code',
      model: 'claude-sonnet-4-5-20250929',
      query_source: 'sdk',
      input_tokens: 1200,
      output_tokens: 80,
      cache_read_tokens: 3000,
      cache_creation_tokens: 400,
      cost_usd: 0.0123,
    });
    expect(proto[1]).toMatchObject({ name: 'tool_decision', decision: 'accept', decision_source: 'config' });
    expect(proto[2]).toMatchObject({ name: 'tool_result', success: 0, duration_ms: 412, error: 'exit_code' });
    // A session only telemetry has seen shows up at once, as Claude Code's.
    const r = await runCli(t, ['sessions', '--json']);
    const sessions = JSON.parse(r.stdout) as { id: string; agent: string; ccVersion: string | null }[];
    expect(sessions.find((s) => s.id === 's-proto-0001')).toMatchObject({ agent: 'claude-code', ccVersion: '2.1.197' });
  });

  it("forwards each export, as received, to the user's collector, with the headers from the environment", async () => {
    const cap = await captureServer();
    try {
      await exportClaudeEvents(cap.url, token, 'protobuf', claudeEvents('s-fwd-00001'));
    } finally {
      await cap.close();
    }
    const sent = cap.requests.find((r) => r.path === '/v1/logs')!;
    const before = collector.requests.length;
    expect((await post(`${url}/v1/logs`, sent.body, { 'content-type': sent.contentType, ...auth() })).status).toBe(200);
    const got = await waitFor('the forwarded export', () => (collector.requests.length > before ? collector.requests[collector.requests.length - 1] : null));
    expect(got.path).toBe('/v1/logs');
    expect(got.contentType).toBe('application/x-protobuf');
    expect(got.body.equals(sent.body)).toBe(true);
    expect(got.headers['x-collector-key']).toBe('secret value');
    // rbk's own token is not passed on.
    expect(got.headers.authorization).toBeUndefined();
  });

  it('stores an export that arrives twice (a retry after a lost answer) once, and says so', async () => {
    const cap = await captureServer();
    try {
      await exportClaudeEvents(cap.url, token, 'protobuf', claudeEvents('s-retry-0001'));
    } finally {
      await cap.close();
    }
    const sent = cap.requests.filter((r) => r.path === '/v1/logs');
    expect(sent.length).toBeGreaterThan(0);
    const before = eventCount();
    for (const r of sent) expect((await post(`${url}/v1/logs`, r.body, { 'content-type': r.contentType, ...auth() })).status).toBe(200);
    const once = eventCount();
    expect(once - before).toBe(3);
    for (const r of sent) expect((await post(`${url}/v1/logs`, r.body, { 'content-type': r.contentType, ...auth() })).status).toBe(200);
    expect(eventCount()).toBe(once);
    const s = JSON.parse((await runCli(t, ['status', '--json'])).stdout) as { otel: { sinceStart: { duplicates: number } } };
    expect(s.otel.sinceStart.duplicates).toBeGreaterThanOrEqual(3);
  });

  it('lets in only its own token, its own Host and OTLP requests, each refusal a clear 4xx', async () => {
    const json = JSON.stringify({ resourceLogs: [] });
    const cases: [string, () => Promise<{ status: number; text: string }>, number, string][] = [
      ['no token', () => post(`${url}/v1/logs`, json, { 'content-type': 'application/json' }), 401, 'otlp-token'],
      [
        'a wrong token',
        () => post(`${url}/v1/logs`, json, { 'content-type': 'application/json', authorization: `Bearer ${'0'.repeat(64)}` }),
        401,
        'otlp-token',
      ],
      ['a token of the wrong length', () => post(`${url}/v1/logs`, json, { 'content-type': 'application/json', authorization: 'Bearer x' }), 401, 'otlp-token'],
      ['another Host (DNS rebinding)', () => rawRequest({ path: '/v1/logs', host: 'evil.example', body: json }), 421, 'answers only to'],
      ['GET', () => rawRequest({ path: '/v1/logs', method: 'GET' }), 405, 'POST'],
      [
        'an unknown path',
        () => post(`${url}/v1/profiles`, json, { 'content-type': 'application/json', ...auth() }),
        404,
        '/v1/logs, /v1/traces or /v1/metrics',
      ],
      ['text/plain', () => post(`${url}/v1/logs`, json, { 'content-type': 'text/plain', ...auth() }), 415, 'application/x-protobuf or application/json'],
      ['brotli', () => post(`${url}/v1/logs`, json, { 'content-type': 'application/json', 'content-encoding': 'br', ...auth() }), 415, 'gzip'],
    ];
    for (const [what, send, status, says] of cases) {
      const r = await send();
      expect(r.status, what).toBe(status);
      expect(r.text, what).toContain(says);
    }
    expect((await post(`${url}/v1/logs`, json, { 'content-type': 'application/json', ...auth() })).status).toBe(200);
  });

  it('answers bad bodies with a clear 4xx (truncated protobuf, gzip bomb, 100 MB, bad JSON, deep nesting) and keeps serving', async () => {
    const cap = await captureServer();
    try {
      await exportClaudeEvents(cap.url, token, 'protobuf', claudeEvents('s-trunc-0001'));
    } finally {
      await cap.close();
    }
    const real = cap.requests.find((r) => r.path === '/v1/logs' && r.body.length > 40);
    expect(real).toBeDefined();
    const proto = { 'content-type': 'application/x-protobuf', ...auth() };
    const jsonType = { 'content-type': 'application/json', ...auth() };
    const before = eventCount();

    const truncated = await post(`${url}/v1/logs`, real!.body.subarray(0, Math.floor(real!.body.length / 2)), proto);
    expect(truncated.status).toBe(400);
    expect(truncated.text).toContain('not a valid OTLP logs protobuf body');

    // 256 MB of zeros gzip to ~250 KB: inflating stops at otel.maxBodyBytes (16 MB).
    const bomb = await gzipZeros(256 * 1024 * 1024);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const bombed = await post(`${url}/v1/logs`, bomb, { ...proto, 'content-encoding': 'gzip' });
    expect(bombed.status).toBe(413);
    expect(bombed.text).toContain('inflates to more than otel.maxBodyBytes');
    const badGzip = await post(`${url}/v1/logs`, Buffer.from('not gzip at all'), { ...proto, 'content-encoding': 'gzip' });
    expect(badGzip.status).toBe(400);

    // 100 MB, declared, and 100 MB chunked (no length): refused at the bound, not read to the end.
    for (const declared of [true, false]) {
      const big = await streamBody(100 * 1024 * 1024, declared);
      expect(big.status, `declared ${declared}`).toBe(413);
      expect(big.text).toContain('otel.maxBodyBytes');
      expect(big.bytesSent, 'stopped early').toBeLessThan(100 * 1024 * 1024);
    }

    const notJson = await post(`${url}/v1/logs`, '{"resourceLogs": [', jsonType);
    expect(notJson.status).toBe(400);
    expect(notJson.text).toContain('not valid JSON');
    const wrongShape = await post(`${url}/v1/logs`, JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: 'soon' }] }] }] }), jsonType);
    expect(wrongShape.status).toBe(400);
    expect(wrongShape.text).toContain('resourceLogs.0.scopeLogs.0.logRecords.0.timeUnixNano');
    let deep: unknown = { stringValue: 'bottom' };
    for (let i = 0; i < 200; i++) deep = { kvlistValue: { values: [{ key: 'k', value: deep }] } };
    const nested = await post(
      `${url}/v1/logs`,
      JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ eventName: 'x', attributes: [{ key: 'deep', value: deep }] }] }] }] }),
      jsonType,
    );
    expect(nested.status).toBe(400);
    expect(nested.text).toContain('nest deeper');

    expect(eventCount()).toBe(before);
    expect(d.isRunning()).toBe(true);
    expect((await runCli(t, ['status', '--json'])).code).toBe(0);
  });

  it('skips and counts records with hostile ids or no event name, and keeps unknown events', async () => {
    const before = eventCount();
    const r = await post(
      `${url}/v1/logs`,
      JSON.stringify({
        resourceLogs: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'claude-code' } }] },
            scopeLogs: [
              {
                logRecords: [
                  { eventName: 'api_request', attributes: [{ key: 'session.id', value: { stringValue: '../../etc/passwd' } }] },
                  { eventName: 'tool_result', attributes: [{ key: 'tool_use_id', value: { stringValue: 'a/../../b' } }] },
                  { body: { stringValue: 'plain application log line' } },
                  { eventName: 'some_future_event', attributes: [{ key: 'session.id', value: { stringValue: 's-future-0001' } }] },
                ],
              },
            ],
          },
        ],
      }),
      { 'content-type': 'application/json', ...auth() },
    );
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ partialSuccess: { rejectedLogRecords: '3', errorMessage: 'not stored by rbk: 2 unsafe id, 1 no event name' } });
    expect(eventCount()).toBe(before + 1);
    expect(queryAll(t, `SELECT name, session_id FROM telemetry_events WHERE session_id = 's-future-0001'`)).toEqual([
      { name: 'some_future_event', session_id: 's-future-0001' },
    ]);
    expect(queryAll(t, `SELECT id FROM sessions WHERE id LIKE '%passwd%' OR id LIKE '%..%'`)).toEqual([]);
  });

  it('turns GenAI spans into a session of agent otel:<service.name>, and counts metrics without storing them', async () => {
    const nanos = (ms: number) => String(BigInt(ms) * 1_000_000n);
    const t0 = Date.parse('2026-12-01T12:00:00Z');
    const attr = (key: string, v: string | number) => ({ key, value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v } });
    const span = (id: string, name: string, start: number, attrs: ReturnType<typeof attr>[], status?: number) => ({
      traceId: 'aa'.repeat(16),
      spanId: id.repeat(8),
      name,
      kind: 3,
      startTimeUnixNano: nanos(t0 + start),
      endTimeUnixNano: nanos(t0 + start + 700),
      attributes: attrs,
      ...(status ? { status: { code: status, message: 'tool failed' } } : {}),
    });
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [attr('service.name', 'my-agent')] },
          scopeSpans: [
            {
              spans: [
                span('01', 'chat gpt-5', 0, [
                  attr('gen_ai.operation.name', 'chat'),
                  attr('gen_ai.conversation.id', 'conv-0001'),
                  attr('gen_ai.request.model', 'gpt-5'),
                  attr('gen_ai.usage.input_tokens', 321),
                  attr('gen_ai.usage.output_tokens', 45),
                ]),
                span(
                  '02',
                  'execute_tool run_tests',
                  1000,
                  [attr('gen_ai.operation.name', 'execute_tool'), attr('gen_ai.conversation.id', 'conv-0001'), attr('gen_ai.tool.name', 'run_tests')],
                  2,
                ),
                span('03', 'GET /health', 2000, [attr('http.request.method', 'GET')]),
              ],
            },
          ],
        },
      ],
    };
    const r = await post(`${url}/v1/traces`, JSON.stringify(body), { 'content-type': 'application/json', ...auth() });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ partialSuccess: { rejectedSpans: '1', errorMessage: 'not stored by rbk: 1 not gen ai' } });
    const list = JSON.parse((await runCli(t, ['sessions', '--agent', 'otel:my-agent', '--json'])).stdout) as { id: string; agent: string }[];
    expect(list.map((s) => [s.id, s.agent])).toEqual([['conv-0001', 'otel:my-agent']]);
    const show = JSON.parse((await runCli(t, ['sessions', 'show', 'conv-0001', '--json'])).stdout) as {
      timeline: { kind: string; text: string; toolName: string | null; status: string | null; durationMs: number | null; source: string }[];
    };
    expect(show.timeline.map((e) => [e.kind, e.source])).toEqual([
      ['prompt', 'telemetry'],
      ['tool', 'telemetry'],
    ]);
    expect(show.timeline[0]!.text).toContain('(321 in, 45 out)');
    expect(show.timeline[1]).toMatchObject({ toolName: 'run_tests', status: 'error', durationMs: 700 });

    const metrics = {
      resourceMetrics: [
        {
          scopeMetrics: [{ metrics: [{ name: 'claude_code.cost.usage', sum: { dataPoints: [{ asDouble: 0.1 }, { asDouble: 0.2 }] } }] }],
        },
      ],
    };
    const before = eventCount();
    const m = await post(`${url}/v1/metrics`, JSON.stringify(metrics), { 'content-type': 'application/json', ...auth() });
    expect(m.status).toBe(200);
    expect(eventCount()).toBe(before);
  });

  it("joins telemetry to the transcript: the agent's bill beside rbk's, the auxiliary share, tool durations and permission decisions", async () => {
    const session = '7e1e0000-0000-4000-8000-000000000001';
    // Telemetry first: the session exists before its transcript is read.
    await exportClaudeEvents(url, token, 'protobuf', [
      apiRequest(session, 1, [100, 20, 0, 0], 0.0006),
      apiRequest(session, 2, [150, 30, 0, 0], 0.0009),
      // A session title: billed, never written to the transcript.
      { ...apiRequest(session, 3, [40, 8, 0, 0], 0.0002), attributes: { ...apiRequest(session, 3, [40, 8, 0, 0], 0.0002).attributes, query_source: 'title' } },
      {
        name: 'tool_decision',
        attributes: { 'session.id': session, tool_name: 'Bash', tool_use_id: 'toolu_join_1', decision: 'reject', source: 'user_reject' },
      },
      { name: 'tool_result', attributes: { 'session.id': session, tool_name: 'Bash', tool_use_id: 'toolu_join_1', success: 'false', duration_ms: 1234 } },
    ]);
    expect(queryOne(t, 'SELECT project FROM sessions WHERE id = ?', session)).toEqual({ project: null });
    const dir = path.join(t.root, 'projects');
    writeTranscript(dir, session);
    const imp = await runCli(t, ['import', dir, '--json']);
    expect(imp.code, imp.stderr).toBe(0);

    const usage = JSON.parse(
      (await runCli(t, ['usage', 'daily', '--since', '2026-12-01', '--until', '2026-12-01', '-z', 'UTC', '--project', 'telemetry-join', '--json'])).stdout,
    ) as {
      totals: { totalCost: number | null };
      billed: { requests: number; costUsd: number; auxiliaryRequests: number; auxiliaryCostUsd: number; auxiliaryShare: number; auxiliaryBySource: unknown[] };
    };
    expect(usage.billed.requests).toBe(3);
    expect(usage.billed.costUsd).toBeCloseTo(0.0017, 10);
    expect(usage.billed.auxiliaryRequests).toBe(1);
    expect(usage.billed.auxiliaryCostUsd).toBeCloseTo(0.0002, 10);
    expect(usage.billed.auxiliaryShare).toBeCloseTo(0.1176, 4);
    expect(usage.billed.auxiliaryBySource).toEqual([{ source: 'title', requests: 1, costUsd: 0.0002 }]);
    const text = await runCli(t, ['usage', 'daily', '--since', '2026-12-01', '--until', '2026-12-01', '-z', 'UTC', '--project', 'telemetry-join']);
    expect(text.stdout).toContain('Auxiliary (in no transcript): $0.0002, 1 request, 11.8% of the bill: title $0.0002 (1 request).');

    const show = JSON.parse((await runCli(t, ['sessions', 'show', session, '--json'])).stdout) as {
      session: { project: string; agent: string };
      timeline: { kind: string; toolUseId: string | null; durationMs: number | null; permission: string | null; source: string }[];
    };
    // The transcript now owns the session's columns; telemetry adds to its tool call.
    expect(show.session).toMatchObject({ project: 'telemetry-join', agent: 'claude-code' });
    const tool = show.timeline.find((e) => e.toolUseId === 'toolu_join_1');
    expect(tool).toMatchObject({ kind: 'tool', durationMs: 1234, permission: 'reject (user_reject)', source: 'transcript' });
    const plain = await runCli(t, ['sessions', 'show', session, '--no-pager']);
    expect(plain.stdout).toContain('[reject (user_reject)]');
  });
});

function writeTranscript(dir: string, session: string): void {
  const cwd = '/work/telemetry-join';
  const file = path.join(dir, '-work-telemetry-join', `${session}.jsonl`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const base = { sessionId: session, cwd, version: '2.1.197', gitBranch: 'main', userType: 'external', isSidechain: false };
  const at = (s: number) => new Date(Date.parse('2026-12-01T10:00:00Z') + s * 1000).toISOString();
  const usage = (i: number, o: number) => ({ input_tokens: i, output_tokens: o, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
  const model = 'claude-sonnet-4-5-20250929';
  const lines = [
    { ...base, type: 'user', uuid: 'j-u1', parentUuid: null, timestamp: at(0), message: { role: 'user', content: 'run the tests' } },
    {
      ...base,
      type: 'assistant',
      uuid: 'j-a1',
      parentUuid: 'j-u1',
      timestamp: at(1),
      requestId: 'req_j1',
      message: {
        id: 'msg_j1',
        role: 'assistant',
        model,
        content: [{ type: 'tool_use', id: 'toolu_join_1', name: 'Bash', input: { command: 'npm test' } }],
        usage: usage(100, 20),
      },
    },
    {
      ...base,
      type: 'user',
      uuid: 'j-u2',
      parentUuid: 'j-a1',
      timestamp: at(3),
      message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_join_1', content: 'The user rejected this tool call', is_error: true }] },
    },
    {
      ...base,
      type: 'assistant',
      uuid: 'j-a2',
      parentUuid: 'j-u2',
      timestamp: at(4),
      requestId: 'req_j2',
      message: { id: 'msg_j2', role: 'assistant', model, content: [{ type: 'text', text: 'Understood, I will not run it.' }], usage: usage(150, 30) },
    },
  ];
  fs.writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
}

function gzipZeros(bytes: number): Promise<Buffer> {
  const chunk = Buffer.alloc(1024 * 1024);
  let left = bytes;
  const src = new Readable({
    read() {
      if (left <= 0) return this.push(null);
      left -= chunk.length;
      this.push(chunk);
    },
  });
  const out: Buffer[] = [];
  return new Promise((resolve, reject) => {
    src
      .pipe(zlib.createGzip({ level: 9 }))
      .on('data', (c: Buffer) => out.push(c))
      .on('end', () => resolve(Buffer.concat(out)))
      .on('error', reject);
  });
}

/** A request written by hand: a Host header of our choosing, or a body streamed until the server answers. */
function rawRequest(opts: { path: string; method?: string; host?: string; body?: string }): Promise<{ status: number; text: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: opts.path,
        method: opts.method ?? 'POST',
        headers: { host: opts.host ?? u.host, 'content-type': 'application/json', authorization: `Bearer ${token}` },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

function streamBody(bytes: number, declared: boolean): Promise<{ status: number; text: string; bytesSent: number }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const headers: Record<string, string> = { 'content-type': 'application/x-protobuf', authorization: `Bearer ${token}` };
    if (declared) headers['content-length'] = String(bytes);
    const req = http.request({ host: u.hostname, port: u.port, path: '/v1/logs', method: 'POST', headers }, (res) => {
      answered = true;
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, bytesSent: sent }));
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const chunk = Buffer.alloc(256 * 1024, 7);
    const pump = () => {
      while (!answered && sent < bytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

describe('a Node agent on the OpenTelemetry SDK', () => {
  it('the openai client, instrumented by @opentelemetry/instrumentation-openai, shows up as a session with its tokens and tool calls', async () => {
    // A loopback stand-in for the Chat Completions API: a tool call, then (after the failing run)
    // another, then the answer.
    let call = 0;
    const standIn = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        call++;
        const usage = [
          { prompt_tokens: 120, completion_tokens: 15 },
          { prompt_tokens: 160, completion_tokens: 12 },
          { prompt_tokens: 200, completion_tokens: 9 },
        ][call - 1] ?? { prompt_tokens: 1, completion_tokens: 1 };
        const message =
          call < 3
            ? { role: 'assistant', content: null, tool_calls: [{ id: `call_${call}`, type: 'function', function: { name: 'run_tests', arguments: '{}' } }] }
            : { role: 'assistant', content: 'All 12 tests pass now.' };
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            id: `chatcmpl-${call}`,
            object: 'chat.completion',
            created: Math.floor(Date.now() / 1000),
            model: 'gpt-4.1-mini-2025-04-14',
            choices: [{ index: 0, message, finish_reason: call < 3 ? 'tool_calls' : 'stop' }],
            usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
          }),
        );
      });
    });
    await new Promise<void>((r) => standIn.listen(0, '127.0.0.1', r));
    const { port } = standIn.address() as import('node:net').AddressInfo;
    try {
      const env = JSON.parse((await runCli(t, ['otel', 'env', '--service-name', 'openai-agent', '--json'])).stdout) as { env: Record<string, string> };
      expect(env.env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe(url);
      const agent = await runNode([path.join(REPO_ROOT, 'test', 'otel', 'agents', 'openai-agent.mjs'), 'run the tests and fix what fails'], {
        env: { ...env.env, OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1` },
      });
      expect(agent.code, agent.stderr).toBe(0);
      expect(call).toBe(3);
    } finally {
      standIn.close();
    }
    const sessions = await waitFor('the agent session', async () => {
      const list = JSON.parse((await runCli(t, ['sessions', '--agent', 'otel:openai-agent', '--json'])).stdout) as {
        id: string;
        agent: string;
        tokens: { input: number; output: number };
        counts: { toolCalls: number; toolFailures: number };
      }[];
      return list.length > 0 ? list : null;
    });
    expect(sessions).toHaveLength(1);
    // Tokens from the instrumentation's chat spans, tool calls from the agent's own spans.
    expect(sessions[0]!.tokens).toMatchObject({ input: 480, output: 36 });
    expect(sessions[0]!.counts).toMatchObject({ toolCalls: 2, toolFailures: 1 });
    const show = JSON.parse((await runCli(t, ['sessions', 'show', sessions[0]!.id, '--json'])).stdout) as {
      timeline: { kind: string; text: string; toolName: string | null; status: string | null }[];
    };
    const chats = show.timeline.filter((e) => e.text.startsWith('chat '));
    expect(chats.map((e) => e.text)).toEqual([
      'chat gpt-4.1-mini · gpt-4.1-mini-2025-04-14 (120 in, 15 out)',
      'chat gpt-4.1-mini · gpt-4.1-mini-2025-04-14 (160 in, 12 out)',
      'chat gpt-4.1-mini · gpt-4.1-mini-2025-04-14 (200 in, 9 out)',
    ]);
    expect(show.timeline.filter((e) => e.kind === 'tool').map((e) => [e.toolName, e.status])).toEqual([
      ['run_tests', 'error'],
      ['run_tests', 'ok'],
    ]);
  });
});
