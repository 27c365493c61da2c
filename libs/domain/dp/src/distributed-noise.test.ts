import { describe, expect, it } from 'vitest';
import { distributedGaussianRho, distributedGaussianShare, distributedGaussianTau, MIN_PARTY_SIGMA2 } from './distributed-noise';
import { rationalToNumber } from './rational';

describe('distributedGaussianTau', () => {
  it('is 0 for one party and 10·exp(−π²σ²) for two (KLS21 Theorem 1)', () => {
    expect(distributedGaussianTau(1, 1)).toBe(0);
    expect(distributedGaussianTau(1, 2)).toBeCloseTo(10 * Math.exp(-Math.PI * Math.PI), 15);
    expect(distributedGaussianTau(0.5, 3)).toBeCloseTo(10 * (Math.exp(-Math.PI * Math.PI * 0.5) + Math.exp((-2 * Math.PI * Math.PI * 0.5 * 2) / 3)), 12);
  });
});

describe('distributedGaussianRho', () => {
  it('is Δ²/(2σ²) for one party, as the discrete Gaussian', () => {
    expect(distributedGaussianRho(4, 8, 1, 10)).toBe(0.25);
  });

  it('is Δ²/(2nσ²) up to a τ term that vanishes for σ² ≥ 4', () => {
    const rho = distributedGaussianRho(1, 4, 5, 100);
    expect(rho).toBeGreaterThanOrEqual(1 / 40);
    expect(rho - 1 / 40).toBeLessThan(1e-15);
  });

  it('takes the smaller of the two bounds of Theorem 1 at small σ²', () => {
    const tau = distributedGaussianTau(0.5, 4);
    const ratio = 1 / (4 * 0.5);
    const expected = Math.min(ratio + (tau * 1000) / 2, (Math.sqrt(ratio) + tau * Math.sqrt(1000)) ** 2) / 2;
    expect(distributedGaussianRho(1, 0.5, 4, 1000)).toBeCloseTo(expected, 15);
    expect(expected).toBeGreaterThan(ratio / 2 + 0.01);
  });

  it('refuses σ² below the theorem, a fractional party count and an empty vector', () => {
    expect(() => distributedGaussianRho(1, 0.25, 2, 1)).toThrow(
      new RangeError('distributedGaussianRho: sigma2 must be a finite number of at least 0.5, got 0.25'),
    );
    expect(() => distributedGaussianRho(1, 1, 1.5, 1)).toThrow(new RangeError('distributedGaussianRho: parties must be an integer of at least 1, got 1.5'));
    expect(() => distributedGaussianRho(1, 1, 2, 0)).toThrow(new RangeError('distributedGaussianRho: dimension must be an integer of at least 1, got 0'));
  });
});

describe('distributedGaussianShare', () => {
  it('gives each of h honest parties 1/h of the variance the target needs, when τ is negligible', () => {
    const share = rationalToNumber(distributedGaussianShare(100, 0.5, 4, 50));
    expect(share).toBeGreaterThanOrEqual(100 / (2 * 0.5 * 4));
    // Rounded up to a multiple of 2^-10.
    expect(share - 100 / (2 * 0.5 * 4)).toBeLessThanOrEqual(1 / 1024);
    expect((share * 1024) % 1).toBe(0);
  });

  it('meets the target for every honest count and dimension, τ included', () => {
    for (const [d2, rho, h, dim] of [
      [1, 1, 2, 1],
      [1, 4, 7, 5000],
      [9, 0.01, 3, 20],
      [1, 100, 10, 1e5],
    ] as const) {
      const share = rationalToNumber(distributedGaussianShare(d2, rho, h, dim));
      expect(share).toBeGreaterThanOrEqual(MIN_PARTY_SIGMA2);
      expect(distributedGaussianRho(d2, share, h, dim)).toBeLessThanOrEqual(rho);
    }
  });

  it('raises σ² above Δ²/(2ρh) where τ is not negligible (large ρ, many entries)', () => {
    const share = rationalToNumber(distributedGaussianShare(1, 1, 5, 100_000));
    expect(share).toBeGreaterThan(1 / (2 * 1 * 5) + 0.1);
    expect(distributedGaussianRho(1, share, 5, 100_000)).toBeLessThanOrEqual(1);
  });

  it('is 0 for Δ² = 0 and refuses ρ ≤ 0 or no honest party', () => {
    expect(distributedGaussianShare(0, 1, 2, 1)).toEqual({ num: 0n, den: 1n });
    expect(() => distributedGaussianShare(1, 0, 2, 1)).toThrow(new RangeError('distributedGaussianShare: rho must be a positive finite number, got 0'));
    expect(() => distributedGaussianShare(1, 1, 0, 1)).toThrow(new RangeError('distributedGaussianShare: honest must be an integer of at least 1, got 0'));
  });
});
