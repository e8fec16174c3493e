// Storage v2 keeps each transcript line once, packed (daemon/store/line-codec.ts). This is the
// round trip: every fixture transcript through a real daemon's `rbk import`, then
// `rbk sessions export --format transcript` of every session gives back each stored line byte for
// byte as redacted at ingest, in file order, and nothing else.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../daemon/config/schema.js';
import { createRedactionService } from '../../daemon/redact/service.js';
import { type DaemonProcess, makeDataDir, REPO_ROOT, runCli, startDaemon, type TempRbk } from '../support/rbk.js';

const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/claude-code');
// Bookkeeping lines rbk counts and does not store (daemon/ingest/transcript-batches.ts), and
// lines that only set a session's facts (a title, the mode, a summary): those become session
// columns, not interactions, and their text is not kept (docs/storage.md).
const NOT_STORED = new Set(['progress', 'file-history-snapshot', 'queue-operation', 'last-prompt']);
const SESSION_FACTS = new Set(['summary', 'custom-title', 'ai-title', 'agent-name', 'mode', 'permission-mode', 'pr-link', 'teleported-from']);
const jsonlFiles = (dir: string): string[] =>
  fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.jsonl'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();

let t: TempRbk;
let d: DaemonProcess;
let corpus: string;
beforeAll(async () => {
  t = makeDataDir({ config: 'redaction:\n  mode: ingest\n' });
  corpus = path.join(t.root, 'corpus');
  fs.cpSync(FIXTURES, corpus, { recursive: true });
  // One transcript of our own with secrets in a prompt, a tool input and a long tool output (which
  // the line holds twice), so that "as redacted at ingest" is not the same as "as read".
  const session = '5ec7e700-0000-4000-8000-00000000e001';
  const secret = `AKIA${'Q7W3E9R5T1Y8U2I4'}`;
  const token = `ghp_${'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'}`;
  const output = Array.from({ length: 3000 }, (_, i) => `line ${i}: export GITHUB_TOKEN=${i === 1500 ? token : 'unset'}`).join('\n');
  const base = { sessionId: session, cwd: '/home/dev/secret-project', version: '2.1.197', gitBranch: 'main', userType: 'external', isSidechain: false };
  const lines = [
    {
      ...base,
      type: 'user',
      uuid: 'u1',
      parentUuid: null,
      timestamp: '2026-12-01T10:00:00.000Z',
      message: { role: 'user', content: `use ${secret} to deploy` },
    },
    {
      ...base,
      type: 'assistant',
      uuid: 'a1',
      parentUuid: 'u1',
      timestamp: '2026-12-01T10:00:01.000Z',
      requestId: 'req_1',
      message: {
        id: 'msg_1',
        role: 'assistant',
        model: 'claude-sonnet-4-5-20250929',
        content: [{ type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: `AWS_ACCESS_KEY_ID=${secret} ./deploy.sh` } }],
        usage: { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      },
    },
    {
      ...base,
      type: 'user',
      uuid: 'u2',
      parentUuid: 'a1',
      timestamp: '2026-12-01T10:00:02.000Z',
      message: { role: 'user', content: [{ tool_use_id: 'toolu_1', type: 'tool_result', content: output }] },
      toolUseResult: { stdout: output, stderr: '', interrupted: false, isImage: false },
    },
  ];
  const dir = path.join(corpus, 'secrets', '-home-dev-secret-project');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${session}.jsonl`), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);

  d = await startDaemon(t);
  const r = await runCli(t, ['import', corpus, '--json']);
  expect(r.code, r.stderr).toBe(0);
}, 60_000);
afterAll(async () => {
  await d?.stop();
  t?.cleanup();
});

describe('sessions export --format transcript', () => {
  it('gives back every stored line of every fixture, byte for byte as redacted at ingest, in file order', async () => {
    // What the daemon's redaction at ingest makes of a line (its key is in the data dir now).
    const redaction = createRedactionService(configSchema.parse({ redaction: { mode: 'ingest' } }), t.dataDir);
    const expected = new Map<string, string[]>();
    let redactedLines = 0;
    for (const file of jsonlFiles(corpus)) {
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (NOT_STORED.has(String(entry.type)) || SESSION_FACTS.has(String(entry.type))) continue;
        const r = redaction.redactValue(entry);
        if (r.count > 0) redactedLines++;
        const stored = r.count > 0 ? JSON.stringify(r.value) : line;
        const list = expected.get(file) ?? [];
        list.push(stored);
        expected.set(file, list);
      }
    }
    expect(redactedLines).toBeGreaterThanOrEqual(3);

    const sessions = JSON.parse((await runCli(t, ['sessions', '--json', '--limit', '1000'])).stdout) as { id: string }[];
    expect(sessions.length).toBeGreaterThanOrEqual(9);
    const exported: string[] = [];
    for (const s of sessions) {
      const out = path.join(t.root, `${s.id}.jsonl`);
      const r = await runCli(t, ['sessions', 'export', s.id, '--format', 'transcript', '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      exported.push(...fs.readFileSync(out, 'utf8').split('\n').slice(0, -1));
    }
    // Nothing lost, nothing added, nothing changed: the same lines, each once (a resumed session
    // writes earlier lines again; rbk keeps the first copy).
    const all = [...new Set([...expected.values()].flat())];
    expect([...exported].sort()).toEqual([...all].sort());
    // Each file's lines in the order the file has them.
    for (const [file, lines] of expected) {
      const positions = [...new Set(lines)].map((l) => exported.indexOf(l));
      expect(positions, file).toEqual([...positions].sort((a, b) => a - b));
    }
    // And no secret went into the store: the export is what is stored.
    expect(exported.join('\n')).not.toMatch(/AKIAQ7W3E9R5T1Y8U2I4|ghp_a1B2c3/);
  }, 120_000);
});
