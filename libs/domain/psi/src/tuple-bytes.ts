import { FedlabError } from '@fedlab/model';
import { POINT_BYTES } from './psi-engine';

/** Reorders `count` fixed-size records of a flat byte array: record i of the result is record perm[i]. */
export function permuteRecords(flat: Uint8Array, count: number, perm: Uint32Array): Uint8Array {
  if (count === 0) return new Uint8Array(0);
  const size = flat.length / count;
  const out = new Uint8Array(flat.length);
  for (let i = 0; i < count; i += 1) out.set(flat.subarray(perm[i]! * size, (perm[i]! + 1) * size), i * size);
  return out;
}

/**
 * The elements of `count` tuples of `width` elements as strings (one per element, tuple by tuple),
 * for matching by equality. Latin-1 maps each byte to one character, so equal strings are equal bytes.
 */
export function tupleKeys(flat: Uint8Array, count: number, width: number): string[][] {
  const keys: string[][] = new Array(count);
  const buffer = Buffer.from(flat.buffer, flat.byteOffset, flat.byteLength);
  for (let i = 0; i < count; i += 1) {
    const tuple: string[] = new Array(width);
    for (let p = 0; p < width; p += 1) {
      const start = (i * width + p) * POINT_BYTES;
      tuple[p] = buffer.toString('latin1', start, start + POINT_BYTES);
    }
    keys[i] = tuple;
  }
  return keys;
}

/** Refuses (TUPLE_WIDTH_MISMATCH) a tuple list whose byte length is not `count × width` elements. */
export function checkTupleBytes(what: string, flat: Uint8Array, count: number, width: number): void {
  if (!Number.isSafeInteger(count) || count < 0 || flat.length !== count * width * POINT_BYTES) {
    throw new FedlabError(
      'TUPLE_WIDTH_MISMATCH',
      `psi: ${what} has ${flat.length} bytes; ${count} tuples of ${width} elements need ${count * width * POINT_BYTES}`,
    );
  }
}
