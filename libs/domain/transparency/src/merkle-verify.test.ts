import { describe, expect, it } from 'vitest';
import { MemoryMerkleStore, MerkleTree, emptyRootHash, leafHash, verifyConsistency, verifyInclusion } from './index';

function treeOfSize(n: number): MerkleTree {
  const tree = new MerkleTree(new MemoryMerkleStore());
  for (let i = 0; i < n; i++) tree.append(Uint8Array.of(i));
  return tree;
}

const tree = treeOfSize(7);
const root = tree.rootHash();
const leaf3 = leafHash(Uint8Array.of(3));
const proof3 = tree.inclusionProof(3, 7);
const [root3, root7] = [tree.rootHash(3), tree.rootHash(7)];
const proof37 = tree.consistencyProof(3, 7);

describe('verifyInclusion', () => {
  it('accepts a single-leaf tree whose root is the leaf hash, with an empty proof', () => {
    expect(verifyInclusion(leafHash(Uint8Array.of(0)), 0, 1, [], tree.rootHash(1))).toBe(true);
  });

  it('returns false instead of throwing for malformed input', () => {
    const malformed: Array<Parameters<typeof verifyInclusion>> = [
      [leaf3, -1, 7, proof3, root],
      [leaf3, 3, 0, proof3, root],
      [leaf3, 3.5, 7, proof3, root],
      [leaf3, Number.NaN, 7, proof3, root],
      [leaf3, 3, 2 ** 53, proof3, root],
      [leaf3.subarray(1), 3, 7, proof3, root],
      [leaf3, 3, 7, proof3, root.subarray(0, 31)],
      [leaf3, 3, 7, [...proof3.slice(0, 2), new Uint8Array(33)], root],
      [leaf3, 3, 7, null as unknown as Uint8Array[], root],
      [leaf3, 3, 7, ['00'] as unknown as Uint8Array[], root],
      [undefined as unknown as Uint8Array, 3, 7, proof3, root],
    ];
    for (const args of malformed) expect(verifyInclusion(...args)).toBe(false);
    expect(verifyInclusion(leaf3, 3, 7, proof3, root)).toBe(true);
  });

  it('handles indices and sizes beyond 32 bits without wrapping', () => {
    expect(verifyInclusion(leaf3, 2 ** 32 + 3, 2 ** 32 + 7, proof3, root)).toBe(false);
    expect(verifyInclusion(leaf3, 3, 2 ** 40, proof3, root)).toBe(false);
  });
});

describe('verifyConsistency', () => {
  it('accepts equal sizes only with an empty proof and equal roots', () => {
    expect(verifyConsistency(7, 7, root7, root7, [])).toBe(true);
    expect(verifyConsistency(7, 7, root7, root3, [])).toBe(false);
    expect(verifyConsistency(7, 7, root7, root7, [root7])).toBe(false);
  });

  it('accepts size 0 only with an empty proof and the empty-tree root', () => {
    expect(verifyConsistency(0, 7, emptyRootHash(), root7, [])).toBe(true);
    expect(verifyConsistency(0, 0, emptyRootHash(), emptyRootHash(), [])).toBe(true);
    expect(verifyConsistency(0, 7, emptyRootHash(), root7, [root7])).toBe(false);
    expect(verifyConsistency(0, 7, root3, root7, [])).toBe(false);
    expect(verifyConsistency(0, 0, emptyRootHash(), root7, [])).toBe(false);
  });

  it('rejects a rewritten log: a new tree that does not extend the old one', () => {
    const rewritten = treeOfSize(3);
    for (let i = 3; i < 7; i++) rewritten.append(Uint8Array.of(100 + i));
    rewritten.append(Uint8Array.of(0));
    const forked = new MerkleTree(new MemoryMerkleStore());
    for (const value of [0, 1, 9, 3, 4, 5, 6]) forked.append(Uint8Array.of(value));
    expect(verifyConsistency(3, 7, root3, forked.rootHash(), forked.consistencyProof(3, 7))).toBe(false);
    expect(verifyConsistency(3, 8, root3, rewritten.rootHash(), rewritten.consistencyProof(3, 8))).toBe(true);
  });

  it('returns false instead of throwing for malformed input', () => {
    const malformed: Array<Parameters<typeof verifyConsistency>> = [
      [7, 3, root7, root3, proof37],
      [-1, 7, root3, root7, proof37],
      [3, 7.5, root3, root7, proof37],
      [3, Number.POSITIVE_INFINITY, root3, root7, proof37],
      [3, 7, root3.subarray(1), root7, proof37],
      [3, 7, root3, new Uint8Array(0), proof37],
      [3, 7, root3, root7, [...proof37, new Uint8Array(31)]],
      [3, 7, root3, root7, undefined as unknown as Uint8Array[]],
      [3, 7, root3, root7, [{}] as unknown as Uint8Array[]],
    ];
    for (const args of malformed) expect(verifyConsistency(...args)).toBe(false);
    expect(verifyConsistency(3, 7, root3, root7, proof37)).toBe(true);
  });
});
