import { describe, expect, it } from 'vitest';
import { releaseStudy, type ReleasedBinaryMeasure, type ReleasedOutcome } from './study-disclosure';
import { widenForNoise } from './study-noise';

const Z = 1.959963984540054;

describe('widenForNoise', () => {
  it("widens a rate's interval and its difference's by the noise, and tests the difference against the total standard error", () => {
    const sums = {
      groupPersons: { cohort: 200, comparison: 400 },
      outcomes: [
        {
          name: 'education',
          denominator: 'matched' as const,
          matchedPersons: { cohort: 200, comparison: 400 },
          measures: [{ name: 'graduated', kind: 'binary' as const, events: { cohort: 90, comparison: 240 } }],
        },
      ],
    };
    const exact = releaseStudy(sums, 10);
    const noisy = releaseStudy(sums, 10);
    widenForNoise(noisy, [{ denominator: 9, measures: { graduated: 16 } }]);
    const measure = (study: typeof exact) => (study.outcomes[0] as Extract<ReleasedOutcome, { suppressed: false }>).measures[0] as ReleasedBinaryMeasure;
    const [before, after] = [measure(exact), measure(noisy)];
    if (before.cohort.suppressed || after.cohort.suppressed || !before.contrast || before.contrast.suppressed || !after.contrast || after.contrast.suppressed)
      throw new Error('expected released figures');
    // Cohort rate 0.45 over 200: noise variance (16 + 0.45² · 9)/200².
    const noiseVariance = (16 + 0.45 ** 2 * 9) / 200 ** 2;
    expect(after.cohort.rate).toBe(before.cohort.rate);
    expect(0.45 - after.cohort.ci!.lower).toBeCloseTo(Math.sqrt((0.45 - before.cohort.ci!.lower) ** 2 + Z * Z * noiseVariance), 12);
    const difference = after.contrast.difference!;
    expect(difference.ci!.upper - difference.ci!.lower).toBeGreaterThan(before.contrast.difference!.ci!.upper - before.contrast.difference!.ci!.lower);
    const se = (difference.ci!.upper - difference.ci!.lower) / (2 * Z);
    expect(after.contrast.zStatistic).toBeCloseTo(difference.estimate / se, 12);
    expect(Math.abs(after.contrast.zStatistic!)).toBeLessThan(Math.abs(before.contrast.zStatistic!));
    expect(noisy.outcomes[0]!.note).toMatch(
      /its figures carry differential-privacy noise and the intervals, differences and tests include it \(the ratios do not\)$/,
    );
  });
});
