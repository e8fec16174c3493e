// A transcript writer racing the daemon's tailer. The writer appends a multilingual session (CJK,
// emoji with ZWJ sequences, combining marks, astral-plane letters) in random chunk sizes, and
// half of the cuts land inside a multi-byte UTF-8 sequence, so the daemon regularly reads a file
// that ends mid-line and mid-character. Half way through, the daemon is kill -9'd and restarted.
// At the end the stored interactions must equal a one-shot parse of the final file: same keys,
// same text (a character torn at a chunk edge would show as U+FFFD here), same kinds.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseTranscriptLine } from '../../daemon/ingest/transcripts/parse.js';
import { splitCompleteLines } from '../../daemon/ingest/transcripts/reader.js';
import {
  assertBuilt,
  hookPayload,
  makeDataDir,
  queryAll,
  queryOne,
  runHook,
  sleep,
  startDaemon,
  waitFor,
  type DaemonProcess,
  type TempRbk,
} from '../support/rbk.js';
import { lines, uuidFor } from '../ingest-daemon/support.js';
import { integrityCheck, seededRandom } from './support/faults.js';

beforeAll(() => assertBuilt());

const SESSION_ID = '5e55a1b2-0000-4000-8000-00000000a0ce';
const WORDS = [
  'naïve',
  'café',
  '日本語のテキスト',
  '😀🎉',
  '👩‍👩‍👧‍👦',
  'Ελληνικά',
  'עברית',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  'e\u0301',
  'ﬁle',
  '中文字符',
  'Ünïcödé',
  'plain',
  'ascii',
  '🏳️‍🌈',
  'ℵ₀',
];

const daemons: DaemonProcess[] = [];
const dirs: TempRbk[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.kill9()));
  for (const t of dirs.splice(0)) t.cleanup();
});

interface StoredInteraction {
  k: string;
  kind: string;
  text: string;
}

/** What a one-shot parse of the final file yields, keyed like the stored rows. */
function oneShot(data: Buffer): StoredInteraction[] {
  const out: StoredInteraction[] = [];
  for (const line of splitCompleteLines(data)) {
    if (!line.bytes) continue;
    const p = parseTranscriptLine(line.bytes, { file: `${SESSION_ID}.jsonl`, sessionIdHint: SESSION_ID });
    if (!p.ok) continue;
    for (const i of p.interactions) out.push({ k: `${i.uuid}#${i.blockIndex}`, kind: i.kind, text: i.text });
  }
  return out.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
}

describe('transcript writer and reader racing', () => {
  it('random chunks cut mid-line and mid-UTF-8, with a kill -9 in the middle: the index equals a one-shot parse', async () => {
    const t = makeDataDir({ config: 'metrics:\n  enabled: false\n' });
    dirs.push(t);
    const rnd = seededRandom('transcript race');
    const text = (n: number) => Array.from({ length: n }, () => WORDS[rnd.int(0, WORDS.length - 1)]).join(' ');

    // ~600 lines: prompts, multilingual answers, tool results, some long.
    let body = '';
    for (let i = 0; i < 200; i++) {
      body += lines.user(SESSION_ID, uuidFor(7, 3 * i), 3 * i, text(rnd.int(1, 30)));
      body += lines.assistant(SESSION_ID, uuidFor(7, 3 * i + 1), 3 * i + 1, text(rnd.int(1, rnd.next() < 0.05 ? 3000 : 60)));
      body += lines.toolResult(SESSION_ID, uuidFor(7, 3 * i + 2), 3 * i + 2, `toolu_${i}`, text(rnd.int(1, 40)), i % 17 === 0);
    }
    const data = Buffer.from(body, 'utf8');
    expect(data.length).toBeGreaterThan(body.length); // multi-byte content, really

    const project = path.join(t.root, 'projects', '-tmp-race');
    fs.mkdirSync(project, { recursive: true });
    const file = path.join(project, `${SESSION_ID}.jsonl`);
    fs.writeFileSync(file, '');

    let d = await startDaemon(t);
    daemons.push(d);
    const announce = async () => {
      const r = await runHook(t, hookPayload('UserPromptSubmit', SESSION_ID, { transcript_path: file, prompt: 'go' }));
      expect(r.code, r.stderr).toBe(0);
    };
    await announce();
    await waitFor('the transcript to be registered', () => queryOne(t, 'SELECT 1 AS ok FROM transcripts WHERE path = ?', file));

    let written = 0;
    let midChar = 0;
    let midLine = 0;
    let killed = false;
    while (written < data.length) {
      const r = rnd.next();
      let end = Math.min(data.length, written + (r < 0.4 ? rnd.int(1, 64) : r < 0.9 ? rnd.int(64, 8000) : rnd.int(8000, 60_000)));
      if (rnd.next() < 0.5) {
        // Move the cut forward onto a UTF-8 continuation byte: the chunk ends inside a character.
        let j = end;
        while (j < data.length && j < end + 400 && (data[j]! & 0xc0) !== 0x80) j++;
        if (j < data.length && (data[j]! & 0xc0) === 0x80) end = j;
      }
      fs.appendFileSync(file, data.subarray(written, end));
      written = end;
      if (written < data.length && (data[written]! & 0xc0) === 0x80) midChar++;
      if (written < data.length && data[written - 1] !== 0x0a) midLine++;
      if (!killed && written > data.length / 2) {
        killed = true;
        expect(await d.kill9()).toEqual({ code: null, signal: 'SIGKILL' });
        // The writer keeps going while the daemon is down.
        fs.appendFileSync(file, data.subarray(written, Math.min(data.length, written + 3001)));
        written = Math.min(data.length, written + 3001);
        d = await startDaemon(t);
        daemons.push(d);
        await announce(); // Claude Code's next hook names the transcript again
      }
      await sleep(rnd.int(0, 12));
    }
    expect(killed).toBe(true);
    expect(midChar).toBeGreaterThan(20);
    expect(midLine).toBeGreaterThan(50);

    await waitFor(
      'the file read to its end',
      () => queryOne<{ byte_offset: number }>(t, 'SELECT byte_offset FROM transcripts WHERE path = ?', file)?.byte_offset === data.length,
      30_000,
    );

    const expected = oneShot(fs.readFileSync(file));
    expect(expected.length).toBe(600);
    const stored = queryAll<StoredInteraction>(
      t,
      `SELECT uuid || '#' || block_index AS k, kind, rbk_text(text) AS text FROM interactions WHERE session_id = ? ORDER BY k`,
      SESSION_ID,
    );
    expect(stored.map((s) => s.k)).toEqual(expected.map((e) => e.k));
    expect(stored).toEqual(expected);
    expect(stored.some((s) => s.text.includes('\uFFFD'))).toBe(false);
    const session = queryOne<{ interactions: number; t_prompts: number; t_tool_failures: number }>(
      t,
      'SELECT interactions, t_prompts, t_tool_failures FROM sessions WHERE id = ?',
      SESSION_ID,
    );
    expect(session).toEqual({ interactions: 600, t_prompts: 200, t_tool_failures: 12 });
    const skipped = queryOne<{ skipped: number; lines: number }>(t, 'SELECT skipped, lines FROM transcripts WHERE path = ?', file);
    expect(skipped?.skipped).toBe(0);

    expect(await d.stop()).toEqual({ code: 0, signal: null });
    expect(integrityCheck(t.db)).toBe('ok');
    console.log(`transcript race: ${data.length} bytes, ${midLine} cuts mid-line, ${midChar} of them mid-character, one kill -9 half way`);
  }, 120_000);
});
