// Shared by the console tests: a real daemon with the console on a free loopback port, logged in
// through a real `rbk ui --json` login URL.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { REPO_ROOT, runCli, type TempRbk } from '../support/rbk.js';

export const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'claude-code');
export const E2E_CAPTURED = path.join(FIXTURES, 'e2e-captured');
export const TRANSCRIPTS = path.join(FIXTURES, 'transcripts');
export const FAILING_BUILD = '49614653-89bf-462c-9741-3e1bae46895c';
export const SPOTTER_LONG = 'ae4a77f8-aedd-4bc1-888f-c94edc91af04';
export const HOSTILE = 'b0057000-0000-4000-8000-00000000beef';

export async function consoleUrl(t: TempRbk): Promise<{ url: string; loginUrl: string }> {
  const r = await runCli(t, ['ui', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { url: string; loginUrl: string };
}

/** Logs in with a fresh one-time URL; returns the cookie header value. */
export async function login(t: TempRbk): Promise<{ url: string; cookie: string }> {
  const { url, loginUrl } = await consoleUrl(t);
  const res = await fetch(loginUrl, { redirect: 'manual' });
  expect(res.status).toBe(303);
  const set = res.headers.get('set-cookie') ?? '';
  return { url, cookie: set.split(';')[0] as string };
}

/**
 * A session whose every text is hostile: script tags, event handlers, javascript: links, a
 * markdown image pointing at `beacon` (a server the test watches) and an iframe.
 */
export function writeHostileSession(dir: string, beacon: string): string {
  const cwd = '/work/hostile';
  const file = path.join(dir, '-work-hostile', `${HOSTILE}.jsonl`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const evil = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> [click me](javascript:window.__pwned=3) ![beacon](${beacon}/md.png) <iframe src="${beacon}/frame"></iframe>`;
  const base = { sessionId: HOSTILE, cwd, version: '2.1.197', gitBranch: 'main', userType: 'external', isSidechain: false };
  const t0 = Date.parse('2026-11-30T10:00:00Z');
  const at = (s: number) => new Date(t0 + s * 1000).toISOString();
  const usage = { input_tokens: 10, output_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  const lines = [
    { ...base, type: 'user', uuid: 'u1', parentUuid: null, timestamp: at(0), message: { role: 'user', content: `please look at this ${evil}` } },
    {
      ...base,
      type: 'assistant',
      uuid: 'a1',
      parentUuid: 'u1',
      timestamp: at(1),
      requestId: 'req_h1',
      message: {
        id: 'msg_h1',
        role: 'assistant',
        model: 'claude-sonnet-4-5-20250929',
        content: [{ type: 'text', text: `# Heading ${evil}\n\n**bold** ${evil}` }],
        usage,
      },
    },
    {
      ...base,
      type: 'assistant',
      uuid: 'a2',
      parentUuid: 'a1',
      timestamp: at(2),
      requestId: 'req_h2',
      message: {
        id: 'msg_h2',
        role: 'assistant',
        model: 'claude-sonnet-4-5-20250929',
        content: [{ type: 'tool_use', id: 'toolu_hostile1', name: 'Bash', input: { command: `echo '${evil}'`, description: evil } }],
        usage,
      },
    },
    {
      ...base,
      type: 'user',
      uuid: 'u2',
      parentUuid: 'a2',
      timestamp: at(3),
      message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_hostile1', content: `error: ${evil}`, is_error: true }] },
      toolUseResult: `Error: ${evil}`,
    },
    {
      ...base,
      type: 'assistant',
      uuid: 'a3',
      parentUuid: 'u2',
      timestamp: at(4),
      requestId: 'req_h3',
      message: {
        id: 'msg_h3',
        role: 'assistant',
        model: 'claude-sonnet-4-5-20250929',
        content: [
          { type: 'tool_use', id: 'toolu_hostile2', name: 'Edit', input: { file_path: '/work/hostile/a.html', old_string: '<b>old</b>', new_string: evil } },
        ],
        usage,
      },
    },
    {
      ...base,
      type: 'user',
      uuid: 'u3',
      parentUuid: 'a3',
      timestamp: at(5),
      message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_hostile2', content: 'The file was updated' }] },
    },
  ];
  fs.writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  return file;
}
