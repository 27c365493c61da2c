import { createCryptoRandomSource, discreteGaussianSampler, gaussianSigma2, rationalToNumber, type Rational, type RandomSource } from '@fedlab/dp';
import { EVALUATION_MEASURES, type EvaluationMeasureName } from './evaluation-result';

/** With noise, reoffences per person count at most this many in the follow-up year (it bounds one person's effect). */
export const REOFFENCE_CAP = 10;

/**
 * Counts an evaluation releases that depend on justice data, each drawn once: matched, eligible, final
 * group, outside the caliper, comparison pool, comparison used, its effective size, the reoffenders of
 * each group, the treatment group's size, the comparison group's size in the summary, and the people
 * behind each of the eight group values (19). One person changes each by at most one, so together they
 * have Δ² = 19.
 */
const NOISED_COUNTS = 19;

/**
 * The differential-privacy noise of an impact evaluation (docs/privacy.md "Impact evaluations"): one
 * third of ρ for the counts that depend on justice data, two thirds for the eight group totals behind
 * the group values (four measures × two groups, an equal share each, and a quarter share for each
 * group's total of squares of the two mean measures). A released count gets N_Z(0, σ²)
 * with Δ = 1 per count; a group's total of a measure (events, reoffences, days) gets discrete Gaussian
 * noise on a grid fine enough to be immaterial, with sensitivity what one person adds at most (1 event,
 * 10 reoffences, `followUpDays` days). A group value is then the noisy total over the noisy count.
 */
export interface EvaluationNoise {
  /** ρ the evaluation spends. */
  rho: number;
  /** Noise for a group's total of a measure (in the measure's units, before scaling) and its variance. */
  measure(name: EvaluationMeasureName, group: 'treatment' | 'comparison'): { draw: number; variance: number };
  /** Noise for a group's total of squares of a mean measure (null for a rate: p(1 − p) needs none). */
  squares(name: EvaluationMeasureName, group: 'treatment' | 'comparison'): { draw: number; variance: number } | null;
  /** Noise for a released count (an integer). */
  count(): number;
  countVariance: number;
  /** Variance of the noise in a group's total of a measure (in the measure's units before scaling). */
  measureVariance(name: EvaluationMeasureName): number;
}

/** The grid the group totals' noise is drawn on: 2^-20 of the measure's unit, far below the noise. */
const GRID = 2 ** -20;

export function evaluationNoise(rho: number, rules: { followUpDays: number }, random: RandomSource = createCryptoRandomSource()): EvaluationNoise {
  const countSigma2 = gaussianSigma2(NOISED_COUNTS, rho / 3);
  const entries = EVALUATION_MEASURES.length * 2;
  const sensitivity: Record<EvaluationMeasureName, number> = {
    reoffending_rate: 1,
    custodial_rate: 1,
    reoffences_per_100: REOFFENCE_CAP,
    days_to_first_reoffence: rules.followUpDays,
  };
  const samplers = new Map<Rational, ReturnType<typeof discreteGaussianSampler>>();
  const draw = (sigma2: Rational): number => {
    if (sigma2.num === 0n) return 0;
    let sample = samplers.get(sigma2);
    if (!sample) samplers.set(sigma2, (sample = discreteGaussianSampler(sigma2)));
    return Number(sample(random));
  };
  // Two thirds of ρ over the group totals (weight 1 each) and the two mean measures' totals of squares
  // (weight ¼ each: they only feed the standard errors). On the grid Δ_grid = Δ / GRID.
  const means: EvaluationMeasureName[] = ['reoffences_per_100', 'days_to_first_reoffence'];
  const totalWeight = entries + 0.25 * means.length * 2;
  const share = (weight: number) => ((2 * rho) / 3) * (weight / totalWeight) * (1 - 1e-12);
  const measureSigma2 = Object.fromEntries(EVALUATION_MEASURES.map((name) => [name, gaussianSigma2((sensitivity[name] / GRID) ** 2, share(1))])) as Record<
    EvaluationMeasureName,
    Rational
  >;
  const squaresSigma2 = Object.fromEntries(means.map((name) => [name, gaussianSigma2((sensitivity[name] ** 2 / GRID) ** 2, share(0.25))])) as Partial<
    Record<EvaluationMeasureName, Rational>
  >;
  return {
    rho,
    countVariance: rationalToNumber(countSigma2),
    count: () => draw(countSigma2),
    measureVariance: (name) => rationalToNumber(measureSigma2[name]) * GRID * GRID,
    measure(name) {
      return { draw: draw(measureSigma2[name]) * GRID, variance: rationalToNumber(measureSigma2[name]) * GRID * GRID };
    },
    squares(name) {
      const sigma2 = squaresSigma2[name];
      return sigma2 ? { draw: draw(sigma2) * GRID, variance: rationalToNumber(sigma2) * GRID * GRID } : null;
    },
  };
}
