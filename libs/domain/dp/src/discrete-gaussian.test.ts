import { describe, expect, it } from 'vitest';
import {
  discreteGaussianSampler,
  sampleBernoulliExp,
  sampleBernoulliRational,
  sampleDiscreteGaussian,
  sampleDiscreteGaussianVector,
  sampleDiscreteLaplace,
} from './discrete-gaussian';
import { createCryptoRandomSource } from './random-source';
import { createScriptedRandomSource, type ScriptedDraw } from './scripted-random-source';

const d = (below: bigint, value: bigint): ScriptedDraw => ({ below, value });

/** Draws that make Bernoulli(exp(−1)) (Algorithm 1 with γ = 1) return 1: K = 1 always succeeds, K = 2 succeeds, K = 3 fails. */
const EXP_MINUS_ONE_IS_1 = [d(1n, 0n), d(2n, 0n), d(3n, 1n)];
/** Draws that make Bernoulli(exp(−1)) return 0: K = 1 succeeds, K = 2 fails. */
const EXP_MINUS_ONE_IS_0 = [d(1n, 0n), d(2n, 1n)];

describe('sampleBernoulliRational', () => {
  it('is 1 exactly when the uniform draw below the denominator is below the numerator', () => {
    expect(sampleBernoulliRational({ num: 2n, den: 3n }, createScriptedRandomSource([d(3n, 1n)]))).toBe(true);
    expect(sampleBernoulliRational({ num: 2n, den: 3n }, createScriptedRandomSource([d(3n, 2n)]))).toBe(false);
  });

  it('refuses p outside [0, 1]', () => {
    expect(() => sampleBernoulliRational({ num: 3n, den: 2n }, createScriptedRandomSource([]))).toThrow(
      new RangeError('sampleBernoulliRational: p must be a rational in [0, 1] with a positive denominator, got 3/2'),
    );
    expect(() => sampleBernoulliRational({ num: -1n, den: 2n }, createScriptedRandomSource([]))).toThrow(
      new RangeError('sampleBernoulliRational: p must be a rational in [0, 1] with a positive denominator, got -1/2'),
    );
  });
});

describe('sampleBernoulliExp (CKS20 Algorithm 1)', () => {
  it('returns 1 when the first Bernoulli(γ/1) is 0 (K stays 1, odd)', () => {
    const rng = createScriptedRandomSource([d(2n, 1n)]);
    expect(sampleBernoulliExp({ num: 1n, den: 2n }, rng)).toBe(true);
    expect(rng.remaining()).toBe(0);
  });

  it('returns 0 when exactly one Bernoulli(γ/K) succeeds (K ends at 2, even), drawing below den·K', () => {
    const rng = createScriptedRandomSource([d(2n, 0n), d(4n, 3n)]);
    expect(sampleBernoulliExp({ num: 1n, den: 2n }, rng)).toBe(false);
    expect(rng.remaining()).toBe(0);
  });

  it('returns 1 for γ = 0 after one draw of Bernoulli(0)', () => {
    const rng = createScriptedRandomSource([d(1n, 0n)]);
    expect(sampleBernoulliExp({ num: 0n, den: 1n }, rng)).toBe(true);
    expect(rng.remaining()).toBe(0);
  });

  it('for γ > 1 returns 0 as soon as one of the ⌊γ⌋ Bernoulli(exp(−1)) draws is 0', () => {
    const rng = createScriptedRandomSource([...EXP_MINUS_ONE_IS_1, ...EXP_MINUS_ONE_IS_0]);
    expect(sampleBernoulliExp({ num: 5n, den: 2n }, rng)).toBe(false);
    expect(rng.remaining()).toBe(0);
  });

  it('for γ > 1 returns Bernoulli(exp(⌊γ⌋ − γ)) once all ⌊γ⌋ Bernoulli(exp(−1)) draws are 1', () => {
    const rng = createScriptedRandomSource([...EXP_MINUS_ONE_IS_1, ...EXP_MINUS_ONE_IS_1, d(2n, 1n)]);
    expect(sampleBernoulliExp({ num: 5n, den: 2n }, rng)).toBe(true);
    expect(rng.remaining()).toBe(0);
  });

  it('refuses a negative γ', () => {
    expect(() => sampleBernoulliExp({ num: -1n, den: 2n }, createScriptedRandomSource([]))).toThrow(
      new RangeError('sampleBernoulliExp: gamma must be a non-negative rational with a positive denominator, got -1/2'),
    );
  });

  it('is 1 with probability e^{-3/2} (1e5 draws within 5 standard errors)', () => {
    const rng = createCryptoRandomSource();
    const n = 100_000;
    let ones = 0;
    for (let i = 0; i < n; i += 1) if (sampleBernoulliExp({ num: 3n, den: 2n }, rng)) ones += 1;
    const p = Math.exp(-1.5);
    expect(Math.abs(ones / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
  });
});

describe('sampleDiscreteLaplace (CKS20 Algorithm 2)', () => {
  it('returns U + t·V with the sign of the fair coin', () => {
    // U = 2 (below t = 3); D = Bernoulli(exp(−2/3)) = 1; V = 0; B = 0 (draw 1 is not below 1).
    const rng = createScriptedRandomSource([d(3n, 2n), d(3n, 2n), ...EXP_MINUS_ONE_IS_0, d(2n, 1n)]);
    expect(sampleDiscreteLaplace(1n, 3n, rng)).toBe(2n);
    expect(rng.remaining()).toBe(0);
  });

  it('counts V by successive Bernoulli(exp(−1)) draws and negates when the coin is 1', () => {
    // U = 1, D = 1, V = 2, B = 1: −(1 + 3·2).
    const rng = createScriptedRandomSource([d(3n, 1n), d(3n, 2n), ...EXP_MINUS_ONE_IS_1, ...EXP_MINUS_ONE_IS_1, ...EXP_MINUS_ONE_IS_0, d(2n, 0n)]);
    expect(sampleDiscreteLaplace(1n, 3n, rng)).toBe(-7n);
    expect(rng.remaining()).toBe(0);
  });

  it('starts again when D = 0', () => {
    // U = 2, D = Bernoulli(exp(−2/3)) = 0 (K ends at 2); then U = 0, D = 1, V = 0, B = 0.
    const rng = createScriptedRandomSource([d(3n, 2n), d(3n, 1n), d(6n, 5n), d(3n, 0n), d(3n, 0n), ...EXP_MINUS_ONE_IS_0, d(2n, 1n)]);
    expect(sampleDiscreteLaplace(1n, 3n, rng)).toBe(0n);
    expect(rng.remaining()).toBe(0);
  });

  it('rejects −0 (B = 1 and Y = 0) so that 0 is not counted twice', () => {
    const rng = createScriptedRandomSource([d(3n, 0n), d(3n, 0n), ...EXP_MINUS_ONE_IS_0, d(2n, 0n), d(3n, 1n), d(3n, 2n), ...EXP_MINUS_ONE_IS_0, d(2n, 0n)]);
    expect(sampleDiscreteLaplace(1n, 3n, rng)).toBe(-1n);
    expect(rng.remaining()).toBe(0);
  });

  it('divides X by s, rounding down', () => {
    // s = 2, t = 1: U = 0, D = 1, V = 1, X = 1, Y = ⌊1/2⌋ = 0, B = 0.
    const rng = createScriptedRandomSource([d(1n, 0n), d(1n, 0n), ...EXP_MINUS_ONE_IS_1, ...EXP_MINUS_ONE_IS_0, d(2n, 1n)]);
    expect(sampleDiscreteLaplace(2n, 1n, rng)).toBe(0n);
    expect(rng.remaining()).toBe(0);
  });

  it('refuses s or t below 1', () => {
    expect(() => sampleDiscreteLaplace(0n, 1n, createScriptedRandomSource([]))).toThrow(
      new RangeError('sampleDiscreteLaplace: s and t must be integers of at least 1, got s = 0, t = 1'),
    );
    expect(() => sampleDiscreteLaplace(1n, -2n, createScriptedRandomSource([]))).toThrow(
      new RangeError('sampleDiscreteLaplace: s and t must be integers of at least 1, got s = 1, t = -2'),
    );
  });
});

describe('sampleDiscreteGaussian (CKS20 Algorithm 3)', () => {
  it('for σ² = 10 draws Y from Lap_Z(t = ⌊√10⌋ + 1 = 4) and accepts it with probability exp(−(|Y|·b·t − a)²/(2abt²)) = exp(−4/320)', () => {
    // Y = −3: U = 3 (below 4), D = 1, V = 0, B = 1; then Bernoulli(4/320) = 0 (draw 4 is not below 4), so K = 1 and Y is kept.
    const rng = createScriptedRandomSource([d(4n, 3n), d(4n, 3n), ...EXP_MINUS_ONE_IS_0, d(2n, 0n), d(320n, 4n)]);
    expect(sampleDiscreteGaussian({ num: 10n, den: 1n }, rng)).toBe(-3n);
    expect(rng.remaining()).toBe(0);
  });

  it('for σ² = 1/4 uses t = 1, rejects Y = 0 with γ = 1/8 and accepts Y = 1 with γ = 9/8 > 1', () => {
    const rng = createScriptedRandomSource([
      // Y = 0 (U = 0 below t = 1, D = 1, V = 0, B = 0); exp(−1/8) fails: K ends at 2.
      d(1n, 0n),
      d(1n, 0n),
      ...EXP_MINUS_ONE_IS_0,
      d(2n, 1n),
      d(8n, 0n),
      d(16n, 7n),
      // Y = 1 (V = 1); γ = 9/8: one Bernoulli(exp(−1)) = 1, then Bernoulli(exp(−1/8)) = 1.
      d(1n, 0n),
      d(1n, 0n),
      ...EXP_MINUS_ONE_IS_1,
      ...EXP_MINUS_ONE_IS_0,
      d(2n, 1n),
      ...EXP_MINUS_ONE_IS_1,
      d(8n, 5n),
    ]);
    expect(sampleDiscreteGaussian({ num: 1n, den: 4n }, rng)).toBe(1n);
    expect(rng.remaining()).toBe(0);
  });

  it('computes t = ⌊σ⌋ + 1 exactly for a non-integer σ² = 7/3 (σ ≈ 1.53, t = 2)', () => {
    // Y = 1: U = 1 (below 2), D = 1 (draw 1 is not below 1), V = 0, B = 0; γ = (1·3·2 − 7)²/(2·7·3·4) = 1/168.
    const rng = createScriptedRandomSource([d(2n, 1n), d(2n, 1n), ...EXP_MINUS_ONE_IS_0, d(2n, 1n), d(168n, 1n)]);
    expect(sampleDiscreteGaussian({ num: 7n, den: 3n }, rng)).toBe(1n);
    expect(rng.remaining()).toBe(0);
  });

  it('refuses σ² ≤ 0 and a non-positive denominator', () => {
    const none = createScriptedRandomSource([]);
    expect(() => sampleDiscreteGaussian({ num: 0n, den: 1n }, none)).toThrow(
      new RangeError('sampleDiscreteGaussian: sigma2 must be a positive rational with a positive denominator, got 0/1'),
    );
    expect(() => sampleDiscreteGaussian({ num: -1n, den: 2n }, none)).toThrow(
      new RangeError('sampleDiscreteGaussian: sigma2 must be a positive rational with a positive denominator, got -1/2'),
    );
    expect(() => sampleDiscreteGaussian({ num: 1n, den: 0n }, none)).toThrow(
      new RangeError('sampleDiscreteGaussian: sigma2 must be a positive rational with a positive denominator, got 1/0'),
    );
    expect(() => discreteGaussianSampler({ num: -1n, den: -2n })).toThrow(
      new RangeError('discreteGaussianSampler: sigma2 must be a positive rational with a positive denominator, got -1/-2'),
    );
  });
});

describe('sampleDiscreteGaussianVector', () => {
  it('returns `length` integer draws, and none for length 0', () => {
    const rng = createCryptoRandomSource();
    const draws = sampleDiscreteGaussianVector({ num: 100n, den: 1n }, 50, rng);
    expect(draws).toHaveLength(50);
    expect(draws.every((x) => typeof x === 'bigint')).toBe(true);
    expect(sampleDiscreteGaussianVector({ num: 100n, den: 1n }, 0, rng)).toEqual([]);
  });

  it('refuses a length that is not a non-negative integer', () => {
    const rng = createScriptedRandomSource([]);
    expect(() => sampleDiscreteGaussianVector({ num: 1n, den: 1n }, -1, rng)).toThrow(
      new RangeError('sampleDiscreteGaussianVector: length must be a non-negative integer, got -1'),
    );
    expect(() => sampleDiscreteGaussianVector({ num: 1n, den: 1n }, 1.5, rng)).toThrow(
      new RangeError('sampleDiscreteGaussianVector: length must be a non-negative integer, got 1.5'),
    );
    expect(() => sampleDiscreteGaussianVector({ num: 0n, den: 1n }, 1, rng)).toThrow(
      new RangeError('sampleDiscreteGaussianVector: sigma2 must be a positive rational with a positive denominator, got 0/1'),
    );
  });
});
