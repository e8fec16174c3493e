// The console's HTTP API and its gate, against a real daemon on a real loopback port: login once
// and only once, cookie attributes, Host allowlist, CSRF and cross-origin refusals, no CORS, the
// CSP, answers equal to the CLI's, bad input as clear 4xx, and the live stream fed by a real
// `rbk hook` process.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, type DaemonProcess, makeDataDir, runCli, runHook, spawnDaemon, startDaemon, type TempRbk } from '../support/rbk.js';
import { E2E_CAPTURED, FAILING_BUILD, login, SPOTTER_LONG, TRANSCRIPTS } from './support.js';

let t: TempRbk;
let d: DaemonProcess;
let url: string;
let cookie: string;
let runbooks: string;

/** A raw request, so that Host and Origin can be anything (fetch would fix them). */
function raw(
  method: string,
  pathname: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path: pathname, headers }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => (b += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const api = async <T>(p: string): Promise<T> => {
  const res = await fetch(`${url}api/v1${p}`, { headers: { cookie } });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as T;
};

beforeAll(async () => {
  assertBuilt();
  t = makeDataDir();
  runbooks = path.join(t.root, 'runbooks');
  fs.mkdirSync(runbooks);
  fs.writeFileSync(path.join(runbooks, 'build.md'), '# Build\n\nBuild with `sh scripts/build.sh`. If the build fails, read the error first.\n');
  t.writeConfig(`metrics: { enabled: false }\nui: { listen: "127.0.0.1:0" }\nlearning:\n  runbookDir: ${JSON.stringify(runbooks)}\n`);
  d = await startDaemon(t);
  const imp = await runCli(t, ['import', E2E_CAPTURED, TRANSCRIPTS, '--json'], { timeoutMs: 120_000 });
  expect(imp.code, imp.stderr).toBe(0);
  ({ url, cookie } = await login(t));
}, 120_000);

afterAll(async () => {
  await d?.stop();
  t?.cleanup();
});

describe('login', () => {
  it('a login URL works once and sets an HttpOnly, SameSite=Strict cookie; a forged or missing cookie is refused', async () => {
    const r = await runCli(t, ['ui', '--json', '/usage']);
    const { loginUrl } = JSON.parse(r.stdout) as { loginUrl: string };
    const first = await fetch(loginUrl, { redirect: 'manual' });
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/usage');
    const set = first.headers.get('set-cookie') ?? '';
    expect(set).toMatch(/^rbk_console=s1\.\d{13}\.[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+$/);
    const again = await fetch(loginUrl, { redirect: 'manual' });
    expect(again.status).toBe(401);
    expect(again.headers.get('set-cookie')).toBeNull();

    // A token with its MAC changed, and a cookie with its MAC changed.
    const forged = loginUrl.replace(/token=([^&]*)/, (_m, tok: string) => `token=${tok.slice(0, -2)}AA`);
    expect((await fetch(forged, { redirect: 'manual' })).status).toBe(401);
    const bad = set.split(';')[0]!.replace(/.{4}$/, 'AAAA');
    expect((await fetch(`${url}api/v1/sessions`, { headers: { cookie: bad } })).status).toBe(401);
    const none = await fetch(`${url}api/v1/sessions`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { message: string } }).error.message).toContain('rbk ui');
  });

  it('a login URL never redirects off the console', async () => {
    for (const next of ['//evil.example/x', 'https://evil.example/', '/\\evil.example']) {
      const r = await runCli(t, ['ui', '--json', next]);
      const { loginUrl } = JSON.parse(r.stdout) as { loginUrl: string };
      const res = await fetch(loginUrl, { redirect: 'manual' });
      expect(res.headers.get('location')).toBe('/');
    }
  });
});

describe('the gate', () => {
  it('refuses a Host that is not the console (DNS rebinding)', async () => {
    const port = new URL(url).port;
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.2:${port}`, `localhost.evil.example:${port}`]) {
      const res = await raw('GET', '/api/v1/sessions', { host, cookie });
      expect(res.status, host).toBe(421);
      expect(res.body).not.toContain('sessions"');
    }
    expect((await raw('GET', '/api/v1/me', { host: `localhost:${port}`, cookie })).status).toBe(200);
  });

  it('a state-changing request needs the CSRF token, JSON, and no other origin; no CORS header is ever sent', async () => {
    const host = new URL(url).host;
    const me = await api<{ csrfToken: string }>('/me');
    const body = JSON.stringify({});
    const learnPath = `/api/v1/sessions/${FAILING_BUILD}/learn`;
    const cases: [string, Record<string, string>][] = [
      ['no token', { host, cookie, 'content-type': 'application/json' }],
      ['wrong token', { host, cookie, 'content-type': 'application/json', 'x-rbk-csrf': `${me.csrfToken.slice(0, -1)}x` }],
      ['cross origin', { host, cookie, 'content-type': 'application/json', 'x-rbk-csrf': me.csrfToken, origin: 'http://evil.example' }],
      ['cross site', { host, cookie, 'content-type': 'application/json', 'x-rbk-csrf': me.csrfToken, 'sec-fetch-site': 'cross-site' }],
      ['form post', { host, cookie, 'content-type': 'application/x-www-form-urlencoded', 'x-rbk-csrf': me.csrfToken }],
    ];
    for (const [name, headers] of cases) {
      const res = await raw('POST', learnPath, headers, body);
      expect(res.status, name).toBe(403);
      expect(res.headers['access-control-allow-origin'], name).toBeUndefined();
    }
    const ok = await raw('POST', learnPath, { host, cookie, 'content-type': 'application/json', 'x-rbk-csrf': me.csrfToken, origin: `http://${host}` }, body);
    expect(ok.status, ok.body).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBeUndefined();
    const pre = await raw('OPTIONS', '/api/v1/sessions', { host, origin: 'http://evil.example', 'access-control-request-method': 'GET' });
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
  }, 60_000);

  it('every page carries a CSP that allows only scripts of this origin, with no inline script', async () => {
    const res = await fetch(url);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('refuses a non-loopback listen without auth at start, with what to do', async () => {
    const other = makeDataDir({ config: 'metrics: { enabled: false }\nui: { listen: "0.0.0.0:0", auth: false }\n' });
    try {
      const p = spawnDaemon(other);
      const exit = await p.exited;
      expect(exit.code).not.toBe(0);
      expect(p.log()).toContain('a listen address other than loopback needs auth');
    } finally {
      other.cleanup();
    }
  });
});

describe('the API answers as the CLI does', () => {
  it('sessions, sorted and filtered, are the sessions rbk lists', async () => {
    const cli = JSON.parse((await runCli(t, ['sessions', '--json', '--limit', '100'])).stdout) as { id: string }[];
    const web = await api<{ sessions: { id: string; costUsd?: number; counts: { toolFailures: number } }[] }>('/sessions?limit=100');
    expect(web.sessions.length).toBeGreaterThan(3);
    expect(web.sessions.map((s) => s.id)).toEqual(cli.map((s) => s.id));
    const byCost = await api<{ sessions: { costUsd?: number }[] }>('/sessions?limit=100&sort=cost');
    const costs = byCost.sessions.map((s) => s.costUsd ?? -1);
    expect(costs).toEqual([...costs].sort((a, b) => b - a));
    const errs = await api<{ sessions: { counts: { toolFailures: number } }[] }>('/sessions?errors=true&limit=100');
    expect(errs.sessions.length).toBeGreaterThan(0);
    expect(errs.sessions.every((s) => s.counts.toolFailures > 0)).toBe(true);
    // Offset paging of a sorted list gives the same rows as one page.
    const a = await api<{ sessions: { id: string }[] }>('/sessions?sort=tools&limit=2');
    const b = await api<{ sessions: { id: string }[] }>('/sessions?sort=tools&limit=2&offset=2');
    const all = await api<{ sessions: { id: string }[] }>('/sessions?sort=tools&limit=4');
    expect([...a.sessions, ...b.sessions].map((s) => s.id)).toEqual(all.sessions.map((s) => s.id));
  });

  it('usage is `rbk usage --json`, and the timeline is `sessions show --json`, with tokens per response', async () => {
    const cli = JSON.parse((await runCli(t, ['usage', 'daily', '--json'], { env: { TZ: 'UTC' } })).stdout) as {
      daily: { period: string; totalCost: number; totalTokens: number }[];
    };
    const web = await api<{ rows: { period: string; totals: { costUsd: number; totalTokens: number } }[] }>('/usage?report=daily&tz=UTC');
    expect(web.rows.length).toBeGreaterThan(1);
    expect(web.rows.map((r) => [r.period, r.totals.totalTokens, r.totals.costUsd])).toEqual(cli.daily.map((r) => [r.period, r.totalTokens, r.totalCost]));

    const show = JSON.parse((await runCli(t, ['sessions', 'show', SPOTTER_LONG, '--json'])).stdout) as { timeline: unknown[] };
    const page1 = await api<{ total: number; entries: { ref: string; usage?: { outputTokens: number } }[] }>(`/sessions/${SPOTTER_LONG}/timeline?limit=100`);
    const page2 = await api<{ total: number; offset: number; entries: { ref: string }[] }>(`/sessions/${SPOTTER_LONG}/timeline?offset=100&limit=100`);
    expect(page1.total).toBe(show.timeline.length);
    expect(page2.offset).toBe(100);
    expect(page2.entries[0]!.ref).not.toBe(page1.entries[0]!.ref);
    // Each response's tokens sit on one entry: their sum is the session's output tokens.
    const full = await api<{ entries: { usage?: { outputTokens: number } }[] }>(`/sessions/${SPOTTER_LONG}/timeline?limit=2000`);
    const session = await api<{ session: { tokens: { output: number } } }>(`/sessions/${SPOTTER_LONG}`);
    const summed = full.entries.reduce((s, e) => s + (e.usage?.outputTokens ?? 0), 0);
    expect(summed).toBeGreaterThan(0);
    expect(summed).toBeLessThanOrEqual(session.session.tokens.output);
  });

  it('an entry opens with its whole text, a tool call with its input and output', async () => {
    const tl = await api<{ entries: { ref: string; kind: string; toolName?: string; status?: string }[] }>(`/sessions/${FAILING_BUILD}/timeline?limit=2000`);
    const failed = tl.entries.find((e) => e.kind === 'tool' && e.status === 'error');
    expect(failed).toBeDefined();
    const detail = await api<{ blocks: { kind: string; toolInput: string }[]; result: { isError: boolean; text: string } }>(
      `/sessions/${FAILING_BUILD}/entries/${failed!.ref}`,
    );
    expect(detail.blocks[0]!.kind).toBe('tool_use');
    expect(JSON.parse(detail.blocks[0]!.toolInput)).toHaveProperty('command');
    expect(detail.result.isError).toBe(true);
    expect(detail.result.text.length).toBeGreaterThan(0);
  });

  it('bad input is a clear 4xx, never a crash', async () => {
    const cases: [string, number, RegExp][] = [
      ['/sessions?limit=abc', 400, /limit must be a whole number/],
      ['/sessions?sort=evil', 400, /sort must be one of/],
      ['/sessions?since=yesterday', 400, /since must be unix milliseconds or an ISO date/],
      ['/sessions/nope-nope', 404, /no session/i],
      [`/sessions/${SPOTTER_LONG}/timeline?limit=5000`, 400, /limit/],
      [`/sessions/${SPOTTER_LONG}/entries/${encodeURIComponent('../../etc/passwd')}`, 400, /entry ref/],
      [`/sessions/${SPOTTER_LONG}/entries/not-a-ref`, 404, /no timeline entry/],
      ['/usage?report=hourly', 400, /report must be/],
      ['/usage?tz=Mars/Base', 400, /time zone/i],
      ['/search?q=', 400, /give something to search for/],
      ['/nothing-here', 404, /no API/],
      ['/sessions/%E0%A4%A', 400, /malformed/],
    ];
    for (const [p, status, message] of cases) {
      const res = await fetch(`${url}api/v1${p}`, { headers: { cookie } });
      const body = (await res.json()) as { error: { message: string } };
      expect(res.status, `${p}: ${body.error?.message}`).toBe(status);
      expect(body.error.message, p).toMatch(message);
    }
    // A body over the 64 KB bound, from a request that passes the gate, so that the bound is what refuses it.
    const { csrfToken } = await api<{ csrfToken: string }>('/me');
    const big = await raw(
      'POST',
      `/api/v1/sessions/${FAILING_BUILD}/learn`,
      { host: new URL(url).host, cookie, 'content-type': 'application/json', 'x-rbk-csrf': csrfToken },
      JSON.stringify({ query: 'x'.repeat(100_000) }),
    );
    expect(big.status, big.body).toBe(413);
    expect(big.body).toContain('over 65536 bytes');
    expect(d.isRunning()).toBe(true);
  });
});

describe('live stream', () => {
  it('a hook event from a real rbk hook process arrives on the SSE stream', async () => {
    const ac = new AbortController();
    const res = await fetch(`${url}api/v1/live`, { headers: { cookie }, signal: ac.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    const read = async (until: (s: string) => boolean, ms: number) => {
      const end = Date.now() + ms;
      while (!until(text) && Date.now() < end) {
        const { value, done } = await Promise.race([
          reader.read(),
          new Promise<{ value: undefined; done: true }>((r) => setTimeout(() => r({ value: undefined, done: true }), end - Date.now())),
        ]);
        if (done && !value) break;
        text += Buffer.from(value as Uint8Array).toString();
      }
    };
    await read((s) => s.includes('event: ready'), 5000);
    const sessionId = 'c0ffee00-0000-4000-8000-00000000l1ve'.replace('l1ve', '1111');
    const hook = await runHook(
      t,
      JSON.stringify({
        session_id: sessionId,
        hook_event_name: 'UserPromptSubmit',
        prompt: 'live from the hook',
        cwd: t.root,
        transcript_path: path.join(t.root, 'none.jsonl'),
      }),
    );
    expect(hook.code).toBe(0);
    await read((s) => s.includes('live from the hook'), 5000);
    ac.abort();
    const event = text.split('\n\n').find((b) => b.includes('live from the hook'));
    expect(event).toBeDefined();
    expect(event).toContain('event: hook');
    const data = JSON.parse(
      event!
        .split('\n')
        .find((l) => l.startsWith('data: '))!
        .slice(6),
    ) as { sessionId: string; kind: string };
    expect(data).toMatchObject({ sessionId, kind: 'UserPromptSubmit' });
  });
});

describe('status and doctor', () => {
  it('report where the console is', async () => {
    const s = JSON.parse((await runCli(t, ['status', '--json'])).stdout) as { ui: { url: string; enabled: boolean } };
    expect(s.ui).toMatchObject({ enabled: true, url });
    const doc = JSON.parse((await runCli(t, ['doctor', '--json'])).stdout) as { checks: { id: string; status: string; summary: string }[] };
    const c = doc.checks.find((x) => x.id === 'console');
    expect(c).toMatchObject({ status: 'pass' });
    expect(c!.summary).toContain(url);
  }, 60_000);
});
