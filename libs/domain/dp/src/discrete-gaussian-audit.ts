import { chiSquareCriticalValue, chiSquareSurvival } from './chi-square';
import { discreteGaussianFourthMoment, discreteGaussianPmf, discreteGaussianVariance } from './discrete-gaussian-pmf';

/** Settings of {@link auditDiscreteGaussian}. */
export interface AuditOptions {
  /** Probability that an exact sampler fails a check by chance; 1e-6 by default. */
  significance?: number;
  /** Most bins of the chi-square test; 1000 by default. */
  maxBins?: number;
  /** Standard errors the mean square may differ from the exact variance; 5 by default. */
  varianceTolerance?: number;
}

/** What {@link auditDiscreteGaussian} measured, and whether each check passed. */
export interface DiscreteGaussianAudit {
  draws: number;
  /** `'integers'`: one bin per likely integer plus two tail bins; `'quantiles'`: equal-probability bins. */
  binning: 'integers' | 'quantiles';
  bins: number;
  degreesOfFreedom: number;
  chiSquare: number;
  criticalValue: number;
  pValue: number;
  /** Total variation distance between the binned empirical and exact distributions. */
  totalVariation: number;
  /** The total variation an exact sampler stays below with probability ≥ 1 − significance. */
  totalVariationBound: number;
  /** (1/n)·Σx², the variance estimate (the mean is known to be 0). */
  meanSquare: number;
  /** Var[N_Z(0, σ²)], not σ². */
  exactVariance: number;
  /** √((E[X⁴] − Var²)/n), the standard error of `meanSquare`. */
  varianceStandardError: number;
  /** (meanSquare − exactVariance) / varianceStandardError. */
  varianceZ: number;
  passed: { chiSquare: boolean; totalVariation: boolean; variance: boolean };
}

const MIN_EXPECTED = 5;
/** The audit tabulates the pmf over ±14σ; this caps the table at 2.8·10^7 entries (σ² ≤ 10^12). */
const MAX_HALF_WIDTH = 14 * 1e6 + 1;

/** Integer k's pmf for k in [−h, h], index k + h. */
function pmfTable(sigma2: number, h: number): Float64Array {
  const p = new Float64Array(2 * h + 1);
  for (let k = -h; k <= h; k += 1) p[k + h] = discreteGaussianPmf(sigma2, k);
  return p;
}

/** Bin index of each integer k ∈ [−h, h] (index k + h), and each bin's probability. */
function makeBins(
  p: Float64Array,
  h: number,
  draws: number,
  maxBins: number,
): { binOf: Int32Array; probability: number[]; binning: DiscreteGaussianAudit['binning'] } {
  const binOf = new Int32Array(p.length);
  const probability: number[] = [];
  const likely = p.reduce((count, q) => count + (q * draws >= MIN_EXPECTED ? 1 : 0), 0);
  if (likely >= 1 && likely <= maxBins) {
    // p is symmetric and decreasing in |k|, so the likely integers are −K..K; each tail becomes
    // one bin, merged into its neighbour when it expects fewer than MIN_EXPECTED draws.
    const big = (likely - 1) / 2;
    let tail = 0;
    for (let k = big + 1; k <= h; k += 1) tail += p[k + h]!;
    const ownTail = tail * draws >= MIN_EXPECTED;
    const first = ownTail ? -big - 1 : -big;
    const last = ownTail ? big + 1 : big;
    for (let k = -h; k <= h; k += 1) {
      const bin = Math.min(Math.max(k, first), last) - first;
      binOf[k + h] = bin;
      probability[bin] = (probability[bin] ?? 0) + p[k + h]!;
    }
    return { binOf, probability, binning: 'integers' };
  }
  // Equal-probability bins by the exact cumulative distribution, as many as keep ≥ MIN_EXPECTED
  // draws each: k joins the bin of the quantile its probability mass is centred on.
  const bins = Math.min(maxBins, Math.floor(draws / MIN_EXPECTED));
  let cumulative = 0;
  let previous = -1;
  for (let k = -h; k <= h; k += 1) {
    const q = p[k + h]!;
    const quantile = Math.min(bins - 1, Math.floor((cumulative + q / 2) * bins));
    if (quantile !== previous) {
      probability.push(0);
      previous = quantile;
    }
    binOf[k + h] = probability.length - 1;
    probability[probability.length - 1]! += q;
    cumulative += q;
  }
  return { binOf, probability, binning: 'quantiles' };
}

/**
 * Checks draws of a sampler of N_Z(0, σ²) against the exact distribution, three ways, each failing
 * an exact sampler with probability at most `significance`:
 *
 * - chi-square goodness of fit: one bin per integer expecting ≥ 5 draws (tails merged until they
 *   expect ≥ 5) when there are 1 to `maxBins` such integers, else up to `maxBins` equal-probability
 *   bins by the exact cumulative distribution, each expecting ≥ 5 draws; critical value from the
 *   regularised incomplete gamma;
 * - total variation distance on those bins, against ½·Σ√(p(1−p)/n) (a bound on its mean, by Jensen)
 *   plus √(ln(1/significance)/(2n)) (McDiarmid: one draw moves it by at most 1/n);
 * - the mean square against the exact variance of N_Z(0, σ²) (below σ², noticeably so for small
 *   σ²), within `varianceTolerance` standard errors √((E[X⁴] − Var²)/n).
 *
 * Throws a `RangeError` for σ² outside (0, 10^12] (the pmf is tabulated over ±14σ), a draw beyond
 * ±2^53, or too few draws to fill two bins.
 */
export function auditDiscreteGaussian(sigma2: number, draws: readonly bigint[], options: AuditOptions = {}): DiscreteGaussianAudit {
  const significance = options.significance ?? 1e-6;
  const maxBins = options.maxBins ?? 1000;
  const varianceTolerance = options.varianceTolerance ?? 5;
  const n = draws.length;
  // Beyond 14σ the mass is below e^{−98}: such integers share the outermost bins.
  const h = Math.ceil(14 * Math.sqrt(sigma2)) + 1;
  if (!(sigma2 > 0 && h <= MAX_HALF_WIDTH)) throw new RangeError(`auditDiscreteGaussian: sigma2 must be positive and at most 10^12, got ${sigma2}`);
  const p = pmfTable(sigma2, h);
  const { binOf, probability, binning } = makeBins(p, h, n, maxBins);
  if (probability.length < 2)
    throw new RangeError(`auditDiscreteGaussian: ${n} draws at sigma2 = ${sigma2} do not fill two bins expecting ${MIN_EXPECTED} each`);

  const observed = new Float64Array(probability.length);
  let sumOfSquares = 0n;
  for (const x of draws) {
    if (x > 2n ** 53n || x < -(2n ** 53n)) throw new RangeError(`auditDiscreteGaussian: draw ${x} is beyond ±2^53`);
    sumOfSquares += x * x;
    const k = Math.min(Math.max(Number(x), -h), h);
    observed[binOf[k + h]!]! += 1;
  }

  let chiSquare = 0;
  let totalVariation = 0;
  let meanDeviation = 0;
  probability.forEach((q, bin) => {
    const expected = q * n;
    chiSquare += (observed[bin]! - expected) ** 2 / expected;
    totalVariation += Math.abs(observed[bin]! / n - q) / 2;
    meanDeviation += Math.sqrt((q * (1 - q)) / n) / 2;
  });
  const degreesOfFreedom = probability.length - 1;
  const criticalValue = chiSquareCriticalValue(degreesOfFreedom, significance);
  const totalVariationBound = meanDeviation + Math.sqrt(Math.log(1 / significance) / (2 * n));

  const meanSquare = Number(sumOfSquares) / n;
  const exactVariance = discreteGaussianVariance(sigma2);
  const varianceStandardError = Math.sqrt((discreteGaussianFourthMoment(sigma2) - exactVariance ** 2) / n);
  const varianceZ = (meanSquare - exactVariance) / varianceStandardError;

  return {
    draws: n,
    binning,
    bins: probability.length,
    degreesOfFreedom,
    chiSquare,
    criticalValue,
    pValue: chiSquareSurvival(degreesOfFreedom, chiSquare),
    totalVariation,
    totalVariationBound,
    meanSquare,
    exactVariance,
    varianceStandardError,
    varianceZ,
    passed: {
      chiSquare: chiSquare <= criticalValue,
      totalVariation: totalVariation <= totalVariationBound,
      variance: Math.abs(varianceZ) <= varianceTolerance,
    },
  };
}
