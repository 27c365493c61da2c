import { createHash } from 'node:crypto';

/** Length in bytes of every hash in the log (SHA-256). */
export const MERKLE_HASH_BYTES = 32;

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

function sha256(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

/** The hash of one log entry: SHA-256(0x00 ‖ data) (RFC 6962 §2.1). */
export function leafHash(data: Uint8Array): Uint8Array {
  return sha256(LEAF_PREFIX, data);
}

/** The hash of an interior node: SHA-256(0x01 ‖ left ‖ right) (RFC 6962 §2.1). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE_PREFIX, left, right);
}

/** The root hash of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1). */
export function emptyRootHash(): Uint8Array {
  return sha256();
}

/** Returns true when `value` is a Uint8Array of exactly {@link MERKLE_HASH_BYTES} bytes. */
export function isMerkleHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === MERKLE_HASH_BYTES;
}

/** Constant-shape byte comparison of two hashes. */
export function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}
