import { describe, expect, it } from 'vitest';
import { auditDiscreteGaussian } from './discrete-gaussian-audit';
import { discreteGaussianPmf } from './discrete-gaussian-pmf';

/**
 * A deterministic stand-in for `n` draws from N_Z(0, s²): each integer k repeated ≈ n·P[k] times
 * (largest remainders get the leftover draws), so the audit's verdict does not depend on chance.
 */
function proportionalDraws(s2: number, n: number): bigint[] {
  const h = Math.ceil(14 * Math.sqrt(s2)) + 1;
  const ks = Array.from({ length: 2 * h + 1 }, (_, i) => i - h);
  const exact = ks.map((k) => n * discreteGaussianPmf(s2, k));
  const counts = exact.map(Math.floor);
  const leftover = n - counts.reduce((a, b) => a + b, 0);
  const byRemainder = ks.map((_, i) => i).sort((a, b) => exact[b]! - counts[b]! - (exact[a]! - counts[a]!));
  for (let j = 0; j < leftover; j += 1) counts[byRemainder[j]!]! += 1;
  return ks.flatMap((k, i) => new Array<bigint>(counts[i]!).fill(BigInt(k)));
}

describe('auditDiscreteGaussian', () => {
  it('passes draws in exact proportion to N_Z(0, σ²)', () => {
    const audit = auditDiscreteGaussian(10, proportionalDraws(10, 100_000));
    expect(audit.passed).toEqual({ chiSquare: true, totalVariation: true, variance: true });
    expect(audit.chiSquare).toBeLessThan(1);
  });

  it('bins small σ² by integer, merging the tails until they expect 5 draws', () => {
    const audit = auditDiscreteGaussian(0.25, proportionalDraws(0.25, 1_000_000));
    // n·P[±2] = 265 and n·P[±3] = 0.01: bins ≤ −2, −1, 0, 1, ≥ 2.
    expect({ binning: audit.binning, bins: audit.bins, degreesOfFreedom: audit.degreesOfFreedom }).toEqual({
      binning: 'integers',
      bins: 5,
      degreesOfFreedom: 4,
    });
  });

  it('bins large σ² into 1000 equal-probability bins', () => {
    const audit = auditDiscreteGaussian(1e6, proportionalDraws(1e6, 1_000_000));
    expect({ binning: audit.binning, bins: audit.bins }).toEqual({ binning: 'quantiles', bins: 1000 });
    expect(audit.passed.chiSquare).toBe(true);
  });

  it('fails draws from N_Z(0, 0.3) audited as σ² = 1/4 on every check', () => {
    const audit = auditDiscreteGaussian(0.25, proportionalDraws(0.3, 100_000));
    expect(audit.passed).toEqual({ chiSquare: false, totalVariation: false, variance: false });
  });

  it('fails the variance check for draws with 2% too much variance at σ² = 10^4', () => {
    const audit = auditDiscreteGaussian(1e4, proportionalDraws(1.02e4, 1_000_000));
    expect(audit.passed.variance).toBe(false);
    expect(audit.varianceZ).toBeGreaterThan(10);
  });

  it('uses fewer equal-probability bins when no integer expects 5 draws', () => {
    const audit = auditDiscreteGaussian(1e8, proportionalDraws(1e8, 2000));
    expect({ binning: audit.binning, bins: audit.bins }).toEqual({ binning: 'quantiles', bins: 400 });
  });

  it('refuses σ² above 10^12, whose pmf table would not fit in memory', () => {
    expect(() => auditDiscreteGaussian(1e13, [0n])).toThrow(
      new RangeError('auditDiscreteGaussian: sigma2 must be positive and at most 10^12, got 10000000000000'),
    );
  });

  it('refuses draws too few to fill two bins expecting 5 each', () => {
    expect(() => auditDiscreteGaussian(1e6, [0n, 1n, -1n, 2n, -2n, 3n, -3n, 4n, -4n])).toThrow(
      new RangeError('auditDiscreteGaussian: 9 draws at sigma2 = 1000000 do not fill two bins expecting 5 each'),
    );
  });
});
