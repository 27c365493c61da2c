import { describe, expect, it } from 'vitest';
import { logGamma, normalCdf, normalQuantile, studentTCdf, studentTQuantile } from './distributions';

// Reference values from SciPy 1.17.1: scipy.stats.norm.cdf / norm.ppf, scipy.stats.t.cdf / t.ppf and
// scipy.special.gammaln, printed with repr().
const NORMAL_CDF: [number, number][] = [
  [-37.5, 4.605353009581954e-308],
  [-30, 4.906713927147908e-198],
  [-20, 2.7536241186061556e-89],
  [-8.5, 9.47953482220325e-18],
  [-5, 2.866515718791933e-7],
  [-1.96, 0.024997895148220435],
  [-0.3, 0.3820885778110474],
  [0, 0.5],
  [0.5, 0.6914624612740131],
  [1.5, 0.9331927987311419],
  [3, 0.9986501019683699],
  [9, 1.0],
];
const NORMAL_QUANTILE: [number, number][] = [
  [1e-300, -37.0470962993612],
  [1e-20, -9.262340089798409],
  [1e-8, -5.612001244174789],
  [0.025, -1.9599639845400545],
  [0.3, -0.5244005127080409],
  [0.5, 0.0],
  [0.7, 0.5244005127080407],
  [0.975, 1.959963984540054],
  [0.999, 3.090232306167813],
  [0.999999999999, 7.0344869100478356],
];
const STUDENT_T_CDF: [number, number, number][] = [
  [-45, 587, 9.663249757870465e-193],
  [-15.6, 583, 2.0850931679198784e-46],
  [-4.88, 583, 6.855019102156773e-7],
  [-2.77, 583, 0.002892121370140519],
  [0.5, 583, 0.691368129214063],
  [2, 583, 0.9770181584337337],
  [-3, 1, 0.10241638234956672],
  [-50, 1, 0.006365349100972797],
  [2.5, 2, 0.9351941398892446],
  [-1000, 3, 1.102653821288296e-9],
  [-7, 5, 0.00045837375719920225],
  [-0.1, 10, 0.4611603592822041],
  [1.2, 30.5, 0.8803111104579346],
  [-25, 100, 4.115990448503e-45],
  [-3, 1e6, 0.0013499312707109],
];
const STUDENT_T_QUANTILE: [number, number, number][] = [
  [0.975, 583, 1.9640413774963483],
  [0.025, 583, -1.9640413774963486],
  [0.975, 1, 12.706204736174694],
  [0.975, 2, 4.302652729749462],
  [0.995, 3, 5.840909309733355],
  [0.9, 10, 1.372183641110336],
  [1e-10, 5, -156.82559270889433],
  [0.500000001, 20, 2.5381445249558015e-9],
  [0.75, 7.5, 0.7085995804442596],
  [1e-30, 583, -12.147201111703374],
  [0.999999, 12, 8.504302718031097],
  [0.975, 1e6, 1.959966356814107],
];
const LOG_GAMMA: [number, number][] = [
  [1e-8, 18.42068073818021],
  [0.1, 2.252712651734206],
  [0.5, 0.5723649429247],
  [1.5, -0.12078223763524526],
  [3.7, 1.428072326665388],
  [14.99, 25.164481163825506],
  [100.5, 361.43554046777757],
  [295, 1380.7334634610493],
  [1e5, 1051287.7089736569],
  [1e10, 220258509288.81058],
];

/** The relative error |actual − expected| / |expected| (absolute when expected is 0). */
function relativeError(actual: number, expected: number): number {
  return Math.abs(actual - expected) / (expected === 0 ? 1 : Math.abs(expected));
}

describe('normalCdf', () => {
  it.each(NORMAL_CDF)('Φ(%s) agrees with SciPy to 1e-10 relative', (x, expected) => {
    expect(relativeError(normalCdf(x), expected)).toBeLessThanOrEqual(1e-10);
  });
});

describe('normalQuantile', () => {
  it.each(NORMAL_QUANTILE)('Φ⁻¹(%s) agrees with SciPy to 1e-10 relative', (p, expected) => {
    expect(relativeError(normalQuantile(p), expected)).toBeLessThanOrEqual(1e-10);
  });

  it('is −∞ at 0, +∞ at 1 and NaN outside [0, 1]', () => {
    expect([normalQuantile(0), normalQuantile(1), normalQuantile(1.5)]).toEqual([-Infinity, Infinity, Number.NaN]);
  });
});

describe('studentTCdf', () => {
  it.each(STUDENT_T_CDF)('P(T ≤ %s) with %s df agrees with SciPy to 1e-10 relative', (t, df, expected) => {
    expect(relativeError(studentTCdf(t, df), expected)).toBeLessThanOrEqual(1e-10);
  });

  it('is the normal CDF for infinite degrees of freedom', () => {
    expect(studentTCdf(-1.96, Infinity)).toBe(normalCdf(-1.96));
  });
});

describe('studentTQuantile', () => {
  it.each(STUDENT_T_QUANTILE)('the %s quantile with %s df agrees with SciPy to 1e-10 relative', (p, df, expected) => {
    expect(relativeError(studentTQuantile(p, df), expected)).toBeLessThanOrEqual(1e-10);
  });

  it('inverts studentTCdf', () => {
    expect(relativeError(studentTCdf(studentTQuantile(0.975, 583), 583), 0.975)).toBeLessThanOrEqual(1e-15);
  });
});

describe('logGamma', () => {
  it.each(LOG_GAMMA)('ln Γ(%s) agrees with SciPy to 1e-10 relative', (x, expected) => {
    expect(relativeError(logGamma(x), expected)).toBeLessThanOrEqual(1e-10);
  });

  it('is exactly ln((n − 1)!) for small integers, so ln Γ(1) = ln Γ(2) = 0', () => {
    expect([logGamma(1), logGamma(2), logGamma(4)]).toEqual([0, 0, Math.log(6)]);
  });
});
