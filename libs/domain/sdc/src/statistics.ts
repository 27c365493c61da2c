/** Φ⁻¹(0.975): the normal quantile of a two-sided 95 % interval. */
export const Z_95 = 1.959963984540054;

/**
 * The Wilson score interval for `successes` out of `trials` (Wilson 1927), clamped to [0, 1].
 * Unlike the Wald interval it stays inside [0, 1] and behaves at proportions near 0 and 1.
 */
export function wilsonInterval(successes: number, trials: number, z = Z_95): [number, number] {
  const p = successes / trials;
  const z2 = z * z;
  const scale = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / scale;
  const halfWidth = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / scale;
  return [Math.max(0, centre - halfWidth), Math.min(1, centre + halfWidth)];
}

/**
 * The sample variance (divisor n − 1) from the totals Σx and Σx² of `n ≥ 2` values. Computed as
 * (Σx² − mean·Σx) / (n − 1), which avoids forming (Σx)² and dividing it again, and clamped at 0
 * because rounding can leave a tiny negative remainder when all values are (nearly) equal.
 */
export function sampleVariance(sum: number, sumOfSquares: number, n: number): number {
  const mean = sum / n;
  return Math.max(0, (sumOfSquares - mean * sum) / (n - 1));
}

/**
 * Unbiased random rounding of a non-negative integer to a multiple of 5: `value` rounds up with
 * probability (value mod 5) / 5, so its expectation is `value`. `draw` is uniform on [0, 1).
 */
export function roundToBase5(value: number, draw: number): number {
  const remainder = value % 5;
  return value - remainder + (draw < remainder / 5 ? 5 : 0);
}

/** A uniform draw on [0, 1) from the platform's cryptographic generator (Web Crypto). */
export function secureRandom(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0] / 2 ** 32;
}
