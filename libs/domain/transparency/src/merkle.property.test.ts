import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryMerkleStore, MerkleTree, emptyRootHash, leafHash, nodeHash, verifyConsistency, verifyInclusion, type MerkleHashStore } from './index';

const MAX_SIZE = 300;
const leafHashes = Array.from({ length: MAX_SIZE }, (_, i) => leafHash(new TextEncoder().encode(`entry ${i}`)));
const tree = new MerkleTree(new MemoryMerkleStore());
for (const hash of leafHashes) tree.appendLeafHash(hash);

/** MTH straight from RFC 6962 §2.1, rehashing every leaf. */
function naiveRoot(hashes: Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return emptyRootHash();
  if (hashes.length === 1) return hashes[0]!;
  let k = 1;
  while (k * 2 < hashes.length) k *= 2;
  return nodeHash(naiveRoot(hashes.slice(0, k)), naiveRoot(hashes.slice(k)));
}

const sizes = fc.integer({ min: 1, max: MAX_SIZE });
const inclusionCases = sizes.chain((size) => fc.record({ size: fc.constant(size), index: fc.nat(size - 1) }));
const consistencyCases = fc
  .tuple(fc.integer({ min: 0, max: MAX_SIZE }), fc.integer({ min: 0, max: MAX_SIZE }))
  .map(([a, b]) => ({ oldSize: Math.min(a, b), newSize: Math.max(a, b) }));
/** Which element of a proof to tamper with and which of its 256 bits to flip. */
const tamper = fc.record({ element: fc.nat(), bit: fc.nat(255) });

function flip(proof: Uint8Array[], { element, bit }: { element: number; bit: number }): Uint8Array[] {
  const target = element % proof.length;
  return proof.map((hash, i) => {
    if (i !== target) return hash;
    const copy = Uint8Array.from(hash);
    copy[bit >> 3]! ^= 1 << (bit & 7);
    return copy;
  });
}

describe('Merkle proofs (property)', () => {
  it('roots equal the naive recursive MTH of the same leaves', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_SIZE }), (size) => {
        expect(tree.rootHash(size)).toEqual(naiveRoot(leafHashes.slice(0, size)));
      }),
    );
  });

  it('every generated inclusion proof verifies and a tampered one does not', () => {
    fc.assert(
      fc.property(inclusionCases, tamper, ({ index, size }, change) => {
        const proof = tree.inclusionProof(index, size);
        const root = tree.rootHash(size);
        expect(verifyInclusion(leafHashes[index]!, index, size, proof, root)).toBe(true);
        if (proof.length > 0) expect(verifyInclusion(leafHashes[index]!, index, size, flip(proof, change), root)).toBe(false);
        expect(verifyInclusion(leafHashes[(index + 1) % MAX_SIZE]!, index, size, proof, root)).toBe(false);
        if (size < MAX_SIZE) {
          expect(verifyInclusion(leafHashes[index]!, index, size + 1, proof, tree.rootHash(size + 1))).toBe(false);
        }
      }),
    );
  });

  it('every generated consistency proof verifies and a tampered one does not', () => {
    fc.assert(
      fc.property(consistencyCases, tamper, ({ oldSize, newSize }, change) => {
        const proof = tree.consistencyProof(oldSize, newSize);
        const [oldRoot, newRoot] = [tree.rootHash(oldSize), tree.rootHash(newSize)];
        expect(verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof)).toBe(true);
        if (proof.length > 0) expect(verifyConsistency(oldSize, newSize, oldRoot, newRoot, flip(proof, change))).toBe(false);
        if (oldSize < newSize) expect(verifyConsistency(newSize, oldSize, newRoot, oldRoot, proof)).toBe(false);
        if (oldSize > 0 && oldSize < newSize) {
          expect(verifyConsistency(oldSize, newSize, tree.rootHash(oldSize - 1), newRoot, proof)).toBe(false);
        }
      }),
    );
  });

  it('reads O(log n) stored hashes for a root and two proofs of a 70,001-leaf tree, not every leaf', () => {
    let reads = 0;
    const store = new MemoryMerkleStore();
    const counting: MerkleHashStore = {
      size: () => store.size(),
      appendLeafHashes: (hashes) => store.appendLeafHashes(hashes),
      subtreeHash: (level, index) => (reads++, store.subtreeHash(level, index)),
    };
    const big = new MerkleTree(counting);
    store.appendLeafHashes(Array.from({ length: 70_001 }, (_, i) => leafHash(Uint8Array.of(i & 255, i >> 8, i >> 16))));
    big.rootHash();
    big.inclusionProof(12_345, 70_001);
    big.consistencyProof(33_333, 70_001);
    // log2(70,001) ≈ 16: each proof element is one complete subtree except along the tree's right edge.
    expect(reads).toBeLessThan(3 * 2 * 17);
  });
});
