// A minimal gRPC unary client written directly on HTTP/2 frames over a Unix socket. Only the hook
// uses it.
//
// Why not a library: the hook runs on every Claude Code tool call, so its start-up is the
// product's most visible latency. Measured on this machine (docs/benchmarks.md), against a bare
// `node -e 0`: @grpc/grpc-js + proto-loader ≈ 2.8x, bundled grpc-js ≈ 1.65x, node:http2 ≈ 1.3x
// (loading http2 alone is ~5 ms and its client waits for the server's SETTINGS before sending).
// Raw frames on node:net send preface, SETTINGS, HEADERS and DATA in one write and need no extra
// module, which brings the hook close to bare node.
//
// How success is decided: the daemon sends SubmitHookResponse only after the event is committed
// to SQLite; any failure is a trailers-only response (HEADERS with END_STREAM and no DATA). So a
// complete response message followed by the end of the stream means "stored". Anything else
// (RST_STREAM, GOAWAY, trailers-only, a closed socket, a timeout) is a failure and the hook spools.
//
// SubmitHookRequest is encoded by hand: keep the field numbers in step with proto/rbk/v1/ingest.proto.
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

function lengthDelimited(field: number, value: Buffer): Buffer[] {
  if (value.length === 0) return [];
  const head: number[] = [];
  varint((field << 3) | 2, head);
  varint(value.length, head);
  return [Buffer.from(head), value];
}

function int64Field(field: number, value: number): Buffer[] {
  if (!value) return [];
  const out: number[] = [];
  varint(field << 3, out);
  varint(value, out);
  return [Buffer.from(out)];
}

export function encodeSubmitHookRequest(r: SubmitHookRequest): Buffer {
  return Buffer.concat([
    ...lengthDelimited(1, Buffer.from(r.eventId)),
    ...lengthDelimited(2, Buffer.from(r.eventName)),
    ...lengthDelimited(3, r.payload),
    ...int64Field(4, r.hookStartedUnixMs),
    ...int64Field(5, r.sentUnixMs),
    ...lengthDelimited(6, Buffer.from(r.clientVersion)),
  ]);
}

// HTTP/2 (RFC 9113) frame types and flags used here.
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const ACK = 0x1;
const STREAM = 1;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK literal header field without indexing, raw (not Huffman) strings of < 127 bytes. */
function hpackLiteral(nameIndex: number, name: string | null, value: string): Buffer {
  const parts: number[] = [];
  if (name === null) {
    // Indexed name: 4-bit prefix integer.
    if (nameIndex < 15) parts.push(nameIndex);
    else parts.push(15, nameIndex - 15);
  } else {
    parts.push(0, name.length, ...Buffer.from(name, 'latin1'));
  }
  parts.push(value.length, ...Buffer.from(value, 'latin1'));
  return Buffer.from(parts);
}

function requestHeaders(path: string): Buffer {
  // Static table (RFC 7541 Appendix A): 3 = :method POST, 6 = :scheme http, 1 = :authority,
  // 4 = :path, 31 = content-type.
  return Buffer.concat([
    Buffer.from([0x83, 0x86]),
    hpackLiteral(4, null, path),
    hpackLiteral(1, null, 'localhost'),
    hpackLiteral(31, null, 'application/grpc'),
    hpackLiteral(0, 'te', 'trailers'),
  ]);
}

export class GrpcCallError extends Error {}

/** One unary call; resolves with the response message bytes once the server has ended the stream. */
export function unaryCall(socketPath: string, method: string, message: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const body = Buffer.alloc(5 + message.length);
    body.writeUInt32BE(message.length, 1);
    message.copy(body, 5);

    let sent = 0;
    let maxFrame = 16_384;
    let connWindow = 65_535;
    let streamWindow = 65_535;
    let inbound: Buffer = Buffer.alloc(0);
    const response: Buffer[] = [];
    let settled = false;

    const socket = net.connect(socketPath);
    const timer = setTimeout(() => finish(new GrpcCallError(`timeout after ${timeoutMs} ms`)), timeoutMs);
    function finish(err: Error | null, msg?: Buffer): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(msg!);
    }

    // Sends as much of the request body as the server's flow-control windows allow.
    function pump(): Buffer[] {
      const out: Buffer[] = [];
      while (sent < body.length) {
        const n = Math.min(body.length - sent, maxFrame, connWindow, streamWindow);
        if (n <= 0) break;
        const last = sent + n === body.length;
        out.push(frame(DATA, last ? END_STREAM : 0, STREAM, body.subarray(sent, sent + n)));
        sent += n;
        connWindow -= n;
        streamWindow -= n;
      }
      return out;
    }

    socket.on('connect', () => {
      socket.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0), frame(HEADERS, END_HEADERS, STREAM, requestHeaders(method)), ...pump()]));
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new GrpcCallError('connection closed before the response')));
    socket.on('data', (chunk: Buffer) => {
      inbound = inbound.length === 0 ? chunk : Buffer.concat([inbound, chunk]);
      while (inbound.length >= 9) {
        const length = inbound.readUIntBE(0, 3);
        if (inbound.length < 9 + length) break;
        const type = inbound[3]!;
        const flags = inbound[4]!;
        const stream = inbound.readUInt32BE(5) & 0x7fffffff;
        let payload = inbound.subarray(9, 9 + length);
        inbound = inbound.subarray(9 + length);
        if ((type === DATA || type === HEADERS) && flags & PADDED) payload = payload.subarray(1, payload.length - payload[0]!);

        if (type === SETTINGS && !(flags & ACK)) {
          for (let i = 0; i + 6 <= payload.length; i += 6) {
            const id = payload.readUInt16BE(i);
            const value = payload.readUInt32BE(i + 2);
            if (id === 0x4) {
              streamWindow += value - 65_535;
            } else if (id === 0x5) maxFrame = value;
          }
          socket.write(Buffer.concat([frame(SETTINGS, ACK, 0), ...pump()]));
        } else if (type === WINDOW_UPDATE) {
          const increment = payload.readUInt32BE(0) & 0x7fffffff;
          if (stream === 0) connWindow += increment;
          else streamWindow += increment;
          const more = pump();
          if (more.length > 0) socket.write(Buffer.concat(more));
        } else if (type === DATA && stream === STREAM) {
          response.push(Buffer.from(payload));
          if (flags & END_STREAM) finish(new GrpcCallError('stream ended without trailers'));
        } else if (type === HEADERS && stream === STREAM && flags & END_STREAM) {
          const data = Buffer.concat(response);
          // A gRPC message is a 5-byte prefix (compressed flag, length) plus the message itself.
          if (data.length >= 5 && data.length === 5 + data.readUInt32BE(1)) finish(null, data.subarray(5));
          else finish(new GrpcCallError('the daemon answered with an error status'));
        } else if (type === RST_STREAM || type === GOAWAY) {
          finish(new GrpcCallError(type === RST_STREAM ? 'stream reset by the daemon' : 'connection closed by the daemon (GOAWAY)'));
        }
      }
    });
  });
}
