import { discreteGaussianScaledSampler, SCALED_MAX_SIGMA2 } from './discrete-gaussian-scaled';
import { discreteGaussianTableSampler, TABLE_MAX_SIGMA2, type DiscreteGaussianNumberSampler } from './discrete-gaussian-table';
import type { RandomSource } from './random-source';
import { checkPositiveRational, integerSquareRoot, type Rational } from './rational';

/*
 * Exact samplers of Canonne, Kamath & Steinke, "The Discrete Gaussian for Differential Privacy",
 * NeurIPS 2020, arXiv:2004.00010 (CKS20): Bernoulli(exp(−γ)) (Algorithm 1), the discrete
 * Laplace (Algorithm 2) and the discrete Gaussian (Algorithm 3). Only integer arithmetic — on bigint,
 * or on doubles while every integer is below 2^53 (where doubles are exact integers): a floating-point
 * shortcut would make the output distribution differ from the one the privacy analysis assumes
 * (Mironov 2012 shows how badly).
 */

const show = (r: Rational): string => `${r.num}/${r.den}`;

/** Bernoulli(num/den) for integers 0 ≤ num ≤ den, den ≥ 1: one uniform draw below den. */
function bernoulli(num: bigint, den: bigint, rng: RandomSource): boolean {
  return rng.uniformBelow(den) < num;
}

/** CKS20 Algorithm 1 for γ = num/den ∈ [0, 1] (von Neumann's trick). */
function bernoulliExpAtMostOne(num: bigint, den: bigint, rng: RandomSource): boolean {
  let k = 1n;
  while (bernoulli(num, den * k, rng)) k += 1n;
  return (k & 1n) === 1n;
}

/**
 * Bernoulli(exp(−num/den)) for num ≥ 0, den ≥ 1. For γ > 1, as CKS20 suggest: ⌊γ⌋ independent
 * Bernoulli(exp(−1)) and one Bernoulli(exp(−(γ − ⌊γ⌋))), all of which must be 1.
 */
function bernoulliExp(num: bigint, den: bigint, rng: RandomSource): boolean {
  if (num <= den) return bernoulliExpAtMostOne(num, den, rng);
  const whole = num / den;
  for (let i = 0n; i < whole; i += 1n) {
    if (!bernoulliExpAtMostOne(1n, 1n, rng)) return false;
  }
  return bernoulliExpAtMostOne(num - whole * den, den, rng);
}

/**
 * Samples Bernoulli(p) for a rational `p ∈ [0, 1]`: 1 with probability exactly `p` (as in CKS20:
 * a uniform integer below the denominator compared with the numerator). Throws a `RangeError` for
 * `p` outside [0, 1].
 */
export function sampleBernoulliRational(p: Rational, rng: RandomSource): boolean {
  if (p.den <= 0n || p.num < 0n || p.num > p.den) {
    throw new RangeError(`sampleBernoulliRational: p must be a rational in [0, 1] with a positive denominator, got ${show(p)}`);
  }
  return bernoulli(p.num, p.den, rng);
}

/**
 * Samples Bernoulli(exp(−γ)) exactly for a rational `γ ≥ 0` (CKS20 Algorithm 1 for γ ≤ 1; for
 * γ > 1 the product of ⌊γ⌋ draws of Bernoulli(exp(−1)) and one of Bernoulli(exp(⌊γ⌋ − γ))).
 * Throws a `RangeError` for negative `γ`.
 */
export function sampleBernoulliExp(gamma: Rational, rng: RandomSource): boolean {
  if (gamma.den <= 0n || gamma.num < 0n) {
    throw new RangeError(`sampleBernoulliExp: gamma must be a non-negative rational with a positive denominator, got ${show(gamma)}`);
  }
  return bernoulliExp(gamma.num, gamma.den, rng);
}

/** CKS20 Algorithm 2 without input checks: Lap_Z(t/s), P[Z = z] ∝ exp(−|z|·s/t). */
function discreteLaplace(s: bigint, t: bigint, rng: RandomSource): bigint {
  for (;;) {
    const u = rng.uniformBelow(t);
    if (!bernoulliExpAtMostOne(u, t, rng)) continue;
    let v = 0n;
    while (bernoulliExpAtMostOne(1n, 1n, rng)) v += 1n;
    const y = (u + t * v) / s;
    const negative = bernoulli(1n, 2n, rng);
    if (negative && y === 0n) continue;
    return negative ? -y : y;
  }
}

/**
 * Samples the discrete Laplace distribution Lap_Z(t/s) exactly: P[Z = z] ∝ exp(−|z|·s/t) on the
 * integers (CKS20 Algorithm 2). Throws a `RangeError` unless `s ≥ 1` and `t ≥ 1`.
 */
export function sampleDiscreteLaplace(s: bigint, t: bigint, rng: RandomSource): bigint {
  if (s < 1n || t < 1n) throw new RangeError(`sampleDiscreteLaplace: s and t must be integers of at least 1, got s = ${s}, t = ${t}`);
  return discreteLaplace(s, t, rng);
}

/** A sampler of N_Z(0, σ²) with its constants computed once; see {@link discreteGaussianSampler}. */
export type DiscreteGaussianSampler = (rng: RandomSource) => bigint;

/**
 * A rejection sampler of the discrete Gaussian N_Z(0, σ²), P[X = x] ∝ exp(−x²/(2σ²)) on the
 * integers, for a rational `σ² = a/b > 0` (CKS20 Algorithm 3), with its constants computed once for
 * repeated draws:
 *
 * - t = ⌊σ⌋ + 1, exactly: ⌊√(a/b)⌋ = ⌊⌊√(ab)⌋ / b⌋ with an integer square root;
 * - Y ← Lap_Z(t) (Algorithm 2 with s = 1);
 * - accept Y with probability exp(−γ), γ = (|Y| − σ²/t)² / (2σ²) = (|Y|·b·t − a)² / (2·a·b·t²),
 *   one exact rational (left unreduced), else repeat.
 *
 * The expected number of repetitions is bounded by a small constant for every σ² (CKS20's analysis
 * of Algorithm 3); `npm run bench -- dp` measures the speed. {@link discreteGaussianSampler} uses
 * it for σ² above 2^16 and the inversion table below.
 * Throws a `RangeError` unless σ² > 0.
 */
export function cks20DiscreteGaussianSampler(sigma2: Rational): DiscreteGaussianSampler {
  checkPositiveRational('cks20DiscreteGaussianSampler', 'sigma2', sigma2);
  const { num: a, den: b } = sigma2;
  const t = integerSquareRoot(a * b) / b + 1n;
  const bt = b * t;
  const gammaDen = 2n * a * b * t * t;
  if (gammaDen <= SAFE) return numberSampler(Number(a), Number(t), Number(bt), Number(gammaDen));
  return (rng) => {
    for (;;) {
      const y = discreteLaplace(1n, t, rng);
      const distance = (y < 0n ? -y : y) * bt - a;
      if (bernoulliExp(distance * distance, gammaDen, rng)) return y;
    }
  };
}

/*
 * The same algorithms on numbers, for σ² whose constants fit in 53 bits (every count's noise share):
 * integers below 2^53 are exact doubles, so each comparison and product is the bigint one. Wherever a
 * value could pass 2^53 (a long tail, a long von Neumann run) the step continues on bigint: the output
 * distribution is the same, only faster (`npm run bench -- dp`; the exactness tests cover both paths).
 */
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const SAFE_NUMBER = Number.MAX_SAFE_INTEGER;

function belowNumber(n: number, rng: RandomSource): number {
  return rng.uniformBelowNumber ? rng.uniformBelowNumber(n) : Number(rng.uniformBelow(BigInt(n)));
}

/** {@link bernoulliExpAtMostOne} on numbers (num ≤ den < 2^53), continuing on bigint once den·k would not fit. */
function bernoulliExpAtMostOneNumber(num: number, den: number, rng: RandomSource): boolean {
  for (let k = 1; ; k += 1) {
    const d = den * k;
    if (d > SAFE_NUMBER) {
      let kb = BigInt(k);
      while (bernoulli(BigInt(num), BigInt(den) * kb, rng)) kb += 1n;
      return (kb & 1n) === 1n;
    }
    if (belowNumber(d, rng) >= num) return (k & 1) === 1;
  }
}

/** {@link bernoulliExp} on numbers (num, den < 2^53). */
function bernoulliExpNumber(num: number, den: number, rng: RandomSource): boolean {
  if (num <= den) return bernoulliExpAtMostOneNumber(num, den, rng);
  let whole = Math.floor(num / den);
  while (whole * den > num) whole -= 1;
  while ((whole + 1) * den <= num) whole += 1;
  for (let i = 0; i < whole; i += 1) {
    if (!bernoulliExpAtMostOneNumber(1, 1, rng)) return false;
  }
  return bernoulliExpAtMostOneNumber(num - whole * den, den, rng);
}

function numberSampler(a: number, t: number, bt: number, gammaDen: number): DiscreteGaussianSampler {
  const laplace = (rng: RandomSource): number | bigint => {
    for (;;) {
      const u = belowNumber(t, rng);
      if (!bernoulliExpAtMostOneNumber(u, t, rng)) continue;
      let v = 0;
      while (bernoulliExpAtMostOneNumber(1, 1, rng)) v += 1;
      // The sign is drawn after y, as in the bigint version (scripted sources replay draws in order).
      if (t * v + u > SAFE_NUMBER) {
        const y = BigInt(u) + BigInt(t) * BigInt(v);
        return belowNumber(2, rng) < 1 ? -y : y;
      }
      const y = u + t * v;
      const negative = belowNumber(2, rng) < 1;
      if (negative && y === 0) continue;
      return negative ? -y : y;
    }
  };
  return (rng) => {
    for (;;) {
      const y = laplace(rng);
      const abs = typeof y === 'bigint' ? (y < 0n ? -y : y) : Math.abs(y);
      const distance = typeof abs === 'number' && abs * bt <= SAFE_NUMBER ? abs * bt - a : BigInt(abs) * BigInt(bt) - BigInt(a);
      const accept =
        typeof distance === 'number' && distance * distance <= SAFE_NUMBER
          ? bernoulliExpNumber(distance * distance, gammaDen, rng)
          : bernoulliExp(BigInt(distance) * BigInt(distance), BigInt(gammaDen), rng);
      if (accept) return typeof y === 'bigint' ? y : BigInt(y);
    }
  };
}

/** Table-based samplers by σ², built once per process: a node draws the same few shares again and again. */
const tableSamplers = new Map<string, DiscreteGaussianNumberSampler>();
const TABLE_SAMPLERS_KEPT = 32;

/** The inversion table for σ² ≤ 2^16, the scaled table with rejection up to 2^78, else `undefined` (CKS20). */
function tableSampler(sigma2: Rational): DiscreteGaussianNumberSampler | undefined {
  if (sigma2.num > SCALED_MAX_SIGMA2 * sigma2.den) return undefined;
  // Terms beyond the doubles (a σ² given as a fraction of huge numbers) go to CKS20, which is exact in bigints.
  if (!Number.isFinite(Number(sigma2.num)) || !Number.isFinite(Number(sigma2.den))) return undefined;
  const key = `${sigma2.num}/${sigma2.den}`;
  let sampler = tableSamplers.get(key);
  if (!sampler) {
    if (tableSamplers.size >= TABLE_SAMPLERS_KEPT) tableSamplers.delete(tableSamplers.keys().next().value!);
    sampler = sigma2.num <= BigInt(TABLE_MAX_SIGMA2) * sigma2.den ? discreteGaussianTableSampler(sigma2) : discreteGaussianScaledSampler(sigma2);
    tableSamplers.set(key, sampler);
  }
  return sampler;
}

/**
 * An exact sampler of the discrete Gaussian N_Z(0, σ²) for a rational σ² > 0, drawing numbers: by
 * inversion against a table of rigorously bounded thresholds for σ² ≤ 2^16
 * (`discreteGaussianTableSampler`, a few ns a draw), by rejection from that table at a coarser scale
 * for 2^16 < σ² ≤ 2^78 (`discreteGaussianScaledSampler`), their tables kept per σ²; else
 * {@link cks20DiscreteGaussianSampler}. All are exact; they consume the random source differently. A draw beyond ±(2^53 − 1) (σ² of the order of 2^100) throws a `RangeError` rather than
 * being rounded. Throws a `RangeError` unless σ² > 0.
 */
export function discreteGaussianNumberSampler(sigma2: Rational): DiscreteGaussianNumberSampler {
  checkPositiveRational('discreteGaussianNumberSampler', 'sigma2', sigma2);
  const table = tableSampler(sigma2);
  if (table) return table;
  const cks20 = cks20DiscreteGaussianSampler(sigma2);
  const draw = (rng: RandomSource): number => {
    const x = cks20(rng);
    if (x > SAFE || x < -SAFE) throw new RangeError(`discreteGaussianNumberSampler: a draw at sigma2 = ${show(sigma2)} is beyond ±2^53`);
    return Number(x);
  };
  const addTo = (values: number[], start: number, end: number, rng: RandomSource): void => {
    for (let i = start; i < end; i += 1) values[i]! += draw(rng);
  };
  return Object.assign(draw, { addTo });
}

/**
 * An exact sampler of N_Z(0, σ²) for a rational σ² > 0 with its set-up done once, drawing bigints:
 * the table-based samplers for σ² ≤ 2^78 and {@link cks20DiscreteGaussianSampler} above (see
 * {@link discreteGaussianNumberSampler}). Throws a `RangeError` unless σ² > 0.
 */
export function discreteGaussianSampler(sigma2: Rational): DiscreteGaussianSampler {
  checkPositiveRational('discreteGaussianSampler', 'sigma2', sigma2);
  const table = tableSampler(sigma2);
  if (table) return (rng) => BigInt(table(rng));
  return cks20DiscreteGaussianSampler(sigma2);
}

/**
 * One exact draw from the discrete Gaussian N_Z(0, σ²) for a rational σ² > 0 by CKS20 Algorithm 3,
 * which needs no table (see {@link discreteGaussianSampler} for repeated draws).
 * Throws a `RangeError` unless σ² > 0.
 */
export function sampleDiscreteGaussian(sigma2: Rational, rng: RandomSource): bigint {
  checkPositiveRational('sampleDiscreteGaussian', 'sigma2', sigma2);
  return cks20DiscreteGaussianSampler(sigma2)(rng);
}

/**
 * `length` independent draws from N_Z(0, σ²), e.g. the noise for a vector of counts. Throws a
 * `RangeError` unless σ² > 0 and `length` is a non-negative safe integer.
 */
export function sampleDiscreteGaussianVector(sigma2: Rational, length: number, rng: RandomSource): bigint[] {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`sampleDiscreteGaussianVector: length must be a non-negative integer, got ${length}`);
  }
  checkPositiveRational('sampleDiscreteGaussianVector', 'sigma2', sigma2);
  const sample = discreteGaussianSampler(sigma2);
  return Array.from({ length }, () => sample(rng));
}
