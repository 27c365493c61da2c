import { normalCdf } from '@fedlab/glm';
import type { ConfidenceInterval, Estimate } from './outcome-statistics';
import type { ReleasedStudy } from './study-disclosure';

/** z_{0.975}. */
const Z = 1.959963984540054;

/** The variance of the noise in one outcome's figures, per group denominator and per measure. */
export interface OutcomeNoise {
  /** Variance of the noise in each group's denominator (matched count, or group size). */
  denominator: number;
  /** Per measure name: the noise variance of its events count (binary) or of its sum (mean). */
  measures: Record<string, number>;
}

/**
 * Widens, in place, the intervals of a released study so they include its differential-privacy noise
 * (post-processing; docs/privacy.md "Linkage studies"): a rate E/N or mean S/N gets the delta-method
 * noise variance (σ_E² + r²σ_N²)/N² added on each side of its interval, and a difference the noise
 * variances of both groups; its test becomes the difference over that total standard error (a normal
 * test). Ratios are left as computed and a note says so.
 */
export function widenForNoise(study: ReleasedStudy, noise: readonly OutcomeNoise[]): void {
  study.outcomes.forEach((outcome, k) => {
    const n = noise[k];
    if (outcome.suppressed || !n) return;
    for (const measure of outcome.measures) {
      const sumVariance = n.measures[measure.name] ?? 0;
      const noiseVariance = (value: number | null, persons: number) =>
        value === null || persons <= 0 ? 0 : (sumVariance + value * value * n.denominator) / (persons * persons);
      const lo = measure.kind === 'binary' ? 0 : -Infinity;
      const hi = measure.kind === 'binary' ? 1 : Infinity;
      const variances: number[] = [];
      for (const group of [measure.cohort, measure.comparison]) {
        if (!group || group.suppressed) continue;
        const value = 'rate' in group ? group.rate : group.mean;
        const v = noiseVariance(value, group.persons);
        variances.push(v);
        if (value !== null) group.ci = widen(value, group.ci, v, lo, hi);
      }
      const contrast = measure.contrast;
      if (contrast && !contrast.suppressed && contrast.difference) {
        contrast.difference = widenEstimate(
          contrast.difference,
          variances.reduce((a, b) => a + b, 0),
        );
        const ci = contrast.difference.ci;
        if (ci) {
          // The test of the difference with the noise in its standard error, as its interval has it.
          const se = (ci.upper - ci.lower) / (2 * Z);
          const statistic = se > 0 ? contrast.difference.estimate / se : null;
          const pValue = statistic === null ? null : 2 * normalCdf(-Math.abs(statistic));
          if ('zStatistic' in contrast) Object.assign(contrast, { zStatistic: statistic, pValue });
          else Object.assign(contrast, { tStatistic: statistic, pValue });
        }
      }
    }
    outcome.note += '; its figures carry differential-privacy noise and the intervals, differences and tests include it (the ratios do not)';
  });
}

function widen(value: number, ci: ConfidenceInterval | null, variance: number, lo = -Infinity, hi = Infinity): ConfidenceInterval | null {
  if (!ci) return variance > 0 ? { lower: Math.max(lo, value - Z * Math.sqrt(variance)), upper: Math.min(hi, value + Z * Math.sqrt(variance)) } : null;
  const extra = Z * Z * variance;
  return { lower: Math.max(lo, value - Math.sqrt((value - ci.lower) ** 2 + extra)), upper: Math.min(hi, value + Math.sqrt((ci.upper - value) ** 2 + extra)) };
}

function widenEstimate(e: Estimate, variance: number): Estimate {
  return { estimate: e.estimate, ci: widen(e.estimate, e.ci, variance) };
}
