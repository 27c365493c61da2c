import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { auditDiscreteGaussian } from './discrete-gaussian-audit';
import { discreteGaussianNumberSampler } from './discrete-gaussian';
import { discreteGaussianScaledSampler } from './discrete-gaussian-scaled';
import { createCryptoRandomSource } from './random-source';
import { rationalToNumber } from './rational';
import { expNegative, oneSidedTableSampler } from './discrete-gaussian-table';
import { createScriptedRandomSource, type ScriptedDraw, type ScriptedRandomSource } from './scripted-random-source';

const TWO_32 = 2n ** 32n;
const word = (value: bigint): ScriptedDraw => ({ below: TWO_32, value });

// σ² = 65537: B = 4 (the smallest power of two with σ'² = σ²/B² ≤ 2^14), σ'² = 65537/16, whose one-sided
// table has a guide of 2^15 buckets: a word's top 15 bits pick its bucket, and a word decided by its
// bucket leaves 17 spare bits: bit 0 the sign (1: q = −d − 1), bits 1–2 the offset r in the block, bits
// 3–16 the first 14 bits of U'. Word 0 draws d = 0 (P(D = 0) ≈ 1/80, so bucket 0 is decided).
const sigma2 = { num: 65_537n, den: 1n };
const PROPOSAL = { num: 65_537n, den: 16n };
const B = 4;
const SPARE_BITS = 17;
const PREFIX_BITS = 14;
/** The first word of an attempt with d = 0: its sign, offset and U''s first 14 bits. */
const dZero = (sign: 0 | 1, offset: number, prefix = 0): ScriptedDraw => word(BigInt((prefix << 3) | (offset << 1) | sign));

/**
 * For k = −4 (γ = 16/131074): 64-bit values of U′ just below and just above the rigorous bounds of
 * exp(−γ) at 128 bits, and their common first 32 bits.
 */
function straddlingExpMinusGamma(): { below: bigint; above: bigint; first: bigint } {
  const shift = 128n;
  const [lo, hi] = expNegative(16n, 131_074n, 1n << shift, shift);
  const below = (lo >> 64n) - 1n;
  return { below, above: (hi >> 64n) + 1n, first: below >> 32n };
}

describe('discreteGaussianScaledSampler, draw by draw (σ² = 65537, blocks of 4, scripted words)', () => {
  it('has the layout these tests assume', () => {
    const guide = oneSidedTableSampler(PROPOSAL).guide;
    expect({ shift: guide.shift, firstBucket: guide.table[0]! - guide.offset }).toEqual({ shift: SPARE_BITS, firstBucket: 0 });
  });

  it('returns k = dB + r from one word when γ = 0 (q = d ≥ 0, r = 0)', () => {
    const rng = createScriptedRandomSource([dZero(0, 0)]);
    expect(discreteGaussianScaledSampler(sigma2)(rng)).toBe(0);
    expect(rng.remaining()).toBe(0);
  });

  it('for q = −1, r = 0 (k = −4, γ = 4·4/(2·65537)) accepts on the first 14 bits of U′, from the same word', () => {
    const rng = createScriptedRandomSource([dZero(1, 0)]);
    expect(discreteGaussianScaledSampler(sigma2)(rng)).toBe(-B);
    expect(rng.remaining()).toBe(0);
  });

  it('for q = 0, r = 1 (k = 1, γ = 1/131074) reads a word when the 14 bits are all ones, rejects on an all-ones word and draws again', () => {
    const rng = createScriptedRandomSource([dZero(0, 1, 2 ** PREFIX_BITS - 1), word(TWO_32 - 1n), dZero(1, 0)]);
    expect(discreteGaussianScaledSampler(sigma2)(rng)).toBe(-B);
    expect(rng.remaining()).toBe(0);
  });

  it('compares a U′ within the rounding of exp(−γ) with its 64-bit bounds: just below accepts, just above rejects', () => {
    // k = −4: γ = 16/131074. U''s first 32 bits: 14 from the first word, 18 from the top of the next
    // (its low 14 bits unused); its next 32 bits from one more word.
    const { below, above, first } = straddlingExpMinusGamma();
    expect(above >> 32n).toBe(first);
    const prefix = Number(first >> 18n);
    const rest = word((first & 0x3ffffn) << 14n);
    const accept = createScriptedRandomSource([dZero(1, 0, prefix), rest, word(below & (TWO_32 - 1n))]);
    expect(discreteGaussianScaledSampler(sigma2)(accept)).toBe(-B);
    expect(accept.remaining()).toBe(0);
    const reject = createScriptedRandomSource([dZero(1, 0, prefix), rest, word(above & (TWO_32 - 1n)), dZero(0, 0)]);
    expect(discreteGaussianScaledSampler(sigma2)(reject)).toBe(0);
    expect(reject.remaining()).toBe(0);
  });

  it('takes the sign, offset and first bits of U′ from a word of their own when the bucket of the first word does not decide d', () => {
    const proposal = oneSidedTableSampler(PROPOSAL);
    const bucket = proposal.guide.table.findIndex((g) => g < 0);
    expect(bucket).toBeGreaterThan(0);
    // The first word of that bucket: the 32-bit thresholds decide it (no further word, or the empty
    // script would throw), but its low bits are not free of d.
    const first = bucket * 2 ** SPARE_BITS;
    const d = proposal.fromWord(first, createScriptedRandomSource([]));
    // A second word of 0: sign 0, offset 0, so γ = 0 and k = dB.
    const rng = createScriptedRandomSource([word(BigInt(first)), word(0n)]);
    expect(discreteGaussianScaledSampler(sigma2)(rng)).toBe(d * B);
    expect(rng.remaining()).toBe(0);
  });

  it('leaves a σ² given as a fraction of terms beyond the doubles to CKS20 instead of sampling it with a bound that would not hold', () => {
    // 3^700 / 2^1089 ≈ 2^20.5, in lowest terms, both terms above 2^1024 (Number() of either is Infinity).
    const huge = { num: 3n ** 700n, den: 2n ** 1089n };
    expect(() => discreteGaussianScaledSampler(huge)).toThrow(
      new RangeError(`discreteGaussianScaledSampler: sigma2 ${huge.num}/${huge.den} has terms beyond the doubles`),
    );
    const draw = discreteGaussianNumberSampler(huge);
    const rng = createCryptoRandomSource();
    const values = Array.from({ length: 200 }, () => draw(rng));
    expect(values.every((v) => Number.isSafeInteger(v))).toBe(true);
    // σ ≈ 1,450: 200 draws of N_Z(0, σ²) reach well beyond ±100.
    expect(Math.max(...values.map(Math.abs))).toBeGreaterThan(100);
  });

  it('refuses σ² up to 2^16 (the inversion table) and above 2^78', () => {
    expect(() => discreteGaussianScaledSampler({ num: 65_536n, den: 1n })).toThrow(
      new RangeError('discreteGaussianScaledSampler: sigma2 must be above 2^16 and at most 2^78, got 65536/1'),
    );
    expect(() => discreteGaussianScaledSampler({ num: 2n ** 78n + 1n, den: 1n })).toThrow(
      new RangeError(`discreteGaussianScaledSampler: sigma2 must be above 2^16 and at most 2^78, got ${2n ** 78n + 1n}/1`),
    );
  });
});

/**
 * A scripted source that also fills blocks of words (as node:crypto's does), from the same script: addTo
 * takes its block path. A block for n entries is 2n + 16 words.
 */
function scriptedBlocks(script: readonly ScriptedDraw[]): ScriptedRandomSource {
  const scripted = createScriptedRandomSource(script);
  return { ...scripted, fillWords32: (out: Uint32Array) => out.forEach((_, i) => (out[i] = Number(scripted.uniformBelow(TWO_32)))) };
}
/** Fixed pseudo-random words (SHA-256 in counter mode): a test on them gives the same result every run. */
function fixedWords(n: number, seed: string): Uint32Array {
  const out = new Uint32Array(n);
  for (let block = 0; block * 8 < n; block += 1) {
    const digest = createHash('sha256').update(`${seed}:${block}`).digest();
    for (let i = 0; i < 8 && block * 8 + i < n; i += 1) out[block * 8 + i] = digest.readUInt32LE(4 * i);
  }
  return out;
}
const fillers = (n: number): ScriptedDraw[] => Array.from({ length: n }, () => word(0x9e3779b9n));

describe('discreteGaussianScaledSampler().addTo from blocks of words (σ² = 65537, scripted)', () => {
  it('draws again for the same entry, from the block, after a rejection', () => {
    // 3 words used of the 18 of a one-entry block: a rejected k = 1 (as above), then k = −4.
    const rng = scriptedBlocks([dZero(0, 1, 2 ** PREFIX_BITS - 1), word(TWO_32 - 1n), dZero(1, 0), ...fillers(15)]);
    const values = [7];
    discreteGaussianScaledSampler(sigma2).addTo(values, 0, 1, rng);
    expect(values).toEqual([7 - B]);
    expect(rng.remaining()).toBe(0);
  });

  it('finishes an attempt whose U′ is within the rounding of exp(−γ) on 32 bits with further words from the source, after the block', () => {
    const { below, above, first } = straddlingExpMinusGamma();
    const attempt = [dZero(1, 0, Number(first >> 18n)), word((first & 0x3ffffn) << 14n)];
    // Two entries: the first kept, the second k = 0 from the block; then the kept one accepts (just
    // below) or is rejected (just above) and drawn again from the source (k = −4).
    const accept = scriptedBlocks([...attempt, dZero(0, 0), ...fillers(17), word(below & (TWO_32 - 1n))]);
    const values = [0, 0];
    discreteGaussianScaledSampler(sigma2).addTo(values, 0, 2, accept);
    expect(values).toEqual([-B, 0]);
    expect(accept.remaining()).toBe(0);
    const reject = scriptedBlocks([...attempt, dZero(0, 0), ...fillers(17), word(above & (TWO_32 - 1n)), dZero(1, 0)]);
    const again = [0, 0];
    discreteGaussianScaledSampler(sigma2).addTo(again, 0, 2, reject);
    expect(again).toEqual([-B, 0]);
    expect(reject.remaining()).toBe(0);
  });

  it('finishes an attempt whose first word the 32-bit thresholds cannot decide with further words from the source, as one draw would', () => {
    const { lower, upper } = oneSidedTableSampler(PROPOSAL).guide;
    const entry = lower.findIndex((low, e) => e < upper.length && upper[e]! > low && low > 0);
    expect(entry).toBeGreaterThan(0);
    // lower[entry] ≤ u < upper[entry]: the 32-bit level cannot tell d = entry − 1 from d = entry − 2.
    const u = BigInt(lower[entry]!);
    const further = [word(0n), word(0n)]; // the 64-bit refinement's word, then sign 0 and offset 0 (γ = 0)
    const expected = discreteGaussianScaledSampler(sigma2)(createScriptedRandomSource([word(u), ...further]));
    const rng = scriptedBlocks([word(u), ...fillers(17), ...further]);
    const values = [0];
    discreteGaussianScaledSampler(sigma2).addTo(values, 0, 1, rng);
    expect(values).toEqual([expected]);
    expect(expected % B).toBe(0);
    expect(rng.remaining()).toBe(0);
  });
});

describe('discreteGaussianScaledSampler at σ² = 2^31 (blocks of 512, 6 bits of U′ in the first word): a U′ just below exp(−γ)', () => {
  // k = 1 (d = 0, sign 0, offset 1; prefix all ones), γ = 1/2^32. U′ = 1 − 2^−32 exactly is below
  // exp(−2^−32) = 1 − 2^−32 + 2^−65 − …, so the draw is accepted: only the bounds at 128 bits tell.
  const s = { num: 2n ** 31n, den: 1n };
  const first = word(0xfc02n);
  const rest = word(0xffffffffn);
  const further = [word(0n), word(0n), word(0n)];

  it('is accepted by one draw (a bound rounded the wrong way had rejected it)', () => {
    const rng = createScriptedRandomSource([first, rest, ...further]);
    expect(discreteGaussianScaledSampler(s)(rng)).toBe(1);
    expect(rng.remaining()).toBe(0);
  });

  it('is accepted from a block, finished with further words from the source', () => {
    const rng = scriptedBlocks([first, rest, ...fillers(16), ...further]);
    const values = [0];
    discreteGaussianScaledSampler(s).addTo(values, 0, 1, rng);
    expect(values).toEqual([1]);
    expect(rng.remaining()).toBe(0);
  });
});

describe('discreteGaussianScaledSampler().addTo', () => {
  it('adds one draw to each entry of the range, words in the order of one draw after another (scripted)', () => {
    const rng = createScriptedRandomSource([dZero(0, 0), dZero(1, 0)]);
    const values = [5, 5, 5, 5];
    discreteGaussianScaledSampler(sigma2).addTo(values, 1, 3, rng);
    expect(values).toEqual([5, 5, 5 - B, 5]);
    expect(rng.remaining()).toBe(0);
  });

  it('at σ² = 65537 (the spare bits of its first words hold the sign, offset and 14 bits of U′) fits the exact pmf over 10^6 draws from blocks of node:crypto words (α = 1e-6)', () => {
    const values = new Array<number>(1_000_000).fill(0);
    discreteGaussianScaledSampler(sigma2).addTo(values, 0, values.length, createCryptoRandomSource());
    const audit = auditDiscreteGaussian(65_537, values.map(BigInt), { significance: 1e-6 });
    expect(audit.passed).toEqual({ chiSquare: true, totalVariation: true, variance: true });
  });

  it.each([
    ['2^31 + 1 (sign, offset and U′ from the first word)', 2n ** 31n + 1n],
    ['2^70 + 1 (blocks of 2^29: sign, offset and 2 bits of U′ in a word of their own)', 2n ** 70n + 1n],
  ])('at σ² = %s gives, from a block, the draws one draw after another gives from the same words', (_, num) => {
    const sampler = discreteGaussianScaledSampler({ num, den: 1n });
    const words = Array.from(fixedWords(1_000, `blocks ${num}`), (w) => word(BigInt(w)));
    const one = createScriptedRandomSource(words);
    const expected = Array.from({ length: 300 }, () => sampler(one));
    // 300 entries take at most 3·300 + 16 words from one block. On these fixed words no attempt needs
    // words beyond the block (one whose U′ is within the rounding of exp(−γ) on 32 bits, probability
    // about γ²/2 an attempt, would take them in another order): the draws come in the same order.
    const values = new Array<number>(300).fill(0);
    sampler.addTo(values, 0, 300, scriptedBlocks(words.slice(0, 3 * 300 + 16)));
    expect(values).toEqual(expected);
  });

  it('at σ² = 2^70 + 1 has the variance σ² over 10^6 draws from blocks of node:crypto words (within 5 standard errors)', () => {
    // Beyond the exact audit's reach (σ² ≤ 10^12); the draws above are those of `draw`, whose algorithm
    // the audits check at smaller σ².
    const sigma2 = 2 ** 70 + 1;
    const values = new Array<number>(1_000_000).fill(0);
    discreteGaussianScaledSampler({ num: 2n ** 70n + 1n, den: 1n }).addTo(values, 0, values.length, createCryptoRandomSource());
    const meanSquare = values.reduce((sum, v) => sum + v * v, 0) / values.length;
    expect(Math.abs(meanSquare / sigma2 - 1)).toBeLessThan(5 * Math.sqrt(2 / values.length));
  });

  it('at σ² = 2^31 + 2^-10 fits the exact pmf over 10^6 draws from blocks of node:crypto words (α = 1e-6)', () => {
    const s = { num: 2n ** 41n + 1n, den: 1024n };
    const values = new Array<number>(1_000_000).fill(0);
    discreteGaussianScaledSampler(s).addTo(values, 0, values.length, createCryptoRandomSource());
    const audit = auditDiscreteGaussian(rationalToNumber(s), values.map(BigInt), { significance: 1e-6 });
    expect(audit.passed).toEqual({ chiSquare: true, totalVariation: true, variance: true });
  });
});
