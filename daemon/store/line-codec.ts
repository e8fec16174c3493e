// How an interaction's transcript line (`raw`) and its tool's structured result
// (`tool_use_result`) are stored: once, and compressed (storage v2, migration 0015).
//
// A tool's output is in a transcript line up to three times: the tool_result's `content`, again in
// `toolUseResult` (`stdout`, `file.content`), and so in the whole line. The row's `text` column keeps
// it once, as plain text, because full-text search, the timeline and learn read it. The other two
// are stored as a *residual*: every place where they contain, literally, a longer string that the
// row holds elsewhere (the JSON-escaped `text`, or the `tool_use_result` inside the line) is
// replaced by a reference, and the rest is compressed. Decoding puts the same bytes back, so
// `rbk sessions export --format transcript` gives each line as it was redacted at ingest.
//
// Why this is exact: a reference replaces only a literal occurrence, and it is written as a NUL
// between two NULs with the reference's index. A JSON text never holds a raw NUL (it must be
// escaped inside strings and is not whitespace outside them), and a value that does is stored
// without references. Decoding needs the row's current `text`: whatever rewrites `text` (the
// redaction job) decodes first and packs again with the new text (see packInteraction).
//
// Why brotli at quality 1 (node:zlib, no new dependency): over the import bench's 207 MB of lines
// it gave 0.26 of the bytes at 140 MB/s, against deflate level 1 at 0.32 and 79 MB/s, and quality
// 4 at 0.22 and 52 MB/s (docs/storage.md has the table). A zstd binding was not needed: Node 20's
// zlib has no zstd, and brotli q1 already costs the import less than the bytes it saves writing.
import zlib from 'node:zlib';

/** What `raw` and `tool_use_result` hold: legacy or short values as text, packed values as a blob. */
export type StoredBody = Buffer | Uint8Array | string | null;

/** Format bytes: brotli of the value as it is; brotli of a residual with references. */
const PACKED_PLAIN = 0x01;
const PACKED_REFS = 0x02;
/** Values shorter than this stay plain text: packing them saves nothing worth a decode. */
const PACK_MIN_CHARS = 256;
/** References shorter than this are not worth a marker. */
const REF_MIN_CHARS = 64;
/** Marks a reference (NUL, token, NUL) and starts each repeated string kept after the body. */
const NUL = '\u0000';
const DEF = '\u0001';

const BROTLI_OPTIONS = (size: number): zlib.BrotliOptions => ({
  params: {
    [zlib.constants.BROTLI_PARAM_QUALITY]: 1,
    [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
    [zlib.constants.BROTLI_PARAM_SIZE_HINT]: size,
  },
});

function compress(format: number, text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const body = zlib.brotliCompressSync(bytes, BROTLI_OPTIONS(bytes.length));
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = format;
  body.copy(out, 1);
  return out;
}

/** What a value may be packed against: strings the row holds elsewhere. */
export interface PackRefs {
  /** Replaced wherever they occur whole, in this order (at most 10). */
  whole: readonly (string | null | undefined)[];
  /**
   * The start of a longer string (a tool output cut to 64K characters in `text`): every string in
   * the value that begins with it and occurs more than once is kept once, and then this prefix is
   * replaced in it too. Takes the index whole.length.
   */
  prefix?: string | null;
}

const marker = (token: string) => `${NUL}${token}${NUL}`;

/** Replaces every literal occurrence of `ref` in `s` by `mark`. */
const replaceAll = (s: string, ref: string, mark: string) => (s.includes(ref) ? s.split(ref).join(mark) : s);

/**
 * `value` with the row's other strings replaced by references and repeated long strings kept
 * once, compressed. Short values come back as they are (plain text).
 */
export function packBody(value: string, refs: PackRefs = { whole: [] }): Buffer | string {
  if (value.length < PACK_MIN_CHARS) return value;
  // A value with a raw NUL or U+0001 is not JSON: kept whole, so nothing in it can pass for a marker.
  if (value.includes(NUL) || value.includes(DEF)) return compress(PACKED_PLAIN, value);
  let body = value;
  const whole = refs.whole.slice(0, 10);
  for (const [k, ref] of whole.entries()) if (ref && ref.length >= REF_MIN_CHARS) body = replaceAll(body, ref, marker(String(k)));
  const defs: string[] = [];
  const prefix = refs.prefix && refs.prefix.length >= REF_MIN_CHARS ? refs.prefix : null;
  if (prefix) {
    for (const full of repeatedStringsStartingWith(body, prefix)) {
      body = replaceAll(body, full, marker(`@${defs.length}`));
      defs.push(full);
    }
    const mark = marker(String(whole.length));
    body = replaceAll(body, prefix, mark);
    for (let d = 0; d < defs.length; d++) defs[d] = replaceAll(defs[d]!, prefix, mark);
  }
  if (body === value) return compress(PACKED_PLAIN, value);
  return compress(PACKED_REFS, defs.length > 0 ? body + DEF + defs.join(DEF) : body);
}

/**
 * The JSON string contents (escaped, as they are in `json`) that begin with `prefix` and run to
 * their closing quote, each that occurs at least twice: Claude Code writes a big tool output
 * twice in one line (the tool_result's content and toolUseResult.stdout).
 */
function repeatedStringsStartingWith(json: string, prefix: string): string[] {
  const seen = new Map<string, number>();
  for (let at = json.indexOf(prefix); at !== -1; at = json.indexOf(prefix, at + prefix.length)) {
    let end = at + prefix.length;
    while (end < json.length) {
      const c = json.charCodeAt(end);
      if (c === 0x5c /* \\ */) end += 2;
      else if (c === 0x22 /* " */) break;
      else end++;
    }
    const full = json.slice(at, Math.min(end, json.length));
    seen.set(full, (seen.get(full) ?? 0) + 1);
  }
  return [...seen].filter(([full, n]) => n > 1 && full.length > prefix.length).map(([full]) => full);
}

/** The value packBody was given, from what it returned (or a plain text value, as it is). */
export function unpackBody(body: StoredBody, refs: PackRefs = { whole: [] }): string | null {
  if (body === null || typeof body === 'string') return body;
  const format = body[0];
  if (format !== PACKED_PLAIN && format !== PACKED_REFS) throw new Error(`unknown stored value format ${format ?? 'empty'}`);
  const text = zlib.brotliDecompressSync(body.subarray(1)).toString('utf8');
  if (format === PACKED_PLAIN) return text;
  const [main, ...defs] = text.split(DEF);
  const expand = (s: string, withDefs: boolean): string => {
    if (!s.includes(NUL)) return s;
    const parts = s.split(NUL);
    let out = '';
    for (let i = 0; i < parts.length; i++) {
      const token = parts[i]!;
      if (i % 2 === 0) out += token;
      else if (withDefs && token.startsWith('@')) out += expand(defs[Number(token.slice(1))] ?? missing(token), false);
      else {
        const k = Number(token);
        const ref = k === refs.whole.length ? refs.prefix : refs.whole[k];
        out += typeof ref === 'string' ? ref : missing(token);
      }
    }
    return out;
  };
  return expand(main!, true);
}

function missing(token: string): never {
  throw new Error(`a stored value refers to "${token}", which its row does not have`);
}

/** What boundText (ingest/transcripts/parse.ts) appends to a cut text: "\n…[truncated: N characters in total]". */
const CUT_START = '\n…[truncated: ';
const CUT_END = ' characters in total]';

/** The row's text as it appears inside a JSON string: whole, or the part kept before a cut. */
function textRefs(text: string | null | undefined): { whole: string | null; prefix: string | null } {
  if (!text || text.length < REF_MIN_CHARS) return { whole: null, prefix: null };
  // Not a regular expression: anchored at the end, V8 would still try it at every line break.
  if (text.endsWith(CUT_END)) {
    const at = text.lastIndexOf(CUT_START);
    if (at >= 0 && /^\d+$/.test(text.slice(at + CUT_START.length, text.length - CUT_END.length)))
      return { whole: null, prefix: JSON.stringify(text.slice(0, at)).slice(1, -1) };
  }
  return { whole: JSON.stringify(text).slice(1, -1), prefix: null };
}

/** The columns of one interaction that the codec reads and writes. */
export interface PlainBodies {
  text: string;
  toolInput: string | null;
  toolUseResult: string | null;
  raw: string | null;
}

const resultRefs = (t: ReturnType<typeof textRefs>): PackRefs => ({ whole: [t.whole] });
/** The line holds the tool_use_result JSON (which holds the text), the tool input and the text. */
const lineRefs = (t: ReturnType<typeof textRefs>, toolUseResult: string | null, toolInput: string | null): PackRefs => ({
  whole: [toolUseResult, toolInput, t.whole],
  prefix: t.prefix,
});

/** `tool_use_result` and `raw` as stored, for a row whose `text` and `tool_input` are these. */
export function packInteraction(row: PlainBodies): { toolUseResult: Buffer | string | null; raw: Buffer | string | null } {
  const t = textRefs(row.text);
  return {
    toolUseResult: row.toolUseResult === null ? null : packBody(row.toolUseResult, resultRefs(t)),
    raw: row.raw === null ? null : packBody(row.raw, lineRefs(t, row.toolUseResult, row.toolInput)),
  };
}

/** Texts shorter than this stay plain: most prompts, replies and small outputs. */
const TEXT_PACK_MIN_CHARS = 1024;

/**
 * An interaction's `text` as stored: plain under 1,024 characters or when brotli saves under a
 * tenth, else packed (no references: the text is what the line and the tool result refer to).
 */
export function packText(text: string): Buffer | string {
  if (text.length < TEXT_PACK_MIN_CHARS) return text;
  const packed = compress(PACKED_PLAIN, text);
  return packed.length < Buffer.byteLength(text) * 0.9 ? packed : text;
}

/**
 * One transcript line's values as stored: each interaction's `tool_use_result`, and the line
 * itself, which goes with the first interaction (block 0).
 */
export function packLine(
  interactions: readonly { text: string; toolInput: string | null; toolUseResult: string | null }[],
  raw: string | null,
): { texts: (Buffer | string)[]; toolUseResults: (Buffer | string | null)[]; raw: Buffer | string | null } {
  const toolUseResults: (Buffer | string | null)[] = [];
  const texts = interactions.map((i) => packText(i.text));
  let packedRaw: Buffer | string | null = raw;
  for (const [k, i] of interactions.entries()) {
    if (i.toolUseResult === null && (k > 0 || raw === null)) {
      toolUseResults.push(null);
      continue;
    }
    const t = textRefs(i.text);
    toolUseResults.push(i.toolUseResult === null ? null : packBody(i.toolUseResult, resultRefs(t)));
    if (k === 0 && raw !== null) packedRaw = packBody(raw, lineRefs(t, i.toolUseResult, i.toolInput));
  }
  return { texts, toolUseResults, raw: packedRaw };
}

/** A row's stored `tool_use_result` as text. */
export function unpackToolUseResult(text: string, toolUseResult: StoredBody): string | null {
  return unpackBody(toolUseResult, resultRefs(textRefs(text)));
}

/** The stored `tool_use_result` and `raw` of a row, as text. */
export function unpackInteraction(row: { text: string; tool_input: string | null; tool_use_result: StoredBody; raw: StoredBody }): {
  toolUseResult: string | null;
  raw: string | null;
} {
  const t = textRefs(row.text);
  const toolUseResult = unpackBody(row.tool_use_result, resultRefs(t));
  return { toolUseResult, raw: unpackBody(row.raw, lineRefs(t, toolUseResult, row.tool_input)) };
}
