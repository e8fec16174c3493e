// Fields the store does not know are absent on the wire (proto3 optional), not "" or 0, and the
// CLI's --json says null for them: a session seen only by its hooks has no transcript, title,
// model or end yet. Through the real daemon and the generated client.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServices } from '../../common/protos.js';
import type { GetSessionResponse__Output } from '../../common/wire/rbk/v1/GetSessionResponse.js';
import type { LiveEvent__Output } from '../../common/wire/rbk/v1/LiveEvent.js';
import type { TimelinePage__Output } from '../../common/wire/rbk/v1/TimelinePage.js';
import { assertBuilt, type DaemonProcess, hookPayload, makeDataDir, runCli, runHook, startDaemon, type TempRbk, waitFor } from '../support/rbk.js';

let t: TempRbk;
let d: DaemonProcess;
const SESSION = 'a1b2c3d4-0000-4000-8000-00000000f1e1';

beforeAll(async () => {
  assertBuilt();
  t = makeDataDir();
  d = await startDaemon(t);
  const r = await runHook(t, hookPayload('UserPromptSubmit', SESSION, { prompt: 'hello' }));
  expect(r.code).toBe(0);
}, 60_000);

afterAll(async () => {
  await d?.stop();
  t?.cleanup();
});

/** Every message of a server stream, through the generated client. */
function streamAll<T>(service: 'Query' | 'Jobs', method: string, req: object): Promise<T[]> {
  const Service = loadServices()[service];
  const client = new Service(`unix:${t.socket}`, grpc.credentials.createInsecure()) as unknown as Record<
    string,
    (r: object) => grpc.ClientReadableStream<T>
  > & {
    close(): void;
  };
  return new Promise((resolve, reject) => {
    const out: T[] = [];
    const stream = client[method]!(req);
    stream.on('data', (m: T) => out.push(m));
    stream.on('error', (e) => {
      client.close();
      reject(e);
    });
    stream.on('end', () => {
      client.close();
      resolve(out);
    });
  });
}

function getSessionResponse(id: string): Promise<GetSessionResponse__Output> {
  const Query = loadServices().Query;
  const client = new Query(`unix:${t.socket}`, grpc.credentials.createInsecure()) as unknown as {
    GetSession(req: object, cb: (e: grpc.ServiceError | null, r: GetSessionResponse__Output) => void): void;
    close(): void;
  };
  return new Promise((resolve, reject) =>
    client.GetSession({ id, includePayloads: false }, (e, r) => {
      client.close();
      if (e) reject(e);
      else resolve(r);
    }),
  );
}

describe('unknown fields are absent, not zero values', () => {
  it('on the wire', async () => {
    const full = await waitFor('the session', async () => getSessionResponse(SESSION).catch(() => null));
    const res = full.session!;
    expect(res.id).toBe(SESSION);
    expect(res.cwd).toBe('/tmp/rbk-test-project');
    for (const field of ['transcriptPath', 'title', 'model', 'endedUnixMs', 'expiredUnixMs', 'endReason', 'ccVersion'] as const) {
      expect(res[field], field).toBeUndefined();
    }
    const prompt = full.hookEvents.find((e) => e.eventName === 'UserPromptSubmit')!;
    expect(prompt.eventId).toBeTruthy();
    for (const field of ['toolName', 'toolUseId', 'agentId', 'problem', 'payloadJson'] as const) expect(prompt[field], field).toBeUndefined();
  });

  it('in the timeline and the live feed', async () => {
    const pages = await streamAll<TimelinePage__Output>('Query', 'GetTimelinePages', { id: SESSION, includePayloads: false });
    const prompt = pages.flatMap((p) => p.entries).find((e) => e.kind === 'prompt')!;
    expect(prompt.text).toBe('hello');
    for (const field of ['toolName', 'toolUseId', 'status', 'agentId', 'detail', 'input', 'output'] as const) expect(prompt[field], field).toBeUndefined();
    const live = await streamAll<LiveEvent__Output>('Query', 'Tail', { sessionId: SESSION, last: 10, follow: false, includeHidden: false });
    const event = live.find((e) => e.kind === 'UserPromptSubmit')!;
    expect(event.sessionId).toBe(SESSION);
    for (const field of ['toolName', 'toolUseId', 'agentId'] as const) expect(event[field], field).toBeUndefined();
  });

  it('in rbk sessions show --json, as null', async () => {
    const r = await runCli(t, ['sessions', 'show', SESSION, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = (JSON.parse(r.stdout) as { session: Record<string, unknown> }).session;
    expect(s).toMatchObject({ cwd: '/tmp/rbk-test-project', transcriptPath: null, title: null, model: null, endedAt: null, expiredAt: null, endReason: null });
    const timeline = (JSON.parse(r.stdout) as { timeline: Record<string, unknown>[] }).timeline;
    expect(timeline.find((e) => e.kind === 'prompt')).toMatchObject({ text: 'hello', toolName: null, toolUseId: null, status: null, agentId: null });
  });

  it('in rbk sessions tail --json, as null', async () => {
    const r = await runCli(t, ['sessions', 'tail', '--session', SESSION, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.find((e) => e.kind === 'UserPromptSubmit')).toMatchObject({ sessionId: SESSION, toolName: null, toolUseId: null, agentId: null });
  });
});
