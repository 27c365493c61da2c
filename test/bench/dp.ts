import { randomFillSync } from 'node:crypto';
import { auditDiscreteGaussian, createCryptoRandomSource, discreteGaussianSampler, gaussianSigma2, rationalToNumber, type Rational } from '@fedlab/dp';
import { integerOption } from './options';

/** The σ² the sections measure: from t = ⌊σ⌋ + 1 = 1 (σ² = 1/4) to σ = 10^4. */
const SIGMA2S: readonly Rational[] = [
  { num: 1n, den: 4n },
  { num: 10n, den: 1n },
  { num: 10_000n, den: 1n },
  { num: 100_000_000n, den: 1n },
];

const label = (s: Rational) => (s.den === 1n ? s.num.toLocaleString('en-CA') : s.den < 1000n ? `${s.num}/${s.den}` : `${s.num}/${s.den} (≈ ${rationalToNumber(s)})`);
const count = (n: number) => Math.round(n).toLocaleString('en-CA');

function table(header: string[], rows: string[][]): void {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => `  ${cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')}`;
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

/**
 * Continuous N(0, σ²) in floating point, for comparison only: Box–Muller on uniform doubles made
 * from 53 random bits of `node:crypto` (two 32-bit words from a refilled buffer), both outputs of
 * each pair used. This is the fast, unsafe baseline (Mironov 2012), not something to release.
 */
function createBoxMuller(sigma: number): () => number {
  const words = new Uint32Array(16_384);
  let next = words.length;
  const uniform = () => {
    if (next + 2 > words.length) {
      randomFillSync(words);
      next = 0;
    }
    const high = words[next++]! >>> 5;
    const low = words[next++]! >>> 6;
    return (high * 67_108_864 + low + 1) / 9_007_199_254_740_992; // (0, 1]: never 0 for the log
  };
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    const radius = sigma * Math.sqrt(-2 * Math.log(uniform()));
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}

/** Draws per second of `draw` over `draws` calls. The checksum keeps the calls from being optimised away. */
function rate(draws: number, draw: () => number): { perSecond: number; checksum: number } {
  let checksum = 0;
  const t = process.hrtime.bigint();
  for (let i = 0; i < draws; i += 1) checksum += draw();
  return { perSecond: draws / (Number(process.hrtime.bigint() - t) / 1e9), checksum };
}

/**
 * (a) Draws per second of the exact discrete Gaussian sampler (`node:crypto` source, constants
 * set up once) against continuous Box–Muller at the same σ, alternating in `--rounds` rounds of
 * `--rate-draws` draws each and keeping each one's best round.
 */
export async function dpSamplerSpeed(args: string[]): Promise<void> {
  const draws = integerOption(args, 'rate-draws', 200_000);
  const rounds = integerOption(args, 'rounds', 3);
  const rng = createCryptoRandomSource();
  console.log(`\n(a) sampler speed: ${count(draws)} draws per round, best of ${rounds} rounds, exact and float alternating`);
  const rows = SIGMA2S.map((sigma2) => {
    const exact = discreteGaussianSampler(sigma2);
    const float = createBoxMuller(Math.sqrt(rationalToNumber(sigma2)));
    const exactDraw = () => Number(exact(rng));
    rate(Math.min(draws, 20_000), exactDraw);
    rate(Math.min(draws, 20_000), float);
    let bestExact = 0;
    let bestFloat = 0;
    for (let round = 0; round < rounds; round += 1) {
      bestExact = Math.max(bestExact, rate(draws, exactDraw).perSecond);
      bestFloat = Math.max(bestFloat, rate(draws, float).perSecond);
    }
    return [label(sigma2), count(bestExact), count(bestFloat), (bestFloat / bestExact).toFixed(1)];
  });
  table(['σ²', 'exact N_Z draws/s', 'Box–Muller draws/s', 'float/exact'], rows);
}

/**
 * (b) The exactness checks of the tests at `--draws` draws per σ² (10^6 by default): chi-square
 * against its critical value at α = 1e-6, total variation against its bound, and the mean square
 * against the exact variance of N_Z(0, σ²) in standard errors. σ² = 2^54/3602879701896397 is what
 * `gaussianSigma2(1, 0.1)` returns.
 */
export async function dpExactness(args: string[]): Promise<void> {
  const draws = integerOption(args, 'draws', 1_000_000);
  const rng = createCryptoRandomSource();
  console.log(`\n(b) exactness: ${count(draws)} draws per σ² from node:crypto, α = 1e-6 per check`);
  const rows = [...SIGMA2S, gaussianSigma2(1, 0.1)].map((sigma2) => {
    const sample = discreteGaussianSampler(sigma2);
    const t = process.hrtime.bigint();
    const values = Array.from({ length: draws }, () => sample(rng));
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    const a = auditDiscreteGaussian(rationalToNumber(sigma2), values);
    const verdict = a.passed.chiSquare && a.passed.totalVariation && a.passed.variance ? 'pass' : 'FAIL';
    return [
      label(sigma2),
      `${a.binning} ×${a.bins}`,
      a.chiSquare.toFixed(1),
      a.criticalValue.toFixed(1),
      a.pValue.toFixed(3),
      a.totalVariation.toFixed(5),
      a.totalVariationBound.toFixed(5),
      a.meanSquare.toPrecision(7),
      a.exactVariance.toPrecision(7),
      a.varianceZ.toFixed(2),
      seconds.toFixed(2),
      verdict,
    ];
  });
  table(['σ²', 'bins', 'χ²', 'critical', 'p', 'TV', 'TV bound', 'mean x²', 'Var N_Z', 'z', 'draw s', 'verdict'], rows);
}

/**
 * The sections of `npm run bench -- dp`, in order. A later part appends section (c), "federated
 * query path: DP on vs off", here.
 */
export const DP_SECTIONS: ReadonlyArray<(args: string[]) => Promise<void>> = [dpSamplerSpeed, dpExactness];

/**
 * `npm run bench -- dp [--rate-draws=200000] [--rounds=3] [--draws=1000000]`: the exact discrete
 * Gaussian sampler's speed against a floating-point Gaussian, and its exactness checks at 10^6 draws.
 */
export async function dp(args: string[]): Promise<void> {
  const rateDraws = integerOption(args, 'rate-draws', 200_000);
  const rounds = integerOption(args, 'rounds', 3);
  const draws = integerOption(args, 'draws', 1_000_000);
  console.log(`dp: exact discrete Gaussian (CKS20, BigInt arithmetic) on node:crypto`);
  console.log(`  command: npm run bench -- dp --rate-draws=${rateDraws} --rounds=${rounds} --draws=${draws}`);
  for (const section of DP_SECTIONS) await section(args);
}
