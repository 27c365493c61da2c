import { describe, expect, it } from 'vitest';
import fixture from './fixtures/study-reference.json';
import { compareBinary, compareMeans, summariseBinary, summariseMean, type ConfidenceInterval, type Estimate } from './outcome-statistics';

type Pair = [number, number];

/** The binary and mean parts of fixtures/study-reference.json, written by scripts/study-reference.R. */
interface BinaryReference {
  name: string;
  cohort: { events: number; persons: number; rate: number; ci: Pair };
  comparison: { events: number; persons: number; rate: number; ci: Pair };
  difference: { estimate: number; ci: Pair };
  riskRatio: { estimate: number; ci: Pair } | null;
  chiSquare: number;
  pValue: number;
}

interface MeanGroupReference {
  persons: number;
  sum: number;
  sumSquares: number;
  mean: number;
  sd: number;
  ci: Pair | null;
}

interface MeanReference {
  name: string;
  cohort: MeanGroupReference;
  comparison: MeanGroupReference;
  difference: { estimate: number; ci: Pair };
  ratio: { estimate: number; ci: Pair } | null;
  tStatistic: number;
  df: number;
  pValue: number;
}

const binaryCases = fixture.binary as BinaryReference[];
const meanCases = fixture.mean as MeanReference[];

const RELATIVE_TOLERANCE = 1e-9;

function expectClose(actual: number | null | undefined, expected: number): void {
  expect(actual).toBeTypeOf('number');
  const error = Math.abs((actual as number) - expected) / Math.max(Math.abs(expected), 1e-12);
  expect(error, `${actual} vs ${expected}`).toBeLessThanOrEqual(RELATIVE_TOLERANCE);
}

function expectInterval(actual: ConfidenceInterval | null | undefined, expected: Pair): void {
  expect(actual).not.toBeNull();
  expectClose(actual?.lower, expected[0]);
  expectClose(actual?.upper, expected[1]);
}

function expectEstimate(actual: Estimate | null, expected: { estimate: number; ci: Pair }): void {
  expect(actual).not.toBeNull();
  expectClose(actual?.estimate, expected.estimate);
  expectInterval(actual?.ci, expected.ci);
}

describe('summariseBinary and compareBinary agree with R', () => {
  it.each(binaryCases.map((reference) => [reference.name, reference] as const))('%s', (_name, reference) => {
    for (const group of ['cohort', 'comparison'] as const) {
      const summary = summariseBinary(reference[group]);
      expectClose(summary.rate, reference[group].rate);
      expectInterval(summary.ci, reference[group].ci);
    }
    const comparison = compareBinary(reference.cohort, reference.comparison);
    expectEstimate(comparison.difference, reference.difference);
    if (reference.riskRatio === null) expect(comparison.riskRatio).toBeNull();
    else expectEstimate(comparison.riskRatio, reference.riskRatio);
    expectClose((comparison.zStatistic as number) ** 2, reference.chiSquare);
    expect(Math.sign(comparison.zStatistic as number)).toBe(Math.sign(reference.difference.estimate));
    expectClose(comparison.pValue, reference.pValue);
  });
});

describe('summariseMean and compareMeans agree with R', () => {
  it.each(meanCases.map((reference) => [reference.name, reference] as const))('%s', (_name, reference) => {
    for (const group of ['cohort', 'comparison'] as const) {
      const summary = summariseMean(reference[group]);
      expectClose(summary.mean, reference[group].mean);
      expectClose(summary.sd, reference[group].sd);
      if (reference[group].ci === null) expect(summary.ci).toBeNull();
      else expectInterval(summary.ci, reference[group].ci as Pair);
    }
    const comparison = compareMeans(reference.cohort, reference.comparison);
    expectEstimate(comparison.difference, reference.difference);
    if (reference.ratio === null) expect(comparison.ratio).toBeNull();
    else expectEstimate(comparison.ratio, reference.ratio);
    expectClose(comparison.tStatistic, reference.tStatistic);
    expectClose(comparison.df, reference.df);
    expectClose(comparison.pValue, reference.pValue);
  });
});

describe('summariseBinary', () => {
  it('reports no rate and no interval for a group without persons', () => {
    expect(summariseBinary({ persons: 0, events: 0 })).toEqual({ persons: 0, events: 0, rate: null, ci: null });
  });

  it('gives a Wilson interval that ends exactly at 0 or 1 for no events or only events', () => {
    expect(summariseBinary({ persons: 1, events: 1 }).ci?.upper).toBe(1);
    expect(summariseBinary({ persons: 7, events: 0 }).ci?.lower).toBe(0);
  });

  it('refuses more events than persons, fractional counts and negative counts', () => {
    for (const counts of [
      { persons: 5, events: 6 },
      { persons: 5.5, events: 1 },
      { persons: 5, events: -1 },
    ]) {
      expect(() => summariseBinary(counts)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
});

describe('compareBinary', () => {
  it('has no risk ratio when either group has no events', () => {
    expect(compareBinary({ persons: 30, events: 4 }, { persons: 40, events: 0 }).riskRatio).toBeNull();
  });

  it('has neither z statistic nor p-value when no one or everyone in both groups has the event', () => {
    const none = compareBinary({ persons: 30, events: 0 }, { persons: 40, events: 0 });
    expect(none).toEqual({ difference: { estimate: 0, ci: null }, riskRatio: null, zStatistic: null, pValue: null });
    const all = compareBinary({ persons: 30, events: 30 }, { persons: 40, events: 40 });
    expect(all).toEqual({
      difference: { estimate: 0, ci: null },
      riskRatio: { estimate: 1, ci: null },
      zStatistic: null,
      pValue: null,
    });
  });

  it('reports nothing when a group has no persons', () => {
    expect(compareBinary({ persons: 0, events: 0 }, { persons: 40, events: 3 })).toEqual({
      difference: null,
      riskRatio: null,
      zStatistic: null,
      pValue: null,
    });
  });
});

describe('summariseMean', () => {
  it('reports a mean but no SD or interval for one person', () => {
    expect(summariseMean({ persons: 1, sum: 4, sumSquares: 16 })).toEqual({ persons: 1, mean: 4, sd: null, ci: null });
  });

  it('reports SD 0 and no interval when every value is the same', () => {
    expect(summariseMean({ persons: 25, sum: 50, sumSquares: 100 })).toEqual({ persons: 25, mean: 2, sd: 0, ci: null });
  });

  it('reports nothing for no persons', () => {
    expect(summariseMean({ persons: 0, sum: 0, sumSquares: 0 })).toEqual({
      persons: 0,
      mean: null,
      sd: null,
      ci: null,
    });
  });

  it('refuses sums that no data can have', () => {
    for (const sums of [
      { persons: 10, sum: 10, sumSquares: 5 },
      { persons: 0, sum: 1, sumSquares: 1 },
      { persons: 3, sum: Number.NaN, sumSquares: 1 },
      { persons: 3, sum: 1, sumSquares: -1 },
    ]) {
      expect(() => summariseMean(sums)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
});

describe('compareMeans', () => {
  it('gives only the difference when a group has a single person', () => {
    expect(compareMeans({ persons: 1, sum: 3, sumSquares: 9 }, { persons: 20, sum: 30, sumSquares: 60 })).toEqual({
      difference: { estimate: 1.5, ci: null },
      ratio: null,
      tStatistic: null,
      df: null,
      pValue: null,
    });
  });

  it('gives the difference and ratio without intervals or test when both groups are constant', () => {
    expect(compareMeans({ persons: 10, sum: 30, sumSquares: 90 }, { persons: 20, sum: 40, sumSquares: 80 })).toEqual({
      difference: { estimate: 1, ci: null },
      ratio: { estimate: 1.5, ci: null },
      tStatistic: null,
      df: null,
      pValue: null,
    });
  });

  it('has no ratio of means when a mean is not positive', () => {
    const comparison = compareMeans({ persons: 10, sum: 0, sumSquares: 20 }, { persons: 20, sum: 40, sumSquares: 100 });
    expect(comparison.ratio).toBeNull();
    expect(comparison.tStatistic).toBeTypeOf('number');
  });
});
