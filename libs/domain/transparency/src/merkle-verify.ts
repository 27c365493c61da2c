import { emptyRootHash, equalHashes, isMerkleHash, nodeHash } from './merkle-hash';

/**
 * Verifies that `leafHash` is leaf `index` of the tree of `size` leaves with root `root`, given its audit path
 * (RFC 9162 §2.1.3.2). Returns false, never throws, for any malformed input: index ≥ size, non-integer
 * sizes, hashes that are not 32 bytes, or a path that is too short or too long. A path can have the same
 * shape in trees of different sizes, so `size` and `root` must come from the same verified tree head.
 */
export function verifyInclusion(leafHash: Uint8Array, index: number, size: number, proof: Uint8Array[], root: Uint8Array): boolean {
  if (!isTreeSize(index) || !isTreeSize(size) || index >= size) return false;
  if (!isMerkleHash(leafHash) || !isMerkleHash(root) || !isProof(proof)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      // A right-edge node with no sibling at these levels: climb until it is a right child again.
      while (!isOdd(fn) && fn !== 0) [fn, sn] = [half(fn), half(sn)];
    } else {
      r = nodeHash(r, p);
    }
    [fn, sn] = [half(fn), half(sn)];
  }
  return sn === 0 && equalHashes(r, root);
}

/**
 * Verifies that the tree of `newSize` leaves with root `newRoot` extends the tree of `oldSize` leaves with root
 * `oldRoot` (RFC 9162 §2.1.4.2). Special cases: equal sizes need an empty proof and equal roots; oldSize 0 is
 * trivially consistent with any later tree, given an empty proof and the empty-tree root SHA-256("") as
 * `oldRoot`. Returns false, never throws, for any malformed input, including sizes out of order.
 */
export function verifyConsistency(oldSize: number, newSize: number, oldRoot: Uint8Array, newRoot: Uint8Array, proof: Uint8Array[]): boolean {
  if (!isTreeSize(oldSize) || !isTreeSize(newSize) || oldSize > newSize) return false;
  if (!isMerkleHash(oldRoot) || !isMerkleHash(newRoot) || !isProof(proof)) return false;
  if (oldSize === 0) {
    return proof.length === 0 && equalHashes(oldRoot, emptyRootHash()) && (newSize > 0 || equalHashes(newRoot, oldRoot));
  }
  if (oldSize === newSize) return proof.length === 0 && equalHashes(oldRoot, newRoot);
  if (proof.length === 0) return false;
  // PROOF omits MTH(D[m]) when the old tree is a complete subtree of the new one (RFC 6962 §2.1.2).
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : proof;
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (isOdd(fn)) [fn, sn] = [half(fn), half(sn)];
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!isOdd(fn) && fn !== 0) [fn, sn] = [half(fn), half(sn)];
    } else {
      sr = nodeHash(sr, c);
    }
    [fn, sn] = [half(fn), half(sn)];
  }
  return sn === 0 && equalHashes(fr, oldRoot) && equalHashes(sr, newRoot);
}

function isTreeSize(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function isProof(proof: unknown): proof is Uint8Array[] {
  return Array.isArray(proof) && proof.every(isMerkleHash);
}

// Sizes go up to 2^53, beyond the 32-bit bitwise operators, so halving and parity use arithmetic.
function half(n: number): number {
  return Math.floor(n / 2);
}

function isOdd(n: number): boolean {
  return n % 2 === 1;
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}
