// The gRPC server on the Unix socket. Access control is the filesystem's: the socket's directory
// is 0700 and the socket 0600, so only this user can connect (connect(2) needs write permission
// on the socket and search permission on every directory above it).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { checkSocketPath } from '../common/paths.js';
import type { DaemonContext } from './context.js';
import { adminHandlers } from './rpc/admin.js';
import { HealthService } from './rpc/health.js';
import { ingestHandlers } from './rpc/ingest.js';
import { jobsHandlers } from './rpc/jobs.js';
import { learnHandlers } from './rpc/learn.js';
import { loadServices } from '../common/protos.js';
import { queryHandlers } from './rpc/query.js';
import { syncHandlers } from './rpc/sync.js';

// A 20 MB hook payload must fit; anything beyond this is refused with RESOURCE_EXHAUSTED and
// the hook spools it instead, so it is still stored.
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export class AlreadyRunningError extends Error {}

export interface RunningServer {
  server: grpc.Server;
  health: HealthService;
  close(): Promise<void>;
}

/** Connect succeeds only if a live process is accepting on the socket. */
function probeSocket(socket: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = net.connect(socket);
    const done = (alive: boolean) => {
      conn.destroy();
      resolve(alive);
    };
    conn.once('connect', () => done(true));
    conn.once('error', () => done(false));
    conn.setTimeout(timeoutMs, () => done(false));
  });
}

export async function prepareSocket(socket: string): Promise<void> {
  checkSocketPath(socket);
  const dir = path.dirname(socket);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.statSync(dir);
  if ((st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) fs.chmodSync(dir, 0o700);
  if (fs.existsSync(socket)) {
    if (await probeSocket(socket)) {
      throw new AlreadyRunningError(
        `another rbkd is already serving ${socket}; stop it first (rbk status shows its pid), or set RBK_SOCKET to run a second instance`,
      );
    }
    // Nobody answers: the socket file was left behind by a crash.
    fs.rmSync(socket, { force: true });
  }
}

export async function startServer(ctx: DaemonContext): Promise<RunningServer> {
  await prepareSocket(ctx.paths.socket);
  const services = loadServices();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  });
  const health = new HealthService(['rbk.v1.Ingest', 'rbk.v1.Query', 'rbk.v1.Admin', 'rbk.v1.Jobs', 'rbk.v1.Sync', 'rbk.v1.Learn']);
  server.addService(services.Ingest.service, ingestHandlers(ctx));
  server.addService(services.Query.service, queryHandlers(ctx) as grpc.UntypedServiceImplementation);
  server.addService(services.Admin.service, adminHandlers(ctx));
  server.addService(services.Jobs.service, jobsHandlers(ctx) as grpc.UntypedServiceImplementation);
  server.addService(services.Sync.service, syncHandlers(ctx) as grpc.UntypedServiceImplementation);
  server.addService(services.Learn.service, learnHandlers(ctx) as grpc.UntypedServiceImplementation);
  server.addService(services.Health.service, health.handlers() as unknown as grpc.UntypedServiceImplementation);

  const previousUmask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`unix:${ctx.paths.socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
    });
  } finally {
    process.umask(previousUmask);
  }
  fs.chmodSync(ctx.paths.socket, 0o600);

  return {
    server,
    health,
    close: () =>
      new Promise<void>((resolve) => {
        health.setAll('NOT_SERVING');
        health.endWatches();
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 3000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }).finally(() => fs.rmSync(ctx.paths.socket, { force: true })),
  };
}
