import { describe, expect, it } from 'vitest';
import { discreteGaussianFourthMoment, discreteGaussianVariance } from './discrete-gaussian-pmf';
import { nodeNoiseSigma2, sampleNodeNoiseShare } from './distributed-noise';
import { createCryptoRandomSource } from './random-source';

describe('nodeNoiseSigma2', () => {
  it('splits σ² exactly and reduced: 10 over 4 nodes is 5/2 each', () => {
    expect(nodeNoiseSigma2({ num: 10n, den: 1n }, 4)).toEqual({ num: 5n, den: 2n });
  });

  it('refuses a node count that is not a positive integer, and σ² ≤ 0', () => {
    expect(() => nodeNoiseSigma2({ num: 1n, den: 1n }, 0)).toThrow(new RangeError('nodeNoiseSigma2: nodes must be a positive integer, got 0'));
    expect(() => nodeNoiseSigma2({ num: 0n, den: 1n }, 3)).toThrow(
      new RangeError('nodeNoiseSigma2: totalSigma2 must be a positive rational with a positive denominator, got 0/1'),
    );
  });
});

describe('sampleNodeNoiseShare', () => {
  it('returns one draw per entry', () => {
    expect(sampleNodeNoiseShare({ num: 9n, den: 1n }, 7, createCryptoRandomSource())).toHaveLength(7);
  });

  it('sums over 10 nodes of σ²/10 = 1/4 to variance 10·Var[N_Z(0, 1/4)] = 2.150…, not σ² = 2.5 (1e5 sums, 5 standard errors)', () => {
    const rng = createCryptoRandomSource();
    const nodes = 10;
    const sums = 100_000;
    const perNode = nodeNoiseSigma2({ num: 5n, den: 2n }, nodes);
    const shares = Array.from({ length: nodes }, () => sampleNodeNoiseShare(perNode, sums, rng));
    let meanSquare = 0;
    for (let i = 0; i < sums; i += 1) meanSquare += Number(shares.reduce((sum, share) => sum + share[i]!, 0n)) ** 2 / sums;
    // The sum S of n independent shares of variance v and fourth moment m has E[S⁴] = n·m + 3n(n − 1)v².
    const v = discreteGaussianVariance(0.25);
    const fourth = nodes * discreteGaussianFourthMoment(0.25) + 3 * nodes * (nodes - 1) * v * v;
    const standardError = Math.sqrt((fourth - (nodes * v) ** 2) / sums);
    expect(Math.abs(meanSquare - nodes * v)).toBeLessThan(5 * standardError);
    expect(2.5 - meanSquare).toBeGreaterThan(5 * standardError);
  });

  it('refuses a negative length', () => {
    expect(() => sampleNodeNoiseShare({ num: 1n, den: 1n }, -1, createCryptoRandomSource())).toThrow(
      new RangeError('sampleNodeNoiseShare: length must be a non-negative integer, got -1'),
    );
  });
});
