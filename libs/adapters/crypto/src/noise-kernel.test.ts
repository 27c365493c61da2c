import { randomFillSync } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  discreteGaussianNumberSampler,
  discreteGaussianThresholds,
  noiseKernel,
  oneSidedTableSampler,
  useNoiseKernel,
  type NoiseKernel,
  type RandomSource,
  type Rational,
} from '@fedlab/dp';
import { loadNativeNoiseKernel, useNativeNoiseKernel } from './noise-kernel';

let native: NoiseKernel;

beforeAll(() => {
  const loaded = loadNativeNoiseKernel();
  if (!('kernel' in loaded)) throw new Error(`the native addon must load for these tests (npm test builds it): ${loaded.reason}`);
  native = loaded.kernel;
});
afterAll(() => useNoiseKernel(undefined));

/** A source replaying `words` in order, in blocks (as node:crypto's fills them) and one by one. */
function replay(words: Uint32Array): RandomSource & { used(): number } {
  let at = 0;
  const next = (): number => {
    if (at >= words.length) throw new Error('the replayed words ran out');
    return words[at++]!;
  };
  return {
    uniformBelow: (n: bigint) => {
      if (n !== 2n ** 32n) throw new Error(`unexpected bound ${n}`);
      return BigInt(next());
    },
    uniformWord32: next,
    fillWords32: (out: Uint32Array) => out.forEach((_, i) => (out[i] = next())),
    used: () => at,
  };
}

/** The vector `addTo` gives from `words`, with the kernel or with the samplers' TypeScript loops, and the words it took. */
function noiseFrom(sigma2: Rational, words: Uint32Array, entries: number, kernel: NoiseKernel | undefined, start = 0): { values: number[]; used: number } {
  useNoiseKernel(kernel);
  try {
    const values = Array.from({ length: entries + start }, (_, i) => i);
    const rng = replay(words);
    discreteGaussianNumberSampler(sigma2).addTo(values, start, entries + start, rng);
    return { values, used: rng.used() };
  } finally {
    useNoiseKernel(undefined);
  }
}

// Inversion table (σ² ≤ 2^16); scaled with the sign, offset and U′'s first bits in the first word's
// spare bits (65537, ≈ 2^31); with a word of their own, draws small integers (2^50) or beyond them
// (≈ 1.3·10^19, a variance's centred squares); and with a 31-bit offset (2^78).
const SIGMA2: ReadonlyArray<[string, Rational]> = [
  ['2', { num: 2n, den: 1n }],
  ['462687/1024', { num: 462_687n, den: 1024n }],
  ['2^16', { num: 65_536n, den: 1n }],
  ['65537', { num: 65_537n, den: 1n }],
  ['2^31 + 2^-10', { num: 2n ** 41n + 1n, den: 1024n }],
  ['2^50', { num: 2n ** 50n, den: 1n }],
  ['1.26e19', { num: 12_600_000_000_000_000_000n, den: 1n }],
  ['2^78', { num: 2n ** 78n, den: 1n }],
];

describe('the native noise kernel', () => {
  it.each(SIGMA2)('at σ² = %s gives exactly the draws of the TypeScript loops from the same words (200,000 entries, from an offset)', (_, sigma2) => {
    const words = randomFillSync(new Uint32Array(1_200_000));
    const typescript = noiseFrom(sigma2, words, 200_000, undefined, 3);
    const kernel = noiseFrom(sigma2, words, 200_000, native, 3);
    expect(kernel.used).toBe(typescript.used);
    expect(kernel.values).toEqual(typescript.values);
    // Not the vector it started from (at σ² = 2 about 28 % of draws are 0).
    expect(kernel.values.filter((v, i) => v !== i).length).toBeGreaterThan(120_000);
  });

  it('hands back to TypeScript a word the inversion table’s 32-bit thresholds cannot decide, which refines it with further words', () => {
    const sigma2 = { num: 2n, den: 1n };
    // A threshold known on 32 bits only to within one unit: the word at its lower bound is undecided.
    const { lo, hi } = discreteGaussianThresholds(sigma2, 32);
    const entry = lo.findIndex((low, e) => hi[e]! > low && low > 0n);
    expect(entry).toBeGreaterThan(0);
    const undecided = Number(lo[entry]!);
    const words = randomFillSync(new Uint32Array(100));
    words[5] = undecided;
    const typescript = noiseFrom(sigma2, words, 40, undefined);
    const kernel = noiseFrom(sigma2, words, 40, native);
    expect(kernel.used).toBeGreaterThan(40); // the refinement read words after the block
    expect(kernel).toEqual(typescript);
  });

  it('hands back to TypeScript a first word the scaled sampler’s proposal cannot decide on 32 bits, and a U′ within the rounding of exp(−γ)', () => {
    // σ² = 2^31: the proposal is the one-sided table at σ'² = 2^13 (blocks of 512).
    const sigma2 = { num: 2n ** 31n, den: 1n };
    const { lower, upper } = oneSidedTableSampler({ num: 2n ** 13n, den: 1n }).guide;
    const entry = lower.findIndex((low, e) => e < upper.length && upper[e]! > low && low > 0);
    expect(entry).toBeGreaterThan(0);
    const words = randomFillSync(new Uint32Array(200));
    words[3] = lower[entry]!; // undecided on 32 bits: refined with words after the block
    // d = 0, sign 0, offset 1 (k = 1, γ = 2^−32), U′ = 1 − 2^−32 on 32 bits: only 128-bit bounds decide.
    words[10] = 0xfc02;
    words[11] = 0xffffffff;
    const typescript = noiseFrom(sigma2, words, 40, undefined);
    const kernel = noiseFrom(sigma2, words, 40, native);
    expect(kernel.used).toBeGreaterThan(2 * 40 + 16); // words read after the block
    expect(kernel).toEqual(typescript);
  });

  it('useNativeNoiseKernel uses the native kernel where it loads, and says why not where it does not', () => {
    expect(useNativeNoiseKernel()).toEqual({ name: 'native' });
    expect(noiseKernel()).toBeDefined();
    const missing = path.join(__dirname, 'no-such-addon.node');
    expect(useNativeNoiseKernel(missing)).toEqual({ name: 'typescript', fallbackReason: 'the native addon is not built (npm run build:native)' });
    expect(noiseKernel()).toBeUndefined();
  });
});
