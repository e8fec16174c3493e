// A scripted stand-in for the Anthropic Messages API, started in-process on 127.0.0.1 (port 0),
// so that the real Claude Code CLI can run offline: Claude Code really runs its tools, fires its
// hooks and writes its transcripts; only what the "model" says comes from a scenario file.
//
// Choosing a reply: every request that offers tools takes the first unused scenario response whose
// `when` regex matches the text the client sent since the model last spoke (the new prompt, the
// tool results, or, for a subagent's first request, the prompt the Agent tool was given) and whose
// optional `whenSystem` regex matches the system prompt. A response without `when` matches
// anything. Requests that offer no tools (titles, summaries, prefix checks) or match nothing get a
// short fallback text reply. A response already present in the conversation the client sends back
// (its tool_use ids, or all its texts) counts as used, so a fresh stand-in can serve a --resume run.
//
// Determinism: message ids, request ids, tool_use ids and token usage are derived from the
// scenario (response index and content), never from arrival order or the clock, so a test can
// assert exact token totals. Pass `idSalt` to make ids unique across runs of the same scenario.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence';

export interface TextBlock {
  type: 'text';
  text: string;
}

export interface ToolUseBlock {
  type: 'tool_use';
  name: string;
  input?: Record<string, unknown>;
  /** Defaults to a deterministic `toolu_e2e_<prefix>_<response>_<block>`. */
  id?: string;
}

export type ScenarioBlock = TextBlock | ToolUseBlock;

/** Token counts as the Messages API reports them. */
export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export interface ScenarioResponse {
  /** Regex (flag `s`) tested against the client's newest input. Absent: matches anything. */
  when?: string;
  /** Regex (flag `s`) tested against the request's system prompt, e.g. to target a subagent. */
  whenSystem?: string;
  /** Defaults to end_turn, or tool_use when a block is a tool_use. */
  stop?: StopReason;
  blocks: ScenarioBlock[];
  /** Overrides (part of) the deterministic default usage for this response. */
  usage?: Partial<Usage>;
  /** Free text for humans reading the scenario. */
  note?: string;
}

export interface Scenario {
  /** Used in ids; defaults to "scenario". */
  name?: string;
  description?: string;
  /** false: no `request-id` response header, so Claude Code writes no `requestId`. Default true. */
  requestIds?: boolean;
  /** Files written into the project (relative path → content) before Claude Code starts. */
  files?: Record<string, string>;
  /** The prompt a test should send first (runClaude uses it when no prompt is given). */
  prompt?: string;
  /** The prompt for a second run with --resume (resume scenarios). */
  resumePrompt?: string;
  responses: ScenarioResponse[];
  /** Text of the fallback reply. Default "OK." */
  fallbackText?: string;
  /** Usage of every fallback reply. Default {input 12, output 3, cache 0/0}. */
  fallbackUsage?: Partial<Usage>;
  /** What count_tokens answers. Default 1024. */
  countTokens?: number;
  /**
   * What message_delta's usage carries. "full" (default, as the API does today): input, cache and
   * output counts. "output": only output_tokens, as the API used to.
   */
  deltaUsage?: 'full' | 'output';
  /** Pause between streamed SSE events (ms), to let the client see a slow stream. Default 0. */
  streamDelayMs?: number;
}

export interface LoggedRequest {
  /** 1-based arrival order. */
  seq: number;
  method: string;
  url: string;
  kind: 'messages' | 'count_tokens' | 'other';
  model?: string;
  stream: boolean;
  toolNames: string[];
  /** The system prompt as plain text. */
  system: string;
  /** The text the client sent since the model last spoke. */
  newestInput: string;
  /** Index into scenario.responses, or null for a fallback reply / non-messages request. */
  responseIndex: number | null;
  messageId?: string;
  requestId?: string;
  usage?: Usage;
  /** The parsed JSON body (undefined when it was not JSON). */
  body: unknown;
}

export interface ModelStandIn {
  url: string;
  port: number;
  requests: LoggedRequest[];
  /** Indices of scenario responses not used yet. */
  unusedResponses(): number[];
  close(): Promise<void>;
}

export interface StandInOptions {
  /** Mixed into every id (message, request, tool_use), e.g. to keep reruns distinct. */
  idSalt?: string;
}

interface ContentPart {
  type?: string;
  text?: string;
  content?: unknown;
}

interface Message {
  role?: string;
  content?: string | ContentPart[];
}

interface RequestBody {
  model?: string;
  stream?: boolean;
  system?: string | ContentPart[];
  messages?: Message[];
  tools?: Array<{ name?: string }>;
}

function partText(part: ContentPart): string {
  if (part.type === 'text' && typeof part.text === 'string') return part.text;
  if (part.type === 'tool_result') {
    if (typeof part.content === 'string') return part.content;
    if (Array.isArray(part.content)) return (part.content as ContentPart[]).map(partText).join('\n');
  }
  return '';
}

function messageText(msg: Message | undefined): string {
  if (!msg) return '';
  if (typeof msg.content === 'string') return msg.content;
  return (msg.content ?? []).map(partText).join('\n');
}

/** The text of everything the client sent since the model last spoke. */
export function newestInput(messages: Message[] = []): string {
  let i = messages.length - 1;
  while (i >= 0 && messages[i]?.role !== 'assistant') i -= 1;
  return messages
    .slice(i + 1)
    .map(messageText)
    .join('\n');
}

function systemText(system: RequestBody['system']): string {
  if (typeof system === 'string') return system;
  return (system ?? []).map(partText).join('\n');
}

function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 32) || 'scenario'
  );
}

const pad = (n: number, width = 4): string => String(n).padStart(width, '0');

/**
 * The default usage of scenario response `index`: shaped like a cache-warm Claude Code session
 * (a handful of uncached input tokens, a large cache read, a smaller cache write) and derived from
 * the index and the blocks only.
 */
export function defaultUsage(index: number, blocks: ScenarioBlock[]): Usage {
  const chars = blocks.reduce((n, b) => n + (b.type === 'text' ? b.text.length : b.name.length + JSON.stringify(b.input ?? {}).length), 0);
  return {
    input_tokens: 3 + index,
    output_tokens: 20 + Math.ceil(chars / 4),
    cache_creation_input_tokens: index === 0 ? 4096 : 256 + 32 * index,
    cache_read_input_tokens: 12288 + 512 * index,
  };
}

/** The usage a scenario response will report (default shape plus the scenario's overrides). */
export function usageFor(scenario: Scenario, index: number): Usage {
  const r = scenario.responses[index];
  if (!r) throw new Error(`scenario has no response ${index}`);
  return { ...defaultUsage(index, r.blocks), ...(r.usage ?? {}) };
}

export function fallbackUsageFor(scenario: Scenario): Usage {
  return { input_tokens: 12, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, ...(scenario.fallbackUsage ?? {}) };
}

function apiUsage(u: Usage): Record<string, unknown> {
  return {
    input_tokens: u.input_tokens,
    cache_creation_input_tokens: u.cache_creation_input_tokens,
    cache_read_input_tokens: u.cache_read_input_tokens,
    cache_creation: { ephemeral_5m_input_tokens: u.cache_creation_input_tokens, ephemeral_1h_input_tokens: 0 },
    output_tokens: u.output_tokens,
    service_tier: 'standard',
  };
}

/** Splits a string into chunks, so that deltas arrive in pieces as they do from the real API. */
function chunks(s: string, size = 24): string[] {
  if (s.length === 0) return [''];
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out;
}

interface Reply {
  responseIndex: number | null;
  blocks: Array<TextBlock | Required<ToolUseBlock>>;
  stop: StopReason;
  usage: Usage;
  messageId: string;
  requestId: string;
}

export async function startModelStandIn(scenario: Scenario, options: StandInOptions = {}): Promise<ModelStandIn> {
  const requests: LoggedRequest[] = [];
  const used = new Set<number>();
  const compiled = scenario.responses.map((r) => ({
    when: r.when === undefined ? undefined : new RegExp(r.when, 's'),
    whenSystem: r.whenSystem === undefined ? undefined : new RegExp(r.whenSystem, 's'),
  }));
  const prefix = slug(scenario.name ?? 'scenario') + (options.idSalt ? `_${slug(options.idSalt)}` : '');
  let fallbacks = 0;

  const toolUseId = (i: number, j: number, b: ToolUseBlock): string => b.id ?? `toolu_e2e_${prefix}_${pad(i + 1)}_${j}`;

  // A response whose tool_use ids or texts already appear among the assistant turns the client
  // sends back was given in an earlier run (e.g. before --resume): it counts as used.
  const markAnsweredInHistory = (messages: Message[]): void => {
    const ids = new Set<string>();
    const texts = new Set<string>();
    for (const m of messages) {
      if (m.role !== 'assistant' || !Array.isArray(m.content)) continue;
      for (const part of m.content as Array<ContentPart & { id?: string }>) {
        if (part.type === 'tool_use' && typeof part.id === 'string') ids.add(part.id);
        if (part.type === 'text' && typeof part.text === 'string') texts.add(part.text.trim());
      }
    }
    scenario.responses.forEach((r, i) => {
      if (used.has(i)) return;
      const tools = r.blocks.flatMap((b, j) => (b.type === 'tool_use' ? [toolUseId(i, j, b)] : []));
      const hit = tools.length > 0 ? tools.some((id) => ids.has(id)) : r.blocks.every((b) => b.type === 'text' && texts.has(b.text.trim()));
      if (hit) used.add(i);
    });
  };

  const reply = (body: RequestBody): Reply => {
    const input = newestInput(body.messages);
    const system = systemText(body.system);
    if ((body.tools ?? []).length > 0) {
      markAnsweredInHistory(body.messages ?? []);
      for (const [i, r] of scenario.responses.entries()) {
        if (used.has(i)) continue;
        const c = compiled[i]!;
        if (c.when && !c.when.test(input)) continue;
        if (c.whenSystem && !c.whenSystem.test(system)) continue;
        used.add(i);
        const blocks = r.blocks.map((b, j) =>
          b.type === 'tool_use' ? { type: 'tool_use' as const, name: b.name, input: b.input ?? {}, id: toolUseId(i, j, b) } : b,
        );
        return {
          responseIndex: i,
          blocks,
          stop: r.stop ?? (blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn'),
          usage: usageFor(scenario, i),
          messageId: `msg_e2e_${prefix}_${pad(i + 1)}`,
          requestId: `req_e2e_${prefix}_${pad(i + 1)}`,
        };
      }
    }
    fallbacks += 1;
    return {
      responseIndex: null,
      blocks: [{ type: 'text', text: scenario.fallbackText ?? 'OK.' }],
      stop: 'end_turn',
      usage: fallbackUsageFor(scenario),
      messageId: `msg_e2e_${prefix}_fallback_${pad(fallbacks)}`,
      requestId: `req_e2e_${prefix}_fallback_${pad(fallbacks)}`,
    };
  };

  const sse = (model: string, r: Reply): string[] => {
    const events: Array<Record<string, unknown>> = [];
    events.push({
      type: 'message_start',
      message: {
        id: r.messageId,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...apiUsage(r.usage), output_tokens: 1 },
      },
    });
    events.push({ type: 'ping' });
    r.blocks.forEach((b, index) => {
      if (b.type === 'tool_use') {
        events.push({ type: 'content_block_start', index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } });
        for (const part of chunks(JSON.stringify(b.input), 40)) {
          events.push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: part } });
        }
      } else {
        events.push({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
        for (const part of chunks(b.text)) events.push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: part } });
      }
      events.push({ type: 'content_block_stop', index });
    });
    const deltaUsage =
      scenario.deltaUsage === 'output'
        ? { output_tokens: r.usage.output_tokens }
        : {
            input_tokens: r.usage.input_tokens,
            cache_creation_input_tokens: r.usage.cache_creation_input_tokens,
            cache_read_input_tokens: r.usage.cache_read_input_tokens,
            output_tokens: r.usage.output_tokens,
          };
    events.push({ type: 'message_delta', delta: { stop_reason: r.stop, stop_sequence: null }, usage: deltaUsage });
    events.push({ type: 'message_stop' });
    return events.map((e) => `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`);
  };

  const server = http.createServer((req, res) => {
    const chunksIn: Buffer[] = [];
    req.on('data', (c: Buffer) => chunksIn.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunksIn).toString('utf8');
      let parsed: unknown;
      try {
        parsed = raw.length > 0 ? JSON.parse(raw) : undefined;
      } catch {
        parsed = undefined;
      }
      const body: RequestBody = parsed !== null && typeof parsed === 'object' ? (parsed as RequestBody) : {};
      const url = req.url ?? '/';
      const method = req.method ?? 'GET';
      const pathname = url.split('?')[0] ?? url;
      const kind: LoggedRequest['kind'] =
        method === 'POST' && pathname === '/v1/messages/count_tokens'
          ? 'count_tokens'
          : method === 'POST' && pathname === '/v1/messages'
            ? 'messages'
            : 'other';
      const logged: LoggedRequest = {
        seq: requests.length + 1,
        method,
        url,
        kind,
        ...(body.model !== undefined ? { model: body.model } : {}),
        stream: body.stream === true,
        toolNames: (body.tools ?? []).map((t) => String(t.name ?? '')),
        system: systemText(body.system),
        newestInput: newestInput(body.messages),
        responseIndex: null,
        body: parsed,
      };
      requests.push(logged);

      if (kind === 'other') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(method === 'HEAD' ? undefined : '{}');
        return;
      }
      if (kind === 'count_tokens') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ input_tokens: scenario.countTokens ?? 1024 }));
        return;
      }
      const r = reply(body);
      logged.responseIndex = r.responseIndex;
      logged.messageId = r.messageId;
      logged.usage = r.usage;
      const headers: Record<string, string> = {};
      if (scenario.requestIds !== false) {
        headers['request-id'] = r.requestId;
        logged.requestId = r.requestId;
      }
      const model = body.model ?? 'claude-sonnet-4-5';
      if (!body.stream) {
        res.writeHead(200, { 'content-type': 'application/json', ...headers });
        res.end(
          JSON.stringify({
            id: r.messageId,
            type: 'message',
            role: 'assistant',
            model,
            content: r.blocks,
            stop_reason: r.stop,
            stop_sequence: null,
            usage: apiUsage(r.usage),
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', ...headers });
      const frames = sse(model, r);
      const delay = scenario.streamDelayMs ?? 0;
      if (delay <= 0) {
        res.end(frames.join(''));
        return;
      }
      const next = (): void => {
        const frame = frames.shift();
        if (frame === undefined || res.destroyed) {
          res.end();
          return;
        }
        res.write(frame);
        setTimeout(next, delay);
      };
      next();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    unusedResponses: () => scenario.responses.map((_, i) => i).filter((i) => !used.has(i)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The summed usage of the given scenario responses (default: all of them). */
export function scenarioUsage(scenario: Scenario, indices: number[] = scenario.responses.map((_, i) => i)): Usage {
  const total: Usage = { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  for (const i of indices) {
    const u = usageFor(scenario, i);
    total.input_tokens += u.input_tokens;
    total.output_tokens += u.output_tokens;
    total.cache_creation_input_tokens += u.cache_creation_input_tokens;
    total.cache_read_input_tokens += u.cache_read_input_tokens;
  }
  return total;
}
