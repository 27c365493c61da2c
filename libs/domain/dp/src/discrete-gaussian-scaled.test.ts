import { describe, expect, it } from 'vitest';
import { auditDiscreteGaussian } from './discrete-gaussian-audit';
import { discreteGaussianNumberSampler } from './discrete-gaussian';
import { discreteGaussianScaledSampler } from './discrete-gaussian-scaled';
import { createCryptoRandomSource } from './random-source';
import { rationalToNumber } from './rational';
import { expNegative } from './discrete-gaussian-table';
import { createScriptedRandomSource, type ScriptedDraw } from './scripted-random-source';

const TWO_32 = 2n ** 32n;
const word = (value: bigint): ScriptedDraw => ({ below: TWO_32, value });

// σ² = 65537: B = 2 (σ'² = 65537/4). Word 0 draws d = 0 from the one-sided proposal (P(D = 0) ≈ 1/160 ≫ 2^−32);
// the next word's bit 0 is the sign (1: q = −d − 1) and bit 1 the offset r in the block.
const sigma2 = { num: 65_537n, den: 1n };
const ZERO_D = word(0n);

describe('discreteGaussianScaledSampler, draw by draw (σ² = 65537, blocks of 2, scripted words)', () => {
  it('returns k = dB + r without a further word when γ = 0 (q = d ≥ 0, r = 0)', () => {
    const rng = createScriptedRandomSource([ZERO_D, word(0n)]);
    expect(discreteGaussianScaledSampler(sigma2)(rng)).toBe(0);
    expect(rng.remaining()).toBe(0);
  });

  it('for q = −1, r = 0 (k = −2, γ = 2·2/(2·65537)) accepts on a word far below exp(−γ)', () => {
    const rng = createScriptedRandomSource([ZERO_D, word(1n), word(0n)]);
    expect(discreteGaussianScaledSampler(sigma2)(rng)).toBe(-2);
    expect(rng.remaining()).toBe(0);
  });

  it('for q = 0, r = 1 (k = 1, γ = 1/131074) rejects on the all-ones word and draws again', () => {
    const rng = createScriptedRandomSource([ZERO_D, word(2n), word(TWO_32 - 1n), ZERO_D, word(1n), word(0n)]);
    expect(discreteGaussianScaledSampler(sigma2)(rng)).toBe(-2);
    expect(rng.remaining()).toBe(0);
  });

  it('compares a word within the rounding of exp(−γ) with its 64-bit bounds: just below accepts, just above rejects', () => {
    // k = −2: γ = 4/131074 = 2/65537.
    const shift = 128n;
    const [lo, hi] = expNegative(4n, 131_074n, 1n << shift, shift);
    const below = (lo >> 64n) - 1n;
    const above = (hi >> 64n) + 1n;
    const first = below >> 32n;
    expect(above >> 32n).toBe(first);
    const accept = createScriptedRandomSource([ZERO_D, word(1n), word(first), word(below & (TWO_32 - 1n))]);
    expect(discreteGaussianScaledSampler(sigma2)(accept)).toBe(-2);
    expect(accept.remaining()).toBe(0);
    const reject = createScriptedRandomSource([ZERO_D, word(1n), word(first), word(above & (TWO_32 - 1n)), ZERO_D, word(0n)]);
    expect(discreteGaussianScaledSampler(sigma2)(reject)).toBe(0);
    expect(reject.remaining()).toBe(0);
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

describe('discreteGaussianScaledSampler().addTo', () => {
  it('adds one draw to each entry of the range, words in the order of one draw after another (scripted)', () => {
    const rng = createScriptedRandomSource([ZERO_D, word(0n), ZERO_D, word(1n), word(0n)]);
    const values = [5, 5, 5, 5];
    discreteGaussianScaledSampler(sigma2).addTo(values, 1, 3, rng);
    expect(values).toEqual([5, 5, 3, 5]);
    expect(rng.remaining()).toBe(0);
  });

  it('at σ² = 2^31 + 2^-10 fits the exact pmf over 10^6 draws from blocks of node:crypto words (α = 1e-6)', () => {
    const s = { num: 2n ** 41n + 1n, den: 1024n };
    const values = new Array<number>(1_000_000).fill(0);
    discreteGaussianScaledSampler(s).addTo(values, 0, values.length, createCryptoRandomSource());
    const audit = auditDiscreteGaussian(rationalToNumber(s), values.map(BigInt), { significance: 1e-6 });
    expect(audit.passed).toEqual({ chiSquare: true, totalVariation: true, variance: true });
  });
});
