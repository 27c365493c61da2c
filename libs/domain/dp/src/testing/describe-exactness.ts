import { beforeAll, describe, expect, it } from 'vitest';
import { cks20DiscreteGaussianSampler, type DiscreteGaussianSampler } from '../discrete-gaussian';
import { auditDiscreteGaussian, type DiscreteGaussianAudit } from '../discrete-gaussian-audit';
import { createCryptoRandomSource } from '../random-source';
import { discreteGaussianScaledSampler, SCALED_MAX_SIGMA2 } from '../discrete-gaussian-scaled';
import { discreteGaussianTableSampler, TABLE_MAX_SIGMA2, type DiscreteGaussianNumberSampler } from '../discrete-gaussian-table';
import { rationalToNumber, type Rational } from '../rational';

const asBigint =
  (sample: DiscreteGaussianNumberSampler): DiscreteGaussianSampler =>
  (rng) =>
    BigInt(sample(rng));

/** The exact samplers of N_Z(0, σ²): the inversion table (σ² ≤ 2^16), the scaled table (2^16 < σ² ≤ 2^78) and CKS20 rejection (any σ²). */
const SAMPLERS: ReadonlyArray<{ name: string; covers: (sigma2: Rational) => boolean; build: (sigma2: Rational) => DiscreteGaussianSampler }> = [
  {
    name: 'inversion-table',
    covers: (sigma2) => sigma2.num <= BigInt(TABLE_MAX_SIGMA2) * sigma2.den,
    build: (sigma2) => asBigint(discreteGaussianTableSampler(sigma2)),
  },
  {
    name: 'scaled-table',
    covers: (sigma2) => sigma2.num > BigInt(TABLE_MAX_SIGMA2) * sigma2.den && sigma2.num <= SCALED_MAX_SIGMA2 * sigma2.den,
    build: (sigma2) => asBigint(discreteGaussianScaledSampler(sigma2)),
  },
  { name: 'CKS20', covers: () => true, build: cks20DiscreteGaussianSampler },
];

/** Draws per σ² in the exactness tests. */
export const EXACTNESS_DRAWS = 1_000_000;
/** Chance that an exact sampler fails one of the checks; the draws come from node:crypto. */
export const EXACTNESS_SIGNIFICANCE = 1e-6;

/**
 * The exactness specification of the discrete Gaussian samplers at one σ²: for each sampler that
 * covers σ² (the inversion table up to 2^16, CKS20 always), {@link EXACTNESS_DRAWS} draws from
 * `node:crypto`, audited against the exact N_Z(0, σ²) by {@link auditDiscreteGaussian} (chi-square,
 * total variation, variance). One test file per σ², so vitest runs them in parallel. `extra` adds
 * σ²-specific tests on the same audit.
 */
export function describeExactness(sigma2: Rational, extra?: (audit: () => DiscreteGaussianAudit) => void): void {
  for (const sampler of SAMPLERS.filter((s) => s.covers(sigma2))) describeSamplerExactness(sampler.name, sampler.build, sigma2, extra);
}

function describeSamplerExactness(
  name: string,
  build: (sigma2: Rational) => DiscreteGaussianSampler,
  sigma2: Rational,
  extra?: (audit: () => DiscreteGaussianAudit) => void,
): void {
  const sigma2Number = rationalToNumber(sigma2);
  describe(`the ${name} sampler of N_Z(0, σ²) at σ² = ${sigma2.num}/${sigma2.den} (${EXACTNESS_DRAWS} draws)`, () => {
    let audit: DiscreteGaussianAudit | undefined;
    const result = (): DiscreteGaussianAudit => {
      if (!audit) throw new Error('the draws were not audited');
      return audit;
    };

    beforeAll(() => {
      const sample = build(sigma2);
      const rng = createCryptoRandomSource();
      const draws = Array.from({ length: EXACTNESS_DRAWS }, () => sample(rng));
      audit = auditDiscreteGaussian(sigma2Number, draws, { significance: EXACTNESS_SIGNIFICANCE });
    }, 300_000);

    it('fits the exact pmf: chi-square below its critical value at α = 1e-6', () => {
      expect(result().chiSquare).toBeLessThan(result().criticalValue);
    });

    it('is within the total variation distance an exact sampler reaches with probability 1 − 1e-6', () => {
      expect(result().totalVariation).toBeLessThan(result().totalVariationBound);
    });

    it('has a mean square within 5 standard errors of the exact variance of N_Z(0, σ²)', () => {
      expect(Math.abs(result().varianceZ)).toBeLessThan(5);
    });

    extra?.(result);
  });
}
