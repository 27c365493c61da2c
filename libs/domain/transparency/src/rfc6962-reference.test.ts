import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryMerkleStore, MerkleTree, emptyRootHash, leafHash, verifyConsistency, verifyInclusion } from './index';

interface InclusionCase {
  index: number;
  size: number;
  proof: string[];
}
interface ConsistencyCase {
  oldSize: number;
  newSize: number;
  proof: string[];
}
interface LeafSet {
  name: string;
  leaves: string[];
  roots: string[];
  inclusionProofs: InclusionCase[];
  consistencyProofs: ConsistencyCase[];
}
interface Reference {
  published: { roots: string[]; inclusionProofs: InclusionCase[]; consistencyProofs: ConsistencyCase[] };
  sets: LeafSet[];
}

/** Written by scripts/rfc6962-reference.py, an independent recursive implementation of RFC 6962 §2.1. */
const reference = JSON.parse(readFileSync(path.resolve(__dirname, '../../../../test/fixtures/rfc6962/reference.json'), 'utf8')) as Reference;

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const unhex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));
const flipBit = (proof: Uint8Array[], element: number, bit: number) =>
  proof.map((hash, i) => (i === element ? hash.map((byte, j) => (j === bit >> 3 ? byte ^ (1 << (bit & 7)) : byte)) : hash));

function treeOf(leaves: string[]): MerkleTree {
  const tree = new MerkleTree(new MemoryMerkleStore());
  for (const leaf of leaves) tree.append(unhex(leaf));
  return tree;
}

describe('RFC 6962 reference fixture', () => {
  it('holds the two leaf sets the script documents', () => {
    expect(reference.sets.map((set) => [set.name, set.leaves.length])).toEqual([
      ['ct-test-leaves', 8],
      ['leaf-i', 33],
    ]);
    expect(reference.sets[1]!.leaves[32]).toBe(hex(new TextEncoder().encode('leaf-32')));
  });
});

describe('MerkleTree against the published CT test vectors', () => {
  const tree = treeOf(reference.sets[0]!.leaves);

  it('reproduces the published root for every size 0..8', () => {
    expect(reference.published.roots[8]).toBe('5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328');
    expect(Array.from({ length: 9 }, (_, size) => hex(tree.rootHash(size)))).toEqual(reference.published.roots);
  });

  it('reproduces the published inclusion and consistency proofs', () => {
    for (const { index, size, proof } of reference.published.inclusionProofs) {
      expect(tree.inclusionProof(index, size).map(hex)).toEqual(proof);
    }
    for (const { oldSize, newSize, proof } of reference.published.consistencyProofs) {
      expect(tree.consistencyProof(oldSize, newSize).map(hex)).toEqual(proof);
    }
  });
});

describe.each(reference.sets)('MerkleTree against the Python reference for $name', (set) => {
  const tree = treeOf(set.leaves);
  const leafHashes = set.leaves.map((leaf) => leafHash(unhex(leaf)));
  const rootOf = (size: number) => unhex(set.roots[size]!);

  it('computes the root of every size 0..n byte for byte', () => {
    expect(hex(emptyRootHash())).toBe(set.roots[0]);
    expect(set.roots.map((_, size) => hex(tree.rootHash(size)))).toEqual(set.roots);
  });

  it('computes every inclusion proof byte for byte', () => {
    for (const { index, size, proof } of set.inclusionProofs) {
      expect(tree.inclusionProof(index, size).map(hex), `index ${index}, size ${size}`).toEqual(proof);
    }
  });

  it('computes every consistency proof byte for byte', () => {
    for (const { oldSize, newSize, proof } of set.consistencyProofs) {
      expect(tree.consistencyProof(oldSize, newSize).map(hex), `${oldSize} → ${newSize}`).toEqual(proof);
    }
  });

  it('verifyInclusion accepts every reference proof', () => {
    for (const { index, size, proof } of set.inclusionProofs) {
      expect(verifyInclusion(leafHashes[index]!, index, size, proof.map(unhex), rootOf(size))).toBe(true);
    }
  });

  it('verifyInclusion rejects each reference proof with any one bit flipped', () => {
    for (const { index, size, proof } of set.inclusionProofs) {
      const hashes = proof.map(unhex);
      for (let element = 0; element < hashes.length; element++) {
        for (const bit of [0, 7, 100, 255]) {
          expect(verifyInclusion(leafHashes[index]!, index, size, flipBit(hashes, element, bit), rootOf(size))).toBe(false);
        }
      }
    }
  });

  it('verifyInclusion rejects the proof of another index, another size, a truncated or extended proof', () => {
    const proofs = new Map(set.inclusionProofs.map((c) => [`${c.index}/${c.size}`, c.proof.map(unhex)]));
    for (const { index, size, proof } of set.inclusionProofs) {
      const hashes = proof.map(unhex);
      const leaf = leafHashes[index]!;
      const root = rootOf(size);
      if (size > 1) {
        const other = (index + 1) % size;
        expect(verifyInclusion(leaf, index, size, proofs.get(`${other}/${size}`)!, root)).toBe(false);
        expect(verifyInclusion(leaf, other, size, hashes, root)).toBe(false);
        expect(verifyInclusion(leaf, index, size, hashes.slice(0, -1), root)).toBe(false);
      }
      if (size < set.leaves.length) {
        expect(verifyInclusion(leaf, index, size + 1, proofs.get(`${index}/${size + 1}`)!, root)).toBe(false);
        expect(verifyInclusion(leaf, index, size, proofs.get(`${index}/${size + 1}`)!, root)).toBe(false);
      }
      expect(verifyInclusion(leaf, index, size, [...hashes, root], root)).toBe(false);
      expect(verifyInclusion(leaf, index, size, [root, ...hashes], root)).toBe(false);
    }
  });

  it('verifyInclusion rejects a different root, a different leaf, and index ≥ size', () => {
    for (const { index, size, proof } of set.inclusionProofs) {
      const hashes = proof.map(unhex);
      const leaf = leafHashes[index]!;
      expect(verifyInclusion(leaf, index, size, hashes, rootOf(size - 1))).toBe(false);
      expect(verifyInclusion(leafHash(new TextEncoder().encode('not in the log')), index, size, hashes, rootOf(size))).toBe(false);
      expect(verifyInclusion(leaf, size, size, hashes, rootOf(size))).toBe(false);
      expect(verifyInclusion(leaf, size + index, size, hashes, rootOf(size))).toBe(false);
    }
  });

  it('verifyConsistency accepts every reference proof', () => {
    for (const { oldSize, newSize, proof } of set.consistencyProofs) {
      expect(verifyConsistency(oldSize, newSize, rootOf(oldSize), rootOf(newSize), proof.map(unhex))).toBe(true);
    }
  });

  it('verifyConsistency rejects each reference proof with any one bit flipped', () => {
    for (const { oldSize, newSize, proof } of set.consistencyProofs) {
      const hashes = proof.map(unhex);
      for (let element = 0; element < hashes.length; element++) {
        for (const bit of [0, 7, 100, 255]) {
          const tampered = flipBit(hashes, element, bit);
          expect(verifyConsistency(oldSize, newSize, rootOf(oldSize), rootOf(newSize), tampered)).toBe(false);
        }
      }
    }
  });

  it('verifyConsistency rejects truncated and extended proofs, other roots and swapped sizes', () => {
    for (const { oldSize, newSize, proof } of set.consistencyProofs) {
      const hashes = proof.map(unhex);
      const [oldRoot, newRoot] = [rootOf(oldSize), rootOf(newSize)];
      expect(verifyConsistency(oldSize, newSize, oldRoot, newRoot, [...hashes, newRoot])).toBe(false);
      expect(verifyConsistency(oldSize, newSize, oldRoot, newRoot, [oldRoot, ...hashes])).toBe(false);
      if (oldSize === newSize) continue;
      expect(verifyConsistency(oldSize, newSize, oldRoot, newRoot, hashes.slice(0, -1))).toBe(false);
      expect(verifyConsistency(oldSize, newSize, oldRoot, newRoot, [])).toBe(false);
      expect(verifyConsistency(oldSize, newSize, rootOf(oldSize - 1), newRoot, hashes)).toBe(false);
      expect(verifyConsistency(oldSize, newSize, oldRoot, rootOf(newSize - 1), hashes)).toBe(false);
      expect(verifyConsistency(oldSize, newSize, newRoot, oldRoot, hashes)).toBe(false);
      expect(verifyConsistency(newSize, oldSize, oldRoot, newRoot, hashes)).toBe(false);
      expect(verifyConsistency(newSize, oldSize, newRoot, oldRoot, hashes)).toBe(false);
      expect(verifyConsistency(oldSize, newSize - 1, oldRoot, rootOf(newSize - 1), hashes)).toBe(false);
      if (oldSize > 1) expect(verifyConsistency(oldSize - 1, newSize, rootOf(oldSize - 1), newRoot, hashes)).toBe(false);
    }
  });
});
