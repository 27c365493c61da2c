import { BLOCK_WORDS, expNegative, fillWords, oneSidedTableSampler, word, type DiscreteGaussianNumberSampler } from './discrete-gaussian-table';
import type { RandomSource } from './random-source';
import { checkPositiveRational, reduceRational, type Rational } from './rational';

/*
 * An exact sampler of N_Z(0, σ²) for 2^16 < σ² ≤ 2^78 by rejection (von Neumann) from a proposal drawn
 * with the inversion table (discrete-gaussian-table.ts) at a scale it handles.
 *
 * With B = 2^j the smallest power of two for which σ'² = σ²/B² ≤ 2^16, cut the integers into blocks
 * [qB, qB + B). Every k in block q has |k| ≥ dB, d = q for q ≥ 0 and d = −q − 1 for q < 0, so
 * w(k) = exp(−k²/(2σ²)) ≤ exp(−d²/(2σ'²)) = w'(d). The proposal draws d from the one-sided law
 * P(D = d) ∝ w'(d) on d ≥ 0 (inversion, exact), a fair sign bit choosing q = d or q = −d − 1, and k
 * uniform in block q: P(k) ∝ w'(d(k)). It accepts k with probability w(k)/w'(d) = exp(−γ),
 * γ = (|k|² − (dB)²)/(2σ²) ≥ 0, so accepted draws have P(k) ∝ w(k): exactly N_Z(0, σ²). About
 * 1 − B/(√(2π)σ) ≥ 99.6 % of proposals are accepted.
 *
 * Accepting is comparing a fresh uniform U' (an infinite bit string) with exp(−γ): U' < 1 − γ implies
 * acceptance and U' ≥ 1 − γ(1 − γ/2) rejection (for γ ≤ 1: 1 − γ ≤ exp(−γ) ≤ 1 − γ + γ²/2). These
 * two tests use U''s first 32 bits and γ computed in doubles with its rounding bounded: +, −, ×, ÷ on
 * doubles are correctly rounded (IEEE 754, which ECMAScript requires), so the computed γ is within
 * 6·2^−53 relative of the exact one, and the tests use bounds 2^−40 wider. Only a U' between the two
 * (probability about γ²/2, about 10^−4 here) is compared with exp(−γ) itself, in integers, to 64, 128, …
 * bits until decided, with rigorous bounds of exp(−γ) (expNegative).
 */

/** The largest σ² {@link discreteGaussianScaledSampler} takes (2^78: B ≤ 2^31 fits one word with the sign). */
export const SCALED_MAX_SIGMA2 = 2n ** 78n;
const TABLE_MAX = 65536n;
const TWO_32 = 2 ** 32;
const WIDER = 2 ** -40;
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
  while (a > TABLE_MAX * b * (1n << BigInt(2 * bits))) bits += 1;
  const blockSize = 2 ** bits;
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

  /** One draw; its first words (proposal, sign and offset, acceptance) from `next`, any further ones from `rng`. */
  const drawFrom = (next: () => number, rng: RandomSource): number => {
    for (;;) {
      const d = proposal.fromWord(next(), rng);
      const w = next();
      const offset = (w >>> 1) & mask; // the `bits` bits above the sign bit
      const negative = (w & 1) === 1;
      // |k| − dB = δ: r for q = d ≥ 0, B − r for q = −d − 1.
      const delta = negative ? blockSize - offset : offset;
      const base = d * blockSize;
      const magnitude = base + delta;
      if (!Number.isSafeInteger(magnitude + base)) {
        throw new RangeError(`discreteGaussianScaledSampler: a draw at sigma2 = ${a}/${b} is beyond ±2^53`);
      }
      const k = negative ? -magnitude : magnitude;
      if (delta === 0) return k; // γ = 0
      // γ = δ(|k| + dB)·b/(2a); δ(|k| + dB) may pass 2^53, so this is a rounded value: with the three
      // roundings in `scale`, two more here, within 6·2^−53 relative.
      const gamma = delta * (magnitude + base) * scale;
      const gammaHigh = gamma * (1 + WIDER);
      const u = next();
      if (gammaHigh <= (TWO_32 - u - 1) / TWO_32) return k;
      if (gammaHigh <= 1) {
        const gammaLow = gamma * (1 - WIDER);
        if (gammaLow * (1 - gammaHigh / 2) * (1 - WIDER) >= (TWO_32 - u) / TWO_32) continue;
      }
      if (acceptSlowly(u, BigInt(delta) * BigInt(magnitude + base) * b, 2n * a, rng)) return k;
    }
  };
  const draw = (rng: RandomSource): number => drawFrom(() => readWord(rng), rng);
  let block: Uint32Array | undefined;
  // The first words of each draw come from blocks filled at once; a draw's further words (refining the
  // proposal, the exact comparison) come from `rng`, never from the block: every word is used once.
  // A source without fillWords32 (a scripted one) gives every word in order instead.
  const addTo = (values: number[], start: number, end: number, rng: RandomSource): void => {
    const words = (block ??= new Uint32Array(BLOCK));
    let at = BLOCK;
    const fromBlock = (): number => {
      if (at === BLOCK) {
        fillWords(rng, words);
        at = 0;
      }
      return words[at++]!;
    };
    const next = rng.fillWords32 ? fromBlock : () => readWord(rng);
    for (let i = start; i < end; i += 1) values[i]! += drawFrom(next, rng);
  };
  return Object.assign(draw, { addTo });
}
