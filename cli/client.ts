// The CLI's gRPC client. Loaded only by commands that talk to the daemon.
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { resolvePaths } from '../common/paths.js';
import { DAEMON_ERROR_TRAILER, loadServices } from '../common/protos.js';
import { rbkCommand } from './daemon-control.js';
import { CliError, EXIT } from './errors.js';

export type Service = 'Ingest' | 'Query' | 'Admin' | 'Jobs' | 'Sync' | 'Learn' | 'Health';

const clients = new Map<Service, grpc.Client>();

export function socketPath(): string {
  return resolvePaths().socket;
}

function client(service: Service): grpc.Client {
  let c = clients.get(service);
  if (!c) {
    const Ctor = loadServices()[service];
    c = new Ctor(`unix:${socketPath()}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 256 * 1024 * 1024,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
    });
    clients.set(service, c);
  }
  return c;
}

export function closeClients(): void {
  for (const c of clients.values()) c.close();
  clients.clear();
}

function daemonDown(): CliError {
  const socket = socketPath();
  const why = fs.existsSync(socket) ? `nothing answers on ${socket}` : `no socket at ${socket}`;
  const rbk = rbkCommand();
  return new CliError(`rbkd is not running (${why}).\nStart it with: ${rbk} start   (or ${rbk} daemon to run it in this terminal)`, EXIT.unavailable);
}

/** Whether the daemon itself sent this error (see DAEMON_ERROR_TRAILER), not the transport. */
function fromDaemon(err: grpc.ServiceError): boolean {
  return (err.metadata?.get(DAEMON_ERROR_TRAILER).length ?? 0) > 0;
}

export function toCliError(err: grpc.ServiceError): CliError {
  if (err.code === grpc.status.UNAVAILABLE && fromDaemon(err)) return new CliError(err.details, EXIT.failure);
  if (err.code === grpc.status.UNAVAILABLE || (err.code === grpc.status.DEADLINE_EXCEEDED && /connect/i.test(err.details))) return daemonDown();
  if (err.code === grpc.status.NOT_FOUND) return new CliError(err.details, EXIT.notFound);
  if (err.code === grpc.status.INVALID_ARGUMENT) return new CliError(err.details, EXIT.usage);
  return new CliError(`${grpc.status[err.code] ?? err.code}: ${err.details}`, EXIT.failure);
}

export function call<Res>(service: Service, method: string, request: object, timeoutMs = 30_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    const c = client(service) as unknown as Record<
      string,
      (req: object, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: Res) => void) => void
    >;
    const fn = c[method];
    if (!fn) {
      reject(new Error(`no method ${service}.${method}`));
      return;
    }
    fn.call(c, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(toCliError(err)) : resolve(res)));
  });
}

/** Server-streaming call; resolves when the stream ends. */
export function stream<Res>(service: Service, method: string, request: object, onMessage: (m: Res) => void): { done: Promise<void>; cancel: () => void } {
  const c = client(service) as unknown as Record<string, (req: object) => grpc.ClientReadableStream<Res>>;
  const fn = c[method];
  if (!fn) throw new Error(`no method ${service}.${method}`);
  const s = fn.call(c, request);
  const done = new Promise<void>((resolve, reject) => {
    s.on('data', onMessage);
    s.on('end', () => resolve());
    s.on('error', (err: grpc.ServiceError) => (err.code === grpc.status.CANCELLED ? resolve() : reject(toCliError(err))));
  });
  return { done, cancel: () => s.cancel() };
}
