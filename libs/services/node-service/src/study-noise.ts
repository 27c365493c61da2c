import { FedlabError } from '@fedlab/model';
import { createCryptoRandomSource, discreteGaussianSampler, gaussianSigma2, rationalToNumber, type RandomSource } from '@fedlab/dp';
import type { GroupNoise } from '@fedlab/psi';

/*
 * The noise of a linkage study (docs/privacy.md "Linkage studies"), all of it added by the cohort node:
 * the study's ρ is split evenly over one release of the group sizes (drawn once per study, reused by
 * every run) and one release per outcome node (each group's matched count and encrypted sums).
 *
 * Sensitivities. A cohort person is in one group and brings up to k comparison persons with them (k =
 * controls per case), so a group-size release has Δ² = 1 + k². Matching is not one-to-one in its effect:
 * a key held twice on one side is ambiguous and ignored, so one added person (cohort or outcome side)
 * can undo one existing match per pass and add their own — up to w + 1 matches per group (w passes). A
 * cohort person moves their group and their k controls' group; an outcome person moves every group. So
 * a run's entry with per-person bound `max` has Δ = (w + 1)·max·√max(1 + k², groups).
 */

/** Offsets are this many noise SDs: noise + offset is negative with probability below 1e-23 (it is then redrawn, on that side only). */
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

/** What a study's sensitivities depend on: its comparison group and its linkage passes. */
export interface StudyShape {
  outcomeNodes: number;
  /** Comparison persons per cohort person (0 without a comparison group). */
  controlsPerCase: number;
  /** Linkage passes (key recipes). */
  passes: number;
}

/** Splits a study's ρ and draws the noisy group sizes once. */
export function studyNoise(rho: number, shape: StudyShape, groupSizes: readonly number[], random: RandomSource = createCryptoRandomSource()): StudyNoise {
  if (!(rho > 0) || !Number.isFinite(rho)) throw new FedlabError('BUDGET_INVALID', 'query: rho must be a positive finite number');
  const rhoEach = (rho / (shape.outcomeNodes + 1)) * (1 - 1e-12);
  const k = shape.controlsPerCase;
  const sizeSigma2 = gaussianSigma2(1 + k * k, rhoEach);
  const runFactor = (shape.passes + 1) ** 2 * Math.max(1 + k * k, groupSizes.length);
  const sizeSample = discreteGaussianSampler(sizeSigma2);
  const sizes = groupSizes.map((n) => Math.max(0, n + Number(sizeSample(random))));
  // Each entry of a run (the matched count and every value entry) gets a share of ρ: equal shares, except
  // a quarter share for the sums of squares (they only feed the standard deviations): σ² = Δ²/(2ρ_i).
  const variances = (valueBounds: readonly number[], squares: readonly boolean[]) => {
    const weights = [1, ...squares.map((sq) => (sq ? 0.25 : 1))];
    const total = weights.reduce((a, b) => a + b, 0);
    return [1, ...valueBounds].map((max, i) => gaussianSigma2(runFactor * max * max, (rhoEach * weights[i]!) / total));
  };
  const describe = (valueBounds: readonly number[], valueSquares: readonly boolean[]): StudyNoiseDescription => {
    const [matched, ...values] = variances(valueBounds, valueSquares).map(rationalToNumber);
    return {
      matchedVariance: matched!,
      sizeVariance: rationalToNumber(sizeSigma2),
      valueVariances: values,
      offsets: values.map((v) => Math.ceil(OFFSET_SDS * Math.sqrt(v))),
    };
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
          if (z >= -offsets[i]!) return z + offsets[i]!;
        }
      });
      if (shifted.some((v) => v > 0xffffffff))
        throw new FedlabError('RANGE_EXCEEDED', "the study's noise for an outcome measure is too wide to encrypt; declare narrower bounds for the outcome");
      return { matched: sample(matched!), shifted };
    },
  };
}
