import { FedlabError } from '@fedlab/model';
import { emptyRootHash, isMerkleHash, leafHash, nodeHash } from './merkle-hash';
import type { MerkleHashStore } from './merkle-hash-store';

/**
 * An append-only RFC 6962 Merkle tree (SHA-256) over a {@link MerkleHashStore}. Roots and proofs for the
 * current or any earlier size are assembled from O(log n) stored complete-subtree hashes, never by rehashing
 * the leaves.
 */
export class MerkleTree {
  constructor(private readonly store: MerkleHashStore) {}

  /** Number of leaves. */
  get size(): number {
    return this.store.size();
  }

  /** Appends an entry (hashed with {@link leafHash}) and returns its leaf index. */
  append(data: Uint8Array): number {
    return this.appendLeafHash(leafHash(data));
  }

  /** Appends a precomputed leaf hash and returns its leaf index. Throws INVALID_ARGUMENT unless 32 bytes. */
  appendLeafHash(hash: Uint8Array): number {
    if (!isMerkleHash(hash)) throw new FedlabError('INVALID_ARGUMENT', 'a leaf hash must be 32 bytes');
    const index = this.size;
    this.store.appendLeafHashes([hash]);
    return index;
  }

  /** MTH of the first `size` leaves (RFC 6962 §2.1). Throws INVALID_ARGUMENT unless 0 ≤ size ≤ this.size. */
  rootHash(size: number = this.size): Uint8Array {
    this.#assertOrdered(`tree size must be an integer from 0 to ${this.size}`, size);
    return size === 0 ? emptyRootHash() : this.#rangeHash(0, size);
  }

  /**
   * PATH(index, D[size]) (RFC 6962 §2.1.1): the audit path of leaf `index` in the tree of the first `size`
   * leaves, from the leaf's sibling up. Throws INVALID_ARGUMENT unless 0 ≤ index < size ≤ this.size.
   */
  inclusionProof(index: number, size: number): Uint8Array[] {
    this.#assertOrdered(`an inclusion proof needs integers 0 ≤ index < size ≤ ${this.size}`, index, index + 1, size);
    const proof: Uint8Array[] = [];
    let start = 0;
    let count = size;
    while (count > 1) {
      const k = largestPowerOfTwoBelow(count);
      if (index - start < k) {
        proof.push(this.#rangeHash(start + k, count - k));
        count = k;
      } else {
        proof.push(this.#rangeHash(start, k));
        start += k;
        count -= k;
      }
    }
    // The recursion appends each sibling after the sub-path below it, so the top-level sibling comes last.
    return proof.reverse();
  }

  /**
   * PROOF(oldSize, D[newSize]) (RFC 6962 §2.1.2): proves the tree of the first `oldSize` leaves is a prefix of
   * the tree of the first `newSize`. Empty when oldSize is 0 or equals newSize (both trivially consistent).
   * Throws INVALID_ARGUMENT unless 0 ≤ oldSize ≤ newSize ≤ this.size.
   */
  consistencyProof(oldSize: number, newSize: number): Uint8Array[] {
    this.#assertOrdered(`a consistency proof needs integers 0 ≤ oldSize ≤ newSize ≤ ${this.size}`, oldSize, newSize);
    if (oldSize === 0) return [];
    const proof: Uint8Array[] = [];
    let start = 0;
    let count = newSize;
    let m = oldSize;
    // SUBPROOF(m, D[count], complete): `complete` stays true while D[m] is the left edge of the whole tree.
    let complete = true;
    while (m !== count) {
      const k = largestPowerOfTwoBelow(count);
      if (m <= k) {
        proof.push(this.#rangeHash(start + k, count - k));
        count = k;
      } else {
        proof.push(this.#rangeHash(start, k));
        start += k;
        count -= k;
        m -= k;
        complete = false;
      }
    }
    if (!complete) proof.push(this.#rangeHash(start, count));
    return proof.reverse();
  }

  /** Throws INVALID_ARGUMENT with `message` unless 0 ≤ values[0] ≤ values[1] ≤ … ≤ this.size, all integers. */
  #assertOrdered(message: string, ...values: number[]): void {
    const bounds = [0, ...values, this.size];
    if (!values.every(Number.isSafeInteger) || bounds.some((value, i) => i > 0 && value < bounds[i - 1]!)) {
      throw new FedlabError('INVALID_ARGUMENT', message);
    }
  }

  /**
   * MTH(D[start : start+count]) for count ≥ 1 and `start` a multiple of the largest power of two ≤ count, which
   * holds for every range the RFC 6962 recursion visits. Splitting off the largest power of two < n (§2.1)
   * cuts such a range into complete subtrees of strictly decreasing size, hashed together from the right.
   */
  #rangeHash(start: number, count: number): Uint8Array {
    const subtrees: Uint8Array[] = [];
    let offset = start;
    for (let level = highestLevel(count); offset < start + count; level--) {
      const width = 2 ** level;
      if (offset + width <= start + count) {
        subtrees.push(this.store.subtreeHash(level, offset / width));
        offset += width;
      }
    }
    return subtrees.reduceRight((right, left) => nodeHash(left, right));
  }
}

/** The k of RFC 6962 §2.1: the largest power of two strictly smaller than n (n ≥ 2). */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The largest level such that 2^level ≤ n (n ≥ 1). */
function highestLevel(n: number): number {
  let level = 0;
  while (2 ** (level + 1) <= n) level += 1;
  return level;
}
