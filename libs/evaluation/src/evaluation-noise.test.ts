import { describe, expect, it } from 'vitest';
import { evaluationMeasures, type PersonOutcome } from './evaluation-measures';
import { evaluationNoise, REOFFENCE_CAP } from './evaluation-noise';
import { DEFAULT_EVALUATION_RULES } from './evaluation-result';

/** n people, every k-th a reoffender with `reoffences` reoffences after 100 days. */
function group(n: number, k: number, reoffences: number, custodialEvery = 1000): PersonOutcome[] {
  return Array.from({ length: n }, (_, i) => {
    const reoffender = i % k === 0;
    return { weight: 1, reoffences: reoffender ? reoffences : 0, daysToFirstReoffence: reoffender ? 100 : null, custodial: reoffender && i % custodialEvery === 0 };
  });
}

const RULES = { followUpDays: 365 };

describe('evaluationNoise', () => {
  it('states the count and value noise of its ρ: one third for 18 counts, two thirds over 8 values', () => {
    const noise = evaluationNoise(0.6, RULES);
    expect(noise.countVariance).toBeCloseTo(18 / (2 * 0.2), 9);
    // A group's events total: Δ = 1 over a share of 0.4/8 = 0.05 of ρ → σ² = 1 / 0.1; reoffences Δ = 10; days Δ = 365.
    expect(noise.measureVariance('reoffending_rate') / (1 / 0.1)).toBeCloseTo(1, 6);
    expect(noise.measureVariance('reoffences_per_100') / (REOFFENCE_CAP ** 2 / 0.1)).toBeCloseTo(1, 6);
    expect(noise.measureVariance('days_to_first_reoffence') / (365 ** 2 / 0.1)).toBeCloseTo(1, 6);
    const draws = Array.from({ length: 4000 }, () => noise.count());
    const variance = draws.reduce((s, d) => s + d * d, 0) / draws.length;
    expect(draws.every(Number.isInteger)).toBe(true);
    expect(variance / noise.countVariance).toBeGreaterThan(0.85);
    expect(variance / noise.countVariance).toBeLessThan(1.15);
  });

  it('moves each group value by noise of the stated size, widens its interval, and counts at most 10 reoffences per person', () => {
    const treated = group(200, 4, 25);
    const comparison = group(400, 3, 1);
    const exact = evaluationMeasures(treated, comparison, DEFAULT_EVALUATION_RULES);
    const noise = evaluationNoise(2, RULES);
    const noisy = evaluationMeasures(treated, comparison, DEFAULT_EVALUATION_RULES, noise);
    const rate = (m: typeof exact) => m.measures.find((x) => x.name === 'reoffending_rate')!;
    // The rate's noise: the total's and the count's, over the 200 people (per 100).
    const sd = (100 * Math.hypot(Math.sqrt(noise.measureVariance('reoffending_rate')), 0.25 * Math.sqrt(noise.countVariance))) / 200;
    expect(Math.abs(rate(noisy).treatment.value! - rate(exact).treatment.value!)).toBeLessThan(6 * sd);
    expect(rate(noisy).treatment.ci!.upper - rate(noisy).treatment.ci!.lower).toBeGreaterThan(rate(exact).treatment.ci!.upper - rate(exact).treatment.ci!.lower);
    // 25 reoffences per reoffender count as 10: 50 reoffences for 20 people per 100, give or take the noise.
    const perHundred = noisy.measures.find((x) => x.name === 'reoffences_per_100')!.treatment.value!;
    const perHundredSd = (100 * Math.hypot(Math.sqrt(noise.measureVariance('reoffences_per_100')), 2.5 * Math.sqrt(noise.countVariance))) / 200;
    expect(Math.abs(perHundred - (100 * 50 * REOFFENCE_CAP) / 200)).toBeLessThan(6 * perHundredSd);
    expect(exact.measures.find((x) => x.name === 'reoffences_per_100')!.treatment.value).toBeCloseTo((100 * 50 * 25) / 200, 9);
  });
});
