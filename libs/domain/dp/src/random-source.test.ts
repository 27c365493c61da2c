import { describe, expect, it } from 'vitest';
import { chiSquareCriticalValue } from './chi-square';
import { createCryptoRandomSource } from './random-source';

const SIGNIFICANCE = 1e-6;

/** Chi-square statistic of `draws` below `n` in `bins` bins ⌊x·bins/n⌋, with exact bin sizes. */
function chiSquareOfBins(draws: bigint[], n: bigint, bins: number): number {
  const observed = new Array<number>(bins).fill(0);
  for (const x of draws) observed[Number((x * BigInt(bins)) / n)]! += 1;
  // Bin j holds the integers x with j·n ≤ x·bins < (j+1)·n: ⌈(j+1)n/bins⌉ − ⌈jn/bins⌉ of them.
  const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b;
  return observed.reduce((sum, o, j) => {
    const size = ceilDiv(BigInt(j + 1) * n, BigInt(bins)) - ceilDiv(BigInt(j) * n, BigInt(bins));
    const expected = (Number(size) / Number(n)) * draws.length;
    return sum + (o - expected) ** 2 / expected;
  }, 0);
}

describe('createCryptoRandomSource().uniformBelow', () => {
  const rng = createCryptoRandomSource();
  const draw = (n: bigint, count: number) => Array.from({ length: count }, () => rng.uniformBelow(n));

  it('always returns 0 below 1', () => {
    expect(new Set(draw(1n, 100))).toEqual(new Set([0n]));
  });

  it('returns every value of [0, 7) and nothing else', () => {
    expect([...new Set(draw(7n, 10_000))].sort()).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n]);
  });

  it('is uniform below 10 (chi-square, 9 degrees of freedom, α = 1e-6)', () => {
    expect(chiSquareOfBins(draw(10n, 200_000), 10n, 10)).toBeLessThan(chiSquareCriticalValue(9, SIGNIFICANCE));
  });

  it('is uniform below 2^31 + 1, where w mod n alone would make most values twice as likely', () => {
    const n = 2n ** 31n + 1n;
    const draws = draw(n, 200_000);
    expect(draws.every((x) => x >= 0n && x < n)).toBe(true);
    expect(chiSquareOfBins(draws, n, 20)).toBeLessThan(chiSquareCriticalValue(19, SIGNIFICANCE));
  });

  it('is uniform below 2^40 + 7 (one 64-bit word per try)', () => {
    const n = 2n ** 40n + 7n;
    const draws = draw(n, 200_000);
    expect(draws.every((x) => x >= 0n && x < n)).toBe(true);
    expect(chiSquareOfBins(draws, n, 20)).toBeLessThan(chiSquareCriticalValue(19, SIGNIFICANCE));
  });

  it('is uniform below 3·2^70 + 1 (two 64-bit words per try)', () => {
    const n = 3n * 2n ** 70n + 1n;
    const draws = draw(n, 200_000);
    expect(draws.every((x) => x >= 0n && x < n)).toBe(true);
    expect(chiSquareOfBins(draws, n, 20)).toBeLessThan(chiSquareCriticalValue(19, SIGNIFICANCE));
  });

  it('covers the top of the range at the word boundaries 2^32, 2^64 and 2^64 + 1', () => {
    for (const n of [2n ** 32n, 2n ** 64n, 2n ** 64n + 1n]) {
      const draws = draw(n, 2000);
      expect(draws.every((x) => x >= 0n && x < n)).toBe(true);
      // P[no draw in the top half] = 2^-2000 for an exact source.
      expect(draws.some((x) => 2n * x >= n)).toBe(true);
    }
  });

  it('keeps drawing across refills of a one-word-pair buffer', () => {
    const small = createCryptoRandomSource(8);
    const draws = Array.from({ length: 5000 }, (_, i) => small.uniformBelow(i % 2 === 0 ? 6n : 2n ** 50n));
    expect(draws.every((x, i) => x >= 0n && x < (i % 2 === 0 ? 6n : 2n ** 50n))).toBe(true);
    expect(new Set(draws.filter((_, i) => i % 2 === 0)).size).toBe(6);
  });

  it('refuses n below 1', () => {
    expect(() => rng.uniformBelow(0n)).toThrow(new RangeError('uniformBelow: n must be at least 1, got 0'));
    expect(() => rng.uniformBelow(-5n)).toThrow(new RangeError('uniformBelow: n must be at least 1, got -5'));
  });
});

describe('createCryptoRandomSource().uniformWord32', () => {
  it('returns integers in [0, 2^32), uniform in 16 bins of its top 4 bits (chi-square, α = 1e-6), across refills', () => {
    const small = createCryptoRandomSource(64);
    const words = Array.from({ length: 200_000 }, () => small.uniformWord32!());
    expect(words.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)).toBe(true);
    expect(chiSquareOfBins(words.map(BigInt), 2n ** 32n, 16)).toBeLessThan(chiSquareCriticalValue(15, SIGNIFICANCE));
  });
});

describe('createCryptoRandomSource().fillWords32', () => {
  it('fills the whole array with integers in [0, 2^32), uniform in 16 bins of their top 4 bits (chi-square, α = 1e-6)', () => {
    const words = new Uint32Array(200_000);
    createCryptoRandomSource().fillWords32!(words);
    expect(chiSquareOfBins(Array.from(words, BigInt), 2n ** 32n, 16)).toBeLessThan(chiSquareCriticalValue(15, SIGNIFICANCE));
  });
});

describe('createCryptoRandomSource', () => {
  it('refuses a buffer that is not a positive multiple of 8 bytes', () => {
    expect(() => createCryptoRandomSource(12)).toThrow(new RangeError('createCryptoRandomSource: bufferBytes must be a positive multiple of 8, got 12'));
    expect(() => createCryptoRandomSource(0)).toThrow(new RangeError('createCryptoRandomSource: bufferBytes must be a positive multiple of 8, got 0'));
  });
});
