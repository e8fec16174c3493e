// Request schemas checked against the wire types generated from proto/ (common/wire). A handler
// validates its request with zod; `forRequest<Generated>()(schema)` fails to compile when the
// schema and the proto drift: a field the proto has and the schema lacks (or the reverse), or a
// field whose validated type is not the proto's. Zod may narrow (an enum for a string, a bounded
// int for a uint64), never widen.
import type { z } from 'zod';

// `_name` keys are the generator's markers of proto3 `optional` fields (a synthetic oneof), not fields.
type Mismatch<A, B> = Exclude<keyof A, keyof B> | Exclude<keyof B, keyof A | `_${string}`>;
type SameFields<A, B> = [Mismatch<A, B>] extends [never] ? unknown : { 'fields that differ between the schema and the proto': Mismatch<A, B> };

export function forRequest<Wire>() {
  return <S extends z.ZodType<Wire>>(schema: S & SameFields<z.output<S>, Wire>): S => schema;
}

/** A field the store may not know (SQL NULL) as a proto3 `optional` field: absent, never "" or 0. */
export type Absent<T> = { [K in keyof T]: null extends T[K] ? Exclude<T[K], null> | undefined : T[K] };

/** Drops the null fields of a response object, for proto3 `optional` fields: null → absent on the wire. */
export function absentIfNull<T extends object>(o: T): Absent<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== null) out[k] = v;
  return out as Absent<T>;
}
