// One error language: every domain error names a kind, and one table maps it to a gRPC status
// (and an HTTP code for the web API). These are the errors the handlers see from the modules below.
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TimeArgError } from '../../common/time.js';
import { ERROR_KINDS, errorKind, UserError } from '../../daemon/errors.js';
import { JobBusyError, SchedulerStoppedError, UnknownJobError } from '../../daemon/jobs/scheduler.js';
import { SearchSyntaxError } from '../../daemon/query/search.js';
import { toServiceError } from '../../daemon/rpc/errors.js';
import { AmbiguousIdError, NotFoundError } from '../../daemon/store/sessions.js';
import { SyncUnavailableError } from '../../daemon/sync/engine.js';
import { PullRequestError } from '../../daemon/sync/pull.js';

describe('error kinds', () => {
  it('each domain error maps to one status through the table', () => {
    const cases: [Error, grpc.status][] = [
      [new UserError('bad'), grpc.status.INVALID_ARGUMENT],
      [new TimeArgError('--since: not a time'), grpc.status.INVALID_ARGUMENT],
      [new SearchSyntaxError('unbalanced quote'), grpc.status.INVALID_ARGUMENT],
      [new PullRequestError('--host: not a host'), grpc.status.INVALID_ARGUMENT],
      [new AmbiguousIdError('ab', ['abc', 'abd']), grpc.status.INVALID_ARGUMENT],
      [new NotFoundError('no session abc'), grpc.status.NOT_FOUND],
      [new UnknownJobError('no job x'), grpc.status.NOT_FOUND],
      [new JobBusyError('retention', 3, 0, 'manual'), grpc.status.FAILED_PRECONDITION],
      [new SchedulerStoppedError('stopping'), grpc.status.FAILED_PRECONDITION],
      [new SyncUnavailableError('no backend'), grpc.status.FAILED_PRECONDITION],
      [new UserError('scheduler down', 'unavailable'), grpc.status.UNAVAILABLE],
    ];
    for (const [err, code] of cases) {
      const s = toServiceError(err);
      expect({ name: err.constructor.name, code: s.code }).toEqual({ name: err.constructor.name, code });
      expect(s.details).toBe(err.message);
      expect(ERROR_KINDS[errorKind(err)!].grpc).toBe(code);
    }
  });

  it('validation errors, a full disk and anything else', () => {
    const zod = z.object({ n: z.number() }).safeParse({ n: 'x' });
    expect(toServiceError(zod.error).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(toServiceError(Object.assign(new Error('disk'), { code: 'SQLITE_FULL' })).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const internal = toServiceError(new Error('boom'));
    expect(internal.code).toBe(grpc.status.INTERNAL);
    expect(internal.details).toContain('internal error: boom');
    // An error whose `kind` is not one of ours is internal, not trusted.
    expect(errorKind(Object.assign(new Error('x'), { kind: 'teapot' }))).toBeUndefined();
  });

  it('every kind has a gRPC status and an HTTP code', () => {
    for (const [kind, codes] of Object.entries(ERROR_KINDS)) {
      expect(grpc.status[codes.grpc], kind).toBeDefined();
      expect(codes.http, kind).toBeGreaterThanOrEqual(400);
    }
  });
});
