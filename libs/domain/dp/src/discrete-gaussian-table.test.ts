import { describe, expect, it } from 'vitest';
import { discreteGaussianNumberSampler, discreteGaussianSampler } from './discrete-gaussian';
import { auditDiscreteGaussian } from './discrete-gaussian-audit';
import { discreteGaussianPmf } from './discrete-gaussian-pmf';
import { createCryptoRandomSource } from './random-source';
import {
  addNoise,
  addSmallNoise,
  decideThreshold,
  discreteGaussianTableSampler,
  discreteGaussianThresholds,
  smallDraw,
  thresholds,
  type DiscreteGaussianThresholds,
} from './discrete-gaussian-table';
import { rationalToNumber, type Rational } from './rational';
import { createScriptedRandomSource, type ScriptedDraw } from './scripted-random-source';

const TWO_32 = 2n ** 32n;
const word = (value: bigint): ScriptedDraw => ({ below: TWO_32, value });
/** The 32-bit words of a p-bit prefix m, most significant first, after the first `skip` words. */
const wordsOf = (m: bigint, precision: number, skip: number): ScriptedDraw[] =>
  Array.from({ length: precision / 32 - skip }, (_, i) => word((m >> BigInt(precision - 32 * (skip + i + 1))) & (TWO_32 - 1n)));

/** Bounds of C_k at one level, by k. */
const bounds = (t: DiscreteGaussianThresholds, k: number) => ({ lo: t.lo[k + t.half + 1]!, hi: t.hi[k + t.half + 1]! });

const SIGMA2S: readonly Rational[] = [
  { num: 1n, den: 4n },
  { num: 2n, den: 1n },
  { num: 7n, den: 3n },
  { num: 10n, den: 1n },
  { num: 10_000n, den: 1n },
  { num: 65_536n, den: 1n },
];

describe('discreteGaussianThresholds', () => {
  it.each(SIGMA2S.map((s) => [`${s.num}/${s.den}`, s] as const))(
    'at σ² = %s brackets P(X ≤ k) of the exact pmf at 32 bits for every k of the table, each within 2 units of 2^−32',
    (_, sigma2) => {
      const t = discreteGaussianThresholds(sigma2, 32);
      const s2 = rationalToNumber(sigma2);
      // P(X ≤ k) summed from far below the table (the pmf there is below 1e−300).
      const far = t.half + Math.ceil(40 * Math.sqrt(s2)) + 40;
      let cumulative = 0;
      for (let k = -far; k < -t.half - 1; k += 1) cumulative += discreteGaussianPmf(s2, k);
      let worst = 0n;
      for (let k = -t.half - 1; k <= t.half - 1; k += 1) {
        cumulative += discreteGaussianPmf(s2, k);
        const { lo, hi } = bounds(t, k);
        // The pmf sums in double precision are good to about 1e−13, far below 2^−32 ≈ 2.3e−10.
        expect(Number(lo) / 2 ** 32).toBeLessThanOrEqual(cumulative + 1e-13);
        expect(Number(hi) / 2 ** 32).toBeGreaterThanOrEqual(cumulative - 1e-13);
        if (hi - lo > worst) worst = hi - lo;
      }
      expect(worst).toBeLessThanOrEqual(2n);
    },
  );

  it('stops where the tail beyond the table is within one unit: P(X ≤ −J − 1) ≤ 2^−p and P(X ≤ J − 1) ≥ 1 − 2^−p', () => {
    for (const precision of [32, 64, 128]) {
      const t = discreteGaussianThresholds({ num: 2n, den: 1n }, precision);
      expect(bounds(t, -t.half - 1)).toEqual({ lo: 0n, hi: 1n });
      expect(bounds(t, t.half - 1).lo).toBeGreaterThanOrEqual(2n ** BigInt(precision) - 1n);
    }
  });

  it('gives bounds at 64 and 128 bits that overlap those at 32 and 64 (all bound the same C_k) and are narrower', () => {
    for (const sigma2 of SIGMA2S) {
      const levels = [32, 64, 128].map((p) => discreteGaussianThresholds(sigma2, p));
      for (let i = 1; i < levels.length; i += 1) {
        const coarse = levels[i - 1]!;
        const fine = levels[i]!;
        const scale = 2n ** BigInt(fine.precision - coarse.precision);
        for (let k = -coarse.half; k < coarse.half; k += 1) {
          const c = bounds(coarse, k);
          const f = bounds(fine, k);
          expect(f.lo).toBeLessThanOrEqual(c.hi * scale);
          expect(f.hi).toBeGreaterThanOrEqual(c.lo * scale);
          expect(f.hi - f.lo).toBeLessThanOrEqual(2n);
        }
      }
    }
  });

  it('at σ² = 2 has P(X ≤ 0) between its bounds at 128 bits, checked against the pmf sum 1/2 + p(0)/2', () => {
    const t = discreteGaussianThresholds({ num: 2n, den: 1n }, 128);
    const { lo, hi } = bounds(t, 0);
    const exact = 0.5 + discreteGaussianPmf(2, 0) / 2;
    expect(Number(lo) / 2 ** 128).toBeCloseTo(exact, 15);
    expect(hi - lo).toBeLessThanOrEqual(2n);
    // Symmetry: P(X ≤ −1) = 1 − P(X ≤ 0), so the bounds mirror each other.
    expect(bounds(t, -1)).toEqual({ lo: 2n ** 128n - hi, hi: 2n ** 128n - lo });
  });

  it.each([
    ['2', { num: 2n, den: 1n }],
    ['32768', { num: 32_768n, den: 1n }],
  ] as const)('one-sided at σ² = %s brackets P(D ≤ d) ∝ Σ_{0..d} exp(−i²/(2σ²)) at 32 bits (the scaled sampler’s proposal)', (_, sigma2) => {
    const t = thresholds(sigma2, 32, true);
    const s2 = rationalToNumber(sigma2);
    const far = t.half + Math.ceil(40 * Math.sqrt(s2)) + 40;
    let total = 0;
    for (let i = 0; i <= far; i += 1) total += discreteGaussianPmf(s2, i);
    expect({ first: t.first, entries: t.lo.length, lo0: t.lo[0], hi0: t.hi[0] }).toEqual({ first: -1, entries: t.half + 1, lo0: 0n, hi0: 0n });
    let cumulative = 0;
    for (let d = 0; d < t.half; d += 1) {
      cumulative += discreteGaussianPmf(s2, d) / total;
      expect(Number(t.lo[d + 1]!) / 2 ** 32).toBeLessThanOrEqual(cumulative + 1e-13);
      expect(Number(t.hi[d + 1]!) / 2 ** 32).toBeGreaterThanOrEqual(cumulative - 1e-13);
      expect(t.hi[d + 1]! - t.lo[d + 1]!).toBeLessThanOrEqual(2n);
    }
  });

  it('refuses σ² ≤ 0 and a precision that is not a positive integer', () => {
    expect(() => discreteGaussianThresholds({ num: 0n, den: 1n }, 32)).toThrow(
      new RangeError('discreteGaussianThresholds: sigma2 must be a positive rational with a positive denominator, got 0/1'),
    );
    expect(() => discreteGaussianThresholds({ num: 1n, den: 1n }, 0)).toThrow(
      new RangeError('discreteGaussianThresholds: precision must be a positive integer, got 0'),
    );
    expect(() => discreteGaussianThresholds({ num: 1n, den: 1n }, 1.5)).toThrow(
      new RangeError('discreteGaussianThresholds: precision must be a positive integer, got 1.5'),
    );
  });
});

describe('decideThreshold', () => {
  const t = discreteGaussianThresholds({ num: 2n, den: 1n }, 32);

  it('returns k when [m, m + 1) lies between the bounds of C_{k−1} and C_k, whatever the further bits', () => {
    // (Further out, successive thresholds are within one unit of each other and of 0 or 1.)
    for (let k = -4; k <= 4; k += 1) {
      expect(decideThreshold(t, bounds(t, k - 1).hi)).toBe(k);
      expect(decideThreshold(t, bounds(t, k).lo - 1n)).toBe(k);
    }
  });

  it('leaves undecided a prefix whose interval holds a threshold, and the all-ones and all-zeros prefixes', () => {
    const { lo, hi } = bounds(t, 0);
    expect(hi).toBeGreaterThan(lo);
    for (let m = lo; m < hi; m += 1n) expect(decideThreshold(t, m)).toBeUndefined();
    expect(decideThreshold(t, TWO_32 - 1n)).toBeUndefined();
    expect(decideThreshold(t, 0n)).toBeUndefined();
  });
});

describe('discreteGaussianTableSampler, draw by draw (σ² = 2, scripted words)', () => {
  const sigma2 = { num: 2n, den: 1n };
  const t32 = discreteGaussianThresholds(sigma2, 32);
  const t64 = discreteGaussianThresholds(sigma2, 64);
  const t128 = discreteGaussianThresholds(sigma2, 128);

  it('decides a word between two thresholds alone: one word, and U = 1/2 gives 0', () => {
    const sample = discreteGaussianTableSampler(sigma2);
    for (let k = -3; k <= 3; k += 1) {
      const rng = createScriptedRandomSource([word(bounds(t32, k - 1).hi)]);
      expect(sample(rng)).toBe(k);
      expect(rng.remaining()).toBe(0);
    }
    const half = createScriptedRandomSource([word(2n ** 31n)]);
    expect(sample(half)).toBe(0);
    expect(half.remaining()).toBe(0);
  });

  it('reads a second word when the first holds the threshold C_0, and returns 0 or 1 by which side of C_0 the 64 bits fall', () => {
    const sample = discreteGaussianTableSampler(sigma2);
    const c0 = bounds(t64, 0);
    // The first word is the one whose interval [u, u + 1)·2^−32 holds C_0.
    const u = c0.lo >> 32n;
    expect(c0.hi >> 32n).toBe(u);
    expect(bounds(t32, 0)).toEqual({ lo: u, hi: u + 1n });
    for (const [m, expected] of [
      [c0.lo - 1n, 0],
      [c0.hi, 1],
    ] as const) {
      const rng = createScriptedRandomSource([word(u), ...wordsOf(m, 64, 1)]);
      expect(sample(rng)).toBe(expected);
      expect(rng.remaining()).toBe(0);
    }
  });

  it('goes on to 128 bits when the 64-bit prefix still holds C_0 (four words in all)', () => {
    const sample = discreteGaussianTableSampler(sigma2);
    const c0 = bounds(t128, 0);
    const m64 = c0.lo >> 64n;
    expect(bounds(t64, 0).lo).toBeLessThanOrEqual(m64);
    expect(decideThreshold(t64, m64)).toBeUndefined();
    for (const [m, expected] of [
      [c0.lo - 1n, 0],
      [c0.hi, 1],
    ] as const) {
      expect(m >> 64n).toBe(m64);
      const rng = createScriptedRandomSource(wordsOf(m, 128, 0));
      expect(sample(rng)).toBe(expected);
      expect(rng.remaining()).toBe(0);
    }
  });

  it('draws from the upper tail beyond the 32- and 64-bit tables: two all-ones words, then the 128-bit comparison', () => {
    const sample = discreteGaussianTableSampler(sigma2);
    // k = J64 is one past the largest value of the 64-bit table; U just above C_{k−1} gives k.
    const k = t64.half;
    const m = bounds(t128, k - 1).hi;
    expect(m + 1n).toBeLessThanOrEqual(bounds(t128, k).lo);
    expect(m >> 64n).toBe(2n ** 64n - 1n);
    expect(k).toBeGreaterThan(t32.half - 1);
    const rng = createScriptedRandomSource(wordsOf(m, 128, 0));
    expect(sample(rng)).toBe(k);
    expect(rng.remaining()).toBe(0);
  });

  it('draws from the lower tail beyond the 32- and 64-bit tables: two all-zero words, then the 128-bit comparison', () => {
    const sample = discreteGaussianTableSampler(sigma2);
    // k = −J64 − 1 is one below the smallest value of the 64-bit table; U just above C_{k−1} gives k.
    const k = -t64.half - 1;
    const m = bounds(t128, k - 1).hi;
    expect(m + 1n).toBeLessThanOrEqual(bounds(t128, k).lo);
    expect(m >> 64n).toBe(0n);
    const rng = createScriptedRandomSource(wordsOf(m, 128, 0));
    expect(sample(rng)).toBe(k);
    expect(rng.remaining()).toBe(0);
  });

  it('refuses σ² above 2^16 or not positive, and takes 2^16 itself', () => {
    expect(() => discreteGaussianTableSampler({ num: 65_537n, den: 1n })).toThrow(
      new RangeError('discreteGaussianTableSampler: sigma2 must be at most 2^16, got 65537/1'),
    );
    expect(() => discreteGaussianTableSampler({ num: -1n, den: 2n })).toThrow(
      new RangeError('discreteGaussianTableSampler: sigma2 must be a positive rational with a positive denominator, got -1/2'),
    );
    const rng = createScriptedRandomSource([word(2n ** 31n)]);
    expect(discreteGaussianTableSampler({ num: 65_536n, den: 1n })(rng)).toBe(0);
  });
});

describe('discreteGaussianTableSampler().addTo', () => {
  const sigma2 = { num: 2n, den: 1n };
  const t32 = discreteGaussianThresholds(sigma2, 32);
  const t64 = discreteGaussianThresholds(sigma2, 64);

  it('adds one draw to each entry of the range, all words of the block first, then the refinement words of an undecided one', () => {
    const sample = discreteGaussianTableSampler(sigma2);
    const c0 = bounds(t64, 0);
    const ambiguous = c0.lo >> 32n;
    const rng = createScriptedRandomSource([
      // The block: entries 1, 2 and 3 of [10, 20, 30, 40, 50].
      word(bounds(t32, -2).hi),
      word(ambiguous),
      word(bounds(t32, 2).hi),
      // Then entry 2's second word, just above C_0 at 64 bits: 1.
      ...wordsOf(c0.hi, 64, 1),
    ]);
    const values = [10, 20, 30, 40, 50];
    sample.addTo(values, 1, 4, rng);
    expect(values).toEqual([10, 20 - 1, 30 + 1, 40 + 3, 50]);
    expect(rng.remaining()).toBe(0);
  });

  it.each([
    ['2', { num: 2n, den: 1n }],
    ['2^16', { num: 65_536n, den: 1n }],
  ] as const)('at σ² = %s fits the exact pmf over 10^6 draws (chi-square, total variation, variance at α = 1e-6)', (_, s) => {
    const values = new Array<number>(1_000_000).fill(0);
    discreteGaussianTableSampler(s).addTo(values, 0, values.length, createCryptoRandomSource());
    const audit = auditDiscreteGaussian(rationalToNumber(s), values.map(BigInt), { significance: 1e-6 });
    expect(audit.passed).toEqual({ chiSquare: true, totalVariation: true, variance: true });
  });
});

describe('discreteGaussianSampler and discreteGaussianNumberSampler', () => {
  it('draw from the inversion table up to σ² = 2^16: one word below 2^32', () => {
    expect(discreteGaussianSampler({ num: 65_536n, den: 1n })(createScriptedRandomSource([word(2n ** 31n)]))).toBe(0n);
    expect(discreteGaussianNumberSampler({ num: 1n, den: 4n })(createScriptedRandomSource([word(2n ** 31n)]))).toBe(0);
  });

  it('draw from the scaled table above 2^16 (a word below 2^32 first) and by CKS20 above 2^78 (the Laplace U below t = ⌊σ⌋ + 1 = 2^39 + 1)', () => {
    for (const sampler of [discreteGaussianSampler, discreteGaussianNumberSampler]) {
      expect(() => sampler({ num: 65_537n, den: 1n })(createScriptedRandomSource([]))).toThrow(
        new Error('scripted random source: draw 1 (below 4294967296) is beyond the script of 0'),
      );
      expect(() => sampler({ num: 2n ** 78n + 1n, den: 1n })(createScriptedRandomSource([word(0n)]))).toThrow(
        new Error('scripted random source: draw 1 asked for a value below 549755813889, the script expects below 4294967296'),
      );
    }
  });

  it('refuses σ² ≤ 0', () => {
    expect(() => discreteGaussianNumberSampler({ num: 0n, den: 1n })).toThrow(
      new RangeError('discreteGaussianNumberSampler: sigma2 must be a positive rational with a positive denominator, got 0/1'),
    );
  });
});

describe('the noise buffers of addTo', () => {
  it('smallDraw passes a draw within ±2^31 and refuses one beyond rather than wrapping it around', () => {
    expect([smallDraw(2 ** 31 - 1), smallDraw(-(2 ** 31))]).toEqual([2 ** 31 - 1, -(2 ** 31)]);
    expect(() => smallDraw(2 ** 31)).toThrow(new RangeError('discrete Gaussian sampler: a draw of 2147483648 is beyond the ±2^31 of its 32-bit noise buffer'));
  });

  it('addNoise adds integers of any size exactly, −0 as nothing', () => {
    const values = [1, 2, 3, 4];
    addNoise(values, 1, Float64Array.of(-0, 2 ** 40 + 1, -(2 ** 30)), 3);
    expect(values).toEqual([1, 2, 3 + 2 ** 40 + 1, 4 - 2 ** 30]);
    expect(Object.is(values[1], 2)).toBe(true);
  });

  it('addSmallNoise adds a 32-bit buffer from `start`', () => {
    const values = [10, 10, 10];
    addSmallNoise(values, 1, Int32Array.of(-3, 2 ** 31 - 1, 99), 2);
    expect(values).toEqual([10, 7, 10 + 2 ** 31 - 1]);
  });
});
