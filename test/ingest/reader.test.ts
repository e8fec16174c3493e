import { appendFileSync, closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LineAssembler, readCompleteLines, readCompleteLinesSync, splitCompleteLines, type LineRecord } from '../../daemon/ingest/transcripts/reader.js';
import { parseLineRecord, parseTranscriptLine, TEXT_LIMIT } from '../../daemon/ingest/transcripts/parse.js';
import { scanTranscript } from '../../daemon/ingest/transcripts/scan.js';
import { collect, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

const text = (r: LineRecord): string | null => (r.bytes === null ? null : r.bytes.toString('utf8'));

/** Reference split written independently of LineAssembler. */
function referenceSplit(data: Buffer, maxLineBytes: number): { offset: number; end: number; text: string | null; oversized?: number }[] {
  const out: { offset: number; end: number; text: string | null; oversized?: number }[] = [];
  let start = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] !== 0x0a) continue;
    const len = i - start;
    if (len > maxLineBytes) {
      out.push({ offset: start, end: i + 1, text: null, oversized: len });
    } else {
      let line = data.subarray(start, i);
      if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
      out.push({ offset: start, end: i + 1, text: line.toString('latin1') });
    }
    start = i + 1;
  }
  return out;
}

const asComparable = (recs: LineRecord[]) =>
  recs.map((r) => {
    const o: { offset: number; end: number; text: string | null; oversized?: number } = {
      offset: r.offset,
      end: r.end,
      text: r.bytes === null ? null : r.bytes.toString('latin1'),
    };
    if (r.oversized !== undefined) o.oversized = r.oversized;
    return o;
  });

describe('readCompleteLines', () => {
  it('does not consume a partial last line, then reads it once completed', async () => {
    const file = path.join(dir, 't.jsonl');
    writeFileSync(file, '{"a":1}\n{"b":2}\n{"c":');
    const first = await collect(readCompleteLines(file, 0));
    expect(first.map(text)).toEqual(['{"a":1}', '{"b":2}']);
    const offset = first.at(-1)!.end;
    expect(offset).toBe(16);

    // Nothing new while the line is still open.
    expect(await collect(readCompleteLines(file, offset))).toEqual([]);

    appendFileSync(file, '3}\n{"d":4}\n');
    const second = await collect(readCompleteLines(file, offset));
    expect(second.map(text)).toEqual(['{"c":3}', '{"d":4}']);
    expect(second[0]!.offset).toBe(16);
    expect(second.at(-1)!.end).toBe(Buffer.byteLength('{"a":1}\n{"b":2}\n{"c":3}\n{"d":4}\n'));
  });

  it('strips \\r of CRLF endings and counts it in offsets', async () => {
    const file = path.join(dir, 'crlf.jsonl');
    writeFileSync(file, '{"a":1}\r\n{"b":"é"}\r\n\r\n');
    const recs = await collect(readCompleteLines(file, 0, { chunkBytes: 3 }));
    expect(recs.map(text)).toEqual(['{"a":1}', '{"b":"é"}', '']);
    expect(recs.map((r) => [r.offset, r.end])).toEqual([
      [0, 9],
      [9, 21],
      [21, 23],
    ]);
    const parsed = parseTranscriptLine(recs[1]!.bytes!, { file });
    expect(parsed.ok).toBe(true);
    expect(parseTranscriptLine(recs[2]!.bytes!, { file })).toMatchObject({ ok: false, reason: 'empty' });
  });

  it('honours untilOffset and resumes exactly where it stopped', async () => {
    const file = path.join(dir, 'u.jsonl');
    writeFileSync(file, 'aa\nbbb\ncccc\n');
    const a = await collect(readCompleteLines(file, 0, { untilOffset: 8 }));
    expect(a.map(text)).toEqual(['aa', 'bbb']);
    const b = await collect(readCompleteLines(file, a.at(-1)!.end));
    expect(b.map(text)).toEqual(['cccc']);
  });

  it('sync reader yields the same records as the async one', async () => {
    const file = path.join(dir, 's.jsonl');
    writeFileSync(file, 'x\r\nyy\n\nzzz\npartial');
    const asyncRecs = asComparable(await collect(readCompleteLines(file, 0, { chunkBytes: 2 })));
    const syncRecs = asComparable([...readCompleteLinesSync(file, 0, { chunkBytes: 5 })]);
    expect(syncRecs).toEqual(asyncRecs);
  });

  it('any chunking gives the same lines as a one-shot split (in memory)', () => {
    const lineArb = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.constantFrom('', '\r', 'a\r', '{"k":"\\n"}', '\r\r'),
    );
    fc.assert(
      fc.property(
        fc.array(lineArb, { maxLength: 30 }),
        fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
        fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 60 }),
        fc.nat({ max: 1000 }),
        (lines, tail, sizes, maxLineBytes, base) => {
          const data = Buffer.from(lines.map((l) => `${l}\n`).join('') + (tail ?? ''), 'utf8');
          const expected = referenceSplit(data, maxLineBytes).map((r) => ({ ...r, offset: r.offset + base, end: r.end + base }));
          const oneShot = asComparable(splitCompleteLines(data, base, maxLineBytes));
          expect(oneShot).toEqual(expected);

          const asm = new LineAssembler(base, maxLineBytes);
          const out: LineRecord[] = [];
          let pos = 0;
          let k = 0;
          while (pos < data.length) {
            const n = sizes[k++ % sizes.length]!;
            // Copy into a fresh buffer, as the file readers do.
            asm.feed(Buffer.from(data.subarray(pos, pos + n)), out);
            pos += n;
            expect(asm.heldBytes).toBeLessThanOrEqual(maxLineBytes);
          }
          expect(asComparable(out)).toEqual(expected);
          const lastEnd = expected.length > 0 ? expected[expected.length - 1]!.end : base;
          expect(asm.pendingOffset).toBe(lastEnd);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('any chunk size gives the same lines when reading a file', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: 'grapheme', maxLength: 30 }), { maxLength: 25 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 0, max: 3 }),
        async (lines, chunkBytes, startLine) => {
          const file = path.join(dir, 'prop.jsonl');
          const data = Buffer.from(`${lines.map((l) => `${l}\r\n`).join('')}tail-without-newline`, 'utf8');
          writeFileSync(file, data);
          const all = referenceSplit(data, 1 << 20);
          const from = all[Math.min(startLine, all.length) - 1]?.end ?? 0;
          const expected = all.filter((r) => r.offset >= from);
          const got = asComparable(await collect(readCompleteLines(file, from, { chunkBytes })));
          expect(got).toEqual(expected);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('oversized lines', () => {
  const BIG = 50 * 1024 * 1024;

  function writeBigFile(file: string): number {
    // {"type":"user",…,"content":"xxxx…"} of about 50 MB, between two small lines.
    const head = '{"type":"user","uuid":"big-1","sessionId":"s1","timestamp":"2026-02-12T14:00:00.000Z","message":{"role":"user","content":"';
    const fd = openSync(file, 'w');
    writeSync(fd, '{"type":"summary","summary":"before"}\n');
    writeSync(fd, head);
    const block = Buffer.alloc(1024 * 1024, 'x');
    let body = 0;
    while (body + block.length <= BIG) {
      writeSync(fd, block);
      body += block.length;
    }
    writeSync(fd, '"}}\n{"type":"summary","summary":"after"}\n');
    closeSync(fd);
    return Buffer.byteLength(head) + body + 3;
  }

  it('skips a 50 MB line under a small maxLineBytes without holding it', async () => {
    const file = path.join(dir, 'big.jsonl');
    const bigLen = writeBigFile(file);
    const recs = await collect(readCompleteLines(file, 0, { maxLineBytes: 1 << 20 }));
    expect(recs).toHaveLength(3);
    expect(recs[1]!.bytes).toBeNull();
    expect(recs[1]!.oversized).toBe(bigLen);
    expect(recs[1]!.end - recs[1]!.offset).toBe(bigLen + 1);
    expect(parseLineRecord(recs[1]!, { file })).toMatchObject({ ok: false, reason: 'oversized', bytes: bigLen });
    expect(text(recs[2]!)).toBe('{"type":"summary","summary":"after"}');
  });

  it('never holds more than maxLineBytes while skipping', () => {
    const max = 1 << 20;
    const asm = new LineAssembler(0, max);
    const out: LineRecord[] = [];
    let peak = 0;
    for (let i = 0; i < 50; i++) {
      asm.feed(Buffer.alloc(1 << 20, 0x78), out);
      peak = Math.max(peak, asm.heldBytes);
    }
    asm.feed(Buffer.from('\n'), out);
    expect(peak).toBeLessThanOrEqual(max);
    expect(out).toEqual([{ offset: 0, end: 50 * (1 << 20) + 1, bytes: null, oversized: 50 * (1 << 20) }]);
    expect(asm.heldBytes).toBe(0);
  });

  it('parses the same 50 MB line with the default limit, text bounded', async () => {
    const file = path.join(dir, 'big.jsonl');
    const bigLen = writeBigFile(file);
    let seen = 0;
    for await (const { line, parsed } of scanTranscript(file, 0)) {
      seen++;
      if (line.bytes?.length !== bigLen) continue;
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) return;
      expect(parsed.interactions).toHaveLength(1);
      const it0 = parsed.interactions[0]!;
      expect(it0.kind).toBe('user_prompt');
      expect(it0.textLength).toBe(BIG);
      expect(it0.text.length).toBeLessThan(TEXT_LIMIT + 100);
    }
    expect(seen).toBe(3);
  });
});

describe('damaged lines', () => {
  it('flags invalid UTF-8 but still parses the line', async () => {
    const file = path.join(dir, 'bad-utf8.jsonl');
    const good = Buffer.from('{"type":"user","uuid":"u1","message":{"role":"user","content":"caf');
    const bad = Buffer.from([0xc3, 0x28, 0xff]);
    const rest = Buffer.from('"}}\n{"type":"user","uuid":"u2","message":{"role":"user","content":"real \uFFFD char"}}\n');
    writeFileSync(file, Buffer.concat([good, bad, rest]));
    const scanned = await collect(scanTranscript(file, 0));
    expect(scanned).toHaveLength(2);
    const [first, second] = scanned.map((s) => s.parsed);
    expect(first).toMatchObject({ ok: true, invalidUtf8: true });
    if (first?.ok) {
      expect(first.problems).toContain('invalid-utf8');
      expect(first.interactions[0]!.text).toContain('\uFFFD');
    }
    // A literal U+FFFD in valid UTF-8 is not damage.
    expect(second).toMatchObject({ ok: true, invalidUtf8: false });

    const strict = parseTranscriptLine(scanned[0]!.line.bytes!, { file, rejectInvalidUtf8: true });
    expect(strict).toMatchObject({ ok: false, reason: 'invalid-utf8', invalidUtf8: true });
  });

  it('reports a corrupt JSON line and keeps parsing the lines after it', async () => {
    const file = path.join(dir, 'corrupt.jsonl');
    writeFileSync(
      file,
      [
        '{"type":"user","uuid":"u1","message":{"role":"user","content":"one"}}',
        '{"type":"assistant","uuid":"u2","message":{"id":"m1","content":[{"type":"text","te',
        '[1,2,3]',
        '{"type":"user","uuid":"u3","message":{"role":"user","content":"three"}}',
        '',
      ].join('\n'),
    );
    const parsed = (await collect(scanTranscript(file, 0))).map((s) => s.parsed);
    expect(parsed.map((p) => (p.ok ? p.type : p.reason))).toEqual(['user', 'invalid-json', 'not-object', 'user']);
    const last = parsed[3]!;
    expect(last.ok && last.interactions[0]!.text).toBe('three');
  });
});
