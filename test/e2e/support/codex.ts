// Runs the real Codex CLI (npm @openai/codex, pinned) offline against a scripted stand-in for the
// OpenAI Responses API on loopback, so that it really runs its shell tool and really writes its
// rollouts under $CODEX_HOME/sessions. Only what the "model" says is scripted:
// - a prompt that mentions the build → run `sh build.sh`;
// - a tool output saying gen/ is missing → `mkdir -p gen && sh build.sh`;
// - a tool output saying "build ok" → the answer;
// - anything else → a short answer.
// Every response has a reasoning summary and a deterministic usage (input, cached input, output,
// reasoning), and an id unique to this stand-in (the real API's are unique too): the tests sum
// what the stand-in served as the ground truth for token accounting.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { REPO_ROOT } from './claude.js';

export const CODEX_VERSION = '0.169.0';
export const CODEX_BIN = path.join(REPO_ROOT, 'node_modules', '.bin', 'codex');

export interface ServedResponse {
  id: string;
  usage: { input_tokens: number; cached_tokens: number; output_tokens: number; reasoning_tokens: number };
  kind: 'tool' | 'answer';
}

export interface CodexStandIn {
  url: string;
  served: ServedResponse[];
  close(): Promise<void>;
}

type InputItem = { type?: string; role?: string; output?: unknown; content?: { text?: string }[] };

function newestInput(input: InputItem[]): { tool: boolean; text: string } {
  const last = input[input.length - 1];
  if (!last) return { tool: false, text: '' };
  if (last.type === 'function_call_output') return { tool: true, text: typeof last.output === 'string' ? last.output : JSON.stringify(last.output) };
  return { tool: false, text: (last.content ?? []).map((c) => c.text ?? '').join('') };
}

export async function startCodexStandIn(salt: string): Promise<CodexStandIn> {
  const served: ServedResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (!req.url?.endsWith('/responses')) {
        res.writeHead(404).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { input: InputItem[] };
      const n = served.length + 1;
      const last = newestInput(body.input);
      const id = `resp_${salt}_${n}`;
      let item: Record<string, unknown>;
      let kind: ServedResponse['kind'] = 'tool';
      const call = (cmd: string) => ({
        type: 'function_call',
        id: `fc_${salt}_${n}`,
        call_id: `call_${salt}_${n}`,
        name: 'exec_command',
        arguments: JSON.stringify({ cmd }),
        status: 'completed',
      });
      if (last.tool && /gen\/ directory is missing/.test(last.text)) item = call('mkdir -p gen && sh build.sh');
      else if (last.tool && /build ok/.test(last.text)) {
        kind = 'answer';
        item = message(`msg_${salt}_${n}`, 'Fixed: build.sh needs the gen/ directory; I created it and the build passes.');
      } else if (!last.tool && /build/i.test(last.text)) item = call('sh build.sh');
      else {
        kind = 'answer';
        item = message(`msg_${salt}_${n}`, `Done (${n}).`);
      }
      const usage = { input_tokens: 2000 + 10 * n, cached_tokens: 1500 + n, output_tokens: 60 + n, reasoning_tokens: 20 };
      served.push({ id, usage, kind });
      const reasoning = { type: 'reasoning', id: `rs_${salt}_${n}`, summary: [{ type: 'summary_text', text: `Considering step ${n}.` }] };
      const events = [
        { type: 'response.created', response: { id } },
        { type: 'response.output_item.done', output_index: 0, item: reasoning },
        { type: 'response.output_item.done', output_index: 1, item },
        {
          type: 'response.completed',
          response: {
            id,
            output: [reasoning, item],
            usage: {
              input_tokens: usage.input_tokens,
              input_tokens_details: { cached_tokens: usage.cached_tokens },
              output_tokens: usage.output_tokens,
              output_tokens_details: { reasoning_tokens: usage.reasoning_tokens },
              total_tokens: usage.input_tokens + usage.output_tokens,
            },
          },
        },
      ];
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const e of events) res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1`, served, close: () => new Promise((r) => server.close(() => r())) };
}

function message(id: string, text: string) {
  return { type: 'message', id, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] };
}

/** $CODEX_HOME/config.toml pointing the model at the stand-in. */
export function writeCodexConfig(codexHome: string, standInUrl: string): void {
  fs.mkdirSync(codexHome, { recursive: true });
  fs.writeFileSync(
    path.join(codexHome, 'config.toml'),
    [
      'model = "gpt-5"',
      'model_provider = "standin"',
      '',
      '[model_providers.standin]',
      'name = "stand-in"',
      `base_url = "${standInUrl}"`,
      'wire_api = "responses"',
      'env_key = "STANDIN_API_KEY"',
      '',
    ].join('\n'),
  );
}

export interface CodexRun {
  code: number | null;
  stdout: string;
  stderr: string;
  sessionId: string | null;
}

/** `codex exec [fork|resume <id>] <prompt>` in `project`, with HOME=home (so $CODEX_HOME is home/.codex). */
export function runCodex(opts: { home: string; project: string; prompt: string; fork?: string; resume?: string; timeoutMs?: number }): Promise<CodexRun> {
  const args = ['exec', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox'];
  if (opts.fork) args.push('fork', opts.fork);
  if (opts.resume) args.push('resume', opts.resume);
  args.push(opts.prompt);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: opts.home,
    CODEX_HOME: path.join(opts.home, '.codex'),
    STANDIN_API_KEY: 'offline',
    LANG: 'C.UTF-8',
  };
  return new Promise((resolve, reject) => {
    const child = spawn(CODEX_BIN, args, { cwd: opts.project, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const m = /session id: ([0-9a-f-]{36})/.exec(stderr + stdout);
      resolve({ code, stdout, stderr, sessionId: m ? (m[1] as string) : null });
    });
  });
}
