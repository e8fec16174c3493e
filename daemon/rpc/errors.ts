import * as grpc from '@grpc/grpc-js';
import { z } from 'zod';
import { DAEMON_ERROR_TRAILER } from '../../common/protos.js';
import { ERROR_KINDS, errorKind } from '../errors.js';

export function toServiceError(err: unknown): Partial<grpc.ServiceError> {
  const metadata = new grpc.Metadata();
  metadata.set(DAEMON_ERROR_TRAILER, '1');
  return { ...describeError(err), metadata };
}

function describeError(err: unknown): { code: grpc.status; details: string } {
  if (err instanceof z.ZodError) {
    const detail = err.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ');
    return { code: grpc.status.INVALID_ARGUMENT, details: `invalid request: ${detail}` };
  }
  // Every domain error is a UserError with a kind (daemon/errors.ts); one table gives its status.
  const kind = errorKind(err);
  if (kind) return { code: ERROR_KINDS[kind].grpc, details: (err as Error).message };
  const code = (err as { code?: string }).code;
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') {
    return { code: ERROR_KINDS.exhausted.grpc, details: 'the data dir is out of disk space; free space there (rbk keeps serving reads meanwhile)' };
  }
  if (code === 'SQLITE_READONLY')
    return {
      code: ERROR_KINDS.unavailable.grpc,
      details: 'rbkd stopped writing to its database (rbk status says why); if it is damaged, run: rbk recover',
    };
  if (code === 'SQLITE_BUSY')
    return { code: grpc.status.UNAVAILABLE, details: 'the database is busy (another writer held it for more than 5 s); retry in a moment' };
  return { code: grpc.status.INTERNAL, details: `internal error: ${(err as Error)?.message ?? String(err)}; see the daemon log` };
}

/** Wraps a unary handler: validate, run, map errors. */
export function unary<Req, Res>(
  schema: z.ZodType<Req>,
  fn: (req: Req, call: grpc.ServerUnaryCall<unknown, Res>) => Res | Promise<Res>,
): grpc.handleUnaryCall<unknown, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(schema.parse(call.request), call))
      .then(
        (res) => callback(null, res),
        (err) => callback(toServiceError(err) as grpc.ServiceError),
      );
  };
}
