import { describe, expect, it } from 'vitest';
import { evaluationMeasures, type PersonOutcome } from './evaluation-measures';
import { evaluationNoise, REOFFENCE_CAP } from './evaluation-noise';
import { DEFAULT_EVALUATION_RULES } from './evaluation-result';

/** n people, every k-th a reoffender with `reoffences` reoffences after 100 days. */
function group(n: number, k: number, reoffences: number, custodialEvery = 1000): PersonOutcome[] {
  return Array.from({ length: n }, (_, i) => {
    const reoffender = i % k === 0;
    return {
      weight: 1,
      reoffences: reoffender ? reoffences : 0,
      daysToFirstReoffence: reoffender ? 100 : null,
      custodial: reoffender && i % custodialEvery === 0,
    };
  });
}

const RULES = { followUpDays: 365 };

describe('evaluationNoise', () => {
  it('states the count and value noise of its ρ: one third for 19 counts, two thirds over 8 totals and 4 totals of squares', () => {
    const noise = evaluationNoise(0.6, RULES);
    expect(noise.countVariance).toBeCloseTo(19 / (2 * 0.2), 9);
    // A group's events total: Δ = 1 over a share of 0.4/9 of ρ (8 totals of weight 1, 4 of squares of weight ¼)
    // → σ² = 1 / (0.8/9); reoffences Δ = 10; days Δ = 365.
    const perTotal = 0.8 / 9;
    expect(noise.measureVariance('reoffending_rate') / (1 / perTotal)).toBeCloseTo(1, 6);
    expect(noise.measureVariance('reoffences_per_100') / (REOFFENCE_CAP ** 2 / perTotal)).toBeCloseTo(1, 6);
    expect(noise.measureVariance('days_to_first_reoffence') / (365 ** 2 / perTotal)).toBeCloseTo(1, 6);
    expect(noise.squares('reoffending_rate', 'treatment')).toBeNull();
    expect(noise.squares('days_to_first_reoffence', 'treatment')!.variance / (365 ** 4 / (perTotal / 4))).toBeCloseTo(1, 6);
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
    expect(rate(noisy).treatment.ci!.upper - rate(noisy).treatment.ci!.lower).toBeGreaterThan(
      rate(exact).treatment.ci!.upper - rate(exact).treatment.ci!.lower,
    );
    // 25 reoffences per reoffender count as 10: 50 reoffences for 20 people per 100, give or take the noise.
    const perHundred = noisy.measures.find((x) => x.name === 'reoffences_per_100')!.treatment.value!;
    const perHundredSd = (100 * Math.hypot(Math.sqrt(noise.measureVariance('reoffences_per_100')), 2.5 * Math.sqrt(noise.countVariance))) / 200;
    expect(Math.abs(perHundred - (100 * 50 * REOFFENCE_CAP) / 200)).toBeLessThan(6 * perHundredSd);
    expect(exact.measures.find((x) => x.name === 'reoffences_per_100')!.treatment.value).toBeCloseTo((100 * 50 * 25) / 200, 9);
  });
  it("computes every interval from released noisy figures only, so it shows nothing exact (the review's attack on the Wilson interval fails)", () => {
    const treated = group(200, 5, 1);
    const comparison = group(400, 3, 1);
    const noise = evaluationNoise(1, RULES);
    const rate = evaluationMeasures(treated, comparison, DEFAULT_EVALUATION_RULES, noise).measures.find((x) => x.name === 'reoffending_rate')!.treatment;
    // Recompute the released interval from the released value and people and the stated noise: it matches.
    const z = 1.959963984540054;
    const p = rate.value! / 100;
    const n = rate.people;
    const z22n = (z * z) / (2 * n);
    const half = z * Math.sqrt((p * (1 - p)) / n + z22n / (2 * n));
    const wilson = { lower: (p + z22n - half) / (1 + 2 * z22n), upper: (p + z22n + half) / (1 + 2 * z22n) };
    const noiseVariance = (noise.measureVariance('reoffending_rate') + p * p * noise.countVariance) / (n * n);
    const expected = {
      lower: 100 * Math.max(0, p - Math.sqrt((p - wilson.lower) ** 2 + z * z * noiseVariance)),
      upper: 100 * Math.min(1, p + Math.sqrt((wilson.upper - p) ** 2 + z * z * noiseVariance)),
    };
    expect(rate.ci!.lower).toBeCloseTo(expected.lower, 9);
    expect(rate.ci!.upper).toBeCloseTo(expected.upper, 9);
  });
});
