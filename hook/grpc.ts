// A minimal gRPC unary client over node:http2, used only by the hook.
//
// Why not @grpc/grpc-js here: the hook runs on every Claude Code tool call, so its start-up is the
// product's most visible latency. Measured on this machine (see docs/benchmarks.md), loading
// grpc-js + proto-loader costs ~2.8x a bare `node -e 0`, a bundled grpc-js with a static service
// ~1.65x, while node:http2 plus a hand-written encoder for the single message the hook sends
// stays near 1.2x. The daemon uses grpc-js and the .proto files; this file encodes
// rbk.v1.SubmitHookRequest by hand, so keep its field numbers in step with proto/rbk/v1/ingest.proto.
import http2 from 'node:http2';
import net from 'node:net';

export interface SubmitHookRequest {
  eventId: string;
  eventName: string;
  payload: Buffer;
  hookStartedUnixMs: number;
  sentUnixMs: number;
  clientVersion: string;
}

function varint(n: number, out: number[]): void {
  // Exact for non-negative integers up to 2^53, which covers Unix milliseconds and lengths.
  while (n > 0x7f) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

function keyAndLength(field: number, length: number): Buffer {
  const out: number[] = [];
  varint((field << 3) | 2, out);
  varint(length, out);
  return Buffer.from(out);
}

function int64Field(field: number, value: number): Buffer {
  if (!value) return Buffer.alloc(0);
  const out: number[] = [];
  varint(field << 3, out);
  varint(value, out);
  return Buffer.from(out);
}

function bytesField(field: number, value: Buffer): Buffer[] {
  return value.length === 0 ? [] : [keyAndLength(field, value.length), value];
}

export function encodeSubmitHookRequest(r: SubmitHookRequest): Buffer {
  const parts = [
    ...bytesField(1, Buffer.from(r.eventId)),
    ...bytesField(2, Buffer.from(r.eventName)),
    ...bytesField(3, r.payload),
    int64Field(4, r.hookStartedUnixMs),
    int64Field(5, r.sentUnixMs),
    ...bytesField(6, Buffer.from(r.clientVersion)),
  ];
  return Buffer.concat(parts);
}

export class GrpcCallError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** One unary call. Resolves when the server reports grpc-status 0; rejects otherwise. */
export function unaryCall(socketPath: string, method: string, message: Buffer, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const session = http2.connect('http://localhost', { createConnection: () => net.connect(socketPath) });
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => finish(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs);
    session.on('error', (err) => finish(err));

    const frame = Buffer.alloc(5);
    frame.writeUInt8(0, 0);
    frame.writeUInt32BE(message.length, 1);
    const req = session.request({
      ':method': 'POST',
      ':path': method,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const onStatus = (headers: http2.IncomingHttpHeaders) => {
      const status = headers['grpc-status'];
      if (status === undefined) return false;
      const code = Number(status);
      if (code === 0) finish();
      else finish(new GrpcCallError(code, decodeURIComponent(String(headers['grpc-message'] ?? ''))));
      return true;
    };
    // A trailers-only response (an error before any message) carries grpc-status in the headers.
    req.on('response', (headers) => {
      const httpStatus = headers[':status'];
      if (!onStatus(headers) && httpStatus !== 200) finish(new Error(`HTTP ${String(httpStatus)}`));
    });
    req.on('trailers', (trailers) => {
      onStatus(trailers);
    });
    req.on('data', () => {});
    req.on('error', (err) => finish(err));
    req.on('close', () => finish(new Error('stream closed without grpc-status')));
    req.end(Buffer.concat([frame, message]));
  });
}
