// End to end with the real Claude Code CLI (offline, against the model stand-in): `rbk install
// --no-service` into a temp HOME, then a Claude Code session that knows nothing of rbk except
// what install wrote to ~/.claude/settings.json (runClaude without hookCommand; no RBK_*
// variables reach it: the hook command carries RBK_DATA_DIR itself). The session is captured,
// the session-end webhook arrives signed, the Prometheus scrape passes `promtool check metrics`
// with non-zero counters, doctor is happy, and uninstall takes it all back out.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findClaudeBinary, runClaude, type RunClaudeResult } from '../e2e/support/claude.js';
import { assertBuilt, REPO_ROOT, makeDataDir, queryAll, queryOne, runCli, startDaemon, waitFor, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { freePort, startReceiver, verifySignature, type Receiver } from './support.js';

const SECRET = 'e2e-webhook-signing-key';

let t: TempRbk;
let d: DaemonProcess;
let receiver: Receiver;
let port: number;
let home: string;
let project: string;
let run: RunClaudeResult;
let scrape = '';

beforeAll(async () => {
  assertBuilt();
  await findClaudeBinary();
  receiver = await startReceiver();
  port = await freePort();
  t = makeDataDir({
    config: [
      'metrics:',
      `  listen: 127.0.0.1:${port}`,
      'notify:',
      '  debounceMs: 500',
      '  webhooks:',
      `    - { url: "${receiver.url}", secretEnv: RBK_E2E_WEBHOOK_SECRET }`,
      '',
    ].join('\n'),
  });
  d = await startDaemon(t, { env: { RBK_E2E_WEBHOOK_SECRET: SECRET } });
  home = path.join(t.root, 'home');
  project = path.join(t.root, 'project');
  const install = await runCli(t, ['install', '--no-service'], { env: { HOME: home } });
  if (install.code !== 0) throw new Error(`rbk install failed: ${install.stderr}`);
  run = await runClaude({ scenario: 'failing-build', home, project });
}, 180_000);

afterAll(async () => {
  await d?.stop();
  await receiver?.close();
  t?.cleanup();
});

function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('rbk install + a real Claude Code session', () => {
  it('Claude Code runs rbk’s hook from ~/.claude/settings.json and the session is captured', async () => {
    expect(run.exitCode, `claude failed:\n${run.stderr}\n${run.stdout}`).toBe(0);
    const id = run.sessionId!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const events = await waitFor(
      'SessionEnd stored',
      () => {
        const rows = queryAll<{ event_name: string }>(t, 'SELECT event_name FROM hook_events WHERE session_id = ? ORDER BY seq', id);
        return rows.some((r) => r.event_name === 'SessionEnd') ? rows.map((r) => r.event_name) : null;
      },
      20_000,
    );
    for (const e of ['SessionStart', 'UserPromptSubmit', 'PreToolUse', 'PostToolUse', 'PostToolUseFailure', 'Stop', 'SessionEnd']) expect(events).toContain(e);
    // Both tool calls' hooks arrived (2 PreToolUse; one PostToolUse and one failure).
    expect(events.filter((e) => e === 'PreToolUse')).toHaveLength(2);
    const session = await waitFor(
      'transcript ingested',
      () => queryOne<{ status: string; t_tool_calls: number; output_tokens: number }>(t, 'SELECT * FROM sessions WHERE id = ? AND output_tokens > 0', id),
      20_000,
    );
    expect(session.status).toBe('ended');
    expect(session.t_tool_calls).toBe(2);
  });

  it('the session-end webhook arrives with a valid signature and the session summary', async () => {
    const req = await waitFor('webhook', () => receiver.requests.find((r) => r.body.includes(run.sessionId!)), 20_000);
    expect(verifySignature(SECRET, req.headers, req.body)).toBe(true);
    const body = JSON.parse(req.body) as {
      event: string;
      session: { id: string; counts: { toolCalls: number; toolFailures: number }; tokens: { total: number }; command: string };
    };
    expect(body.event).toBe('session.end');
    expect(body.session.counts).toMatchObject({ toolCalls: 2, toolFailures: 1 });
    expect(body.session.tokens.total).toBeGreaterThan(0);
    expect(body.session.command).toBe(`rbk sessions show ${run.sessionId}`);
  });

  it('a scrape after the session passes promtool check metrics and has non-zero counters', async () => {
    if (spawnSync('sh', ['-c', 'command -v promtool']).status !== 0) throw new Error('promtool is missing: apt-get install -y prometheus (this test needs it)');
    // Wait for the webhook delivery to be counted too.
    await waitFor('webhook delivered', () => receiver.requests.some((r) => r.body.includes(run.sessionId!) && r.status === 200), 20_000);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    scrape = text;
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
    expect(check.status).toBe(0);

    for (const event of ['SessionStart', 'UserPromptSubmit', 'PreToolUse', 'Stop', 'SessionEnd']) {
      expect(sample(text, 'rbk_hook_events_total', { event, via: 'direct' }), event).toBeGreaterThanOrEqual(1);
    }
    expect(sample(text, 'rbk_hook_durable_latency_seconds_count', { via: 'direct' })).toBeGreaterThanOrEqual(7);
    expect(sample(text, 'rbk_sessions_total')).toBe(1);
    expect(sample(text, 'rbk_tool_calls_total', { tool: 'Bash' })).toBe(2);
    expect(sample(text, 'rbk_tool_failures_total', { tool: 'Bash' })).toBe(1);
    expect(sample(text, 'rbk_interactions_total', { kind: 'user_prompt' })).toBeGreaterThanOrEqual(1);
    const model = /rbk_tokens_total\{model="([^"]+)",type="output"\}/.exec(text)?.[1];
    expect(model).toBeDefined();
    expect(sample(text, 'rbk_tokens_total', { model: model!, type: 'output' })).toBeGreaterThan(0);
    expect(sample(text, 'rbk_tokens_total', { model: model!, type: 'cache_read' })).toBeGreaterThan(0);
    expect(sample(text, 'rbk_cost_usd_total', { model: model! })).toBeGreaterThan(0);
    expect(sample(text, 'rbk_transcript_ingest_lag_seconds_count', { source: 'hook' })).toBeGreaterThan(0);
    expect(sample(text, 'rbk_transcript_lines_ingested_total')).toBeGreaterThan(0);
    expect(sample(text, 'rbk_webhook_deliveries_total', { webhook: new URL(receiver.url).host, outcome: 'delivered' })).toBe(1);
    expect(sample(text, 'rbk_spool_backlog_events')).toBe(0);
    expect(sample(text, 'rbk_db_size_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'rbk_process_resident_memory_bytes')).toBeGreaterThan(0);
    // The central copy (local backend by default) reports its backlog.
    expect(sample(text, 'rbk_sync_backlog_sessions')).toBeGreaterThanOrEqual(0);
    // Things that do not exist yet are not exported as fake zeros.
    expect(text).not.toMatch(/rbk_(s3|redaction|job)/);
  });

  it('the Grafana dashboard’s queries are valid PromQL over metrics the daemon exports', () => {
    expect(scrape).not.toBe('');
    const dash = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'dashboards', 'rbk.json'), 'utf8')) as {
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((x) => ({ title: p.title, expr: x.expr })));
    expect(exprs.length).toBeGreaterThan(20);
    const exported = new Set(
      [...scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap((m) => (m[2] === 'histogram' ? [`${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`] : [m[1]!])),
    );
    for (const { title, expr } of exprs) {
      for (const name of expr.match(/\brbk_[a-z0-9_]+/g) ?? []) expect(exported.has(name), `${title}: ${name} is not exported`).toBe(true);
    }
    // promtool parses each query (as a recording rule) with Grafana's variables filled in.
    const rules = exprs.map(
      ({ expr }, i) =>
        `      - record: rbk_dashboard_query_${i}\n        expr: ${JSON.stringify(expr.replace(/\$__rate_interval|\$__interval/g, '5m').replace(/\$(job|instance)/g, '.*'))}`,
    );
    const file = path.join(t.root, 'dashboard-rules.yml');
    fs.writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`);
    const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it('doctor passes the hook and daemon checks for this HOME, and uninstall removes exactly what install added', async () => {
    const doc = await runCli(t, ['doctor', '--json'], { env: { HOME: home }, cwd: project });
    const report = JSON.parse(doc.stdout) as { checks: { id: string; status: string; summary: string }[] };
    const status = (id: string) => report.checks.find((c) => c.id === id)?.status;
    expect(status('hooks'), doc.stdout).toBe('pass');
    expect(status('daemon')).toBe('pass');
    expect(status('metrics')).toBe('pass');
    expect(status('transcripts')).toBe('pass');

    const settings = path.join(home, '.claude', 'settings.json');
    const before = JSON.parse(fs.readFileSync(settings, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(before)).toContain('hooks');
    const un = await runCli(t, ['uninstall', '--yes'], { env: { HOME: home } });
    expect(un.code, un.stderr).toBe(0);
    // install created the file (the temp HOME had none), so uninstall removes it, unless Claude
    // Code wrote its own keys there meanwhile: then only rbk's part goes.
    if (fs.existsSync(settings)) expect(fs.readFileSync(settings, 'utf8')).not.toContain('rbk-hook.cjs');
  });
});
