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

/** Absent, all the way down: for a domain result sent whole as one message (Learn's result). */
export type DeepAbsent<T> = T extends (infer U)[]
  ? DeepAbsent<U>[]
  : T extends object
    ? { [K in keyof T]: null extends T[K] ? DeepAbsent<Exclude<T[K], null>> | undefined : DeepAbsent<T[K]> }
    : T;

/** absentIfNull through nested objects and arrays. */
export function deepAbsentIfNull<T>(v: T): DeepAbsent<T> {
  if (Array.isArray(v)) return v.map(deepAbsentIfNull) as DeepAbsent<T>;
  if (v === null || typeof v !== 'object') return v as DeepAbsent<T>;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = deepAbsentIfNull(x);
  return out as DeepAbsent<T>;
}
