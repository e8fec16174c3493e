// One error language for the daemon's domain modules. A domain error says what went wrong in
// words the person can act on and carries a kind; it knows nothing of gRPC or HTTP. The RPC layer
// (rpc/errors.ts) maps each kind to one gRPC status, and an HTTP API maps it to one HTTP code,
// both from ERROR_KINDS below, so an error means the same thing whichever door it leaves by.

export type ErrorKind =
  /** The request is wrong: a bad id, option or query. Fix the request. */
  | 'invalid'
  /** What the request names does not exist. */
  | 'not-found'
  /** The request is fine but the daemon is not in a state to serve it (no central copy configured). */
  | 'precondition'
  /** A part the request needs is not running (the scheduler, a backend); retrying later may work. */
  | 'unavailable'
  /** Someone else holds what the request needs (a job already running, a busy database). */
  | 'busy'
  /** A resource ran out (the disk). */
  | 'exhausted';

/** gRPC status code numbers (@grpc/grpc-js `status`) and HTTP codes, per kind. */
export const ERROR_KINDS: Readonly<Record<ErrorKind, { grpc: number; http: number }>> = {
  invalid: { grpc: 3 /* INVALID_ARGUMENT */, http: 400 },
  'not-found': { grpc: 5 /* NOT_FOUND */, http: 404 },
  precondition: { grpc: 9 /* FAILED_PRECONDITION */, http: 409 },
  unavailable: { grpc: 14 /* UNAVAILABLE */, http: 503 },
  busy: { grpc: 9 /* FAILED_PRECONDITION */, http: 409 },
  exhausted: { grpc: 8 /* RESOURCE_EXHAUSTED */, http: 507 },
};

/** An error whose message already says what the person should do. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly kind: ErrorKind = 'invalid',
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/**
 * The kind of any error: a UserError's own, or that of an error from below the daemon that names
 * one (common/time.ts TimeArgError, which the CLI shares); undefined = an internal error.
 */
export function errorKind(err: unknown): ErrorKind | undefined {
  if (!(err instanceof Error)) return undefined;
  const kind = (err as { kind?: unknown }).kind;
  return typeof kind === 'string' && Object.hasOwn(ERROR_KINDS, kind) ? (kind as ErrorKind) : undefined;
}
