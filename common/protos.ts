import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { packageRoot } from './root.js';

export const PROTO_ROOT = path.join(packageRoot(), 'proto');
export const PROTO_FILES = [
  'rbk/v1/ingest.proto',
  'rbk/v1/query.proto',
  'rbk/v1/admin.proto',
  'rbk/v1/jobs.proto',
  'rbk/v1/sync.proto',
  'rbk/v1/learn.proto',
  'grpc/health/v1/health.proto',
];

/**
 * Trailer set on every error the daemon itself answers with (rpc/errors.ts). grpc-js also reports
 * a socket nobody listens on as UNAVAILABLE, and the CLI must not call a busy database or a
 * disabled subsystem "rbkd is not running".
 */
export const DAEMON_ERROR_TRAILER = 'rbk-daemon-error';

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyService = grpc.ServiceClientConstructor & { service: grpc.ServiceDefinition<grpc.UntypedServiceImplementation> };

export interface RbkServices {
  Ingest: AnyService;
  Query: AnyService;
  Admin: AnyService;
  Jobs: AnyService;
  Sync: AnyService;
  Learn: AnyService;
  Health: AnyService;
}

let cached: RbkServices | undefined;

export function loadServices(): RbkServices {
  if (cached) return cached;
  const def = protoLoader.loadSync(PROTO_FILES, LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    rbk: { v1: { Ingest: AnyService; Query: AnyService; Admin: AnyService; Jobs: AnyService; Sync: AnyService; Learn: AnyService } };
    grpc: { health: { v1: { Health: AnyService } } };
  };
  cached = { ...pkg.rbk.v1, Health: pkg.grpc.health.v1.Health };
  return cached;
}
