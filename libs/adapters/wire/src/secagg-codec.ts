import { blake2b } from '@fedlab/crypto';
import * as pb from '@fedlab/proto';
import { frame } from '@fedlab/secagg';

/** A secure-aggregation message with every byte field as a Buffer, as ts-proto's generated types want. */
export type Wire<T> = T extends Uint8Array ? Buffer : T extends ReadonlyArray<infer U> ? Array<Wire<U>> : T extends object ? { [K in keyof T]: Wire<T[K]> } : T;

/**
 * Converts a secure-aggregation state-machine message (plain objects with Uint8Array fields, see
 * @fedlab/secagg) to its protobuf form. The field names are the same on both sides, so the reverse
 * direction needs no conversion: a Buffer is a Uint8Array.
 */
export function toWire<T>(value: T): Wire<T> {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength) as Wire<T>;
  if (Array.isArray(value)) return value.map((item: unknown) => toWire(item)) as Wire<T>;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toWire(item)])) as Wire<T>;
  }
  return value as Wire<T>;
}

/**
 * Hash binding a round's session to the researcher's exact query and to what the round sums (the
 * SecAggBegin: participants, threshold, length, scale and task, e.g. a model's beta). Coordinator
 * and nodes compute it from the same message (DESIGN.md §7.2 step 1: keys "bound to round id and a
 * hash of the query").
 */
export function roundQueryHash(queryHash: Uint8Array, begin: pb.SecAggBegin): Uint8Array {
  return blake2b(frame('fedlab/v1/secagg-round', queryHash, pb.SecAggBegin.encode(begin).finish()), 32);
}
