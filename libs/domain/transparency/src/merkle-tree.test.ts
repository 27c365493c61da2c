import { describe, expect, it } from 'vitest';
import { MemoryMerkleStore, MerkleTree, emptyRootHash, leafHash, nodeHash, verifyConsistency } from './index';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const bytes = (text: string) => new TextEncoder().encode(text);

function treeOfSize(n: number): MerkleTree {
  const tree = new MerkleTree(new MemoryMerkleStore());
  for (let i = 0; i < n; i++) tree.append(bytes(`leaf-${i}`));
  return tree;
}

describe('hashes', () => {
  it('prefixes leaves with 0x00 and interior nodes with 0x01, and hashes the empty tree as SHA-256("")', () => {
    expect(hex(emptyRootHash())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(leafHash(new Uint8Array()))).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
    expect(hex(nodeHash(leafHash(new Uint8Array()), leafHash(Uint8Array.of(0))))).toBe('fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125');
  });
});

describe('MemoryMerkleStore', () => {
  it('keeps every complete subtree hash and nothing else', () => {
    const store = new MemoryMerkleStore();
    const leaves = Array.from({ length: 5 }, (_, i) => leafHash(Uint8Array.of(i)));
    store.appendLeafHashes(leaves);
    expect(store.size()).toBe(5);
    expect(store.subtreeHash(0, 4)).toEqual(leaves[4]);
    expect(store.subtreeHash(1, 1)).toEqual(nodeHash(leaves[2]!, leaves[3]!));
    expect(store.subtreeHash(2, 0)).toEqual(nodeHash(nodeHash(leaves[0]!, leaves[1]!), nodeHash(leaves[2]!, leaves[3]!)));
    expect(() => store.subtreeHash(1, 2)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'no complete subtree at level 1, index 2 in a tree of size 5' }),
    );
    expect(() => store.subtreeHash(0, -1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('refuses a batch containing a hash that is not 32 bytes and appends none of it', () => {
    const store = new MemoryMerkleStore();
    expect(() => store.appendLeafHashes([leafHash(Uint8Array.of(1)), new Uint8Array(31)])).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'a leaf hash must be 32 bytes' }),
    );
    expect(store.size()).toBe(0);
  });
});

describe('MerkleTree', () => {
  it('returns the index of each appended entry and grows by one', () => {
    const tree = new MerkleTree(new MemoryMerkleStore());
    expect(tree.size).toBe(0);
    expect(tree.append(bytes('a'))).toBe(0);
    expect(tree.appendLeafHash(leafHash(bytes('b')))).toBe(1);
    expect(tree.size).toBe(2);
    expect(tree.rootHash()).toEqual(nodeHash(leafHash(bytes('a')), leafHash(bytes('b'))));
  });

  it('keeps the roots of earlier sizes after later appends', () => {
    const tree = treeOfSize(5);
    const roots = [0, 1, 2, 3, 4, 5].map((size) => tree.rootHash(size));
    for (let i = 5; i < 40; i++) tree.append(bytes(`leaf-${i}`));
    expect([0, 1, 2, 3, 4, 5].map((size) => tree.rootHash(size))).toEqual(roots);
  });

  it('proves consistency from the empty tree and between equal sizes with empty proofs', () => {
    const tree = treeOfSize(6);
    expect(tree.consistencyProof(0, 6)).toEqual([]);
    expect(tree.consistencyProof(0, 0)).toEqual([]);
    expect(tree.consistencyProof(6, 6)).toEqual([]);
    expect(verifyConsistency(0, 6, emptyRootHash(), tree.rootHash(), [])).toBe(true);
  });

  it('refuses a leaf hash that is not 32 bytes', () => {
    expect(() => treeOfSize(0).appendLeafHash(new Uint8Array(33))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'a leaf hash must be 32 bytes' }),
    );
  });

  it('refuses a root for a size it does not have', () => {
    const tree = treeOfSize(3);
    for (const size of [-1, 4, 1.5, Number.NaN]) {
      expect(() => tree.rootHash(size)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'tree size must be an integer from 0 to 3' }));
    }
  });

  it('refuses inclusion proofs unless 0 ≤ index < size ≤ tree size', () => {
    const tree = treeOfSize(3);
    for (const [index, size] of [
      [0, 0],
      [3, 3],
      [2, 1],
      [-1, 2],
      [0, 4],
      [0.5, 2],
    ] as const) {
      expect(() => tree.inclusionProof(index, size)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'an inclusion proof needs integers 0 ≤ index < size ≤ 3' }),
      );
    }
  });

  it('refuses consistency proofs unless 0 ≤ oldSize ≤ newSize ≤ tree size', () => {
    const tree = treeOfSize(3);
    for (const [oldSize, newSize] of [
      [2, 1],
      [-1, 2],
      [1, 4],
      [1, 2.5],
    ] as const) {
      expect(() => tree.consistencyProof(oldSize, newSize)).toThrow(
        expect.objectContaining({
          code: 'INVALID_ARGUMENT',
          message: 'a consistency proof needs integers 0 ≤ oldSize ≤ newSize ≤ 3',
        }),
      );
    }
  });
});
