// Property-based fuzzing (fast-check) of the pure pieces hostile input reaches first: the
// transcript reader and parser, hook payload handling (HookEventIngest on a real SQLite file) and
// config parsing. The property is always the same: any input gives a result or the documented
// error, never an unexpected exception, and what comes out stays bounded.
// The daemon-level counterpart (the same inputs through a running rbkd) is daemon.fuzz.test.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { stringify as toYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../../daemon/config/load.js';
import { configSchema } from '../../daemon/config/schema.js';
import { HookEventIngest, type IncomingHookEvent } from '../../daemon/ingest/hook-events.js';
import { parseTranscriptLine, TEXT_LIMIT } from '../../daemon/ingest/transcripts/parse.js';
import { LineAssembler, splitCompleteLines, type LineRecord } from '../../daemon/ingest/transcripts/reader.js';
import { createRedactionService } from '../../daemon/redact/service.js';
import { openDatabase, type Db } from '../../daemon/store/db.js';
import { isSafeId } from '../../common/ids.js';

const FAILURE_REASONS = new Set(['empty', 'invalid-json', 'invalid-utf8', 'not-object', 'oversized', 'too-deep']);
const LINE_TYPES = [
  'user',
  'assistant',
  'system',
  'summary',
  'attachment',
  'progress',
  'file-history-snapshot',
  'queue-operation',
  'custom-title',
  'x-unknown',
  '',
];
const redaction = createRedactionService(configSchema.parse({}), fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-fuzz-key-')));
const redactEntry = (e: Record<string, unknown>) => redaction.redactValue(e).value;

/** Transcript-shaped lines whose every field may be anything. */
const lineArb = fc
  .record(
    {
      type: fc.constantFrom(...LINE_TYPES),
      uuid: fc.oneof(fc.uuid(), fc.string(), fc.constant(null), fc.integer()),
      sessionId: fc.oneof(fc.uuid(), fc.string(), fc.constant('../../etc/passwd')),
      timestamp: fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.string(),
        fc.integer(),
      ),
      isSidechain: fc.oneof(fc.boolean(), fc.anything()),
      message: fc.oneof(
        fc.record({
          role: fc.constantFrom('user', 'assistant', 'system'),
          id: fc.oneof(fc.string(), fc.constant(undefined)),
          model: fc.oneof(fc.string(), fc.constant('claude-sonnet-4-5')),
          content: fc.oneof(
            fc.string({ unit: 'binary' }),
            fc.array(
              fc.oneof(
                fc.record({ type: fc.constant('text'), text: fc.anything() }),
                fc.record({ type: fc.constant('tool_use'), id: fc.anything(), name: fc.anything(), input: fc.anything() }),
                fc.record({ type: fc.constant('tool_result'), tool_use_id: fc.anything(), content: fc.anything(), is_error: fc.anything() }),
                fc.record({ type: fc.constant('thinking'), thinking: fc.anything() }),
                fc.anything(),
              ),
              { maxLength: 6 },
            ),
            fc.anything(),
          ),
          usage: fc.oneof(
            fc.constant(undefined),
            fc.dictionary(
              fc.constantFrom('input_tokens', 'output_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens', 'x'),
              fc.oneof(fc.integer(), fc.double(), fc.string()),
            ),
          ),
        }),
        fc.anything(),
      ),
      toolUseResult: fc.anything(),
    },
    { requiredKeys: [] },
  )
  .map((o) => Buffer.from(JSON.stringify(o) ?? 'null'));

function checkParsed(bytes: Buffer, transform?: (e: Record<string, unknown>) => Record<string, unknown>) {
  const p = parseTranscriptLine(bytes, { file: 'fuzz.jsonl', sessionIdHint: null, transformEntry: transform });
  if (!p.ok) {
    expect(FAILURE_REASONS.has(p.reason), p.reason).toBe(true);
    return p;
  }
  for (const i of p.interactions) {
    expect(typeof i.uuid).toBe('string');
    expect(i.uuid.length).toBeGreaterThan(0);
    expect(Number.isInteger(i.blockIndex) && i.blockIndex >= 0).toBe(true);
    expect(i.text.length).toBeLessThanOrEqual(TEXT_LIMIT + 100);
    expect(i.toolInput === null || typeof i.toolInput === 'string').toBe(true);
  }
  return p;
}

describe('fuzz: transcript reader and parser', () => {
  it('arbitrary bytes: a result or a counted failure, never an exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => void checkParsed(Buffer.from(bytes))),
      { numRuns: 3000 },
    );
  });

  it('transcript-shaped lines with arbitrary field values, with and without redaction', () => {
    fc.assert(
      fc.property(lineArb, fc.boolean(), (bytes, redact) => void checkParsed(bytes, redact ? redactEntry : undefined)),
      { numRuns: 2000 },
    );
  });

  it('deep nesting (up to 200,000 levels, anywhere in the line) is parsed or skipped as too-deep', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200_000 }),
        fc.constantFrom('array', 'object') as fc.Arbitrary<'array' | 'object'>,
        fc.constantFrom('toolUseResult', 'content', 'input'),
        fc.boolean(),
        (depth, kind, where, redact) => {
          // JSON.stringify itself overflows past a few thousand levels: build the text by hand.
          const deep = kind === 'array' ? `${'['.repeat(depth)}"leaf"${']'.repeat(depth)}` : `${'{"k":'.repeat(depth)}"leaf"${'}'.repeat(depth)}`;
          const text =
            where === 'toolUseResult'
              ? `{"type":"user","uuid":"u-deep","message":{"role":"user","content":"hi"},"toolUseResult":${deep}}`
              : where === 'content'
                ? `{"type":"user","uuid":"u-deep","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":${deep}}]}}`
                : `{"type":"assistant","uuid":"u-deep","message":{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"Bash","input":${deep}}]}}`;
          const bytes = Buffer.from(text);
          const p = checkParsed(bytes, redact ? redactEntry : undefined);
          if (!p.ok) expect(['too-deep']).toContain(p.reason);
        },
      ),
      { numRuns: 40 },
    );
    // And the extreme, built as text: 1,000,000 levels.
    const text = `{"type":"user","uuid":"u-x","message":{"role":"user","content":"hi"},"toolUseResult":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`;
    for (const redact of [false, true]) {
      const p = checkParsed(Buffer.from(text), redact ? redactEntry : undefined);
      expect(p.ok ? 'ok' : p.reason).toMatch(/^(ok|too-deep)$/);
    }
  });

  it('a 40 MB line is parsed with its text bounded', () => {
    const huge = 'x'.repeat(40 * 1024 * 1024);
    const p = checkParsed(Buffer.from(JSON.stringify({ type: 'user', uuid: 'u-huge', message: { role: 'user', content: huge } })));
    expect(p.ok).toBe(true);
  });

  it('any chunking of a byte stream yields the same complete lines as reading it whole', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constant(new Uint8Array([0x0a])), fc.constant(Buffer.from('é\n日本\r\n'))), { maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 4, max: 200 }),
        (parts, cuts, maxLine) => {
          const data = Buffer.concat(parts.map((p) => Buffer.from(p)));
          const whole = splitCompleteLines(data, 0, maxLine);
          const asm = new LineAssembler(0, maxLine);
          const out: LineRecord[] = [];
          let at = 0;
          let c = 0;
          while (at < data.length) {
            const n = cuts[c++ % cuts.length]!;
            asm.feed(data.subarray(at, at + n), out);
            at += n;
          }
          const norm = (ls: LineRecord[]) => ls.map((l) => ({ offset: l.offset, end: l.end, bytes: l.bytes ? Buffer.from(l.bytes).toString('hex') : null }));
          expect(norm(out)).toEqual(norm(whole));
          // Offsets tile the complete part of the stream.
          let expectStart = 0;
          for (const l of out) {
            expect(l.offset).toBe(expectStart);
            expectStart = l.end;
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('fuzz: hook payloads into the store (real SQLite file)', () => {
  let dir: string;
  let db: Db;
  let store: HookEventIngest;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-fuzz-'));
    db = openDatabase(path.join(dir, 'rbk.db'));
    // Logic under fuzz, not durability: no fsync per commit.
    db.pragma('synchronous = OFF');
    store = new HookEventIngest(db, redaction);
  });
  afterAll(() => {
    db?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const hostileId = fc.oneof(
    fc.uuid(),
    fc.string(),
    fc.constantFrom('../../etc', '..', '.', '/abs', 'a/b', 'a\\b', 'a\0b', '%2e%2e%2f', 'C:\\x', ' lead', 'x'.repeat(200), '\u202e', 'é'),
    fc.integer(),
    fc.constant(null),
    fc.anything(),
  );
  const payloadArb = fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .record(
          {
            session_id: hostileId,
            hook_event_name: fc.oneof(fc.constantFrom('PreToolUse', 'PostToolUse', 'SessionEnd', 'SubagentStop', 'UserPromptSubmit'), fc.string()),
            transcript_path: hostileId,
            agent_id: hostileId,
            tool_use_id: hostileId,
            tool_name: fc.anything(),
            tool_input: fc.anything(),
            cwd: fc.anything(),
            prompt: fc.string({ unit: 'binary' }),
          },
          { requiredKeys: [] },
        )
        .map((o) => Buffer.from(JSON.stringify(o))),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.from(b)) },
    { weight: 1, arbitrary: fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))) },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 1000, max: 100_000 })
        .map((d) => Buffer.from(`{"session_id":"deep","hook_event_name":"Stop","x":${'['.repeat(d)}${']'.repeat(d)}}`)),
    },
  );

  it('anything is stored exactly once, with a safe session id or none, and never throws', () => {
    let n = 0;
    fc.assert(
      fc.property(payloadArb, fc.string({ maxLength: 40 }), (payload, eventName) => {
        const ev: IncomingHookEvent = { eventId: `fuzz-${n++}`, eventName, payload, via: 'direct', receivedAt: Date.now() };
        const first = db.transaction(() => store.store(ev))();
        expect(first.stored).toBe(true);
        expect(first.sessionId === null || isSafeId(first.sessionId)).toBe(true);
        for (const t of first.transcripts) expect(path.isAbsolute(t) && !t.split('/').includes('..')).toBe(true);
        const again = db.transaction(() => store.store(ev))();
        expect(again.stored).toBe(false);
      }),
      { numRuns: 1500 },
    );
    const rows = db.prepare('SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM hook_events').get() as { n: number; d: number };
    expect(rows).toEqual({ n, d: n });
    // Sessions exist only for safe ids.
    for (const id of db.prepare('SELECT id FROM sessions').pluck().all() as string[]) expect(isSafeId(id), id).toBe(true);
  });
});

describe('fuzz: config parsing', () => {
  const expectConfigOrConfigError = (text: string) => {
    try {
      const c = parseConfigText(text, 'fuzz.yaml');
      expect(typeof c).toBe('object');
    } catch (err) {
      expect(err, String((err as Error)?.stack)).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message).toMatch(/fuzz\.yaml/);
    }
  };

  it('arbitrary text: a config or a ConfigError naming the file', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), expectConfigOrConfigError), { numRuns: 2000 });
  });

  it('arbitrary YAML documents and objects shaped like the schema', () => {
    const leaf = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }));
    const keys = fc.constantFrom(
      'log',
      'level',
      'hook',
      'timeoutMs',
      'ingest',
      'transcriptRoots',
      'spoolDrainIntervalMs',
      'redaction',
      'mode',
      'customRules',
      'allowlist',
      'jobs',
      'metrics',
      'enabled',
      'listen',
      'integrations',
      'claude',
      'sessionStorage',
      'backend',
      's3',
      'bucket',
      'endpoint',
      'pricing',
      'retention',
      '__proto__',
      'constructor',
      'x',
    );
    const shaped = fc.letrec((tie) => ({ node: fc.oneof({ depthSize: 'small' }, leaf, fc.dictionary(keys, tie('node'), { maxKeys: 5 })) })).node;
    fc.assert(
      fc.property(fc.oneof(shaped, fc.anything()), (value) => expectConfigOrConfigError(toYaml(value))),
      { numRuns: 2000 },
    );
  });

  it('YAML bombs and deep nesting end in a ConfigError, not a hang or a crash', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...Array.from(
        { length: 9 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`,
      ),
    ].join('\n');
    const started = Date.now();
    expectConfigOrConfigError(bomb);
    expectConfigOrConfigError(`log: ${'['.repeat(50_000)}${']'.repeat(50_000)}`);
    expectConfigOrConfigError(`${'a:\n '.repeat(2000)}b`);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
