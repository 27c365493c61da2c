import { noiseKernel } from './noise-kernel';
import type { RandomSource } from './random-source';
import { bitLength, checkPositiveRational, type Rational } from './rational';

/*
 * An exact sampler of the discrete Gaussian N_Z(0, σ²) by inversion with lazily refined thresholds
 * (Knuth & Yao 1976; Devroye 1986, §III.2 and §III.3, for inversion with a guide table; Karney 2016,
 * "Sampling exactly from the normal distribution", for the idea of comparing an infinite uniform
 * bit string with a threshold only as far as needed).
 *
 * U is an infinite string of uniform bits, read as a number in [0, 1). X = the k with
 * C_{k−1} ≤ U < C_k, C_k = P(X ≤ k), has exactly the law N_Z(0, σ²). The sampler never knows U or
 * C_k in full: after p bits it knows U ∈ [m, m + 1)·2^−p, and it holds integer bounds
 * lo ≤ C_k·2^p ≤ hi computed in interval arithmetic (every rounding outward). When
 * hi(C_{k−1}) ≤ m and m + 1 ≤ lo(C_k), every U the bits allow gives k, so k is returned — the same k
 * that the exact U would give. Otherwise it reads more bits (p doubles) against bounds at the new
 * precision. This is exact: the output is a function of U alone, with no rounding and no cut-off;
 * the tail beyond any table is reached by the same comparison at higher precision. It ends with
 * probability 1 (U equals none of the countably many C_k almost surely, and the bounds tighten to
 * C_k as p grows).
 *
 * At p = 32 a table of bounds and a guide table (indexed by U's top bits) decide one 32-bit word in
 * a few comparisons; a word that falls within the rounding of a threshold (probability about
 * (table size)·2^−32, below 10^−6 up to σ² = 2^16) goes on to 64, 128, … bits.
 *
 * The bounds: with σ² = a/b, w_i = exp(−i²/(2σ²)) = r^{i²}, r = exp(−b/(2a)), so
 * w_{i+1} = w_i·r^{2i+1} and r^{2i+3} = r^{2i+1}·r². r comes from e^f (f < 1, the Taylor series,
 * its remainder after the N-th term at most the N-th term) and e^{−1} to the power ⌊b/(2a)⌋. The tail
 * Σ_{i≥J} w_i ≤ w_J/(1 − r^{2J+1}) (the ratios of successive terms only fall). With
 * S = 1 + 2Σ_{i≥1} w_i and T_j = Σ_{i≥j} w_i / S = P(X ≥ j): C_{−j} = T_j and C_k = 1 − T_{k+1} for
 * k ≥ 0. All in fixed point with W = p + guard bits, lower bounds rounded down and upper bounds up.
 */

/** The largest σ² for which {@link discreteGaussianTableSampler} builds tables (2^16). */
export const TABLE_MAX_SIGMA2 = 65536;

/**
 * Bounds of C_k·2^p at one precision p for k = −J − 1 … J − 1 (index e = k + J + 1), or for the
 * one-sided law P(D = d) ∝ exp(−d²/(2σ²)) on d ≥ 0 for d = −1 … J − 1 (index e = d + 1).
 */
export interface DiscreteGaussianThresholds {
  /** p: the bounds are integers in units of 2^−p. */
  precision: number;
  /** J. Entry 0 stands for the whole lower tail: lo = 0, hi ≥ its C·2^p. */
  half: number;
  /** The value of entry 0: −J − 1, or −1 for the one-sided law. */
  first: number;
  /** lo[e] ≤ C_{e+first}·2^p, non-decreasing in e. */
  lo: bigint[];
  /** hi[e] ≥ C_{e+first}·2^p, non-decreasing in e. */
  hi: bigint[];
}

const ceilDiv = (x: bigint, y: bigint): bigint => (x + y - 1n) / y;

/** Bounds of e^{n/d}·2^W for 0 ≤ n ≤ d: the Taylor series, each term rounded down and up. */
function expSmall(n: bigint, d: bigint, one: bigint): [bigint, bigint] {
  let termLo = one;
  let termHi = one;
  let sumLo = one;
  let sumHi = one;
  for (let i = 1n; ; i += 1n) {
    termLo = (termLo * n) / (d * i);
    termHi = ceilDiv(termHi * n, d * i);
    sumLo += termLo;
    sumHi += termHi;
    // After term N ≥ 1 the rest is at most term_N·f/(N + 1 − f) ≤ term_N (f ≤ 1).
    if (termHi <= 1n) return [sumLo, sumHi + termHi];
  }
}

/** Bounds of exp(−n/d)·2^W for n ≥ 0, d ≥ 1, both rounded outward (`one` = 2^W, `shift` = W). */
export function expNegative(n: bigint, d: bigint, one: bigint, shift: bigint): [bigint, bigint] {
  const whole = n / d;
  const [fLo, fHi] = expSmall(n - whole * d, d, one);
  let lo = (one * one) / fHi;
  let hi = ceilDiv(one * one, fLo);
  if (whole > 0n) {
    const [eLo, eHi] = expSmall(1n, 1n, one);
    let baseLo = (one * one) / eHi;
    let baseHi = ceilDiv(one * one, eLo);
    for (let q = whole; q > 0n; q >>= 1n) {
      if (q & 1n) {
        lo = (lo * baseLo) >> shift;
        hi = ceilDiv(hi * baseHi, one);
      }
      baseLo = (baseLo * baseLo) >> shift;
      baseHi = ceilDiv(baseHi * baseHi, one);
    }
  }
  return [lo, hi > one ? one : hi];
}

/** Guard bits beyond p: enough that rounding in the recurrence (O(J²) units) stays far below 2^−p. */
function guardBits(sigma2: Rational): number {
  return 64 + 2 * bitLength(sigma2.num / sigma2.den + 1n);
}

/**
 * Rigorous integer bounds of the cumulative distribution C_k = P(X ≤ k) of N_Z(0, σ²) at precision
 * `precision` bits, for every k where they are not yet all within one unit of 0 or 1 (see the module
 * note for the method). Exported for the tests and the bench; the sampler caches its own. Throws a
 * `RangeError` unless σ² > 0 and `precision` is a positive integer.
 */
export function discreteGaussianThresholds(sigma2: Rational, precision: number): DiscreteGaussianThresholds {
  return thresholds(sigma2, precision, false);
}

/**
 * {@link discreteGaussianThresholds}, or with `oneSided` those of P(D = d) ∝ exp(−d²/(2σ²)) on the
 * d ≥ 0 (every d, 0 included, with its own weight): C_d = 1 − T'_{d+1}, T'_j = Σ_{i≥j} w_i / Σ_{i≥0} w_i.
 */
export function thresholds(sigma2: Rational, precision: number, oneSided: boolean): DiscreteGaussianThresholds {
  checkPositiveRational('discreteGaussianThresholds', 'sigma2', sigma2);
  if (!Number.isSafeInteger(precision) || precision < 1) {
    throw new RangeError(`discreteGaussianThresholds: precision must be a positive integer, got ${precision}`);
  }
  const p = BigInt(precision);
  const shift = p + BigInt(guardBits(sigma2));
  const one = 1n << shift;
  const [rLo, rHi] = expNegative(sigma2.den, 2n * sigma2.num, one, shift);
  const r2Lo = (rLo * rLo) >> shift;
  const r2Hi = ceilDiv(rHi * rHi, one);
  // w_i for i = 0 … J − 1, and the tail Σ_{i≥J} w_i, once its bound is at most 2^−p.
  const wLo = [one];
  const wHi = [one];
  let qLo = rLo;
  let qHi = rHi;
  const tailLimit = one >> p;
  let tailLo: bigint;
  let tailHi: bigint;
  for (;;) {
    const last = wLo.length - 1;
    const nextLo = (wLo[last]! * qLo) >> shift;
    const nextHi = ceilDiv(wHi[last]! * qHi, one);
    qLo = (qLo * r2Lo) >> shift;
    qHi = ceilDiv(qHi * r2Hi, one);
    // Σ_{i≥J} w_i ≤ w_J / (1 − r^{2J+1}), with q now bounding r^{2J+1} for J = last + 1.
    if (qHi < one) {
      const bound = ceilDiv(nextHi * one, one - qHi);
      if (bound <= tailLimit) {
        tailLo = nextLo;
        tailHi = bound;
        break;
      }
    }
    wLo.push(nextLo);
    wHi.push(nextHi);
  }
  const half = wLo.length;
  // Suffix sums Σ_{i≥j} w_i for j = 1 … J (index j), tail included.
  const suffixLo = new Array<bigint>(half + 1);
  const suffixHi = new Array<bigint>(half + 1);
  suffixLo[half] = tailLo;
  suffixHi[half] = tailHi;
  for (let j = half - 1; j >= 1; j -= 1) {
    suffixLo[j] = suffixLo[j + 1]! + wLo[j]!;
    suffixHi[j] = suffixHi[j + 1]! + wHi[j]!;
  }
  const sides = oneSided ? 1n : 2n;
  const normaliserLo = one + sides * suffixLo[1]!;
  const normaliserHi = one + sides * suffixHi[1]!;
  const full = 1n << p;
  const tLo = (j: number) => (suffixLo[j]! << p) / normaliserHi;
  const tHi = (j: number) => ceilDiv(suffixHi[j]! << p, normaliserLo);
  if (oneSided) {
    // Entry 0 is d = −1 (C = 0); entry e ≥ 1 is d = e − 1, C_d = 1 − T'_{d+1}.
    const lo = [0n];
    const hi = [0n];
    for (let j = 1; j <= half; j += 1) {
      lo.push(full - tHi(j));
      hi.push(full - tLo(j));
    }
    return monotone({ precision, half, first: -1, lo, hi });
  }
  const lo = new Array<bigint>(2 * half + 1);
  const hi = new Array<bigint>(2 * half + 1);
  lo[0] = 0n;
  hi[0] = tHi(half);
  for (let j = 1; j <= half; j += 1) {
    const below = half + 1 - j; // k = −j: C_{−j} = T_j
    const above = half + j; // k = j − 1 ≥ 0: C_{j−1} = 1 − T_j
    const low = tLo(j);
    const high = tHi(j);
    lo[below] = low;
    hi[below] = high;
    lo[above] = full - high;
    hi[above] = full - low;
  }
  return monotone({ precision, half, first: -half - 1, lo, hi });
}

/** C is increasing, so the running maximum of lower bounds and minimum of upper bounds are bounds too. */
function monotone(t: DiscreteGaussianThresholds): DiscreteGaussianThresholds {
  const { lo, hi } = t;
  for (let e = 1; e < lo.length; e += 1) if (lo[e]! < lo[e - 1]!) lo[e] = lo[e - 1]!;
  for (let e = hi.length - 2; e >= 0; e -= 1) if (hi[e]! > hi[e + 1]!) hi[e] = hi[e + 1]!;
  return t;
}

/**
 * The k for U ∈ [m, m + 1)·2^−p, if the bounds decide it: the first e with lo[e] > m and
 * hi[e − 1] ≤ m; `undefined` when U is within the rounding of a threshold or beyond the table.
 */
export function decideThreshold(table: DiscreteGaussianThresholds, m: bigint): number | undefined {
  const { lo, hi, first } = table;
  let low = 0;
  let high = lo.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (lo[mid]! > m) high = mid;
    else low = mid + 1;
  }
  if (low === 0 || low === lo.length || hi[low - 1]! > m) return undefined;
  return low + first;
}

/** Precisions above this are computed for the draw at hand and not kept (reached with probability < 2^−1000). */
const CACHED_PRECISION = 2048;

const TWO_TO_32 = 1n << 32n;

/** One uniform 32-bit word: the source's fast path when it has one, else a draw below 2^32. */
export function word(rng: RandomSource): number {
  return rng.uniformWord32 ? rng.uniformWord32() : Number(rng.uniformBelow(TWO_TO_32));
}

/** A sampler of N_Z(0, σ²) whose draws are numbers. */
export interface DiscreteGaussianNumberSampler {
  /** One draw. */
  (rng: RandomSource): number;
  /**
   * Adds an independent draw to each of `values[start]` … `values[end − 1]`: the same distribution as
   * one call per entry, with the random words fetched in blocks (`fillWords32` when `rng` has it).
   */
  addTo(values: number[], start: number, end: number, rng: RandomSource): void;
}

/**
 * An inversion sampler's guide table and 32-bit thresholds (see {@link InversionSampler.guide}).
 */
export interface GuideTable {
  readonly table: Int16Array;
  readonly shift: number;
  readonly offset: number;
  /** The 32-bit thresholds as doubles: a word u with lower[e − 1] ≤ u < lower[e] and upper[e − 1] ≤ u is decided as e − offset. */
  readonly lower: Float64Array;
  readonly upper: Float64Array;
}

/** A table sampler that can also start from a first word drawn by its caller. */
export interface InversionSampler extends DiscreteGaussianNumberSampler {
  /** The draw whose first 32 bits are `u` (a fresh uniform word); more come from `rng` if needed. */
  fromWord(u: number, rng: RandomSource): number;
  /**
   * The guide table behind `fromWord`, for a caller's own inlined loop: g = `table[u >>> shift]`, when
   * ≥ 0, minus `offset` is the draw for the word u (whatever its low `shift` bits); a negative g means
   * the first e ≥ −1 − g with lower[e] > u is the candidate, decided when upper[e − 1] ≤ u (and
   * e < lower.length − 1), else `fromWord` refines it with more words.
   */
  readonly guide: GuideTable;
}

/** Words per block of {@link DiscreteGaussianNumberSampler.addTo} (64 KiB). */
export const BLOCK_WORDS = 16_384;

/** Fills `out` with uniform 32-bit words from `rng`, in bulk when it can. */
export function fillWords(rng: RandomSource, out: Uint32Array): void {
  if (rng.fillWords32) rng.fillWords32(out);
  else for (let i = 0; i < out.length; i += 1) out[i] = word(rng);
}

/**
 * An exact sampler of N_Z(0, σ²) by inversion (see the module note), for a rational 0 < σ² ≤ 2^16,
 * drawing numbers. Builds its 32-bit table now (about a millisecond at σ² = 2^16; `npm run bench --
 * dp` times it) and finer ones when a draw first needs them. Each draw consumes one 32-bit word
 * from `rng` (`uniformWord32`, or `uniformBelow(2^32)`), and more only when that word falls within
 * the rounding of a threshold. Throws a `RangeError` unless 0 < σ² ≤ 2^16.
 */
export function discreteGaussianTableSampler(sigma2: Rational): DiscreteGaussianNumberSampler {
  checkPositiveRational('discreteGaussianTableSampler', 'sigma2', sigma2);
  if (sigma2.num > BigInt(TABLE_MAX_SIGMA2) * sigma2.den) {
    throw new RangeError(`discreteGaussianTableSampler: sigma2 must be at most 2^16, got ${sigma2.num}/${sigma2.den}`);
  }
  return inversionSampler(sigma2, false);
}

/**
 * The same for the one-sided law P(D = d) ∝ exp(−d²/(2σ²)) on d ≥ 0 (0 with its own weight, not
 * halved), for the scaled sampler's proposal. Throws a `RangeError` unless 0 < σ² ≤ 2^16.
 */
export function oneSidedTableSampler(sigma2: Rational): InversionSampler {
  checkPositiveRational('oneSidedTableSampler', 'sigma2', sigma2);
  if (sigma2.num > BigInt(TABLE_MAX_SIGMA2) * sigma2.den) {
    throw new RangeError(`oneSidedTableSampler: sigma2 must be at most 2^16, got ${sigma2.num}/${sigma2.den}`);
  }
  return inversionSampler(sigma2, true);
}

function inversionSampler(sigma2: Rational, oneSided: boolean): InversionSampler {
  const levels = new Map<number, DiscreteGaussianThresholds>();
  const level = (precision: number): DiscreteGaussianThresholds => {
    let found = levels.get(precision);
    if (!found) {
      found = thresholds(sigma2, precision, oneSided);
      if (precision <= CACHED_PRECISION) levels.set(precision, found);
    }
    return found;
  };

  // The 32-bit level as doubles (exact: integers ≤ 2^32), with +∞ after the last entry.
  const base = level(32);
  const entries = base.lo.length;
  const lower = new Float64Array(entries + 1);
  const upper = new Float64Array(entries);
  base.lo.forEach((v, e) => (lower[e] = Number(v)));
  base.hi.forEach((v, e) => (upper[e] = Number(v)));
  lower[entries] = Infinity;
  const offset = -base.first;
  // Guide table indexed by a word's top bits (Devroye 1986, §III.2.4), with 2^6 buckets per entry (at
  // most 2^16): a bucket whose every word is decided with the same k holds e = k + J + 1 (most do, so
  // the branch is predictable); any other holds −1 − (the first e with lower[e] > its first word),
  // where the scan starts.
  let guideBits = 6;
  while (1 << guideBits < entries * 64 && guideBits < 16) guideBits += 1;
  const shift = 32 - guideBits;
  const width = 2 ** shift;
  // Int16: half the cache of Int32. The 32-bit level has at most a few thousand entries (σ² ≤ 2^16).
  if (entries > 32_767) throw new RangeError(`inversionSampler: ${entries} entries do not fit the guide table`);
  const guide = new Int16Array(1 << guideBits);
  for (let g = 0, e = 0; g < guide.length; g += 1) {
    const first = g * width;
    while (lower[e]! <= first) e += 1;
    const pure = e < entries && upper[e - 1]! <= first && first + width <= lower[e]!;
    guide[g] = pure ? e : -1 - e;
  }

  const refine = (first: number, rng: RandomSource): number => {
    let m = BigInt(first);
    for (let precision = 64; ; precision *= 2) {
      for (let read = precision / 2; read < precision; read += 32) m = (m << 32n) | BigInt(word(rng));
      const k = decideThreshold(level(precision), m);
      if (k !== undefined) return k;
    }
  };

  const fromWord = (u: number, rng: RandomSource): number => {
    const g = guide[u >>> shift]!;
    if (g >= 0) return g - offset;
    let e = -1 - g;
    while (lower[e]! <= u) e += 1;
    if (e < entries && upper[e - 1]! <= u) return e - offset;
    return refine(u, rng);
  };
  const draw = (rng: RandomSource): number => fromWord(word(rng), rng);
  let block: Uint32Array | undefined;
  let noise: Int32Array | undefined;
  const guided: GuideTable = { table: guide, shift, offset, lower, upper };
  // `draw` over blocks of words, by `tableBlock` or the NoiseKernel's: a word the 32-bit table cannot
  // decide is refined with fresh words from `rng` (never the block's), so every draw uses its own bits.
  // (The two paths stay separate: the TypeScript loop refines in place, and routing it through the
  // kernel's stop-and-return shape measured about 15 % slower.)
  const addTo = (values: number[], start: number, end: number, rng: RandomSource): void => {
    block ??= new Uint32Array(BLOCK_WORDS);
    noise ??= new Int32Array(BLOCK_WORDS);
    for (let i = start; i < end;) {
      const n = Math.min(BLOCK_WORDS, end - i);
      const words = n === BLOCK_WORDS ? block : block.subarray(0, n);
      fillWords(rng, words);
      const kernel = noiseKernel();
      if (kernel) {
        // The kernel stops at each word the 32-bit thresholds cannot decide; it is refined here.
        for (
          let j = kernel.tableBlock(words, 0, guide, lower, upper, shift, offset, noise);
          j < n;
          j = kernel.tableBlock(words, j + 1, guide, lower, upper, shift, offset, noise)
        ) {
          noise[j] = smallDraw(refine(words[j]!, rng));
        }
      } else {
        tableBlock(guided, refine, noise, words, rng);
      }
      addSmallNoise(values, i, noise, n);
      i += n;
    }
  };
  return Object.assign(draw, { addTo, fromWord, guide: guided });
}

/**
 * The loop of an inversion sampler's `draw` over a block of words: noise[j] is the draw of words[j]; a
 * word the 32-bit table cannot decide is refined with fresh words from `rng` (never the block's), so
 * every draw uses its own independent bits. (A draw beyond ±2^31, which needs 2^23 standard deviations
 * at σ² ≤ 2^16, throws rather than wrapping: {@link smallDraw}.) One function for all samplers, their tables in `t`: a
 * closure per sampler would have V8 compile the loop again for each σ², running it slowly meanwhile.
 */
function tableBlock(t: GuideTable, refine: (u: number, rng: RandomSource) => number, noise: Int32Array, words: Uint32Array, rng: RandomSource): void {
  const { table, shift, offset, lower, upper } = t;
  const entries = upper.length;
  for (let j = 0; j < words.length; j += 1) {
    const u = words[j]!;
    const g = table[u >>> shift]!;
    if (g >= 0) {
      noise[j] = g - offset;
      continue;
    }
    let e = -1 - g;
    while (lower[e]! <= u) e += 1;
    noise[j] = e < entries && upper[e - 1]! <= u ? e - offset : smallDraw(refine(u, rng));
  }
}

/**
 * A draw for a 32-bit noise buffer: `k` itself, or a `RangeError` beyond ±2^31 (rather than wrapping
 * around). The samplers that use one cannot reach that far except with a probability below 10^−30.
 */
export function smallDraw(k: number): number {
  if (k >= 2 ** 31 || k < -(2 ** 31)) throw new RangeError(`discrete Gaussian sampler: a draw of ${k} is beyond the ±2^31 of its 32-bit noise buffer`);
  return k;
}

/** Adds noise[0 … count − 1] to values[start …]: small integers added to a vector keep it one of small integers. */
export function addSmallNoise(values: number[], start: number, noise: Int32Array, count: number): void {
  for (let j = 0; j < count; j += 1) values[start + j]! += noise[j]!;
}

/**
 * Adds noise[0 … count − 1] (integers) to values[start …]: for samplers whose draws can be beyond the
 * small integers, so the vector is one of doubles anyway. (The samplers draw into a typed buffer and add
 * it in a separate pass: their loops then store into one kind of array only.)
 */
export function addNoise(values: number[], start: number, noise: Float64Array, count: number): void {
  for (let j = 0; j < count; j += 1) values[start + j]! += noise[j]!;
}
