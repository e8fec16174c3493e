// Shared by the OTLP tests: a real daemon with the receiver on a free loopback port, and the
// OpenTelemetry JS SDK's own exporters (protobuf and JSON) pointed at it, as an agent would.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { expect } from 'vitest';
import { runCli, type TempRbk } from '../support/rbk.js';

export async function receiver(t: TempRbk): Promise<{ url: string; token: string }> {
  const r = await runCli(t, ['status', '--json']);
  expect(r.code, r.stderr).toBe(0);
  const s = JSON.parse(r.stdout) as { otel: { url: string | null; error: string | null } };
  expect(s.otel.url, s.otel.error ?? '').toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  return { url: s.otel.url as string, token: fs.readFileSync(path.join(t.dataDir, 'otlp-token'), 'utf8').trim() };
}

export interface ClaudeEvent {
  name: string;
  attributes: Record<string, string | number | boolean>;
}

/** Claude Code's log records (body claude_code.<name>, attribute event.name), as its SDK emits them. */
export async function exportClaudeEvents(
  url: string,
  token: string,
  encoding: 'protobuf' | 'json',
  events: ClaudeEvent[],
  resource: Record<string, string> = { 'service.name': 'claude-code', 'service.version': '2.1.197' },
): Promise<void> {
  const Exporter = encoding === 'protobuf' ? ProtoLogExporter : JsonLogExporter;
  const exporter = new Exporter({ url: `${url}/v1/logs`, headers: { Authorization: `Bearer ${token}` } });
  const provider = new LoggerProvider({ resource: resourceFromAttributes(resource), processors: [new SimpleLogRecordProcessor({ exporter })] });
  const logger = provider.getLogger('com.anthropic.claude_code.events');
  for (const e of events) logger.emit({ body: `claude_code.${e.name}`, attributes: { 'event.name': e.name, ...e.attributes } });
  await provider.forceFlush();
  await provider.shutdown();
}

export interface Captured {
  path: string;
  contentType: string;
  body: Buffer;
  headers: http.IncomingHttpHeaders;
}

/** A loopback server that records what exporters POST and answers 200: to replay real bodies. */
export async function captureServer(): Promise<{ url: string; requests: Captured[]; close(): Promise<void> }> {
  const requests: Captured[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', contentType: String(req.headers['content-type'] ?? ''), body: Buffer.concat(chunks), headers: req.headers });
      res.writeHead(200, { 'content-type': String(req.headers['content-type'] ?? 'application/json') }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

export async function post(
  url: string,
  body: Buffer | string,
  headers: Record<string, string>,
): Promise<{ status: number; text: string; json: Record<string, unknown> | null }> {
  const res = await fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : new Uint8Array(body) });
  const text = await res.text();
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = null;
  }
  return { status: res.status, text, json };
}

/** An api_request as Claude Code 2.1.197 sends it (attribute names from a real run). */
export function apiRequest(session: string, seq: number, tokens: [number, number, number, number], cost: number, querySource = 'sdk'): ClaudeEvent {
  return {
    name: 'api_request',
    attributes: {
      'session.id': session,
      'prompt.id': `p-${session.slice(0, 8)}`,
      'event.timestamp': new Date(Date.parse('2026-12-01T10:00:00Z') + seq * 1000).toISOString(),
      'event.sequence': seq,
      model: 'claude-sonnet-4-5-20250929',
      input_tokens: tokens[0],
      output_tokens: tokens[1],
      cache_read_tokens: tokens[2],
      cache_creation_tokens: tokens[3],
      cost_usd: cost,
      duration_ms: 800 + seq,
      query_source: querySource,
      speed: 'standard',
    },
  };
}
