// The request schemas are checked against the generated wire types at compile time
// (common/wire-schema.ts). `npm test` type-checks the tests too (npm run typecheck), so each
// expect-error directive below must stay an error: if forRequest stopped rejecting a drifted
// schema, the directive would be unused and the type check would fail.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RetentionRequest__Output } from '../../common/wire/rbk/v1/RetentionRequest.js';
import { forRequest } from '../../common/wire-schema.js';

describe('request schemas against the proto', () => {
  it('the schema as the proto has it compiles and validates', () => {
    const schema = forRequest<RetentionRequest__Output>()(z.object({ dryRun: z.boolean() }));
    expect(schema.parse({ dryRun: true })).toEqual({ dryRun: true });
  });

  it('a field the proto lacks, a missing field, or another type does not compile', () => {
    // @ts-expect-error a field the proto does not have
    const extra = forRequest<RetentionRequest__Output>()(z.object({ dryRun: z.boolean(), force: z.boolean() }));
    // @ts-expect-error the proto's field is missing
    const missing = forRequest<RetentionRequest__Output>()(z.object({}));
    // @ts-expect-error the proto's bool validated as a string
    const retyped = forRequest<RetentionRequest__Output>()(z.object({ dryRun: z.string() }));
    // At run time the helper is the identity: the check is the compiler's.
    expect([extra, missing, retyped].every((s) => s instanceof z.ZodObject)).toBe(true);
  });
});
