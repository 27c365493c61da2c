import { describe, expect, it } from 'vitest';
import { chiSquareCriticalValue, chiSquareSurvival, logGamma, regularizedGammaQ } from './chi-square';

const relativeError = (actual: number, expected: number) => Math.abs(actual - expected) / Math.abs(expected);

// Reference values: scipy.stats.chi2.isf / chi2.sf.
describe('chiSquareCriticalValue', () => {
  it('matches scipy at α = 1e-6 for 1 to 999 degrees of freedom', () => {
    const cases: [number, number][] = [
      [1, 23.928126976934827],
      [2, 27.631021115928547],
      [4, 33.37684158171984],
      [10, 46.863046846784385],
      [30, 82.04414313704284],
      [999, 1226.046189012162],
    ];
    for (const [df, expected] of cases) expect(relativeError(chiSquareCriticalValue(df, 1e-6), expected)).toBeLessThan(1e-9);
  });

  it('refuses a significance outside (0, 1) and a non-positive df', () => {
    expect(() => chiSquareCriticalValue(3, 0)).toThrow(new RangeError('chiSquareCriticalValue: significance must be in (0, 1), got 0'));
    expect(() => chiSquareCriticalValue(0, 0.05)).toThrow(new RangeError('chiSquareCriticalValue: df must be positive, got 0'));
  });
});

describe('chiSquareSurvival', () => {
  it('matches scipy at x = 20 on both sides of the series/continued-fraction switch', () => {
    const cases: [number, number][] = [
      [1, 7.744216431044088e-6],
      [10, 0.029252688076961124],
      [30, 0.9165415270653372],
    ];
    for (const [df, expected] of cases) expect(relativeError(chiSquareSurvival(df, 20), expected)).toBeLessThan(1e-12);
  });

  it('is 1 at x ≤ 0', () => {
    expect(chiSquareSurvival(5, 0)).toBe(1);
    expect(regularizedGammaQ(2.5, 0)).toBe(1);
  });
});

describe('logGamma', () => {
  it('gives ln((n − 1)!) at integers and ln √π at 1/2', () => {
    expect(relativeError(logGamma(11), Math.log(3628800))).toBeLessThan(1e-14);
    expect(relativeError(logGamma(0.5), Math.log(Math.sqrt(Math.PI)))).toBeLessThan(1e-14);
    expect(Math.abs(logGamma(1))).toBeLessThan(1e-15);
  });
});
