// A deterministic, realistic Claude Code transcript corpus (2.1.x layout) for import benchmarks
// and the ingestion kill/resume tests. Same seed and options → byte-identical files.
//
// Shape (defaults): main-session file sizes drawn from a distribution with p50 ≈ 105 KB,
// p90 ≈ 650 KB, p99 ≈ 5 MB (log-linear between those anchors, the tail capped at 8 MB), plus
// optionally one very large session. Lines look like Claude Code's: user prompts; assistant
// responses split into one line per content block (thinking, text, tool_use) that share
// message.id + requestId and repeat the usage (placeholder output_tokens on the early blocks);
// tool_use/tool_result pairs whose results are duplicated in toolUseResult and are sometimes
// very large; hook_progress / bash_progress lines; file-history-snapshot and system lines; and
// Task subagents in <session>/subagents/agent-<id>.jsonl with a .meta.json.
import fs from 'node:fs';
import path from 'node:path';

/** Bump when the output changes, so cached corpora are rebuilt. */
const GENERATOR_VERSION = 5;

/** mulberry32: small, fast, good enough for test data. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'the a to of and in is it that for on with as this be are from build test file function error return const let import export ' +
  'module config daemon session transcript token cache request response value type string number null undefined promise async await ' +
  'update create delete read write check parse format render query index table column migration schema handler server client socket ' +
  'retry timeout deadline offset batch commit rollback insert select where order limit group count sum max min json yaml path dir'
).split(' ');
const HEX = '0123456789abcdef';
const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

class Gen {
  constructor(seed) {
    this.r = prng(seed);
    this.t = Date.UTC(2026, 0, 5, 9, 0, 0);
  }
  int(lo, hi) {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  pick(a) {
    return a[Math.floor(this.r() * a.length)];
  }
  chance(p) {
    return this.r() < p;
  }
  uuid() {
    let s = '';
    for (let i = 0; i < 32; i++) s += HEX[Math.floor(this.r() * 16)];
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-4${s.slice(13, 16)}-a${s.slice(17, 20)}-${s.slice(20, 32)}`;
  }
  id(prefix, n = 24) {
    let s = prefix;
    for (let i = 0; i < n; i++) s += B62[Math.floor(this.r() * 62)];
    return s;
  }
  hex(n) {
    let s = '';
    for (let i = 0; i < n; i++) s += HEX[Math.floor(this.r() * 16)];
    return s;
  }
  words(n) {
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = WORDS[Math.floor(this.r() * WORDS.length)];
    return out.join(' ');
  }
  /** Roughly `bytes` of prose. */
  prose(bytes) {
    return this.words(Math.max(1, Math.round(bytes / 6)));
  }
  /** Roughly `bytes` of source-like or log-like output, many short lines. */
  output(bytes) {
    const lines = [];
    let n = 0;
    let ln = 1;
    while (n < bytes) {
      const l = `${String(ln++).padStart(5)}\t${'  '.repeat(this.int(0, 3))}${this.words(this.int(2, 12))}${this.chance(0.3) ? ' {' : ';'}`;
      lines.push(l);
      n += l.length + 1;
    }
    return lines.join('\n');
  }
  ts() {
    this.t += this.int(50, 4000);
    return new Date(this.t).toISOString();
  }
}

/** Main-session file size quantiles: log-linear between anchors. */
const SIZE_ANCHORS = [
  [0, 6 * 1024],
  [0.5, 105 * 1024],
  [0.9, 650 * 1024],
  [0.99, 5 * 1024 * 1024],
  [1, 8 * 1024 * 1024],
];

export function sampleSize(u) {
  for (let i = 1; i < SIZE_ANCHORS.length; i++) {
    const [q1, s1] = SIZE_ANCHORS[i];
    const [q0, s0] = SIZE_ANCHORS[i - 1];
    if (u <= q1) return Math.round(Math.exp(Math.log(s0) + ((u - q0) / (q1 - q0)) * (Math.log(s1) - Math.log(s0))));
  }
  return SIZE_ANCHORS[SIZE_ANCHORS.length - 1][1];
}

const MODELS = ['claude-opus-4-6', 'claude-sonnet-4-5-20250929', 'claude-haiku-4-5-20251001'];
const TOOLS = ['Bash', 'Read', 'Edit', 'Grep', 'Glob', 'Write'];

/** Writes one conversation (main session or subagent) of about `target` bytes. */
class Writer {
  constructor(g, file, base) {
    this.g = g;
    this.file = file;
    this.base = base; // sessionId, cwd, version, gitBranch, isSidechain, agentId
    this.fd = fs.openSync(file, 'w');
    this.bytes = 0;
    this.parent = null;
    this.chunks = [];
    this.pending = 0;
  }
  line(o) {
    const s = `${JSON.stringify(o)}\n`;
    this.chunks.push(s);
    this.pending += s.length;
    this.bytes += Buffer.byteLength(s);
    if (this.pending > 1 << 20) this.flush();
  }
  flush() {
    if (this.chunks.length > 0) fs.writeSync(this.fd, this.chunks.join(''));
    this.chunks = [];
    this.pending = 0;
  }
  close() {
    this.flush();
    fs.closeSync(this.fd);
  }
  common(type) {
    const b = this.base;
    const o = {
      parentUuid: this.parent,
      isSidechain: b.isSidechain,
      userType: 'external',
      cwd: b.cwd,
      sessionId: b.sessionId,
      version: b.version,
      gitBranch: b.gitBranch,
    };
    if (b.agentId) o.agentId = b.agentId;
    o.type = type;
    return o;
  }
  user(content, extra = {}) {
    const uuid = this.g.uuid();
    this.line({ ...this.common('user'), message: { role: 'user', content }, uuid, timestamp: this.g.ts(), ...extra });
    this.parent = uuid;
    return uuid;
  }
  progress(data, toolUseID, parentToolUseID) {
    this.line({ ...this.common('progress'), data, toolUseID, parentToolUseID, uuid: this.g.uuid(), timestamp: this.g.ts() });
  }
  /** One API response written as one line per block, usage repeated (placeholder on early blocks). */
  response(blocks, model) {
    const g = this.g;
    const id = g.id('msg_01');
    const requestId = g.id('req_011C');
    const usage = {
      input_tokens: g.int(1, 40),
      cache_creation_input_tokens: g.int(0, 9000),
      cache_read_input_tokens: g.int(5000, 150000),
      output_tokens: g.int(40, 2500),
    };
    blocks.forEach((block, i) => {
      const last = i === blocks.length - 1;
      const u = {
        ...usage,
        cache_creation: { ephemeral_5m_input_tokens: usage.cache_creation_input_tokens, ephemeral_1h_input_tokens: 0 },
        output_tokens: last ? usage.output_tokens : g.int(1, 20),
        service_tier: 'standard',
      };
      const uuid = g.uuid();
      this.line({
        ...this.common('assistant'),
        message: {
          model,
          id,
          type: 'message',
          role: 'assistant',
          content: [block],
          stop_reason: last && block.type === 'tool_use' ? 'tool_use' : null,
          stop_sequence: null,
          usage: u,
        },
        requestId,
        uuid,
        timestamp: g.ts(),
      });
      this.parent = uuid;
    });
  }
}

function toolCall(g, name) {
  switch (name) {
    case 'Bash':
      return {
        command: `${g.pick(['npm test', 'git status', 'ls -la', 'npx tsc --noEmit', 'grep -rn TODO src'])} ${g.words(g.int(0, 4))}`,
        description: g.prose(40),
      };
    case 'Read':
      return { file_path: `/home/dev/project/src/${g.words(1)}/${g.words(1)}.ts` };
    case 'Edit':
      return { file_path: `/home/dev/project/src/${g.words(1)}.ts`, old_string: g.output(g.int(100, 1500)), new_string: g.output(g.int(100, 1500)) };
    case 'Write':
      return { file_path: `/home/dev/project/src/${g.words(1)}.ts`, content: g.output(g.int(500, 8000)) };
    default:
      return { pattern: g.words(2), path: '/home/dev/project/src' };
  }
}

/** Size of one tool output: mostly small, sometimes a whole file or a long log. */
function outputSize(g) {
  const u = g.r();
  if (u < 0.6) return g.int(50, 2000);
  if (u < 0.9) return g.int(2000, 20000);
  if (u < 0.985) return g.int(20000, 120000);
  return g.int(120000, 600000);
}

/** Writes turns until the writer reaches `target` bytes. */
function conversation(g, w, target, opts) {
  const model = opts.model;
  let turn = 0;
  while (w.bytes < target) {
    turn++;
    if (!w.base.isSidechain) {
      w.line({
        type: 'file-history-snapshot',
        messageId: g.uuid(),
        snapshot: { messageId: g.uuid(), trackedFileBackups: {}, timestamp: g.ts() },
        isSnapshotUpdate: false,
      });
      w.progress(
        { type: 'hook_progress', hookEvent: 'UserPromptSubmit', hookName: 'UserPromptSubmit', command: 'node ~/.claude/hooks/prompt.js' },
        g.uuid(),
        g.uuid(),
      );
    }
    w.user(turn === 1 && opts.firstPrompt ? opts.firstPrompt : g.prose(g.int(60, 1500)), w.base.isSidechain ? {} : { permissionMode: 'default' });
    const calls = g.int(1, 6);
    for (let c = 0; c < calls && (c === 0 || w.bytes < target); c++) {
      const blocks = [];
      if (g.chance(0.5)) blocks.push({ type: 'thinking', thinking: g.prose(g.int(100, 3000)), signature: g.hex(64) });
      if (g.chance(0.8)) blocks.push({ type: 'text', text: g.prose(g.int(40, 1200)) });
      const last = c === calls - 1;
      const tools = [];
      if (!last) {
        const n = g.chance(0.2) ? 2 : 1;
        for (let k = 0; k < n; k++) {
          const useTask = !w.base.isSidechain && opts.onTask && g.chance(opts.taskChance);
          const name = useTask ? 'Task' : g.pick(TOOLS);
          const id = g.id('toolu_01');
          const input = useTask ? { description: g.prose(30), prompt: g.prose(g.int(200, 800)), subagent_type: 'general-purpose' } : toolCall(g, name);
          blocks.push({ type: 'tool_use', id, name, input });
          tools.push({ id, name, input });
        }
      }
      if (blocks.length === 0) blocks.push({ type: 'text', text: g.prose(200) });
      w.response(blocks, model);
      for (const tool of tools) {
        if (tool.name === 'Task') {
          const agentId = opts.onTask(tool);
          w.progress({ type: 'agent_progress', agentId, prompt: tool.input.prompt.slice(0, 200) }, g.uuid(), tool.id);
          const text = g.prose(g.int(300, 3000));
          w.user([{ tool_use_id: tool.id, type: 'tool_result', content: [{ type: 'text', text }] }], {
            toolUseResult: {
              status: 'completed',
              prompt: tool.input.prompt,
              agentId,
              content: [{ type: 'text', text }],
              totalDurationMs: g.int(5000, 90000),
              totalTokens: g.int(5000, 60000),
              totalToolUseCount: g.int(1, 20),
            },
          });
          continue;
        }
        if (tool.name === 'Bash') {
          for (let p = g.int(0, 4); p > 0; p--)
            w.progress(
              { type: 'bash_progress', output: g.words(8), fullOutput: g.words(16), elapsedTimeSeconds: p, totalLines: p, timeoutMs: 120000 },
              `bash-progress-${p}`,
              tool.id,
            );
        }
        const isError = g.chance(0.08);
        // Keep files near their drawn size: a tool output never overshoots the budget by much.
        const out = g.output(Math.min(outputSize(g), Math.max(200, Math.floor((target - w.bytes) / 2))));
        w.user([{ tool_use_id: tool.id, type: 'tool_result', content: out, ...(isError ? { is_error: true } : {}) }], {
          toolUseResult:
            tool.name === 'Bash'
              ? { stdout: out, stderr: '', interrupted: false, isImage: false }
              : { type: 'text', file: { filePath: tool.input.file_path ?? '', content: out, numLines: 100, startLine: 1, totalLines: 100 } },
        });
      }
    }
    if (!w.base.isSidechain)
      w.line({ ...w.common('system'), subtype: 'turn_duration', durationMs: g.int(2000, 300000), timestamp: g.ts(), uuid: g.uuid(), isMeta: false });
  }
}

/**
 * Generates the corpus into `dir` unless a manifest with the same options is already there.
 * Options: seed, totalBytes (all files together, the big one included), bigFileBytes (0 = none),
 * taskChance (per tool call in main sessions). Returns the manifest.
 */
export function generateCorpus(dir, options = {}) {
  const opts = { seed: 20260105, totalBytes: 210 * 1024 * 1024, bigFileBytes: 100 * 1024 * 1024, taskChance: 0.02, ...options };
  const manifestFile = path.join(dir, 'manifest.json');
  const key = JSON.stringify({ v: GENERATOR_VERSION, ...opts });
  try {
    const m = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
    if (m.key === key) return m;
  } catch {
    /* not generated yet */
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const g = new Gen(opts.seed);
  const projects = Array.from({ length: 6 }, (_, i) => `-home-dev-project${i}-${g.words(1)}`);
  const files = [];
  let total = 0;
  // Sizes come from a golden-ratio sequence rather than the PRNG: its quantiles are even for any
  // number of files, so a corpus of a few hundred files still has the intended p50/p90/p99.
  let u = g.r();
  const nextU = () => (u = (u + 0.6180339887498949) % 1);
  const session = (target) => {
    const project = g.pick(projects);
    const sessionId = g.uuid();
    const projectDir = path.join(dir, project);
    fs.mkdirSync(projectDir, { recursive: true });
    const cwd = `/home/dev/${project.slice(10)}`;
    const base = {
      sessionId,
      cwd,
      version: g.pick(['2.1.39', '2.1.90', '2.1.197']),
      gitBranch: g.pick(['main', 'fix/build', 'feat/cache']),
      isSidechain: false,
      agentId: null,
    };
    const model = g.pick(MODELS);
    const mainFile = path.join(projectDir, `${sessionId}.jsonl`);
    const w = new Writer(g, mainFile, base);
    const onTask = (tool) => {
      const agentId = g.hex(17);
      const subDir = path.join(projectDir, sessionId, 'subagents');
      fs.mkdirSync(subDir, { recursive: true });
      const subFile = path.join(subDir, `agent-${agentId}.jsonl`);
      const sw = new Writer(g, subFile, { ...base, isSidechain: true, agentId });
      const subTarget = Math.min(sampleSize(nextU()), 2 * 1024 * 1024);
      conversation(g, sw, subTarget, { model, firstPrompt: tool.input.prompt });
      sw.close();
      fs.writeFileSync(
        path.join(subDir, `agent-${agentId}.meta.json`),
        JSON.stringify({ agentType: 'general-purpose', description: tool.input.description, toolUseId: tool.id }),
      );
      files.push({ path: path.relative(dir, subFile), bytes: sw.bytes, kind: 'subagent' });
      total += sw.bytes;
      return agentId;
    };
    conversation(g, w, target, { model, onTask, taskChance: opts.taskChance });
    w.close();
    files.push({ path: path.relative(dir, mainFile), bytes: w.bytes, kind: 'main', target });
    total += w.bytes;
  };
  if (opts.bigFileBytes > 0) session(opts.bigFileBytes);
  while (total < opts.totalBytes) session(Math.min(sampleSize(nextU()), Math.max(opts.totalBytes - total, 2048)));
  const sizes = files.map((f) => f.bytes).sort((a, b) => a - b);
  const q = (p) => sizes[Math.min(sizes.length - 1, Math.floor(p * sizes.length))];
  const manifest = {
    key,
    options: opts,
    files: files.length,
    bytes: total,
    sizes: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: sizes[sizes.length - 1] },
    list: files,
  };
  fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 1));
  return manifest;
}
