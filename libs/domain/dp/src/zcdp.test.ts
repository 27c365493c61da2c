import { describe, expect, it } from 'vitest';
import { rationalToNumber } from './rational';
import { composeRho, gaussianRho, gaussianSigma2, rhoForStandardError, zcdpToApproxDp, zcdpToApproxDpSimple } from './zcdp';

const relativeError = (actual: number, expected: number) => Math.abs(actual - expected) / Math.abs(expected);

describe('gaussianSigma2', () => {
  it('is exactly 1/(2·fl(0.1)) = 2^54/3602879701896397 for Δ² = 1, ρ = 0.1, not 5', () => {
    expect(gaussianSigma2(1, 0.1)).toEqual({ num: 18014398509481984n, den: 3602879701896397n });
  });

  it('is reduced: Δ² = 2, ρ = 0.25 gives 4/1', () => {
    expect(gaussianSigma2(2, 0.25)).toEqual({ num: 4n, den: 1n });
  });

  it('is 0 for Δ² = 0', () => {
    expect(gaussianSigma2(0, 1)).toEqual({ num: 0n, den: 1n });
  });

  it('refuses a negative or non-finite Δ²', () => {
    for (const bad of [-1, Number.NaN, Infinity]) {
      expect(() => gaussianSigma2(bad, 1)).toThrow(new RangeError(`gaussianSigma2: sensitivitySquared must be a finite number of at least 0, got ${bad}`));
    }
  });

  it('refuses ρ ≤ 0 or not finite', () => {
    for (const bad of [0, -0.1, Number.NaN, Infinity]) {
      expect(() => gaussianSigma2(1, bad)).toThrow(new RangeError(`gaussianSigma2: rho must be a positive finite number, got ${bad}`));
    }
  });
});

describe('gaussianRho', () => {
  it('is Δ²/(2σ²), exact when it is a double', () => {
    expect(gaussianRho(1, 0.5)).toBe(1);
    expect(gaussianRho(4, 8)).toBe(0.25);
  });

  it('rounds up: Δ² = 1, σ² = 3 gives 0.16666666666666669, not the nearest double 1/6 rounds to', () => {
    expect(gaussianRho(1, 3)).toBe(0.16666666666666669);
    expect(1 / 6).toBe(0.16666666666666666);
  });

  it('refuses σ² ≤ 0 and a negative Δ²', () => {
    expect(() => gaussianRho(1, 0)).toThrow(new RangeError('gaussianRho: sigma2 must be a positive finite number, got 0'));
    expect(() => gaussianRho(-1, 1)).toThrow(new RangeError('gaussianRho: sensitivitySquared must be a finite number of at least 0, got -1'));
  });
});

describe('rhoForStandardError', () => {
  it('is Δ²/(2·se²)', () => {
    expect(rhoForStandardError(1, 10)).toBe(0.005);
    expect(rhoForStandardError(4, 2)).toBe(0.5);
  });

  it('gives back σ² = se² through gaussianSigma2: exactly when ρ is a double, else to the rounding of ρ', () => {
    expect(gaussianSigma2(4, rhoForStandardError(4, 2))).toEqual({ num: 4n, den: 1n });
    expect(relativeError(rationalToNumber(gaussianSigma2(1, rhoForStandardError(1, 10))), 100)).toBeLessThan(2 ** -52);
  });

  it('refuses a standard error ≤ 0', () => {
    expect(() => rhoForStandardError(1, 0)).toThrow(new RangeError('rhoForStandardError: standardError must be a positive finite number, got 0'));
  });
});

describe('composeRho', () => {
  it('adds the ρ of the composed mechanisms, 0 for none', () => {
    expect(composeRho([])).toBe(0);
    expect(composeRho([0.25, 0.5, 0])).toBe(0.75);
  });

  it('rounds the exact sum up: [0.1, 0.2, 0.3] gives 0.6000000000000001, not the nearest double 0.6', () => {
    expect(composeRho([0.1, 0.2, 0.3])).toBe(0.6000000000000001);
  });

  it('names the first ρ that is negative or not finite', () => {
    expect(() => composeRho([0.1, -0.2])).toThrow(new RangeError('composeRho: rhos[1] must be a finite number of at least 0, got -0.2'));
    expect(() => composeRho([Number.NaN])).toThrow(new RangeError('composeRho: rhos[0] must be a finite number of at least 0, got NaN'));
  });
});

// Reference values: the infimum over α found with mpmath (40 digits) at the root of
// (α − 1)²ρ = ln(1/δ) − ln α.
describe('zcdpToApproxDp (CKS20 Corollary 13)', () => {
  it('matches the 40-digit infimum for five (ρ, δ)', () => {
    const cases: [number, number, number][] = [
      [0.5, 1e-6, 5.2215344445301691],
      [0.1, 1e-5, 1.9142388320035978],
      [1, 1e-9, 9.5214636717922322],
      [0.01, 1e-6, 0.6216926545596025],
      [2, 1e-5, 10.724824112939172],
    ];
    for (const [rho, delta, expected] of cases) expect(relativeError(zcdpToApproxDp(rho, delta), expected)).toBeLessThan(1e-12);
  });

  it('is never above the simple bound ρ + 2√(ρ ln(1/δ))', () => {
    for (const rho of [1e-6, 1e-3, 0.05, 0.5, 5, 50]) {
      for (const delta of [1e-12, 1e-6, 1e-3, 0.1, 0.9]) expect(zcdpToApproxDp(rho, delta)).toBeLessThanOrEqual(zcdpToApproxDpSimple(rho, delta));
    }
  });

  it('is 0 for ρ = 0', () => {
    expect(zcdpToApproxDp(0, 1e-6)).toBe(0);
  });

  it('refuses δ outside (0, 1) and a negative ρ', () => {
    expect(() => zcdpToApproxDp(0.5, 0)).toThrow(new RangeError('zcdpToApproxDp: delta must be in (0, 1), got 0'));
    expect(() => zcdpToApproxDp(0.5, 1)).toThrow(new RangeError('zcdpToApproxDp: delta must be in (0, 1), got 1'));
    expect(() => zcdpToApproxDp(-0.5, 1e-6)).toThrow(new RangeError('zcdpToApproxDp: rho must be a finite number of at least 0, got -0.5'));
  });
});

describe('zcdpToApproxDpSimple (Bun & Steinke Proposition 1.3)', () => {
  it('is ρ + 2√(ρ ln(1/δ))', () => {
    expect(zcdpToApproxDpSimple(0.5, 1e-6)).toBe(0.5 + 2 * Math.sqrt(0.5 * Math.log(1e6)));
    expect(relativeError(zcdpToApproxDpSimple(0.5, 1e-6), 5.756521769756932)).toBeLessThan(1e-15);
  });

  it('refuses δ outside (0, 1)', () => {
    expect(() => zcdpToApproxDpSimple(0.5, 2)).toThrow(new RangeError('zcdpToApproxDpSimple: delta must be in (0, 1), got 2'));
  });
});
