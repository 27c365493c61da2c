import { describe, expect, it } from 'vitest';
import { roundToBase5, sampleVariance, wilsonInterval } from './statistics';

describe('wilsonInterval', () => {
  it('gives [0.21894885294932773, 0.39584854633346644] for 30 of 100', () => {
    const [lower, upper] = wilsonInterval(30, 100);
    expect(lower).toBeCloseTo(0.21894885294932773, 10);
    expect(upper).toBeCloseTo(0.39584854633346644, 10);
  });

  it('starts at exactly 0 when no trial succeeds', () => {
    const [lower, upper] = wilsonInterval(0, 20);
    expect(lower).toBe(0);
    expect(upper).toBeCloseTo(0.16112515805281938, 10);
  });
});

describe('sampleVariance', () => {
  it('matches the two-pass sample variance of the values', () => {
    const values = [2.5, 3, 7, 10, 4.25, 6.5, 1, 8, 9.75, 5.5, 3.25, 12];
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const direct = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1);
    const sum = values.reduce((a, b) => a + b, 0);
    const sumOfSquares = values.reduce((a, b) => a + b * b, 0);
    expect(sampleVariance(sum, sumOfSquares, values.length)).toBeCloseTo(direct, 10);
    expect(direct).toBeCloseTo(11.671875, 10);
  });

  it('is 0, not negative, when all values are equal', () => {
    const n = 7;
    expect(sampleVariance(0.1 * n, 0.01 * n, n)).toBe(0);
  });
});

describe('roundToBase5', () => {
  it('rounds up when the draw is below (value mod 5) / 5', () => {
    expect(roundToBase5(12, 0.39)).toBe(15);
  });

  it('rounds down when the draw is at or above (value mod 5) / 5', () => {
    expect(roundToBase5(12, 0.4)).toBe(10);
  });

  it('keeps a multiple of 5 whatever the draw', () => {
    expect([0, 0.5, 0.999].map((draw) => roundToBase5(15, draw))).toEqual([15, 15, 15]);
  });
});
