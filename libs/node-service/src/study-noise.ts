import { FedlabError } from '@fedlab/model';
import { createCryptoRandomSource, discreteGaussianSampler, gaussianSigma2, rationalToNumber, type RandomSource } from '@fedlab/dp';
import type { GroupNoise } from '@fedlab/psi';

/*
 * The noise of a linkage study (docs/privacy.md "Linkage studies"), all of it added by the cohort node:
 * the study's ρ is split evenly over one release of the group sizes (drawn once per study, reused by
 * every run) and one release per outcome node (each group's matched count and encrypted sums). A
 * person is in the cohort or the comparison group, and a cohort person brings one comparison person
 * with them, so each release's sensitivity counts two persons (Δ² doubled).
 */

/** Offsets are this many noise SDs: the encrypted addend noise + offset is negative with probability below 1e-23, and is then redrawn. */
const OFFSET_SDS = 10;

/** What the cohort node adds to a study, and says about it (public). */
export interface StudyNoise {
  /** ρ of each release: the study's ρ over (outcome nodes + 1). */
  rhoEach: number;
  /** The group sizes with their noise, drawn once. */
  sizes: number[];
  sizeVariance: number;
  /** One group's noise for a run whose value entries are bounded by `valueBounds`. */
  draw(valueBounds: readonly number[], valueSquares: readonly boolean[]): GroupNoise;
  /** The public description sent with a run's encrypted sums (JSON in PsiAggregate.noise). */
  describe(valueBounds: readonly number[], valueSquares: readonly boolean[]): StudyNoiseDescription;
}

export interface StudyNoiseDescription {
  matchedVariance: number;
  sizeVariance: number;
  valueVariances: number[];
  offsets: number[];
}

/** Splits a study's ρ and draws the noisy group sizes once. */
export function studyNoise(rho: number, outcomeNodes: number, groupSizes: readonly number[], random: RandomSource = createCryptoRandomSource()): StudyNoise {
  if (!(rho > 0) || !Number.isFinite(rho)) throw new FedlabError('BUDGET_INVALID', 'query: rho must be a positive finite number');
  const rhoEach = (rho / (outcomeNodes + 1)) * (1 - 1e-12);
  const sizeSigma2 = gaussianSigma2(2, rhoEach);
  const sizeSample = discreteGaussianSampler(sizeSigma2);
  const sizes = groupSizes.map((n) => Math.max(0, n + Number(sizeSample(random))));
  // Each entry of a run (the matched count and every value entry) gets a share of ρ: equal shares, except
  // a quarter share for the sums of squares (they only feed the standard deviations): σ² = 2·max²/(2ρ_i).
  const variances = (valueBounds: readonly number[], squares: readonly boolean[]) => {
    const weights = [1, ...squares.map((sq) => (sq ? 0.25 : 1))];
    const total = weights.reduce((a, b) => a + b, 0);
    return [1, ...valueBounds].map((max, i) => gaussianSigma2(2 * max * max, (rhoEach * weights[i]!) / total));
  };
  const describe = (valueBounds: readonly number[], valueSquares: readonly boolean[]): StudyNoiseDescription => {
    const [matched, ...values] = variances(valueBounds, valueSquares).map(rationalToNumber);
    return { matchedVariance: matched!, sizeVariance: rationalToNumber(sizeSigma2), valueVariances: values, offsets: values.map((v) => Math.ceil(OFFSET_SDS * Math.sqrt(v))) };
  };
  return {
    rhoEach,
    sizes,
    sizeVariance: rationalToNumber(sizeSigma2),
    describe,
    draw(valueBounds, valueSquares) {
      const [matched, ...values] = variances(valueBounds, valueSquares);
      const { offsets } = describe(valueBounds, valueSquares);
      const sample = (s2: (typeof values)[number]) => (s2.num === 0n ? 0 : Number(discreteGaussianSampler(s2)(random)));
      const shifted = values.map((s2, i) => {
        for (;;) {
          const z = sample(s2);
          if (Math.abs(z) <= offsets[i]!) return z + offsets[i]!;
        }
      });
      if (shifted.some((v) => v > 0xffffffff)) throw new FedlabError('RANGE_EXCEEDED', "the study's noise for an outcome measure is too wide to encrypt; declare narrower bounds for the outcome");
      return { matched: sample(matched!), shifted };
    },
  };
}
