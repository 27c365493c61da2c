/*
 * The chi-square distribution's upper tail, for goodness-of-fit tests of the samplers: the
 * regularised incomplete gamma function by its series and its continued fraction (Numerical
 * Recipes, 3rd ed., §6.2), and ln Γ by the Lanczos approximation (g = 7, 9 terms), both accurate to
 * about 1e-14 relative — far more than a critical value needs.
 */

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma: x must be positive, got ${x}`);
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i += 1) sum += LANCZOS[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

const EPSILON = 1e-16;
const TINY = 1e-300;

/** P(a, x) by its power series; converges quickly for x < a + 1. */
function lowerSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < 100_000; n += 1) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPSILON) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

/** Q(a, x) by Lentz's continued fraction; converges quickly for x ≥ a + 1. */
function upperFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 100_000; i += 1) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPSILON) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

/** The regularised upper incomplete gamma function Q(a, x) = Γ(a, x)/Γ(a), a > 0, x ≥ 0. */
export function regularizedGammaQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) throw new RangeError(`regularizedGammaQ: need a > 0 and x ≥ 0, got a = ${a}, x = ${x}`);
  if (x === 0) return 1;
  return x < a + 1 ? 1 - lowerSeries(a, x) : upperFraction(a, x);
}

/** P[χ²_df ≥ x], the p-value of a chi-square statistic `x` with `df` degrees of freedom. */
export function chiSquareSurvival(df: number, x: number): number {
  if (!(df > 0)) throw new RangeError(`chiSquareSurvival: df must be positive, got ${df}`);
  return x <= 0 ? 1 : regularizedGammaQ(df / 2, x / 2);
}

/**
 * The critical value c with P[χ²_df ≥ c] = `significance`, by bisection on
 * {@link chiSquareSurvival} to a relative width of 1e-12. Throws a `RangeError` unless `df > 0`
 * and `0 < significance < 1`.
 */
export function chiSquareCriticalValue(df: number, significance: number): number {
  if (!(df > 0)) throw new RangeError(`chiSquareCriticalValue: df must be positive, got ${df}`);
  if (!(significance > 0 && significance < 1)) throw new RangeError(`chiSquareCriticalValue: significance must be in (0, 1), got ${significance}`);
  let low = 0;
  let high = Math.max(1, df);
  while (chiSquareSurvival(df, high) > significance) high *= 2;
  while (high - low > 1e-12 * high) {
    const mid = (low + high) / 2;
    if (chiSquareSurvival(df, mid) > significance) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}
