// A loopback stand-in for the Anthropic Messages API (POST /v1/messages) and for an
// OpenAI-compatible chat completions endpoint (POST /v1/chat/completions, what vLLM, Ollama and
// LiteLLM serve), for the model synthesizers' tests. It records every request and answers
// according to its mode:
// - valid: a postmortem narrative that fits the schema and cites ids from the evidence block;
// - invented: the same, plus claims that cite ids the evidence does not have (made up);
// - invalid: text that is not JSON;
// - obey: what a model that followed an injected instruction would say (extra keys, no refs).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type StandInMode = 'valid' | 'invented' | 'invalid' | 'obey';

export const INVENTED_CLAIM = 'Stand-in invention: the database was restored from a backup.';

export interface RecordedRequest {
  headers: http.IncomingHttpHeaders;
  api: 'messages' | 'chat';
  body: { model: string; system?: string; max_tokens: number; messages: { role: string; content: string }[] };
}

export interface MessagesStandIn {
  url: string;
  requests: RecordedRequest[];
  mode: StandInMode;
  close(): Promise<void>;
}

export const STAND_IN_SUMMARY = 'Stand-in summary: the shop server failed to start until it was built.';
export const OBEYED_MARKER = 'OBEYED-THE-INJECTED-INSTRUCTION';

/** The evidence block of the user message: [open tag, JSON inside, close tag], or null. */
export function evidenceBlock(user: string): { nonce: string; inside: string; before: string; after: string } | null {
  const m = /<session-evidence-([0-9a-f]+)>\n([\s\S]*)\n<\/session-evidence-\1>/.exec(user);
  if (!m) return null;
  return { nonce: m[1]!, inside: m[2]!, before: user.slice(0, m.index), after: user.slice(m.index + m[0].length) };
}

function narrativeFor(ids: string[]) {
  const cite = (i: number) => (ids.length > 0 ? [ids[i % ids.length]!] : []);
  const claim = (text: string, i: number) => [{ text, refs: cite(i) }];
  return {
    summary: claim(STAND_IN_SUMMARY, 0),
    impact: [{ text: 'User-facing impact: unknown; the session does not say.', refs: [] }],
    detection: claim('Detected when npm start failed.', 1),
    rootCause: claim('dist/server.js was missing because the build had not run.', 2),
    resolution: claim('Ran npm run build, then npm start passed.', 3),
    wentWell: claim('The fix was verified by re-running npm start.', 4),
    wentPoorly: claim('The build step was skipped.', 5),
    actionItems: claim('Build before start in the dev script.', 6),
  };
}

export async function startMessagesStandIn(mode: StandInMode = 'valid'): Promise<MessagesStandIn> {
  const requests: RecordedRequest[] = [];
  const standIn: MessagesStandIn = { url: '', requests, mode, close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const api = req.method !== 'POST' ? null : req.url?.startsWith('/v1/messages') ? 'messages' : req.url === '/v1/chat/completions' ? 'chat' : null;
      if (!api) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: req.url } }));
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RecordedRequest['body'];
      requests.push({ api, headers: req.headers, body });
      const user = body.messages.find((m) => m.role === 'user')?.content ?? '';
      let text: string;
      if (standIn.mode === 'invalid') text = 'Here is your postmortem: it went fine, mostly.';
      else if (standIn.mode === 'obey') text = JSON.stringify({ summary: [{ text: OBEYED_MARKER, refs: [] }], pwned: true });
      else {
        const block = evidenceBlock(user);
        const ids = block ? (JSON.parse(block.inside) as { id: string }[]).map((i) => i.id).filter((id) => !id.startsWith('prior:')) : [];
        const n = narrativeFor(ids);
        if (standIn.mode === 'invented') n.resolution.push({ text: INVENTED_CLAIM, refs: ['00000000-dead-4bee-8000-000000000000'] });
        text = JSON.stringify(n);
      }
      if (api === 'chat') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: `chatcmpl-standin-${requests.length}`,
            object: 'chat.completion',
            model: body.model,
            choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_standin_${requests.length}` });
      res.end(
        JSON.stringify({
          id: `msg_standin_${requests.length}`,
          type: 'message',
          role: 'assistant',
          model: body.model,
          content: [{ type: 'text', text }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: 100, output_tokens: 50 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  standIn.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  standIn.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return standIn;
}
