import { describe, expect, it } from 'vitest';
import { discreteGaussianFourthMoment, discreteGaussianPmf, discreteGaussianVariance } from './discrete-gaussian-pmf';

/** |actual − expected| / |expected|. */
const relativeError = (actual: number, expected: number) => Math.abs(actual - expected) / Math.abs(expected);

// Reference values: direct sums over |k| ≤ 300σ + 50 in 40-digit arithmetic (mpmath).
describe('discreteGaussianPmf', () => {
  it('matches the 40-digit values at σ² = 1/4 (direct sum) and σ² = 1, 10, 10^4 (Poisson summation)', () => {
    const cases: [number, number, number][] = [
      [0.25, 0, 0.7865707070419478997],
      [0.25, 1, 0.10645076942314472424],
      [1, 0, 0.39894227826686170558],
      [10, 1, 0.12000389484301359765],
      [1e4, 1, 0.0039892233378608214561],
    ];
    for (const [sigma2, k, expected] of cases) expect(relativeError(discreteGaussianPmf(sigma2, k), expected)).toBeLessThan(1e-14);
  });

  it('is symmetric and sums to 1', () => {
    expect(discreteGaussianPmf(3.7, -4)).toBe(discreteGaussianPmf(3.7, 4));
    let total = 0;
    for (let k = -60; k <= 60; k += 1) total += discreteGaussianPmf(3.7, k);
    expect(Math.abs(total - 1)).toBeLessThan(1e-14);
  });

  it('refuses a non-positive σ² and a non-integer k', () => {
    expect(() => discreteGaussianPmf(0, 0)).toThrow(new RangeError('discreteGaussianPmf: sigma2 must be a positive finite number, got 0'));
    expect(() => discreteGaussianPmf(Infinity, 0)).toThrow(new RangeError('discreteGaussianPmf: sigma2 must be a positive finite number, got Infinity'));
    expect(() => discreteGaussianPmf(1, 0.5)).toThrow(new RangeError('discreteGaussianPmf: k must be an integer, got 0.5'));
  });
});

describe('discreteGaussianVariance', () => {
  it('is 0.21501267508813848638 for σ² = 1/4, well below σ²', () => {
    expect(relativeError(discreteGaussianVariance(0.25), 0.21501267508813848638)).toBeLessThan(1e-14);
    expect(0.25 - discreteGaussianVariance(0.25)).toBeGreaterThan(0.0349);
  });

  it('is just below σ² on both sides of the switch to Poisson summation', () => {
    expect(relativeError(discreteGaussianVariance(0.99), 0.98999974779310616705)).toBeLessThan(1e-14);
    expect(relativeError(discreteGaussianVariance(1), 0.99999978876772808311)).toBeLessThan(1e-14);
    expect(relativeError(discreteGaussianVariance(2), 1.9999999999999977396)).toBeLessThan(1e-14);
  });

  it('equals σ² in double precision for σ² = 10^8', () => {
    expect(discreteGaussianVariance(1e8)).toBe(1e8);
  });

  it('refuses a non-positive σ²', () => {
    expect(() => discreteGaussianVariance(-1)).toThrow(new RangeError('discreteGaussianVariance: sigma2 must be a positive finite number, got -1'));
  });
});

describe('discreteGaussianFourthMoment', () => {
  it('matches the 40-digit values, and 3σ⁴ for large σ²', () => {
    expect(relativeError(discreteGaussianFourthMoment(0.25), 0.22134716196854496774)).toBeLessThan(1e-14);
    expect(relativeError(discreteGaussianFourthMoment(0.99), 2.9403082604812194264)).toBeLessThan(1e-14);
    expect(relativeError(discreteGaussianFourthMoment(1), 3.0000070717222107508)).toBeLessThan(1e-14);
    expect(relativeError(discreteGaussianFourthMoment(2), 12.000000000000329827)).toBeLessThan(1e-14);
    expect(discreteGaussianFourthMoment(1e4)).toBe(3e8);
  });
});
