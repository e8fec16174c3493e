import * as grpc from '@grpc/grpc-js';
import { z } from 'zod';
import { DAEMON_ERROR_TRAILER } from '../../common/protos.js';
import { ERROR_KINDS, type ErrorKind, errorKind } from '../errors.js';

export function toServiceError(err: unknown): Partial<grpc.ServiceError> {
  const metadata = new grpc.Metadata();
  metadata.set(DAEMON_ERROR_TRAILER, '1');
  return { ...describeError(err), metadata };
}

function describeError(err: unknown): { code: grpc.status; details: string } {
  const { kind, message } = classifyError(err);
  return { code: kind === 'internal' ? grpc.status.INTERNAL : ERROR_KINDS[kind].grpc, details: message };
}

/**
 * What any error from a handler means, in the daemon's one error language (daemon/errors.ts):
 * its kind and a message that says what to do. gRPC and HTTP each turn the kind into their code
 * through ERROR_KINDS, so the same failure leaves by either door with the same meaning.
 */
export function classifyError(err: unknown): { kind: ErrorKind | 'internal'; message: string } {
  if (err instanceof z.ZodError) {
    const detail = err.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ');
    return { kind: 'invalid', message: `invalid request: ${detail}` };
  }
  // Every domain error is a UserError with a kind (daemon/errors.ts); one table gives its status.
  const kind = errorKind(err);
  if (kind) return { kind, message: (err as Error).message };
  const code = (err as { code?: string }).code;
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') {
    return { kind: 'exhausted', message: 'the data dir is out of disk space; free space there (rbk keeps serving reads meanwhile)' };
  }
  if (code === 'SQLITE_READONLY')
    return { kind: 'unavailable', message: 'rbkd stopped writing to its database (rbk status says why); if it is damaged, run: rbk recover' };
  if (code === 'SQLITE_BUSY') return { kind: 'unavailable', message: 'the database is busy (another writer held it for more than 5 s); retry in a moment' };
  return { kind: 'internal', message: `internal error: ${(err as Error)?.message ?? String(err)}; see the daemon log` };
}

/** A request/response method: its validation and what it does. gRPC and HTTP both serve it. */
export interface UnaryMethod<Req, Res> {
  schema: z.ZodType<Req>;
  run: (req: Req) => Res | Promise<Res>;
}

/** A gRPC unary handler that also carries its method, so the HTTP API serves the same one. */
export type UnaryHandler<Req, Res> = grpc.handleUnaryCall<unknown, Res> & { method: UnaryMethod<Req, Res> };

/** Wraps a unary handler: validate, run, map errors. */
export function unary<Req, Res>(schema: z.ZodType<Req>, run: (req: Req) => Res | Promise<Res>): UnaryHandler<Req, Res> {
  const handler: grpc.handleUnaryCall<unknown, Res> = (call, callback) => {
    Promise.resolve()
      .then(() => run(schema.parse(call.request)))
      .then(
        (res) => callback(null, res),
        (err) => callback(toServiceError(err) as grpc.ServiceError),
      );
  };
  return Object.assign(handler, { method: { schema, run } });
}
