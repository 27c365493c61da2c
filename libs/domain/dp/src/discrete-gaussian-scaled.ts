import {
  addNoise,
  addSmallNoise,
  BLOCK_WORDS,
  expNegative,
  fillWords,
  oneSidedTableSampler,
  smallDraw,
  word,
  type DiscreteGaussianNumberSampler,
} from './discrete-gaussian-table';
import { noiseKernel, SCALED_KERNEL_PARAMS } from './noise-kernel';
import type { RandomSource } from './random-source';
import { checkPositiveRational, reduceRational, type Rational } from './rational';

/*
 * An exact sampler of N_Z(0, σ²) for 2^16 < σ² ≤ 2^78 by rejection (von Neumann) from a proposal drawn
 * with the inversion table (discrete-gaussian-table.ts) at a scale it handles.
 *
 * With B = 2^j the smallest power of two for which σ'² = σ²/B² ≤ 2^14 (j ≤ 31; σ'² ≤ 2^16 always),
 * cut the integers into blocks [qB, qB + B). Every k in block q has |k| ≥ dB, d = q for q ≥ 0 and
 * d = −q − 1 for q < 0, so w(k) = exp(−k²/(2σ²)) ≤ exp(−d²/(2σ'²)) = w'(d). The proposal draws d from
 * the one-sided law P(D = d) ∝ w'(d) on d ≥ 0 (inversion, exact), a fair sign bit choosing q = d or
 * q = −d − 1, and k uniform in block q: P(k) ∝ w'(d(k)). It accepts k with probability
 * w(k)/w'(d) = exp(−γ), γ = (|k|² − (dB)²)/(2σ²) ≥ 0, so accepted draws have P(k) ∝ w(k): exactly
 * N_Z(0, σ²). About 1 − B/(√(2π)σ) = 1 − 1/(√(2π)σ') ≥ 99.3 % of proposals are accepted. (A σ'² of
 * at most 2^14 keeps the table small: quick to build, and its guide stays in the processor's cache.)
 *
 * Accepting is comparing a fresh uniform U' (an infinite bit string) with exp(−γ): U' < 1 − γ implies
 * acceptance and U' ≥ 1 − γ(1 − γ/2) rejection (for γ ≤ 1: 1 − γ ≤ exp(−γ) ≤ 1 − γ + γ²/2). These
 * two tests use U''s first bits and γ computed in doubles with its rounding bounded: +, −, ×, ÷ on
 * doubles are correctly rounded (IEEE 754, which ECMAScript requires), so the computed γ is within
 * 6·2^−53 relative of the exact one, and the tests use bounds 2^−40 wider. Only a U' between the two
 * (probability about γ²/2) is compared with exp(−γ) itself, in integers, to 64, 128, … bits until
 * decided, with rigorous bounds of exp(−γ) (expNegative).
 *
 * The bits: d comes from one 32-bit word (more if the table needs them to decide it). When the word's
 * guide bucket decides d on its top bits alone, its low bits are uniform and independent of d, and
 * hold the sign, the j bits of the offset in the block and the first bits of U'; otherwise a fresh
 * word holds them. U''s further bits come from fresh words only when its first bits do not decide. So
 * most draws take one word.
 */

/** The largest σ² {@link discreteGaussianScaledSampler} takes (2^78: B ≤ 2^31 fits one word with the sign). */
export const SCALED_MAX_SIGMA2 = 2n ** 78n;
const TABLE_MAX = 65536n;
/** The proposal's σ'² aimed at: a small table is quick to build and its guide stays in cache. */
const PROPOSAL_TARGET = 16384n;
const MAX_BITS = 31;
const TWO_32 = 2 ** 32;
const WIDER = 2 ** -40;
const INV_TWO_32 = 2 ** -32; // (x · 2^−32 is exact: x / 2^32 without a division)
const UNDECIDED = 2;
// Module-local copies: an imported binding can be a getter on the exporting module, read on every use.
const BLOCK = BLOCK_WORDS;
const readWord = word;

/**
 * An exact sampler of N_Z(0, σ²) for a rational 2^16 < σ² ≤ 2^78 (see the module note), drawing numbers.
 * Throws a `RangeError` for σ² outside that range; a draw beyond ±(2^53 − 1) throws a `RangeError`
 * rather than being rounded (it needs a σ of order 2^49).
 */
export function discreteGaussianScaledSampler(sigma2: Rational): DiscreteGaussianNumberSampler {
  checkPositiveRational('discreteGaussianScaledSampler', 'sigma2', sigma2);
  const { num: a, den: b } = reduceRational(sigma2);
  if (a <= TABLE_MAX * b || a > SCALED_MAX_SIGMA2 * b) {
    throw new RangeError(`discreteGaussianScaledSampler: sigma2 must be above 2^16 and at most 2^78, got ${a}/${b}`);
  }
  let bits = 0;
  while (bits < MAX_BITS && a > PROPOSAL_TARGET * b * (1n << BigInt(2 * bits))) bits += 1;
  // A small integer (not 2 ** bits, a heap number in unoptimised code), so one draw at a time is a
  // small integer too (a heap number added to a vector of small integers turns it into doubles: a copy).
  const blockSize = bits <= 30 ? 1 << bits : 2 ** bits;
  const proposal = oneSidedTableSampler(reduceRational({ num: a, den: b * (1n << BigInt(2 * bits)) }));
  const mask = blockSize - 1;
  // b/(2a) in doubles: Number(a), Number(b) and the division each round once (≤ 2^−53 relative).
  const scale = Number(b) / (2 * Number(a));
  // With a numerator or denominator beyond the doubles (σ² = a/b ≤ 2^78 still, given as a huge fraction)
  // the bound above would not hold: such a σ² is left to CKS20.
  if (!(Number.isFinite(Number(b)) && scale > 0 && Number.isFinite(scale))) {
    throw new RangeError(`discreteGaussianScaledSampler: sigma2 ${a}/${b} has terms beyond the doubles`);
  }

  /** Exactly whether U' < exp(−γ), γ = n/d, for U' whose first 32 bits are `first`. */
  const acceptSlowly = (first: number, n: bigint, d: bigint, rng: RandomSource): boolean => {
    let m = BigInt(first);
    for (let precision = 64; ; precision *= 2) {
      for (let read = precision / 2; read < precision; read += 32) m = (m << 32n) | BigInt(word(rng));
      const shift = BigInt(precision + 64);
      const [lo, hi] = expNegative(n, d, 1n << shift, shift);
      const scale = BigInt(64);
      if ((m + 1n) << scale <= lo) return true;
      if (m << scale >= hi) return false;
    }
  };

  const { table: guide, shift, offset: guideOffset } = proposal.guide;
  // A word that a pure guide bucket decides leaves its low `shift` bits unused and independent of d:
  // the sign, the offset and U''s first bits come from them when there are enough, else from a word of
  // their own. U''s first bits: m of them, the prefix p, so U' ∈ [p·2^−m, (p + 1)·2^−m).
  const spareInFirst = shift >= 1 + bits;
  const spareMask = (1 << shift) - 1;
  const mFirst = spareInFirst ? shift - 1 - bits : 0;
  const mWord = 31 - bits;
  const unitFirst = 2 ** -mFirst;
  const unitWord = 2 ** -mWord;
  // γ's upper bound in one product: δ·twice·scaleHigh is within 8·2^−53 relative of the exact
  // δ·twice·(b/2a)·(1 + WIDER), so still above γ·(1 + 2^−41).
  const scaleHigh = scale * (1 + WIDER);
  // The largest d for which every k of its blocks, and |k| + dB, stay within ±(2^53 − 1).
  const safeD = Math.floor((Number.MAX_SAFE_INTEGER - blockSize) / (2 * blockSize));

  /**
   * The tests of the module note for |k| = dB + δ, δ > 0, twice = |k| + dB, on U''s first bits (prefix p
   * in units of `unit`): 1 accepts, 0 rejects, UNDECIDED when they lie within the rounding of exp(−γ).
   */
  const test = (delta: number, twice: number, prefix: number, unit: number): number => {
    // γ = δ(|k| + dB)·b/(2a); δ·twice may pass 2^53, so these are rounded values: with the three
    // roundings in `scale`, two more here, within 6·2^−53 relative (8·2^−53 with `scaleHigh`'s own).
    const gammaHigh = delta * twice * scaleHigh;
    if (gammaHigh <= 1 - (prefix + 1) * unit) return 1;
    return rejects(delta * twice * scale, gammaHigh, 1 - prefix * unit) ? 0 : UNDECIDED;
  };

  /**
   * Finishes the attempt whose first word is `first`, any further words from `rng`: d (refined by the
   * table if its bucket is not pure), then the sign, offset and U''s first bits (from `first`'s spare
   * bits, else a fresh word), then U''s further words as the test needs them. The draw, or undefined
   * when the attempt is rejected.
   */
  const attempt = (first: number, rng: RandomSource): number | undefined => {
    const g = guide[first >>> shift]!;
    const packed = g >= 0 && spareInFirst;
    const d = g >= 0 ? g - guideOffset : proposal.fromWord(first, rng);
    if (d > safeD) throw new RangeError(`discreteGaussianScaledSampler: a draw at sigma2 = ${a}/${b} is beyond ±2^53`);
    const spare = packed ? first & spareMask : readWord(rng);
    const offset = (spare >>> 1) & mask; // the `bits` bits above the sign bit
    const negative = (spare & 1) === 1;
    // |k| − dB = δ: r for q = d ≥ 0, B − r for q = −d − 1.
    const delta = negative ? blockSize - offset : offset;
    const base = d * blockSize;
    const magnitude = base + delta;
    const k = negative ? -magnitude : magnitude;
    if (delta === 0) return k;
    const m = packed ? mFirst : mWord;
    const prefix = m === 0 ? 0 : spare >>> (1 + bits);
    let decided = test(delta, magnitude + base, prefix, packed ? unitFirst : unitWord);
    if (decided === UNDECIDED) {
      // U''s first 32 bits: the prefix, then the top 32 − m bits of a fresh word.
      const w = readWord(rng);
      const u = m === 0 ? w : ((prefix << (32 - m)) | (w >>> m)) >>> 0;
      decided = test(delta, magnitude + base, u, INV_TWO_32);
      if (decided === UNDECIDED) decided = acceptSlowly(u, BigInt(delta) * BigInt(magnitude + base) * b, 2n * a, rng) ? 1 : 0;
    }
    return decided === 1 ? k : undefined;
  };

  /** One draw, every word from `rng` in order (see `attempt`). */
  const draw = (rng: RandomSource): number => {
    for (;;) {
      const k = attempt(readWord(rng), rng);
      if (k !== undefined) return k;
    }
  };

  const { lower, upper } = proposal.guide;
  const entries = upper.length;
  // U''s first bits after a decided first word: from its spare bits, else from a word of their own.
  const mDecided = spareInFirst ? mFirst : mWord;
  const unitDecided = spareInFirst ? unitFirst : unitWord;
  // For each table entry e (d = e − guideOffset), how many prefixes p (of mDecided bits) pass the
  // acceptance test whatever δ: those with γ(δ = B)'s bound ≤ 1 − (p + 1)·2^−m, evaluated as the loop
  // does (the computed bound rises with δ·twice: rounding is monotone). A decided first word with a
  // prefix below it accepts at once.
  const passing = new Int32Array(entries);
  for (let e = guideOffset; e < entries && mDecided > 0; e += 1) {
    const d = e - guideOffset;
    const highest = blockSize * (2 * d * blockSize + blockSize) * scaleHigh;
    let p = Math.max(0, Math.min(2 ** mDecided, Math.floor((1 - highest) * 2 ** mDecided)));
    while (p > 0 && !(highest <= 1 - p * unitDecided)) p -= 1;
    while (p < 2 ** mDecided && highest <= 1 - (p + 1) * unitDecided) p += 1;
    passing[e] = p;
  }
  let block: Uint32Array | undefined;
  let kept: Float64Array | undefined;
  // Draws of at most entries·B in magnitude but from a refined d fit a 32-bit buffer (and are small
  // integers for V8); larger ones, a Float64Array.
  const small = entries * blockSize < 2 ** 30;
  let drawn: Int32Array | Float64Array | undefined;
  const state: BlockState = {
    guide,
    shift,
    guideOffset,
    lower,
    upper,
    entries,
    spareInFirst,
    spareMask,
    bits,
    mask,
    blockSize,
    passing,
    mDecided,
    unitDecided,
    mWord,
    unitWord,
    scale,
    scaleHigh,
    entry: 0,
    kept: 0,
  };

  // The same constants for a NoiseKernel, and where it reports its progress.
  const kernelParams = Float64Array.from(SCALED_KERNEL_PARAMS, (name) => Number(state[name]));
  const progress = new Float64Array(2);

  /** Sets noise[entry − from] to the draw of the attempt `fastBlock` kept as record r of `out`. */
  const finishKept = (noise: Int32Array | Float64Array, from: number, out: Float64Array, r: number, rng: RandomSource): void => {
    const entry = out[5 * r]!;
    const delta = out[5 * r + 1]!;
    let k: number | undefined;
    if (delta === 0) k = attempt(out[5 * r + 2]!, rng);
    else if (acceptSlowly(out[5 * r + 3]!, BigInt(delta) * BigInt(out[5 * r + 2]!) * b, 2n * a, rng)) k = out[5 * r + 4]!;
    k ??= draw(rng);
    noise[entry - from] = small ? smallDraw(k) : k;
  };

  /** Adds a draw to each entry: `fastBlock` over blocks of `fillWords32` words, in order. */
  const addTo = (values: number[], start: number, end: number, rng: RandomSource): void => {
    if (!rng.fillWords32) {
      for (let i = start; i < end; i += 1) values[i]! += draw(rng);
      return;
    }
    const words = (block ??= new Uint32Array(BLOCK));
    const out = (kept ??= new Float64Array(5 * BLOCK));
    const noise = (drawn ??= small ? new Int32Array(BLOCK) : new Float64Array(BLOCK));
    for (let i = start; i < end;) {
      // About 1.05 words an entry (2.05 when the first word has no room for the sign, offset and U''s
      // first bits): one more an entry, and 16, are enough for most vectors in one block.
      const slice = words.subarray(0, Math.min(BLOCK, (spareInFirst ? 2 : 3) * (end - i) + 16));
      fillWords(rng, slice);
      const kernel = noiseKernel();
      if (kernel) {
        kernel.scaledBlock(kernelParams, guide, lower, upper, passing, slice, i, end, noise, out, progress);
        state.entry = progress[0]!;
        state.kept = progress[1]!;
      } else {
        fastBlock(state, noise, i, end, slice, out);
      }
      for (let r = 0; r < state.kept; r += 1) finishKept(noise, i, out, r, rng);
      if (noise instanceof Int32Array) addSmallNoise(values, i, noise, state.entry - i);
      else addNoise(values, i, noise, state.entry - i);
      i = state.entry;
    }
  };
  return Object.assign(draw, { addTo });
}

/**
 * Whether every U′ ≥ 1 − `rest` is at least exp(−γ) (so the attempt is rejected), given γ rounded
 * (`gamma`) and bounded above (`gammaHigh`). For γ ≤ 1, exp(−γ) ≤ 1 − γ(1 − γ/2), and the product below
 * is a lower bound of γ(1 − γ/2) (2^−40 margins over its roundings); `rest` is exact (1 − p·2^−m or
 * (2^32 − u)·2^−32), so nothing here rounds a bound the wrong way.
 */
function rejects(gamma: number, gammaHigh: number, rest: number): boolean {
  return gammaHigh <= 1 && gamma * (1 - WIDER) * (1 - gammaHigh / 2) * (1 - WIDER) >= rest;
}

/** A scaled sampler's constants, for {@link fastBlock}, and where its last block stopped. */
interface BlockState {
  readonly guide: Int16Array;
  readonly shift: number;
  readonly guideOffset: number;
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  readonly entries: number;
  readonly spareInFirst: boolean;
  readonly spareMask: number;
  readonly bits: number;
  readonly mask: number;
  readonly blockSize: number;
  readonly passing: Int32Array;
  readonly mDecided: number;
  readonly unitDecided: number;
  readonly mWord: number;
  readonly unitWord: number;
  readonly scale: number;
  readonly scaleHigh: number;
  /** The next entry, and how many attempts were kept for `finishKept`. */
  entry: number;
  kept: number;
}

/**
 * A sampler's `attempt` inlined over a block of words, entry after entry from `from` while at least three words
 * are left (the most an attempt takes from the block), drawing again for an entry after a rejection.
 * It calls nothing, so its compiled loop is not thrown away when a rare case first turns up: the two
 * rare cases (a first word the 32-bit thresholds cannot decide, about 5·10^−9 of them; a U' within
 * the rounding of exp(−γ) on its first 32 bits, about γ²/2) are kept, with what the attempt has read,
 * for its `finishKept` to go on with words from `rng`. So every word is used once, and each entry gets
 * exactly the draw `attempt` would give it. One function for all samplers, their constants in `s`: a
 * closure per sampler would have V8 compile the loop again for each σ², running it slowly meanwhile.
 */
function fastBlock(s: BlockState, noise: Int32Array | Float64Array, from: number, end: number, words: Uint32Array, out: Float64Array): void {
  const { guide, shift, guideOffset, lower, upper, entries, spareInFirst, spareMask, bits, mask, blockSize, passing } = s;
  const { mDecided, unitDecided, mWord, unitWord, scale, scaleHigh } = s;
  let n = 0;
  let at = 0;
  let i = from;
  const last = words.length - 3;
  while (i < end && at <= last) {
    const first = words[at++]!;
    let g = guide[first >>> shift]!;
    let spare: number;
    let m: number;
    let unit: number;
    if (g >= 0) {
      spare = spareInFirst ? first & spareMask : words[at++]!;
      if (spare >>> (1 + bits) < passing[g]!) {
        // Accepted on U''s first bits (most draws): k = r + dB for sign 0, r − (d + 1)B for sign 1,
        // computed without a branch on the sign (a coin flip).
        const base = (g - guideOffset) * blockSize;
        noise[i - from] = ((spare >>> 1) & mask) + base - (spare & 1) * (2 * base + blockSize);
        i += 1;
        continue;
      }
      m = mDecided;
      unit = unitDecided;
    } else {
      let e = -1 - g;
      while (lower[e]! <= first) e += 1;
      if (e >= entries || upper[e - 1]! > first) {
        // Kept as [entry, 0, the first word]: `attempt` refines d from it.
        out[5 * n] = i;
        out[5 * n + 1] = 0;
        out[5 * n + 2] = first;
        n += 1;
        i += 1;
        continue;
      }
      g = e;
      spare = words[at++]!;
      m = mWord;
      unit = unitWord;
    }
    const prefix = m === 0 ? 0 : spare >>> (1 + bits);
    const sign = spare & 1;
    const offset = (spare >>> 1) & mask;
    const delta = offset + sign * blockSize - 2 * sign * offset;
    const base = (g - guideOffset) * blockSize;
    const magnitude = base + delta;
    const twice = magnitude + base;
    // `test` inlined (δ = 0 gives γ = 0, which passes: the right side is ≥ 0).
    const gammaHigh = delta * twice * scaleHigh;
    if (gammaHigh > 1 - (prefix + 1) * unit) {
      const gamma = delta * twice * scale;
      if (rejects(gamma, gammaHigh, 1 - prefix * unit)) continue; // rejected: this entry again
      const w = words[at++]!;
      const u = m === 0 ? w : ((prefix << (32 - m)) | (w >>> m)) >>> 0;
      if (gammaHigh > (TWO_32 - u - 1) * INV_TWO_32) {
        if (rejects(gamma, gammaHigh, (TWO_32 - u) * INV_TWO_32)) continue;
        // Kept as [entry, δ, |k| + dB, U''s first 32 bits, k]: `acceptSlowly` decides.
        out[5 * n] = i;
        out[5 * n + 1] = delta;
        out[5 * n + 2] = twice;
        out[5 * n + 3] = u;
        out[5 * n + 4] = (1 - 2 * sign) * magnitude;
        n += 1;
        i += 1;
        continue;
      }
    }
    noise[i - from] = (1 - 2 * sign) * magnitude;
    i += 1;
  }
  s.entry = i;
  s.kept = n;
}
