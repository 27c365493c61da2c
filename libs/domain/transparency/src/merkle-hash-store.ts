import { FedlabError } from '@fedlab/model';
import { isMerkleHash, nodeHash } from './merkle-hash';

/**
 * Where a {@link MerkleTree} keeps its hashes: the leaf hashes and the hash of every complete subtree.
 * Level 0 holds the leaf hashes; the node at (level, index) covers leaves [index·2^level, (index+1)·2^level).
 */
export interface MerkleHashStore {
  /** Number of leaves. */
  size(): number;
  /** Appends leaf hashes (32 bytes each) in order, with every complete subtree they close; all or none. */
  appendLeafHashes(hashes: Uint8Array[]): void;
  /** Hash of the complete subtree covering leaves [index·2^level, (index+1)·2^level). */
  subtreeHash(level: number, index: number): Uint8Array;
}

/**
 * Throws INVALID_ARGUMENT unless every hash is 32 bytes. Stores call it before writing anything, so a bad
 * batch leaves the store unchanged.
 */
export function assertLeafHashes(hashes: Uint8Array[]): void {
  if (!hashes.every(isMerkleHash)) throw new FedlabError('INVALID_ARGUMENT', 'a leaf hash must be 32 bytes');
}

/**
 * Throws INVALID_ARGUMENT unless (level, index) names a complete subtree of a tree with `size` leaves.
 */
export function assertCompleteSubtree(level: number, index: number, size: number): void {
  if (!Number.isSafeInteger(level) || !Number.isSafeInteger(index) || level < 0 || index < 0 || (index + 1) * 2 ** level > size) {
    throw new FedlabError('INVALID_ARGUMENT', `no complete subtree at level ${level}, index ${index} in a tree of size ${size}`);
  }
}

/**
 * Calls `visit(level, index, hash)` for the leaf appended at `leafIndex` and for every complete subtree it
 * closes, bottom-up; `stored(level, index)` returns an existing subtree hash. A leaf closes one subtree per
 * trailing 1 bit of its index, so appends cost amortised O(1) hashes.
 */
export function closeSubtrees(
  leafIndex: number,
  hash: Uint8Array,
  stored: (level: number, index: number) => Uint8Array,
  visit: (level: number, index: number, hash: Uint8Array) => void,
): void {
  let level = 0;
  let index = leafIndex;
  let node = hash;
  visit(level, index, node);
  while (index % 2 === 1) {
    node = nodeHash(stored(level, index - 1), node);
    level += 1;
    index = (index - 1) / 2;
    visit(level, index, node);
  }
}

/** A {@link MerkleHashStore} in memory: one array of hashes per level. */
export class MemoryMerkleStore implements MerkleHashStore {
  readonly #levels: Uint8Array[][] = [[]];

  size(): number {
    return this.#levels[0]!.length;
  }

  appendLeafHashes(hashes: Uint8Array[]): void {
    assertLeafHashes(hashes);
    for (const hash of hashes) {
      closeSubtrees(
        this.size(),
        Uint8Array.from(hash),
        (level, index) => this.#levels[level]![index]!,
        (level, _index, node) => (this.#levels[level] ??= []).push(node),
      );
    }
  }

  subtreeHash(level: number, index: number): Uint8Array {
    assertCompleteSubtree(level, index, this.size());
    return this.#levels[level]![index]!;
  }
}
