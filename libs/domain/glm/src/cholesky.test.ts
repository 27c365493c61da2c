import { describe, expect, it } from 'vitest';
import { choleskyDecompose, choleskyInverse, choleskySolve, floorEigenvalues, packedIndex, packedLength } from './cholesky';

// A = [[4, 2, 2], [2, 5, 3], [2, 3, 6]] = LLᵀ with L = [[2, 0, 0], [1, 2, 0], [1, 1, 2]].
const A_PACKED = [4, 2, 2, 5, 3, 6];

function lowerOf(packed: number[], p: number): Float64Array {
  const outcome = choleskyDecompose(packed, p);
  if (!('lower' in outcome)) throw new Error(`singular at column ${outcome.singularColumn}`);
  return outcome.lower;
}

describe('packed upper triangle', () => {
  it('stores (0,0) … (0,p−1), (1,1) … row by row', () => {
    expect([packedIndex(0, 0, 3), packedIndex(0, 2, 3), packedIndex(1, 1, 3), packedIndex(2, 2, 3)]).toEqual([0, 2, 3, 5]);
    expect(packedLength(5)).toBe(15);
  });
});

describe('choleskyDecompose', () => {
  it('factors a positive definite matrix exactly', () => {
    expect(Array.from(lowerOf(A_PACKED, 3))).toEqual([2, 0, 0, 1, 2, 0, 1, 1, 2]);
  });

  it('reports the first column that is a linear combination of the earlier ones', () => {
    // Column 2 = column 0 + column 1 of X, so XᵀX = [[1, 0, 1], [0, 1, 1], [1, 1, 2]].
    expect(choleskyDecompose([1, 0, 1, 1, 1, 2], 3)).toEqual({ singularColumn: 2 });
  });

  it('reports a column of zeros', () => {
    expect(choleskyDecompose([3, 0, 0], 2)).toEqual({ singularColumn: 1 });
  });
});

describe('choleskySolve and choleskyInverse', () => {
  it('solves Ax = b', () => {
    // A·[1, −1, 2] = [6, 3, 11].
    expect(choleskySolve(lowerOf(A_PACKED, 3), 3, [6, 3, 11])).toEqual([1, -1, 2]);
  });

  it('inverts A', () => {
    const inverse = Array.from(choleskyInverse(lowerOf(A_PACKED, 3), 3));
    const expected = [21, -6, -4, -6, 20, -8, -4, -8, 16].map((value) => value / 64);
    inverse.forEach((value, i) => expect(value).toBeCloseTo(expected[i], 15));
  });
});

describe('floorEigenvalues', () => {
  // Q = I − 2vvᵀ/‖v‖² with v = (1, 2, 2): orthogonal and symmetric.
  const Q = [
    [7 / 9, -4 / 9, -4 / 9],
    [-4 / 9, 1 / 9, -8 / 9],
    [-4 / 9, -8 / 9, 1 / 9],
  ];
  /** Q·diag(values)·Qᵀ, packed. */
  const withEigenvalues = (values: number[]) => {
    const out: number[] = [];
    for (let i = 0; i < 3; i++) for (let j = i; j < 3; j++) out.push(values.reduce((s, v, k) => s + Q[i]![k]! * v * Q[j]![k]!, 0));
    return out;
  };

  it('raises the eigenvalues below the floor to it and keeps the eigenvectors and the other eigenvalues', () => {
    const floored = floorEigenvalues(withEigenvalues([10, 1, -2]), 3, 3);
    withEigenvalues([10, 3, 3]).forEach((v, k) => expect(floored[k]).toBeCloseTo(v, 12));
    // The result is positive definite: its Cholesky factor exists.
    expect('lower' in choleskyDecompose(floored, 3)).toBe(true);
  });

  it('returns the matrix itself when every eigenvalue is at or above the floor', () => {
    expect(floorEigenvalues(A_PACKED, 3, 1)).toEqual(A_PACKED);
    // diag(2, 2, 5, 3): the floor may equal the smallest eigenvalue.
    expect(floorEigenvalues([2, 0, 0, 0, 2, 0, 0, 5, 0, 3], 4, 2)).toEqual([2, 0, 0, 0, 2, 0, 0, 5, 0, 3]);
  });
});
