/*
 * The distribution N_Z(0, σ²) in floating point, for tests, audits and accounting; the samplers
 * never use these. Sums over the integers of e^{−k²/(2σ²)}·{1, k², k⁴} are computed from whichever
 * of two exact identities converges faster:
 * - directly, for σ² < 1, where the terms fall off like e^{−k²/(2σ²)};
 * - by Poisson summation, Σ_k f(k) = Σ_m f̂(m), for σ² ≥ 1, where the dual terms fall off like
 *   e^{−2π²σ²m²} ≤ e^{−19.7·m²}: m = 0 is the continuous Gaussian and a few m ≥ 1 give the rest.
 */

/** Σ_k e^{−k²/(2σ²)}, and E[X²] and E[X⁴] under N_Z(0, σ²). */
interface LatticeSums {
  normaliser: number;
  variance: number;
  fourthMoment: number;
}

function checkSigma2(caller: string, sigma2: number): void {
  if (!Number.isFinite(sigma2) || sigma2 <= 0) throw new RangeError(`${caller}: sigma2 must be a positive finite number, got ${sigma2}`);
}

const cache = new Map<number, LatticeSums>();

function latticeSums(sigma2: number): LatticeSums {
  const cached = cache.get(sigma2);
  if (cached) return cached;
  let sums: LatticeSums;
  if (sigma2 < 1) {
    let s0 = 1;
    let s2 = 0;
    let s4 = 0;
    for (let k = 1; ; k += 1) {
      const w = Math.exp((-k * k) / (2 * sigma2));
      if (w === 0) break;
      s0 += 2 * w;
      s2 += 2 * k * k * w;
      s4 += 2 * k ** 4 * w;
    }
    sums = { normaliser: s0, variance: s2 / s0, fourthMoment: s4 / s0 };
  } else {
    // f(x) = e^{−x²/(2σ²)} has f̂(ξ) = √(2πσ²)·e^{−aξ²} with a = 2π²σ²; x²f and x⁴f transform to
    // −f̂''/(4π²) = σ²(1 − 2aξ²)·f̂(ξ) and f̂''''/(16π⁴) = 3σ⁴(1 − 4aξ² + (4/3)a²ξ⁴)·f̂(ξ).
    const a = 2 * Math.PI * Math.PI * sigma2;
    let s0 = 1;
    let s2 = 1;
    let s4 = 1;
    for (let m = 1; ; m += 1) {
      const w = Math.exp(-a * m * m);
      if (w < 1e-30) break;
      s0 += 2 * w;
      s2 += 2 * (1 - 2 * a * m * m) * w;
      s4 += 2 * (1 - 4 * a * m * m + (4 / 3) * a * a * m ** 4) * w;
    }
    sums = { normaliser: Math.sqrt(2 * Math.PI * sigma2) * s0, variance: (sigma2 * s2) / s0, fourthMoment: (3 * sigma2 * sigma2 * s4) / s0 };
  }
  if (cache.size > 64) cache.clear();
  cache.set(sigma2, sums);
  return sums;
}

/**
 * P[X = k] for X ~ N_Z(0, σ²): e^{−k²/(2σ²)} / Σ_j e^{−j²/(2σ²)} (the definition in CKS20), in double
 * precision for any σ² > 0 (see the module note on the normalising constant). Throws a
 * `RangeError` unless σ² is positive and finite and `k` is an integer.
 */
export function discreteGaussianPmf(sigma2: number, k: number): number {
  checkSigma2('discreteGaussianPmf', sigma2);
  if (!Number.isInteger(k)) throw new RangeError(`discreteGaussianPmf: k must be an integer, got ${k}`);
  return Math.exp((-k * k) / (2 * sigma2)) / latticeSums(sigma2).normaliser;
}

/**
 * Var[X] = E[X²] for X ~ N_Z(0, σ²). Always below σ² (CKS20): 0.2151… for σ² = 1/4, and
 * indistinguishable from σ² in double precision once σ² ≳ 2. Throws a `RangeError` unless σ²
 * is positive and finite.
 */
export function discreteGaussianVariance(sigma2: number): number {
  checkSigma2('discreteGaussianVariance', sigma2);
  return latticeSums(sigma2).variance;
}

/**
 * E[X⁴] for X ~ N_Z(0, σ²) (3σ⁴ for large σ²), e.g. for the standard error (E[X⁴] − Var²)/n of a
 * sample variance. Throws a `RangeError` unless σ² is positive and finite.
 */
export function discreteGaussianFourthMoment(sigma2: number): number {
  checkSigma2('discreteGaussianFourthMoment', sigma2);
  return latticeSums(sigma2).fourthMoment;
}
