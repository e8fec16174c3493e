// Unit tests of the sync building blocks: the local backend (atomic, checksummed, private, no
// path escapes), object keys, backoff, and the export's redaction of rows stored unredacted.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../daemon/config/schema.js';
import { createRedactionService } from '../../daemon/redact/service.js';
import { ChecksumMismatchError, InvalidKeyError, LocalBackend, sha256Hex } from '../../daemon/sync/backends/create.js';
import { normalizePrefix } from '../../daemon/sync/backends/s3.js';
import { backoffDelay } from '../../daemon/sync/engine.js';
import { encodePart, type HookEventRow, type InteractionRow } from '../../daemon/sync/export.js';
import { partKey, UnsafeKeyError } from '../../daemon/sync/layout.js';

const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-sync-unit-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  while (dirs.length) fs.rmSync(dirs.pop()!, { recursive: true, force: true });
});

describe('LocalBackend', () => {
  const key = 'v1/interactions/date=2026-03-02/host=vm/session=abc/part-000001.ndjson.gz';

  it('stores, reads back, lists and deletes, with 0600 files in 0700 directories', async () => {
    const base = path.join(tmp(), 'artifacts');
    const b = new LocalBackend(base);
    const body = Buffer.from('hello');
    expect(await b.put(key, body, { sha256: sha256Hex(body), contentType: 'application/gzip' })).toEqual({ sha256: sha256Hex(body), bytes: 5 });
    expect(Buffer.from((await b.get(key))!)).toEqual(body);
    expect(await b.get('v1/nothing/here')).toBeNull();
    const file = path.join(base, ...key.split('/'));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(fs.statSync(base).mode & 0o777).toBe(0o700);
    const [listed] = await b.list('v1/');
    expect(listed).toEqual({ key, bytes: 5, version: expect.any(String) });
    expect(await b.list('v1/interactions/date=2026-03-02/')).toEqual([listed]);
    // Replacing the object, even by the same bytes, gives it a new version.
    await b.put(key, body, { sha256: sha256Hex(body), contentType: 'application/gzip' });
    const [again] = await b.list('v1/');
    expect(again!.version).not.toBe(listed!.version);
    expect(await b.list('v1/hook_events/')).toEqual([]);
    await b.delete([key, 'v1/not/there']);
    expect(await b.get(key)).toBeNull();
    // No empty partition directories are left behind.
    expect(fs.readdirSync(base)).toEqual([]);
  });

  it('refuses bytes that do not match the sha256 it was given, and leaves the old object', async () => {
    const b = new LocalBackend(path.join(tmp(), 'a'));
    const old = Buffer.from('old');
    await b.put(key, old, { sha256: sha256Hex(old), contentType: 'x' });
    await expect(b.put(key, Buffer.from('new'), { sha256: sha256Hex(old), contentType: 'x' })).rejects.toBeInstanceOf(ChecksumMismatchError);
    expect(Buffer.from((await b.get(key))!)).toEqual(old);
    expect(fs.readdirSync(path.dirname(path.join(b.baseDir, ...key.split('/'))))).toEqual(['part-000001.ndjson.gz']);
  });

  it('refuses keys that could leave the base dir', async () => {
    const b = new LocalBackend(path.join(tmp(), 'a'));
    const body = Buffer.from('x');
    for (const bad of ['../escape', '/abs/path', 'a//b', 'v1/../../x', 'a/./b', 'a/b\0c', '']) {
      await expect(b.put(bad, body, { sha256: sha256Hex(body), contentType: 'x' }), JSON.stringify(bad)).rejects.toBeInstanceOf(InvalidKeyError);
    }
  });

  it('list skips the temp file of an interrupted put', async () => {
    const b = new LocalBackend(path.join(tmp(), 'a'));
    const body = Buffer.from('x');
    await b.put(key, body, { sha256: sha256Hex(body), contentType: 'x' });
    fs.writeFileSync(`${path.join(b.baseDir, ...key.split('/'))}.tmp-123-abcd`, 'partial');
    expect((await b.list('')).map((o) => o.key)).toEqual([key]);
  });
});

describe('keys and backoff', () => {
  it('layout keys refuse hostile session ids', () => {
    for (const id of ['../x', 'a/b', '', 'a'.repeat(200), '.hidden']) {
      expect(() => partKey('interactions', { sessionId: id, host: 'vm', date: '2026-03-02' }, 1)).toThrow(UnsafeKeyError);
    }
  });

  it('s3 prefixes are normalized and checked', () => {
    expect(normalizePrefix('/team/rbk/')).toBe('team/rbk');
    expect(normalizePrefix('')).toBe('');
    expect(() => normalizePrefix('team/../x')).toThrow(InvalidKeyError);
  });

  it('backoff doubles from the base with jitter in the upper half, capped', () => {
    expect(backoffDelay(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffDelay(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffDelay(2, 1000, 60_000, () => 1)).toBe(2000);
    expect(backoffDelay(6, 1000, 60_000, () => 1)).toBe(32_000);
    expect(backoffDelay(7, 1000, 60_000, () => 1)).toBe(60_000);
    expect(backoffDelay(500, 1000, 60_000, () => 0.5)).toBe(45_000);
    for (let a = 1; a < 40; a++) {
      const d = backoffDelay(a, 1000, 60_000);
      expect(d).toBeGreaterThanOrEqual(Math.min(60_000, 1000 * 2 ** (a - 1)) / 2);
      expect(d).toBeLessThanOrEqual(60_000);
    }
  });
});

describe('export', () => {
  const AWS_SECRET = 'mpNomedxUTqyo2IVHW9vIcjpPKehm3K3HKdFiPsU';
  const GH_TOKEN = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';

  it('rows stored unredacted (cron mode) or under an older rule set are redacted before they are serialized', () => {
    const redaction = createRedactionService(configSchema.parse({ redaction: { mode: 'cron' } }), tmp());
    const interaction: InteractionRow = {
      id: 1,
      uuid: 'u1',
      block_index: 0,
      session_id: 's1',
      agent_id: null,
      kind: 'tool_result',
      subtype: null,
      ts: 1,
      text: `AWS_SECRET_ACCESS_KEY=${AWS_SECRET}`,
      text_length: 60,
      tool_name: null,
      tool_use_id: 't1',
      tool_input: JSON.stringify({ command: `curl -H "Authorization: token ${GH_TOKEN}"` }),
      is_error: 1,
      tool_use_result: JSON.stringify({ stdout: `token=${GH_TOKEN}` }),
      spawned_agent_id: null,
      data: null,
      parent_uuid: null,
      logical_parent_uuid: null,
      is_sidechain: 0,
      is_meta: 0,
      is_compact_summary: 0,
      hidden: 0,
      request_id: null,
      message_id: null,
      model: null,
      cwd: '/p',
      git_branch: null,
      cc_version: null,
      prompt_id: null,
      redaction_version: null,
    };
    const hook: HookEventRow = {
      seq: 1,
      event_id: 'e1',
      session_id: 's1',
      event_name: 'PostToolUse',
      tool_name: 'Bash',
      tool_use_id: 't1',
      prompt_id: null,
      agent_id: null,
      hook_started_at: 1,
      sent_at: 1,
      received_at: 1,
      via: 'direct',
      payload: JSON.stringify({ tool_response: { stdout: `AWS_SECRET_ACCESS_KEY=${AWS_SECRET}` } }),
      payload_bytes: 10,
      problem: null,
      redaction_version: 'an-older-rule-set',
    };
    for (const [dataset, row] of [
      ['interactions', interaction],
      ['hook_events', hook],
    ] as const) {
      const part = encodePart(dataset, [row as never], redaction);
      const text = zlib.gunzipSync(part.body).toString('utf8');
      expect(text).not.toContain(AWS_SECRET);
      expect(text).not.toContain(GH_TOKEN);
      expect(text).toContain('[REDACTED:');
      expect(JSON.parse(text).redaction_version).toBe(redaction.version);
    }
  });

  it('the same rows always give the same bytes (deterministic parts)', () => {
    const redaction = createRedactionService(configSchema.parse({}), tmp());
    const hook: HookEventRow = {
      seq: 7,
      event_id: 'e7',
      session_id: 's1',
      event_name: 'Stop',
      tool_name: null,
      tool_use_id: null,
      prompt_id: null,
      agent_id: null,
      hook_started_at: null,
      sent_at: null,
      received_at: 5,
      via: 'spool',
      payload: '{}',
      payload_bytes: 2,
      problem: null,
      redaction_version: redaction.version,
    };
    const a = encodePart('hook_events', [hook], redaction);
    const b = encodePart('hook_events', [hook], redaction);
    expect(a.body.equals(b.body)).toBe(true);
    expect(sha256Hex(a.body)).toBe(sha256Hex(b.body));
  });
});
