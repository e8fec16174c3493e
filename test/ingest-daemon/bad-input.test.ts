// Damaged and awkward transcripts through the real daemon: a corrupt line mid-file, a last line
// that is still being written, a 50 MB line (and one past the 64 MiB line cap), invalid UTF-8,
// and a file truncated or replaced while it is tailed. Each must be counted or handled, never
// duplicate or lose the good lines around it, and leave the daemon up.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  assertBuilt,
  hookPayload,
  makeDataDir,
  queryAll,
  queryOne,
  runHook,
  sleep,
  startDaemon,
  status,
  storedLine,
  waitFor,
  type DaemonProcess,
  type TempRbk,
} from '../support/rbk.js';
import { unpackToolUseResult } from '../../daemon/store/line-codec.js';
import { importJson, lines, memoryMB, uuidFor } from './support.js';

let t: TempRbk;
let d: DaemonProcess;
let project: string;
let series = 0x100;

beforeAll(async () => {
  assertBuilt();
  t = makeDataDir();
  d = await startDaemon(t);
  project = path.join(t.root, 'projects');
  fs.mkdirSync(project, { recursive: true });
});
afterEach(async () => {
  // Whatever the input, the daemon is still there and answering.
  expect(d.isRunning(), d.log()).toBe(true);
  expect((await status(t)).running).toBe(true);
});
afterAll(async () => {
  await d?.stop();
  t?.cleanup();
});

/** A fresh session id and its transcript path, in a project folder of its own (followed folders see new files). */
function newSession(): { sid: string; file: string; s: number } {
  const s = ++series;
  const sid = uuidFor(s, 0);
  const dir = path.join(project, `-home-dev-app${s}`);
  fs.mkdirSync(dir, { recursive: true });
  return { sid, file: path.join(dir, `${sid}.jsonl`), s };
}

const uuidsOf = (sid: string): string[] =>
  queryAll<{ uuid: string }>(t, 'SELECT uuid FROM interactions WHERE session_id = ? ORDER BY uuid', sid).map((r) => r.uuid);
const rowCount = (sid: string): number => queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions WHERE session_id = ?', sid)!.n;
const offsetOf = (file: string): number | undefined =>
  queryOne<{ byte_offset: number }>(t, 'SELECT byte_offset FROM transcripts WHERE path = ?', file)?.byte_offset;

/** Has the daemon follow `file` the way a Claude Code hook would make it. */
async function follow(sid: string, file: string): Promise<void> {
  const r = await runHook(t, hookPayload('SessionStart', sid, { transcript_path: file, source: 'startup' }));
  expect(r.code, r.stderr).toBe(0);
}

describe('bad transcript input through the daemon', () => {
  it('a corrupt line in the middle is counted as invalid-json; the lines after it are ingested', async () => {
    const { sid, file, s } = newSession();
    fs.writeFileSync(
      file,
      lines.user(sid, uuidFor(s, 1), 1, 'first') +
        lines.assistant(sid, uuidFor(s, 2), 2, 'second') +
        '{"type":"user","message":{"role":"user","content":"cut off here\n' +
        lines.user(sid, uuidFor(s, 4), 4, 'fourth') +
        lines.assistant(sid, uuidFor(s, 5), 5, 'fifth'),
    );
    const r = await importJson(t, [file]);
    expect(r).toMatchObject({ files: 1, linesRead: 5, interactionsAdded: 4, skipped: { 'invalid-json': 1 }, errors: [] });
    expect(uuidsOf(sid)).toEqual([1, 2, 4, 5].map((n) => uuidFor(s, n)));
    expect(offsetOf(file)).toBe(fs.statSync(file).size);
    expect(queryOne(t, 'SELECT lines, skipped FROM transcripts WHERE path = ?', file)).toEqual({ lines: 5, skipped: 1 });
  });

  it('a torn last line is not ingested until its newline arrives, then exactly once', async () => {
    const { sid, file, s } = newSession();
    const head = lines.user(sid, uuidFor(s, 1), 1, 'prompt') + lines.assistant(sid, uuidFor(s, 2), 2, 'reply');
    const last = lines.assistant(sid, uuidFor(s, 3), 3, 'a long streamed answer '.repeat(50));
    const cut1 = 40;
    const cut2 = Math.floor(last.length / 2);
    fs.writeFileSync(file, head + last.slice(0, cut1));
    await follow(sid, file);
    await waitFor('the complete lines', () => offsetOf(file) === Buffer.byteLength(head) && rowCount(sid) === 2);

    // More of the line, still no newline: the tail is re-examined and still left alone.
    fs.appendFileSync(file, last.slice(cut1, cut2));
    await sleep(400);
    expect(uuidsOf(sid)).toEqual([uuidFor(s, 1), uuidFor(s, 2)]);
    expect(offsetOf(file)).toBe(Buffer.byteLength(head));

    fs.appendFileSync(file, last.slice(cut2));
    await waitFor('the completed line', () => rowCount(sid) === 3);
    expect(uuidsOf(sid)).toEqual([1, 2, 3].map((n) => uuidFor(s, n)));
    expect(queryOne(t, 'SELECT rbk_text(text) AS text FROM interactions WHERE uuid = ?', uuidFor(s, 3))).toEqual({
      text: 'a long streamed answer '.repeat(50),
    });
    expect(offsetOf(file)).toBe(fs.statSync(file).size);
    // Re-importing the same file finds nothing new.
    const again = await importJson(t, [file]);
    expect(again).toMatchObject({ interactionsAdded: 0, linesRead: 0 });
    expect(rowCount(sid)).toBe(3);
  });

  it('a 50 MB line is ingested bounded (text capped, raw not kept) and a line over 64 MiB is counted oversized', async () => {
    const { sid, file, s } = newSession();
    const chunk = 'export function handler(req, res) { return res.status(200).json({ ok: true }); }\n';
    // The output is in the line twice (message content and toolUseResult), as Claude Code writes it.
    const big = chunk.repeat(Math.ceil((25 * 1024 * 1024) / chunk.length));
    const huge = chunk.repeat(Math.ceil((33 * 1024 * 1024) / chunk.length));
    const bigLine = lines.toolResult(sid, uuidFor(s, 2), 2, 'toolu_big_1', big);
    const hugeLine = lines.toolResult(sid, uuidFor(s, 3), 3, 'toolu_big_2', huge);
    expect(bigLine.length / 1024 / 1024).toBeGreaterThan(50);
    expect(bigLine.length / 1024 / 1024).toBeLessThan(55);
    expect(hugeLine.length / 1024 / 1024).toBeGreaterThan(64);
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, lines.user(sid, uuidFor(s, 1), 1, 'read the generated bundle'));
    fs.writeSync(fd, bigLine);
    fs.writeSync(fd, hugeLine);
    fs.writeSync(fd, lines.assistant(sid, uuidFor(s, 4), 4, 'that bundle is large'));
    fs.closeSync(fd);
    const before = memoryMB(d.pid);

    const r = await importJson(t, [file]);
    expect(r).toMatchObject({ linesRead: 4, interactionsAdded: 3, skipped: { oversized: 1 }, errors: [] });
    expect(uuidsOf(sid)).toEqual([1, 2, 4].map((n) => uuidFor(s, n)));
    const row = queryOne<{ text_length: number; len: number; raw: string | null; text: string; tool_use_result: Buffer | string | null }>(
      t,
      'SELECT text_length, length(rbk_text(text)) AS len, raw, rbk_text(text) AS text, tool_use_result FROM interactions WHERE uuid = ?',
      uuidFor(s, 2),
    )!;
    expect(row.text_length).toBe(big.length);
    expect(row.len).toBeLessThan(70_000);
    expect(unpackToolUseResult(row.text, row.tool_use_result)!.length).toBeLessThanOrEqual(256 * 1024);
    expect(row.raw).toBeNull();
    // The small lines keep their raw text.
    expect(storedLine(t, uuidFor(s, 4))).toBe(lines.assistant(sid, uuidFor(s, 4), 4, 'that bundle is large').trimEnd());
    // Memory: the 50 MB line is held a few times over while it is parsed, never the 65 MB one.
    const after = memoryMB(d.pid);
    expect(after.hwm, `VmHWM ${before.hwm.toFixed(0)} → ${after.hwm.toFixed(0)} MB`).toBeLessThan(400);
    expect(after.hwm - before.hwm).toBeLessThan(300);
    fs.rmSync(file);
  }, 120_000);

  it('invalid UTF-8 is counted; the line is kept with replacement characters', async () => {
    const { sid, file, s } = newSession();
    const good = lines.user(sid, uuidFor(s, 1), 1, 'fine');
    const [pre, post] = lines.user(sid, uuidFor(s, 2), 2, 'bad-bytes-here').split('bad-bytes-here') as [string, string];
    const bad = Buffer.concat([Buffer.from(`${pre}latin1 caf`), Buffer.from([0xe9, 0x20, 0xff, 0xfe]), Buffer.from(` end${post}`)]);
    const garbage = Buffer.from([0x7b, 0xff, 0x00, 0xc3, 0x28, 0x0a]);
    fs.writeFileSync(file, Buffer.concat([Buffer.from(good), bad, garbage, Buffer.from(lines.assistant(sid, uuidFor(s, 4), 4, 'after'))]));
    const r = await importJson(t, [file]);
    expect(r).toMatchObject({ linesRead: 4, interactionsAdded: 3, skipped: { 'invalid-utf8-replaced': 1, 'invalid-json': 1 }, errors: [] });
    expect(uuidsOf(sid)).toEqual([1, 2, 4].map((n) => uuidFor(s, n)));
    expect(queryOne(t, 'SELECT text FROM interactions WHERE uuid = ?', uuidFor(s, 2))).toEqual({ text: 'latin1 caf\uFFFD \uFFFD\uFFFD end' });
  });

  it('a file truncated while tailed is read again; nothing is duplicated', async () => {
    const { sid, file, s } = newSession();
    const L = (n: number) => (n % 2 ? lines.user(sid, uuidFor(s, n), n, `prompt ${n}`) : lines.assistant(sid, uuidFor(s, n), n, `reply ${n}`));
    const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, k) => L(a + k)).join('');
    fs.writeFileSync(file, range(1, 6));
    await follow(sid, file);
    await waitFor('the first six lines', () => rowCount(sid) === 6);
    const inode = fs.statSync(file).ino;

    // Rewritten in place, shorter than what was read: lines 1-3 again, then new lines 7-8.
    fs.writeFileSync(file, range(1, 3) + L(7) + L(8));
    expect(fs.statSync(file).ino).toBe(inode);
    await waitFor('the rewritten file', () => rowCount(sid) === 8);
    await waitFor('the offset at the new end', () => offsetOf(file) === fs.statSync(file).size);
    expect(uuidsOf(sid)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => uuidFor(s, n)));

    // Replaced by a new file (new inode) holding everything so far and more.
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, range(1, 8) + range(9, 11));
    fs.renameSync(tmp, file);
    expect(fs.statSync(file).ino).not.toBe(inode);
    await waitFor('the replaced file', () => rowCount(sid) === 11);
    await waitFor(
      'the new inode recorded',
      () =>
        queryOne<{ inode: number; byte_offset: number }>(t, 'SELECT inode, byte_offset FROM transcripts WHERE path = ?', file)?.byte_offset ===
        fs.statSync(file).size,
    );
    expect(queryOne(t, 'SELECT inode FROM transcripts WHERE path = ?', file)).toEqual({ inode: fs.statSync(file).ino });
    expect(uuidsOf(sid)).toEqual(Array.from({ length: 11 }, (_, k) => uuidFor(s, k + 1)));
    const dup = queryOne<{ n: number }>(
      t,
      'SELECT count(*) AS n FROM (SELECT uuid, block_index FROM interactions WHERE session_id = ? GROUP BY 1, 2 HAVING count(*) > 1)',
      sid,
    )!;
    expect(dup.n).toBe(0);
    // Counts follow the rows, not the reads: 6 prompts (odd lines) and no double counting.
    expect(queryOne(t, 'SELECT t_prompts, interactions, output_tokens FROM sessions WHERE id = ?', sid)).toEqual({
      t_prompts: 6,
      interactions: 11,
      output_tokens: 5 * 40,
    });
  });
});
