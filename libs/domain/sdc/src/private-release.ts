import { FedlabError, type AggregateKind, type CellKey, type RawCell, type ReleasePrivacy, type ReleasedCell, type SdcPolicy } from '@fedlab/model';
import {
  createCryptoRandomSource,
  discreteGaussianNumberSampler,
  gaussianSigma2,
  rationalToNumber,
  zcdpToApproxDp,
  type DiscreteGaussianNumberSampler,
  type Rational,
} from '@fedlab/dp';
import type { NoiseComponentName, PrivacyPlan, PrivateCell, PublicDomain } from '@fedlab/query';
import { cellKeyId } from './cell-key';
import { applyDisclosureControl, type DisclosureOutput } from './disclosure-control';
import { Z_95 } from './statistics';

/**
 * Draws one integer from the discrete Gaussian N_Z(0, σ²), as a bigint or a (safe integer) number.
 * `addTo`, when present, adds an independent draw to each of `values[start]` … `values[end − 1]`: the
 * same draws, set up once per σ² instead of per entry (for a long vector's noise).
 */
export type NoiseSource = ((sigma2: Rational) => bigint | number) & {
  addTo?: (sigma2: Rational, values: number[], start: number, end: number) => void;
};

/** One node's bounded query result, ready for noise. */
export interface PrivateReleaseInput {
  kind: AggregateKind;
  /** Group-by column names, plus 'bin' last for histograms. */
  dimensions: string[];
  /** The public value set of each dimension (see publicDomains in @fedlab/query). */
  domains: PublicDomain[];
  /** Exact, contribution-bounded cells; they never leave the node. */
  cells: PrivateCell[];
  plan: PrivacyPlan;
  policy: SdcPolicy;
  /** δ of the (ε, δ) figure reported beside ρ. */
  reportDelta: number;
  /** Default: the exact sampler of @fedlab/dp on node:crypto. */
  noise?: NoiseSource;
}

export interface PrivateReleaseOutput extends DisclosureOutput {
  privacy: ReleasePrivacy;
}

/** Released statistics per kind under differential privacy; `ci_lower`/`ci_upper` bound the first one. */
export const PRIVATE_STATISTICS_BY_KIND: Record<AggregateKind, string[]> = {
  count: ['count', 'ci_lower', 'ci_upper'],
  histogram: ['count', 'ci_lower', 'ci_upper'],
  sum: ['sum', 'ci_lower', 'ci_upper', 'count'],
  mean: ['mean', 'ci_lower', 'ci_upper', 'count'],
  variance: ['variance', 'ci_lower', 'ci_upper', 'sd', 'mean', 'count'],
  proportion: ['proportion', 'ci_lower', 'ci_upper', 'numerator', 'denominator'],
};

/** The largest table a private release lays out (the cross product of the public value sets). */
export const MAX_PRIVATE_CELLS = 100_000;

let defaultRandom: ReturnType<typeof createCryptoRandomSource> | undefined;
/** One sampler per σ² (set up once per noise component of a release, not once per cell). */
const samplers = new WeakMap<Rational, DiscreteGaussianNumberSampler>();
function cryptoSampler(sigma2: Rational): DiscreteGaussianNumberSampler {
  let sample = samplers.get(sigma2);
  if (!sample) samplers.set(sigma2, (sample = discreteGaussianNumberSampler(sigma2)));
  return sample;
}
/**
 * Discrete Gaussian noise from the exact samplers of @fedlab/dp on node:crypto (one sampler per σ²;
 * numbers: the inversion table for σ² ≤ 2^16, CKS20 above).
 */
export const cryptoNoise: NoiseSource = Object.assign((sigma2: Rational) => cryptoSampler(sigma2)((defaultRandom ??= createCryptoRandomSource())), {
  addTo: (sigma2: Rational, values: number[], start: number, end: number) =>
    cryptoSampler(sigma2).addTo(values, start, end, (defaultRandom ??= createCryptoRandomSource())),
});

/** Noisy values of one cell, in grid units (counts as counts). */
interface NoisyCell {
  key: CellKey;
  count: number;
  sum: number;
  centredSum: number;
  centredSquares: number;
  meeting: number;
  notMeeting: number;
}

/** Entries each noise component has per cell of a release vector (a proportion's split is a pair). */
const COMPONENT_WIDTH: Record<NoiseComponentName, number> = { count: 1, sum: 1, centred_sum: 1, centred_squares: 1, split: 2 };

/**
 * Releases one node's answer under differential privacy (DESIGN.md §5 "Privacy model"):
 * 1. every cell of the cross product of the public value sets is laid out (absent ones are 0), so
 *    which keys occur in the data is never shown;
 * 2. each component of the {@link PrivacyPlan} gets independent discrete Gaussian noise
 *    (Canonne, Kamath & Steinke 2020) in every cell, σ² = Δ²/(2ρ_k) computed exactly — together
 *    ρ-zCDP for the whole table (Bun & Steinke 2016);
 * 3. everything after that is post-processing of the noisy figures ({@link releaseNoisyVector}).
 */
export function releaseWithPrivacy(input: PrivateReleaseInput): PrivateReleaseOutput {
  const { kind, plan } = input;
  const keys = releaseKeys(input.domains);
  const sigma2 = new Map<NoiseComponentName, Rational>(plan.components.map((c) => [c.name, gaussianSigma2(c.sensitivitySquared, c.rho)]));
  const vector = addComponentNoise(exactReleaseVector(kind, plan, keys, input.cells), plan, keys.length, sigma2, input.noise ?? cryptoNoise);
  return releaseNoisyVector({
    kind,
    dimensions: input.dimensions,
    keys,
    vector,
    plan,
    policy: input.policy,
    reportDelta: input.reportDelta,
    noiseVariance: new Map([...sigma2].map(([name, s2]) => [name, rationalToNumber(s2)])),
  });
}

/** Every key of the cross product of the public domains, in order: the cells a release lays out. */
export function releaseKeys(domains: readonly PublicDomain[]): CellKey[] {
  const size = domains.reduce((n, d) => n * d.length, 1);
  if (size > MAX_PRIVATE_CELLS) {
    throw new FedlabError('INVALID_QUERY', `the table would have more than ${MAX_PRIVATE_CELLS} cells; group by fewer or coarser columns`);
  }
  let keys: CellKey[] = [[]];
  for (const domain of domains) keys = keys.flatMap((prefix) => domain.map((value) => [...prefix, value]));
  return keys;
}

/** Length of a release vector of `cells` cells under `plan`. */
export function releaseVectorLength(plan: PrivacyPlan, cells: number): number {
  return plan.components.reduce((n, c) => n + COMPONENT_WIDTH[c.name] * cells, 0);
}

/**
 * The exact, contribution-bounded figures the noise of `plan` is added to, as one integer vector:
 * component by component (in plan order), cell by cell (in `keys` order); a key without a cell is 0.
 * Sums are in grid units. It never leaves a node without noise.
 */
export function exactReleaseVector(kind: AggregateKind, plan: PrivacyPlan, keys: readonly CellKey[], cells: readonly PrivateCell[]): number[] {
  const exact = new Map(cells.map((c) => [cellKeyId(c.key), c]));
  const byKey = keys.map((key) => exact.get(cellKeyId(key)) ?? EMPTY);
  const out: number[] = [];
  for (const { name } of plan.components) {
    for (const cell of byKey) {
      if (name === 'count') out.push(kind === 'count' || kind === 'histogram' ? cell.records : cell.valueCount);
      else if (name === 'sum') out.push(cell.total);
      else if (name === 'centred_sum') out.push(cell.centredTotal);
      else if (name === 'centred_squares') out.push(cell.centredSquares);
      else out.push(cell.meeting, cell.records - cell.meeting);
    }
  }
  return out;
}

/**
 * Adds to each entry of a release vector an independent draw of N_Z(0, σ²) with its component's σ²
 * (a component with σ² = 0, or none in `sigma2`, gets no noise), in place, and returns the vector: the
 * exact figures are not kept beside the noisy ones, and a long vector is not copied.
 */
export function addComponentNoise(
  vector: number[],
  plan: PrivacyPlan,
  cells: number,
  sigma2: ReadonlyMap<NoiseComponentName, Rational>,
  noise: NoiseSource,
): number[] {
  if (vector.length !== releaseVectorLength(plan, cells))
    throw new FedlabError('INTERNAL', `release vector has ${vector.length} entries, expected ${releaseVectorLength(plan, cells)}`);
  let at = 0;
  for (const { name } of plan.components) {
    const end = at + COMPONENT_WIDTH[name] * cells;
    const s2 = sigma2.get(name);
    if (s2 && s2.num > 0n) {
      if (noise.addTo) noise.addTo(s2, vector, at, end);
      else for (let i = at; i < end; i++) vector[i]! += Number(noise(s2));
    }
    at = end;
  }
  return vector;
}

/** What {@link releaseNoisyVector} post-processes. */
export interface NoisyVectorRelease {
  kind: AggregateKind;
  dimensions: string[];
  keys: CellKey[];
  /** A release vector (see {@link exactReleaseVector}) with all its noise in it. */
  vector: readonly number[];
  plan: PrivacyPlan;
  policy: SdcPolicy;
  reportDelta: number;
  /** Variance of the noise in each entry of each component, in grid units (a sum of shares for a pooled release). */
  noiseVariance: ReadonlyMap<NoiseComponentName, number>;
  /** Extra report notes (e.g. how a pooled release's noise was shared). */
  notes?: string[];
}

/**
 * Post-processes a noisy release vector, which costs no privacy: counts are made non-negative, the
 * threshold, group-disclosure and margin rules of disclosure control run on the noisy counts (the
 * dominance rule is not needed: contributions are clamped to public bounds), means are kept within
 * the bounds and proportions within [0, 1], and every released figure gets a 95 % interval that
 * includes the noise (and, for a proportion, the binomial sampling error).
 */
export function releaseNoisyVector(input: NoisyVectorRelease): PrivateReleaseOutput {
  const { kind, plan, keys } = input;
  if (input.vector.length !== releaseVectorLength(plan, keys.length)) {
    throw new FedlabError('INTERNAL', `release vector has ${input.vector.length} entries, expected ${releaseVectorLength(plan, keys.length)}`);
  }
  const sd = (name: NoiseComponentName): number => Math.sqrt(input.noiseVariance.get(name) ?? 0);
  const segment = new Map<NoiseComponentName, number>();
  let at = 0;
  for (const { name } of plan.components) {
    segment.set(name, at);
    at += COMPONENT_WIDTH[name] * keys.length;
  }
  const entry = (name: NoiseComponentName, i: number): number => {
    const offset = segment.get(name);
    return offset === undefined ? 0 : input.vector[offset + i]!;
  };
  const splitAt = segment.get('split');
  const noisy: NoisyCell[] = keys.map((key, i) => ({
    key,
    count: Math.max(0, entry('count', i)),
    sum: entry('sum', i),
    centredSum: entry('centred_sum', i),
    centredSquares: entry('centred_squares', i),
    meeting: splitAt === undefined ? 0 : Math.max(0, input.vector[splitAt + 2 * i]!),
    notMeeting: splitAt === undefined ? 0 : Math.max(0, input.vector[splitAt + 2 * i + 1]!),
  }));
  const grid = plan.grid;
  const step = grid?.step ?? 1;

  // Disclosure control sees only noisy figures; without top contributions it applies no dominance rule.
  const controlled = applyDisclosureControl({
    kind,
    dimensions: input.dimensions,
    cells: noisy.map((c) => asRawCell(kind, c)),
    policy: { ...input.policy, rounding: 'none' },
    noisy: true,
  });
  const byKey = new Map(noisy.map((c) => [cellKeyId(c.key), c]));
  const cells: ReleasedCell[] = controlled.cells.map((cell) =>
    cell.suppressed ? cell : { ...cell, stats: statistics(kind, byKey.get(cellKeyId(cell.key))!, plan, step, sd) },
  );

  const rho = plan.rho;
  const noiseScales: ReleasePrivacy['noise'] = plan.components.map((c) => ({
    statistic: c.name,
    sd: c.name === 'count' || c.name === 'split' ? sd(c.name) : c.name === 'centred_squares' ? sd(c.name) * step * step : sd(c.name) * step,
  }));
  const notes = [
    ...controlled.report.notes,
    `figures carry differential-privacy noise (ρ = ${formatRho(rho)}, at most ${plan.maxRecordsPerPerson} row${plan.maxRecordsPerPerson === 1 ? '' : 's'} per person); ` +
      'the threshold and margin rules were applied to the noisy figures',
    ...(input.notes ?? []),
  ];
  if (input.policy.rounding === 'random5') notes.push('counts are not rounded to base 5: they carry differential-privacy noise instead');
  return {
    cells,
    report: { ...controlled.report, notes },
    privacy: {
      rho,
      epsilon: zcdpToApproxDp(rho, input.reportDelta),
      delta: input.reportDelta,
      maxRecordsPerPerson: plan.maxRecordsPerPerson,
      noise: noiseScales,
    },
  };
}

/** ρ as written in notes: up to 4 significant digits, no exponent for ordinary values. */
export function formatRho(rho: number): string {
  return Number(rho.toPrecision(4)).toString();
}

const EMPTY: Omit<PrivateCell, 'key'> = { records: 0, valueCount: 0, total: 0, centredTotal: 0, centredSquares: 0, meeting: 0 };

/** The noisy cell in the shape disclosure control reads: its counts are the noisy counts. */
function asRawCell(kind: AggregateKind, c: NoisyCell): RawCell {
  if (kind === 'proportion') {
    const n = c.meeting + c.notMeeting;
    return { key: c.key, persons: n, records: n, total: c.meeting, personsWith: c.meeting, personsWithout: c.notMeeting };
  }
  if (kind === 'count' || kind === 'histogram') return { key: c.key, persons: c.count, records: c.count };
  return { key: c.key, persons: c.count, records: c.count, total: c.sum, totalSquares: 0, valueCount: c.count };
}

function statistics(kind: AggregateKind, c: NoisyCell, plan: PrivacyPlan, step: number, sd: (name: NoiseComponentName) => number): Record<string, number> {
  const interval = (value: number, noiseSd: number, lo = -Infinity, hi = Infinity) => ({
    ci_lower: Math.max(lo, value - Z_95 * noiseSd),
    ci_upper: Math.min(hi, value + Z_95 * noiseSd),
  });
  const grid = plan.grid;
  switch (kind) {
    case 'count':
    case 'histogram':
      return { count: c.count, ...interval(c.count, sd('count'), 0) };
    case 'sum': {
      const sum = c.sum * step;
      return { sum, ...interval(sum, sd('sum') * step), count: c.count };
    }
    case 'mean': {
      const n = Math.max(1, c.count);
      const lo = grid!.lo * step;
      const hi = grid!.hi * step;
      const centredMean = c.centredSum / n;
      const mean = clamp((grid!.centre + centredMean) * step, lo, hi);
      // Delta method for (S + z_S) / (N + z_N): Var ≈ (σ_S² + (S/N)² σ_N²) / N².
      const noiseSd = (step * Math.sqrt(sd('centred_sum') ** 2 + centredMean ** 2 * sd('count') ** 2)) / n;
      return { mean, ...interval(mean, noiseSd, lo, hi), count: c.count };
    }
    case 'variance': {
      const n = Math.max(2, c.count);
      const s = c.centredSum;
      const ss = c.centredSquares;
      const maxVariance = grid!.halfRange * grid!.halfRange;
      const varianceGrid = clamp((ss - (s * s) / n) / (n - 1), 0, maxVariance);
      // Delta method over (SS, S, N) for (SS − S²/N) / (N − 1).
      const dSs = 1 / (n - 1);
      const dS = (-2 * s) / (n * (n - 1));
      const dN = (s * s) / (n * n * (n - 1)) - (ss - (s * s) / n) / ((n - 1) * (n - 1));
      const noiseSd = step * step * Math.sqrt((dSs * sd('centred_squares')) ** 2 + (dS * sd('centred_sum')) ** 2 + (dN * sd('count')) ** 2);
      const variance = varianceGrid * step * step;
      const mean = clamp((grid!.centre + s / n) * step, grid!.lo * step, grid!.hi * step);
      return { variance, ...interval(variance, noiseSd, 0, maxVariance * step * step), sd: Math.sqrt(variance), mean, count: c.count };
    }
    case 'proportion': {
      const n = c.meeting + c.notMeeting;
      const p = n > 0 ? c.meeting / n : 0;
      // Noise of a / (a + b) by the delta method, plus the binomial sampling variance p(1 − p)/n.
      const noiseVariance = (sd('split') ** 2 * ((1 - p) ** 2 + p ** 2)) / Math.max(1, n) ** 2;
      const totalSd = Math.sqrt(noiseVariance + (p * (1 - p)) / Math.max(1, n));
      return { proportion: p, ...interval(p, totalSd, 0, 1), numerator: c.meeting, denominator: n };
    }
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
