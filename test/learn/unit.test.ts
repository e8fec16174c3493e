// Unit tests of the learn pipeline's pure parts: signature normalization, shell check keys,
// failure → resolution pairing, unified diffs and all-or-nothing apply, and the validation of
// a model's answer.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseNarrative, SynthesisError, anthropicNarrative } from '../../daemon/learn/anthropic.js';
import { configSchema } from '../../daemon/config/schema.js';
import { appendDiff, applyProposals, newFileDiff, proposeRunbookUpdates } from '../../daemon/learn/runbooks.js';
import { extractSignals, segmentKey, shellSegments } from '../../daemon/learn/signals.js';
import { normalizeErrorText, signatureOf, slugify } from '../../daemon/learn/signature.js';
import type { TimelineEntry } from '../../daemon/query/timeline.js';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-learn-unit-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('error signatures', () => {
  it('are equal for one failure at different paths, ports, hashes, ids and times', () => {
    const a = signatureOf('Bash', "Exit code 1\nError: ENOENT: no such file or directory, open '/home/alice/app/config/db.json' at 2026-01-05T09:00:01Z (pid 4242, req 3f2a9c1b7e)");
    const b = signatureOf('Bash', "Exit code 1\nError: ENOENT: no such file or directory, open 'C:\\Users\\bob\\app\\config\\db.json' at 2026-02-10T14:33:59.120Z (pid 17, req 0a9bc87d21)");
    expect(a.text).toBe(b.text);
    expect(a.id).toBe(b.id);
    expect(a.text).toBe("Bash: Error: ENOENT: no such file or directory, open '<path>' at <ts> (pid <n>, req <hex>)");
    expect(a.words).toEqual(['error', 'enoent', 'such', 'file', 'directory', 'open', 'pid', 'req']);
    expect(signatureOf('Bash', 'Error: connection refused').id).not.toBe(signatureOf('Read', 'Error: connection refused').id);
  });

  it('strip urls, emails, uuids, ips and redaction tokens, keep the stable words', () => {
    expect(normalizeErrorText('GET https://api.example.com/v1/x?id=9 failed for ops@example.com on 10.0.0.12:5432 session 0d9f7a1e-1b2c-4d3e-8f90-123456789abc [REDACTED:aws-access-key-id:7b29c5]')).toBe(
      'GET <url> failed for <email> on <ip> session <id> <redacted>',
    );
    expect(slugify("Bash: Error: Cannot find module '<path>'")).toBe('bash-error-cannot-find-module');
    expect(slugify('../../etc/passwd')).toBe('etc-passwd');
  });
});

describe('shell check keys', () => {
  it('split outside quotes and keep the program and its subcommand', () => {
    expect(shellSegments(`cat a.env && sh scripts/build.sh 2>&1 | tail -5; git commit -m "fix: a && b; c"`)).toEqual(['cat a.env', 'sh scripts/build.sh 2>&1', 'tail -5', 'git commit -m "fix: a && b; c"']);
    expect(segmentKey('sh scripts/build.sh 2>&1')).toBe('sh scripts/build.sh');
    expect(segmentKey('git commit --no-verify -m x')).toBe('git commit');
    expect(segmentKey('NODE_ENV=test npm run build')).toBe('npm run build');
    expect(segmentKey('cat a.env')).toBe('');
  });
});

function tool(ref: string, unixMs: number, text: string, status: 'ok' | 'error', detail = '', toolName = 'Bash'): TimelineEntry {
  return { unixMs, kind: 'tool', text, toolName, toolUseId: `tu_${ref}`, status, durationMs: 10, agentId: '', ref, source: 'transcript', detail };
}

describe('failure → resolution pairs', () => {
  it('find the later pass of the same check and what changed in between', () => {
    const s = extractSignals(
      [
        { unixMs: 1, kind: 'prompt', text: 'tests fail', toolName: '', toolUseId: '', status: '', durationMs: 0, agentId: '', ref: 'p1', source: 'transcript', detail: '' },
        tool('t1', 2, 'npm test', 'error', 'FAIL src/a.test.ts\nError: expected 2 to be 3'),
        tool('t2', 3, 'src/a.ts', 'ok', '', 'Read'),
        tool('t3', 4, 'npm test', 'error', 'FAIL src/a.test.ts\nError: expected 2 to be 3'),
        tool('t4', 5, '/w/src/a.ts', 'ok', '', 'Edit'),
        tool('t5', 6, 'npm test -- --runInBand', 'ok'),
      ],
      { cwd: '/w', resultRefs: new Map([['tu_t1', 'r1']]) },
    );
    expect(s.groups).toHaveLength(1);
    expect(s.groups[0]!.failures.map((f) => f.call.ref)).toEqual(['t1', 't3']);
    const r = s.groups[0]!.resolution!;
    expect(r.passing.ref).toBe('t5');
    expect(r.checkKey).toBe('npm test');
    // Only what came after the last failure of the same check, and the new flag.
    expect(r.steps.map((x) => x.text)).toEqual(['using Edit `/w/src/a.ts`', 're-running it with `--runInBand`']);
    expect(s.failures[0]!.call.resultRef).toBe('r1');
    expect(s.files).toEqual([
      { path: 'src/a.ts', action: 'read', refs: ['t2'] },
      { path: 'src/a.ts', action: 'edited', refs: ['t4'] },
    ]);
  });

  it('do not count user rejections as failures', () => {
    const s = extractSignals([tool('t1', 1, 'git push', 'error', "The user doesn't want to proceed with this tool use.")], { cwd: '' });
    expect(s.failures).toEqual([]);
    expect(s.rejections.map((c) => c.ref)).toEqual(['t1']);
  });
});

describe('runbook proposals', () => {
  const entry = (id: string, words: string[], checkKey: string) => ({ signatureId: id, title: `T ${id}`, words, checkKey, markdown: `## T ${id}\n<!-- rbk:${id} -->\n\nbody\n`, slug: `t-${id}` });

  it('are diffs that git apply accepts, for files with and without a final newline and new files', () => {
    for (const old of ['# Build\n\nrun `make build`\n', '# Build\n\nrun `make build`', '']) {
      const dir = tmp();
      fs.writeFileSync(path.join(dir, 'build.md'), old);
      const patch = appendDiff('build.md', old, '\n## New\nstep\n');
      fs.writeFileSync(path.join(dir, 'p.patch'), patch);
      const r = spawnSync('git', ['apply', 'p.patch'], { cwd: dir, encoding: 'utf8' });
      expect(r.status, `${JSON.stringify(old)}: ${r.stderr}\n${patch}`).toBe(0);
      expect(fs.readFileSync(path.join(dir, 'build.md'), 'utf8')).toBe(`${old}${old !== '' && !old.endsWith('\n') ? '\n' : ''}\n## New\nstep\n`);
    }
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'n.patch'), newFileDiff('new.md', '# New\n\nx\n'));
    expect(spawnSync('git', ['apply', 'n.patch'], { cwd: dir }).status).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'new.md'), 'utf8')).toBe('# New\n\nx\n');
  });

  it('go to the runbook about the same check, skip fixes already there, and apply all or nothing', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'build.md'), '# Build\nUse `make build`; on a build error read the log.\n');
    const runbooks = [{ file: 'build.md', content: fs.readFileSync(path.join(dir, 'build.md'), 'utf8') }];
    const { proposals } = proposeRunbookUpdates([entry('sig_a', ['build', 'error', 'missing'], 'make build'), entry('sig_b', ['disk', 'quota'], 'rsync')], runbooks);
    expect(proposals.map((p) => [p.file, p.kind])).toEqual([
      ['build.md', 'update'],
      ['t-sig_b.md', 'new'],
    ]);
    // Someone edits the runbook meanwhile: nothing is applied.
    fs.appendFileSync(path.join(dir, 'build.md'), 'edited\n');
    const refused = applyProposals(dir, proposals);
    expect(refused.changed).toEqual([]);
    expect(refused.conflicts.map((c) => c.file)).toEqual(['build.md']);
    expect(fs.existsSync(path.join(dir, 't-sig_b.md'))).toBe(false);
    // Fresh proposals apply; the next round finds both markers and proposes nothing.
    const again = proposeRunbookUpdates([entry('sig_a', ['build', 'error', 'missing'], 'make build'), entry('sig_b', ['disk', 'quota'], 'rsync')], [{ file: 'build.md', content: fs.readFileSync(path.join(dir, 'build.md'), 'utf8') }]);
    expect(applyProposals(dir, again.proposals).changed.map((c) => c.file)).toEqual(['build.md', 't-sig_b.md']);
    const after = fs.readdirSync(dir).sort().map((f) => ({ file: f, content: fs.readFileSync(path.join(dir, f), 'utf8') }));
    const third = proposeRunbookUpdates([entry('sig_a', ['build'], 'make build'), entry('sig_b', ['disk'], 'rsync')], after);
    expect(third.proposals).toEqual([]);
    expect(third.alreadyPresent.map((a) => a.file)).toEqual(['build.md', 't-sig_b.md']);
  });
});

describe("the anthropic synthesizer's answer", () => {
  const ok = { text: 'x', refs: ['a'] };
  const full = { summary: [ok], impact: [ok], detection: [ok], rootCause: [ok], resolution: [ok], wentWell: [ok], wentPoorly: [ok], actionItems: [ok] };

  it('must be JSON of the schema, citing only ids from the evidence', () => {
    expect(parseNarrative('```json\n' + JSON.stringify(full) + '\n```', new Set(['a'])).summary).toEqual([ok]);
    expect(() => parseNarrative('not json', new Set(['a']))).toThrow(SynthesisError);
    expect(() => parseNarrative(JSON.stringify({ ...full, extra: 1 }), new Set(['a']))).toThrow(/does not fit the schema/);
    expect(() => parseNarrative(JSON.stringify({ ...full, summary: [] }), new Set(['a']))).toThrow(/summary/);
    expect(() => parseNarrative(JSON.stringify(full), new Set(['b']))).toThrow(/cited ids that are not in the evidence: a/);
  });

  it('needs ANTHROPIC_API_KEY from the environment; the config refuses a key', async () => {
    const config = configSchema.parse({});
    const input = { sessionId: 's', project: '', title: '', signals: extractSignals([], { cwd: '' }), priors: new Map(), proposalFiles: new Map(), query: null };
    await expect(anthropicNarrative(input, config.learning, (s) => s, {})).rejects.toThrow(/ANTHROPIC_API_KEY is not set/);
    const bad = configSchema.safeParse({ learning: { anthropic: { apiKey: 'sk-ant-xyz' } } });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.message).toMatch(/export ANTHROPIC_API_KEY/);
  });
});
