// Storage v2's codec (daemon/store/line-codec.ts): what it packs comes back byte for byte, and the
// copies a transcript line holds of its tool output are stored once.
import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boundedJson, boundText } from '../../daemon/ingest/transcripts/parse.js';
import { packBody, packInteraction, packLine, unpackBody, unpackInteraction } from '../../daemon/store/line-codec.js';

const brotliSize = (s: string) => zlib.brotliCompressSync(Buffer.from(s), { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } }).length;

/** A Claude Code tool_result line, as the parser sees it: text (cut at 64K), toolUseResult bounded. */
function toolResultLine(output: string, extra: Record<string, unknown> = {}) {
  const entry = {
    parentUuid: 'a',
    type: 'user',
    message: { role: 'user', content: [{ tool_use_id: 'toolu_1', type: 'tool_result', content: output }] },
    uuid: 'b',
    timestamp: '2026-01-01T00:00:00.000Z',
    toolUseResult: { stdout: output, stderr: '', interrupted: false, isImage: false },
    ...extra,
  };
  const raw = JSON.stringify(entry);
  return { raw, text: boundText(output), toolInput: null, toolUseResult: boundedJson(entry.toolUseResult, 256 * 1024, raw.length) };
}

function roundTrip(row: { text: string; toolInput: string | null; toolUseResult: string | null; raw: string | null }) {
  const packed = packInteraction(row);
  return { packed, back: unpackInteraction({ text: row.text, tool_input: row.toolInput, tool_use_result: packed.toolUseResult, raw: packed.raw }) };
}

describe('line codec', () => {
  it('gives back any line with its text, tool input and tool result, byte for byte', () => {
    const value = fc.oneof(
      fc.string({ maxLength: 400 }),
      fc.string({ unit: 'grapheme', maxLength: 300 }),
      fc.constantFrom('\u0000', '\u0001', '"\\', '\n…[truncated: 12 characters in total]'),
    );
    fc.assert(
      fc.property(value, value, fc.array(value, { maxLength: 4 }), fc.boolean(), (output, input, more, cut) => {
        const text = cut ? boundText(output.repeat(300), 2000) : output.repeat(3);
        const toolInput = JSON.stringify({ command: input, more });
        const entry = {
          message: { content: [{ type: 'tool_result', content: output.repeat(3) }] },
          input: JSON.parse(toolInput),
          toolUseResult: { stdout: text, more },
        };
        const raw = JSON.stringify(entry);
        const toolUseResult = JSON.stringify(entry.toolUseResult);
        const { back } = roundTrip({ text, toolInput, toolUseResult, raw });
        expect(back).toEqual({ toolUseResult, raw });
      }),
      { numRuns: 400 },
    );
  });

  it('keeps a value with raw control characters whole, where a reference could be mistaken', () => {
    const text = 'x'.repeat(300);
    const raw = `not json \u0000${text}\u0001${text}`;
    const packed = packInteraction({ text, toolInput: null, toolUseResult: null, raw });
    expect(Buffer.isBuffer(packed.raw)).toBe(true);
    expect(unpackInteraction({ text, tool_input: null, tool_use_result: null, raw: packed.raw }).raw).toBe(raw);
  });

  it('stores a tool output once however many times the line repeats it', () => {
    // Words, as in a build log: compressible, but brotli at quality 1 does not see across 300 KB.
    const words = ['error', 'build', 'module', 'src/index.ts', 'warning', 'failed', 'test', 'passed', 'npm', 'tsc'];
    let seed = 7;
    const output = Array.from({ length: 60_000 }, () => words[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % words.length]).join(' ');
    const small = toolResultLine(output.slice(0, 30_000));
    const big = toolResultLine(output);
    for (const line of [small, big]) {
      const { packed, back } = roundTrip(line);
      expect(back).toEqual({ toolUseResult: line.toolUseResult, raw: line.raw });
      const stored =
        (packed.raw as Buffer).length + (typeof packed.toolUseResult === 'string' ? packed.toolUseResult.length : (packed.toolUseResult?.length ?? 0));
      // The line alone, compressed as it is, holds the output twice (three times with the result).
      expect(stored).toBeLessThan(brotliSize(line.raw) / 2);
    }
    // The cut text (64K characters) is in `text`; the line keeps only what follows it, once.
    const { packed } = roundTrip(big);
    expect((packed.raw as Buffer).length).toBeLessThan(brotliSize(output.slice(64 * 1024)) * 1.2);
  });

  it('leaves short values as plain text, and packs the line with the first interaction only', () => {
    expect(packBody('short')).toBe('short');
    expect(unpackBody('short')).toBe('short');
    const line = toolResultLine('y'.repeat(5000));
    const out = packLine(
      [
        { text: line.text, toolInput: null, toolUseResult: line.toolUseResult },
        { text: 'second block', toolInput: null, toolUseResult: null },
      ],
      line.raw,
    );
    expect(out.toolUseResults).toHaveLength(2);
    expect(out.toolUseResults[1]).toBeNull();
    expect(unpackInteraction({ text: line.text, tool_input: null, tool_use_result: out.toolUseResults[0]!, raw: out.raw }).raw).toBe(line.raw);
  });

  it('refuses a packed value that names a reference its row does not have, rather than guess', () => {
    const text = 'z'.repeat(500);
    const packed = packBody(`{"a":"${text}"}`, { whole: [text] });
    expect(() => unpackBody(packed, { whole: [] })).toThrow(/refers to/);
    expect(() => unpackBody(Buffer.from([9, 1, 2]))).toThrow(/unknown stored value format/);
  });
});
