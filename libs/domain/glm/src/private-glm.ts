import { FedlabError } from '@fedlab/model';
import { choleskyDecompose, choleskyInverse, choleskySolve, floorEigenvalues, packedIndex, packedLength } from './cholesky';
import { normalCdf, normalQuantile, studentTCdf, studentTQuantile } from './distributions';
import { INTERCEPT_NAME } from './glm-design';
import { CANONICAL_LINKS, fitRow, startingEta, type GlmFamily } from './glm-family';
import type { LocalRows } from './glm-contribution';
import { MIN_RESIDUAL_DF, type GlmCoefficient, type GlmResult } from './glm-fitter';

/*
 * Pooled GLMs under differential privacy (DESIGN.md §5, §7.3; docs/privacy.md "Models"): noisy
 * sufficient statistics, one secure-aggregation round per Newton step, every round accounted.
 *
 * - Every model column is put on [−1, 1] from public information only: a numeric covariate x becomes
 *   (clamp(x, lo, hi) − centre) / halfRange with its declared bounds; the intercept and factor
 *   indicators stay 0/1. The gaussian response is scaled the same way; a binomial response is 0/1; a
 *   poisson response is clamped to its declared bounds [0, Y]. So one row's contribution is bounded
 *   whatever the data, and the sums fit the encoding whatever the raw units (birth years, dollars).
 * - A round's vector is [counts | u | H]: counts = rows (and, in the first round, the rows at each
 *   factor level and at 1 for each 0/1 covariate), u = Xᵀ(working values) and H = XᵀWX (packed upper
 *   triangle). Gaussian: one round, u = Xᵀy, H = XᵀX, plus yᵀy — the closed-form least-squares fit.
 *   Binomial and poisson: a fixed number of rounds (no data-dependent stopping). Binomial's first is
 *   at R's starting means (u = XᵀWz, so β₁ = H⁻¹u, as glm.fit), poisson's at β = 0, from whose sums
 *   the fitter takes the Newton step from (log ȳ, 0, …, 0);
 *   then Newton steps β ← β + H⁻¹u with the score u = Xᵀ(y − μ). Weights are at most W and working
 *   values at most U (binomial ¼ and 1; poisson μ clipped to Y and y − μ to ±Y), so a row's vector has
 *   L2 norm at most √(c + U²p + W²p²) with c count entries.
 * - Each row's entries are rounded to integers at scale 2^SCALE_BITS before they are summed, so the
 *   node's vector is exact integers (L2 norm grows by at most √d/2 per row); each node adds its share
 *   of discrete Gaussian noise to it (KLS21), and the coordinator only ever decodes noisy sums.
 * - Convergence under noise (PrivateGlmFitter): the noisy H's eigenvalues are floored at the size of
 *   its noise (a noisy H near singular was what sent a fit far off), no step moves η by more than
 *   MAX_ETA_STEP, and the last `averaged` rounds — which share 75 % of ρ — each estimate the optimum
 *   with independent noise and are averaged, so the released noise is that of their ρ together.
 * - Everything the coordinator does with the sums is post-processing: solving, the minimum-count
 *   rule on noisy counts, standard errors that add the noise's variance to the sampling variance,
 *   and the transform back to the columns' own units.
 */

/** Integer scale of every entry of a round vector: 2^20 (a row's rounding error is below 2^-21 per entry). */
export const PRIVATE_GLM_SCALE_BITS = 20;
/** Rounds of a private fit per family: gaussian is closed form; the others take a fixed number of Newton steps. */
export const PRIVATE_GLM_ROUNDS: Record<GlmFamily, number> = { gaussian: 1, binomial: 5, poisson: 8 };
/** How many of the last rounds' estimates the released one averages (each a Newton step from the average so far). */
export const PRIVATE_GLM_AVERAGED: Record<GlmFamily, number> = { gaussian: 1, binomial: 2, poisson: 4 };
/** The share of ρ the averaged rounds spend together (evenly); the rounds before them share the rest evenly. */
const AVERAGED_SHARE = 0.75;
/** The largest change of η (Σ|Δβ_j| on the scaled columns, each |x_j| ≤ 1) in one Newton step of a private fit. */
const MAX_ETA_STEP = 1.5;
/**
 * Noisy XᵀWX's eigenvalues are raised to at least this many noise SDs (per entry) times √p: 2 — about the
 * spectral norm of the noise matrix — in the rounds that only approach the optimum, 1 in the averaged ones,
 * whose steps must reach it and whose matrix sets the stated noise.
 */
const EIGEN_FLOOR = { approach: 2, averaged: 1 };
/** Widest |sum| the two-limb secure-aggregation encoding adds exactly (±2^55 − 1). */
const ENCODING_LIMIT = 2 ** 55 - 1;
/** ρ per round is shrunk by one part in 10^12 so the rounds never add up to more than the ρ debited. */
const SPLIT_SAFETY = 1 - 1e-12;

/** How one model column is put on [−1, 1]: (clamp(x, lo, hi) − centre) / halfRange. The intercept and indicators keep 0/1 (centre 0, halfRange 1). */
export interface ColumnScaling {
  lo: number;
  hi: number;
  centre: number;
  halfRange: number;
}

/** A group of rows the minimum-count rule applies to: a factor level, or one value of a 0/1 covariate. */
export interface LevelCount {
  /** e.g. `region = North`, `smoker = true`. */
  label: string;
  /** Count entries whose sum is the level's rows; empty with `complement` for the rows of the reference level or value 0. */
  entries: number[];
  /** The level's rows are all rows minus the sum of these entries. */
  complement: boolean;
}

/** A model covariate as the private fit needs it: numeric with its declared bounds (booleans are [0, 1]), or a factor. */
export type PrivateCovariate =
  | { name: string; kind: 'numeric'; bounds: [number, number]; binary: boolean; binaryLabels?: [string, string] }
  | { name: string; kind: 'factor'; levels: string[] };

/** Everything public about a private fit, the same at every node and at the coordinator (sent in PooledReady). */
export interface PrivateGlmPlan {
  family: GlmFamily;
  /** Model columns, `(Intercept)` first. */
  names: string[];
  scaling: ColumnScaling[];
  /** The response: scaled to [−1, 1] for gaussian, [0, 1] for binomial, clamped to [0, Y] for poisson. */
  response: ColumnScaling;
  /** Indices of the 0/1 columns counted in the first round (factor indicators, 0/1 covariates). */
  countedColumns: number[];
  /** Number of covariates (a factor counts once): ‖x‖² ≤ 1 + covariates on the scaled columns. */
  covariates: number;
  levels: LevelCount[];
  rounds: number;
  /** The last `averaged` rounds' estimates are averaged into the released one. */
  averaged: number;
  /** ρ the whole fit spends, split over the rounds by privateRoundRho. */
  rho: number;
  maxRecordsPerPerson: number;
  weightBound: number;
  workingBound: number;
  scaleBits: number;
}

/** A value in a column's bounds' units → on [−1, 1]. */
function scale(value: number, s: ColumnScaling): number {
  return (Math.min(s.hi, Math.max(s.lo, value)) - s.centre) / s.halfRange;
}

const UNIT: ColumnScaling = { lo: 0, hi: 1, centre: 0, halfRange: 1 };

function boundsScaling(name: string, bounds: [number, number]): ColumnScaling {
  const [lo, hi] = bounds;
  if (!(hi > lo)) throw new FedlabError('INVALID_QUERY', `column '${name}' has bounds that are not a range (${lo} to ${hi}); a model covariate needs lo < hi`);
  return { lo, hi, centre: (lo + hi) / 2, halfRange: (hi - lo) / 2 };
}

/**
 * The plan of a private fit. `responseBounds` is needed for gaussian and poisson (poisson's lower
 * bound must be 0 or more). Throws `BOUNDS_MISSING` without them and `INVALID_QUERY` for bounds that
 * are not a range.
 */
export function privateGlmPlan(options: {
  family: GlmFamily;
  response: string;
  responseBounds: [number, number] | undefined;
  covariates: PrivateCovariate[];
  rho: number;
  maxRecordsPerPerson: number;
}): PrivateGlmPlan {
  const { family, response } = options;
  const names = [INTERCEPT_NAME];
  const scaling: ColumnScaling[] = [{ lo: 1, hi: 1, centre: 0, halfRange: 1 }];
  const countedColumns: number[] = [];
  const levels: LevelCount[] = [];
  for (const c of options.covariates) {
    if (c.kind === 'factor') {
      const first = countedColumns.length + 1;
      const entries: number[] = [];
      c.levels.slice(1).forEach((level) => {
        names.push(c.name + level);
        scaling.push(UNIT);
        countedColumns.push(names.length - 1);
        entries.push(countedColumns.length);
      });
      levels.push({ label: `${c.name} = ${c.levels[0]}`, entries, complement: true });
      c.levels.slice(1).forEach((level, i) => levels.push({ label: `${c.name} = ${level}`, entries: [first + i], complement: false }));
      continue;
    }
    names.push(c.name);
    if (c.binary) {
      scaling.push(UNIT);
      countedColumns.push(names.length - 1);
      const [zero, one] = c.binaryLabels ?? ['0', '1'];
      levels.push({ label: `${c.name} = ${zero}`, entries: [countedColumns.length], complement: true });
      levels.push({ label: `${c.name} = ${one}`, entries: [countedColumns.length], complement: false });
    } else {
      scaling.push(boundsScaling(c.name, c.bounds));
    }
  }
  let responseScaling = UNIT;
  let weightBound = 0.25;
  let workingBound = 1;
  if (family !== 'binomial') {
    if (!options.responseBounds) {
      throw new FedlabError('BOUNDS_MISSING', `a ${family} model needs public bounds on its response '${response}', declared in the dataset schema`);
    }
    if (family === 'gaussian') {
      responseScaling = boundsScaling(response, options.responseBounds);
      weightBound = 1;
      workingBound = 1;
    } else {
      const [lo, hi] = options.responseBounds;
      if (lo < 0 || !(hi > lo)) throw new FedlabError('INVALID_QUERY', `a poisson response needs bounds [0, Y] with Y > 0; '${response}' has ${lo} to ${hi}`);
      responseScaling = { lo: Math.max(0, lo), hi, centre: 0, halfRange: 1 };
      // Newton from β = 0 (μ = 1): weights μ clipped to Y, score terms y − μ clipped to ±Y.
      weightBound = hi;
      workingBound = hi;
    }
  }
  return {
    family,
    names,
    scaling,
    response: responseScaling,
    countedColumns,
    covariates: options.covariates.length,
    levels,
    rounds: PRIVATE_GLM_ROUNDS[family],
    averaged: PRIVATE_GLM_AVERAGED[family],
    rho: options.rho,
    maxRecordsPerPerson: options.maxRecordsPerPerson,
    weightBound,
    workingBound,
    scaleBits: PRIVATE_GLM_SCALE_BITS,
  };
}

/** Entries of round `round`'s vector (1-based): counts, u (p), packed H, and yᵀy for gaussian. */
export function privateRoundLength(plan: PrivateGlmPlan, round: number): number {
  const p = plan.names.length;
  return countEntries(plan, round) + p + packedLength(p) + (plan.family === 'gaussian' ? 1 : 0);
}

function countEntries(plan: PrivateGlmPlan, round: number): number {
  return round === 1 ? 1 + plan.countedColumns.length : 1;
}

/**
 * The squared L2 sensitivity, in integer units, of round `round`'s vector: one person changes at most
 * m rows, each of real norm at most √(c + U²k + W²k² [+ 1]) times the scale — c count entries, and
 * ‖x‖² ≤ k = 1 + the number of covariates, as every covariate is on [−1, 1] and a factor has at most one
 * indicator set — plus at most ½ per entry of rounding.
 */
export function privateRoundSensitivitySquared(plan: PrivateGlmPlan, round: number): number {
  const k = 1 + plan.covariates;
  const squares = countEntries(plan, round) + plan.workingBound ** 2 * k + plan.weightBound ** 2 * k * k + (plan.family === 'gaussian' ? 1 : 0);
  const perRow = 2 ** plan.scaleBits * Math.sqrt(squares) + Math.sqrt(privateRoundLength(plan, round)) / 2;
  return (plan.maxRecordsPerPerson * perRow) ** 2;
}

/**
 * ρ round `round` spends: the last `plan.averaged` rounds' noise is what stays in the (averaged)
 * estimate — Newton corrects the earlier rounds' errors — so they share AVERAGED_SHARE of ρ evenly and
 * the rounds before them share the rest evenly; a gaussian fit is one round. The shares add up to ρ.
 */
export function privateRoundRho(plan: PrivateGlmPlan, round: number): number {
  const { rounds, averaged } = plan;
  const share = rounds === averaged ? 1 / rounds : round > rounds - averaged ? AVERAGED_SHARE / averaged : (1 - AVERAGED_SHARE) / (rounds - averaged);
  return plan.rho * share * SPLIT_SAFETY;
}

/**
 * Refuses, before anything is masked, a model whose sums could exceed what secure aggregation adds
 * exactly: `rows` rows at each of `parties` nodes, every entry of a row at most max(1, W, U) × 2^scale.
 * Throws `RANGE_EXCEEDED` naming the response's declared bounds, the only unbounded part of a row.
 */
export function checkPrivateRange(plan: PrivateGlmPlan, rows: number, parties: number, response: string): void {
  const perRow = Math.max(1, plan.weightBound, plan.workingBound) * 2 ** plan.scaleBits;
  const rowsBound = 2 ** Math.ceil(Math.log2(Math.max(2, rows)));
  if (perRow * rowsBound * parties > ENCODING_LIMIT / 2) {
    throw new FedlabError(
      'RANGE_EXCEEDED',
      `the model's pooled sums could exceed ±2^55, the widest range secure aggregation adds exactly: a row may add up to 2^${Math.ceil(Math.log2(perRow))} to a sum ` +
        `(from the bounds of the response '${response}', [${plan.response.lo}, ${plan.response.hi}]) over up to ${rowsBound} rows at each of ${parties} nodes; declare narrower bounds for '${response}'`,
    );
  }
}

/**
 * One node's integer vector for round `round` (1-based) at coefficients `beta` (on the scaled
 * columns; null in round 1), from its raw rows (unscaled; scaled and clamped here). Exact integers:
 * each row's entries are rounded at the plan's scale before they are added.
 */
export function privateRoundVector(plan: PrivateGlmPlan, rows: LocalRows, round: number, beta: readonly number[] | null): number[] {
  const { p } = rows;
  if (p !== plan.names.length) throw new FedlabError('INTERNAL', `the rows have ${p} columns, the plan ${plan.names.length}`);
  if ((round === 1) !== (beta === null)) throw new FedlabError('INTERNAL', 'round 1 has no coefficients; every later round has');
  const factor = 2 ** plan.scaleBits;
  const counts = countEntries(plan, round);
  const uAt = counts;
  const hAt = counts + p;
  const out = new Array<number>(privateRoundLength(plan, round)).fill(0);
  const x = new Float64Array(p);
  const row = new Float64Array(out.length);
  for (let r = 0; r < rows.y.length; r++) {
    for (let j = 0; j < p; j++) x[j] = j === 0 ? 1 : scale(rows.x[r * p + j]!, plan.scaling[j]!);
    const y = scale(rows.y[r]!, plan.response);
    let eta: number | null = null;
    if (beta !== null) {
      eta = 0;
      for (let j = 0; j < p; j++) eta += x[j]! * beta[j]!;
    }
    const { weight, working } = privateRowWeights(plan, y, eta);
    row.fill(0);
    row[0] = 1;
    if (round === 1) plan.countedColumns.forEach((column, k) => (row[1 + k] = x[column]!));
    for (let i = 0; i < p; i++) {
      row[uAt + i] = working * x[i]!;
      for (let j = i; j < p; j++) row[hAt + packedIndex(i, j, p)] = weight * x[i]! * x[j]!;
    }
    if (plan.family === 'gaussian') row[out.length - 1] = y * y;
    for (let k = 0; k < out.length; k++) out[k]! += Math.round(row[k]! * factor);
  }
  return out;
}

/**
 * The largest |argument| of exp in a private fit: beyond it PostgreSQL's EXP raises (overflow or underflow)
 * where Math.exp gives Infinity or 0, so both sides clamp; μ < 10^-304 there and every rounded entry is the same.
 */
export const PRIVATE_GLM_EXP_LIMIT = 700;

const boundedExp = (v: number) => Math.exp(Math.min(PRIVATE_GLM_EXP_LIMIT, Math.max(-PRIVATE_GLM_EXP_LIMIT, v)));

/**
 * A row's weight w and working value (w·z in round 1 of binomial, y − μ later and in poisson's first round,
 * y for gaussian), within the plan's bounds, at linear predictor `eta` on the scaled columns (null in round 1:
 * binomial starts at R's starting means, poisson at η = 0). `y` is the scaled response.
 */
export function privateRowWeights(plan: PrivateGlmPlan, y: number, eta: number | null): { weight: number; working: number } {
  const { family, weightBound: W, workingBound: U } = plan;
  if (family === 'gaussian') return { weight: 1, working: y };
  const clip = (v: number, bound: number) => Math.min(bound, Math.max(-bound, v));
  if (eta === null && family === 'binomial') {
    const fit = fitRow(family, y, startingEta(family, y))!;
    return { weight: Math.min(W, fit.weight), working: clip(fit.weight * fit.working, U) };
  }
  const at = eta ?? 0;
  const mu = family === 'binomial' ? 1 / (1 + boundedExp(-at)) : boundedExp(at);
  const weight = family === 'binomial' ? mu * (1 - mu) : mu;
  return { weight: Math.min(W, weight), working: clip(y - mu, U) };
}

/** What the coordinator needs besides the plan: the minimum rows per level (strictest policy). */
export interface PrivateGlmFitOptions {
  plan: PrivateGlmPlan;
  minPersons: number;
}

/** A private fit's result: the GLM summary with each coefficient's noise SD, plus notes for the researcher. */
export interface PrivateGlmResult extends GlmResult {
  coefficients: Array<GlmCoefficient & { noiseSd: number }>;
  notes: string[];
}

/** One averaged round's estimate: where its Newton step landed, the inverse of the (floored) XᵀWX it used, that matrix, and its noise. */
interface RoundEstimate {
  estimate: number[];
  inverse: Float64Array;
  noiseVariance: number;
  h: number[];
  weight: number;
}

/**
 * The coordinator's side of a private fit (the nodes replay it to check the coefficients they are
 * sent): a fixed sequence of `plan.rounds` rounds. `next()` gives the round and coefficients to
 * evaluate (null once done); `accept(sum, noiseVariance)` takes the noisy integer sum of the round and
 * the variance of the noise in each of its entries (integer units).
 *
 * Each round is a Newton step β + Ĥ⁻¹û on the noisy sums, with Ĥ's eigenvalues floored at the size of
 * its noise and the step's change of η capped. The last `plan.averaged` rounds each estimate the
 * optimum with nearly independent noise; the released estimate is their average weighted by the
 * inverse of that noise (so its noise is about that of their ρ together), and each of them steps from
 * the average of the ones before. All of it is post-processing of the noisy sums.
 */
export class PrivateGlmFitter {
  private round = 1;
  private beta: number[] | null = null;
  private rows = 0;
  private readonly estimates: RoundEstimate[] = [];
  private outcome: PrivateGlmResult | null = null;
  private readonly p: number;

  /** Throws POOLED_MISMATCH for a plan without a valid number of averaged rounds (a node of an older version sent it). */
  constructor(private readonly options: PrivateGlmFitOptions) {
    this.p = options.plan.names.length;
    const { rounds, averaged } = options.plan;
    if (!Number.isInteger(averaged) || averaged < 1 || averaged > rounds)
      throw new FedlabError(
        'POOLED_MISMATCH',
        `the model plan averages ${String(averaged)} of its ${rounds} rounds; the nodes run a different version of the fit`,
      );
  }

  next(): { round: number; beta: number[] | null } | null {
    return this.outcome ? null : { round: this.round, beta: this.beta && [...this.beta] };
  }

  /** Throws MODEL_NOT_RELEASABLE (too few rows, or a level below the minimum) or MODEL_SINGULAR. */
  accept(sum: readonly number[], noiseVariance: number): void {
    const { plan } = this.options;
    const p = this.p;
    if (this.outcome) throw new FedlabError('INTERNAL', 'the model fit has ended; no round is outstanding');
    if (sum.length !== privateRoundLength(plan, this.round))
      throw new FedlabError('INTERNAL', `the round sum has ${sum.length} entries, not ${privateRoundLength(plan, this.round)}`);
    const factor = 2 ** plan.scaleBits;
    const real = sum.map((v) => v / factor);
    const noiseSd = Math.sqrt(noiseVariance) / factor;
    const counts = countEntries(plan, this.round);
    const u = real.slice(counts, counts + p);
    const h = real.slice(counts + p, counts + p + packedLength(p));
    if (this.round === 1) this.checkCounts(real.slice(0, counts));
    const averaging = this.round > plan.rounds - plan.averaged;
    const floor = (averaging ? EIGEN_FLOOR.averaged : EIGEN_FLOOR.approach) * noiseSd * Math.sqrt(p);
    // Gaussian's one solve keeps its noisy XᵀX unless the noise made it indefinite.
    const keep = noiseSd === 0 || (plan.family === 'gaussian' && 'lower' in choleskyDecompose(h, p));
    const floored = keep ? h : floorEigenvalues(h, p, floor);
    const lower = this.factor(floored);
    let step = choleskySolve(lower, p, u);
    if (plan.family === 'gaussian') {
      this.finishGaussian(lower, u, step, real[real.length - 1]!, noiseSd);
      return;
    }
    let from = this.beta;
    if (from === null && plan.family === 'poisson' && plan.response.hi >= 1) ({ from, step } = this.poissonStart(real[0]!, u, h, lower));
    // A step the noise made long is shortened: no row's η moves by more than MAX_ETA_STEP.
    const length = step.reduce((s, v) => s + Math.abs(v), 0);
    if (length > MAX_ETA_STEP) for (let j = 0; j < p; j++) step[j]! *= MAX_ETA_STEP / length;
    const landed = from === null ? step : from.map((b, j) => b + step[j]!);
    if (!landed.every(Number.isFinite)) throw new FedlabError('MODEL_SINGULAR', 'the model fit diverged: the coefficients are not finite');
    if (averaging) {
      // The estimate's noise is Ĥ⁻¹(δu − δH·e) with e the start's distance from the optimum, about the step's length.
      const noise = noiseSd * noiseSd * (1 + step.reduce((s, v) => s + v * v, 0));
      // (The weight stays finite, and the rounds equal, when there is no noise at all.)
      this.estimates.push({ estimate: landed, inverse: choleskyInverse(lower, p), noiseVariance: noise, h: floored, weight: 1 / (noise + 1e-300) });
      this.beta = this.average();
    } else {
      this.beta = landed;
    }
    if (this.round === plan.rounds) {
      this.finishIterative();
      return;
    }
    this.round += 1;
  }

  result(): PrivateGlmResult {
    if (!this.outcome) throw new FedlabError('INTERNAL', 'the model fit has not finished');
    return structuredClone(this.outcome);
  }

  /**
   * Poisson's first round is evaluated at β = 0 (μ = 1, so XᵀWX = XᵀX and, with Y ≥ 1, no score term
   * clipped). The same sums give the Newton step from the better start β₀ = (log ȳ, 0, …, 0), ȳ the noisy
   * mean response (n + Σ(y − 1)) / n: there XᵀWX = ȳ·XᵀX and the score is u − (ȳ − 1)·Xᵀ1, Xᵀ1 being
   * XᵀX's first column. Without it, a response whose mean is far from 1 took several rounds to reach.
   */
  private poissonStart(n: number, u: number[], h: number[], lower: Float64Array): { from: number[]; step: number[] } {
    const p = this.p;
    const mean = Math.max((n + u[0]!) / n, 1 / n);
    const score = u.map((v, j) => v - (mean - 1) * h[packedIndex(0, j, p)]!);
    const from = new Array<number>(p).fill(0);
    from[0] = Math.log(mean);
    return { from, step: choleskySolve(lower, p, score).map((v) => v / mean) };
  }

  /** The averaged rounds' estimates so far, each weighted by the inverse of its noise variance. */
  private average(): number[] {
    const total = this.estimates.reduce((s, e) => s + e.weight, 0);
    return Array.from({ length: this.p }, (_, j) => this.estimates.reduce((s, e) => s + (e.weight / total) * e.estimate[j]!, 0));
  }

  private checkCounts(counts: number[]): void {
    const { plan, minPersons } = this.options;
    const n = counts[0]!;
    this.rows = Math.max(0, Math.round(n));
    if (this.rows - this.p < MIN_RESIDUAL_DF) {
      throw new FedlabError(
        'MODEL_NOT_RELEASABLE',
        `the model has fewer than ${MIN_RESIDUAL_DF} residual degrees of freedom (pooled rows minus ${this.p} parameters)`,
      );
    }
    for (const level of plan.levels) {
      const sum = level.entries.reduce((s, e) => s + counts[e]!, 0);
      const rows = level.complement ? n - sum : sum;
      if (rows < minPersons) {
        throw new FedlabError(
          'MODEL_NOT_RELEASABLE',
          `the model's level "${level.label}" has fewer than ${minPersons} pooled rows (noisy count); merge or drop it, or narrow the model`,
          { minPersons },
        );
      }
    }
  }

  /** Cholesky of the (floored) noisy H; with no noise a singular H is refused naming the column. */
  private factor(h: number[]): Float64Array {
    const outcome = choleskyDecompose(h, this.p);
    if ('lower' in outcome) return outcome.lower;
    const column = this.options.plan.names[outcome.singularColumn];
    throw new FedlabError('MODEL_SINGULAR', `the model matrix is singular: column '${column}' is constant or collinear with the columns before it`, {
      column,
    });
  }

  private finishGaussian(lower: Float64Array, u: number[], beta: number[], yy: number, noiseSd: number): void {
    const p = this.p;
    const df = Math.max(1, this.rows - p);
    // RSS = yᵀy − βᵀXᵀy at the least-squares β; noise can make it small or negative: keep it positive.
    const rss = Math.max(yy - beta.reduce((s, b, j) => s + b * u[j]!, 0), 1e-9 * Math.max(1, yy));
    const inverse = choleskyInverse(lower, p);
    // Noise in u moves β by H⁻¹δu; δH·β adds as much again per unit of ‖β‖².
    const noise = product(inverse, inverse, p).map((v) => v * noiseSd * noiseSd * (1 + beta.reduce((s, b) => s + b * b, 0)));
    this.finish(beta, inverse, rss / df, noise, true, { rss, sumY: u[0]!, yy });
  }

  /**
   * The end of a binomial or poisson fit: the averaged estimate; its noise Σ w_t² σ_t² Ĥ_t⁻¹Ĥ_t⁻¹ (each
   * round's noise in u moves its estimate by Ĥ_t⁻¹δu); sampling covariance from the weighted mean of
   * the averaged rounds' XᵀWX. Converged when every averaged estimate is within half a sampling SE plus
   * four of its own noise SDs of the average, on every coefficient.
   */
  private finishIterative(): void {
    const p = this.p;
    const total = this.estimates.reduce((s, e) => s + e.weight, 0);
    const beta = this.average();
    const hMean = new Array<number>(packedLength(p)).fill(0);
    const noise = new Array<number>(p * p).fill(0);
    for (const e of this.estimates) {
      const w = e.weight / total;
      e.h.forEach((v, k) => (hMean[k]! += w * v));
      product(e.inverse, e.inverse, p).forEach((v, k) => (noise[k]! += w * w * e.noiseVariance * v));
    }
    const inverse = choleskyInverse(this.factor(hMean), p);
    const converged = this.estimates.every((e) => {
      const own = product(e.inverse, e.inverse, p);
      return e.estimate.every((b, j) => Math.abs(b - beta[j]!) <= 0.5 * Math.sqrt(inverse[j * p + j]!) + 4 * Math.sqrt(e.noiseVariance * own[j * p + j]!));
    });
    this.finish(beta, inverse, 1, noise, converged);
  }

  private finish(
    beta: number[],
    inverse: Float64Array,
    dispersion: number,
    noise: number[],
    converged: boolean,
    gaussian?: { rss: number; sumY: number; yy: number },
  ): void {
    const { plan } = this.options;
    const p = this.p;
    const sampling = Array.from({ length: p * p }, (_, k) => dispersion * inverse[k]!);
    // Back to the columns' own units: β = s_y·Aβ' (+ centre of y on the intercept), Cov = s_y²·A·Cov'·Aᵀ.
    const a = this.transform();
    const sy = plan.family === 'gaussian' ? plan.response.halfRange : 1;
    const estimate = apply(a, beta, p).map((v, j) => sy * v + (j === 0 && plan.family === 'gaussian' ? plan.response.centre : 0));
    const samplingCov = sandwich(a, sampling, p).map((v) => v * sy * sy);
    const noiseCov = sandwich(a, noise, p).map((v) => v * sy * sy);
    const gaussianFamily = plan.family === 'gaussian';
    const dfResidual = Math.max(1, this.rows - p);
    const critical = gaussianFamily ? studentTQuantile(0.975, dfResidual) : normalQuantile(0.975);
    const coefficients = plan.names.map((name, j) => {
      const noiseVar = noiseCov[j * p + j]!;
      const stdError = Math.sqrt(samplingCov[j * p + j]! + noiseVar);
      const value = estimate[j]!;
      const statistic = value / stdError;
      const lowerTail = gaussianFamily ? studentTCdf(-Math.abs(statistic), dfResidual) : normalCdf(-Math.abs(statistic));
      return {
        name,
        estimate: value,
        stdError,
        statistic,
        pValue: 2 * lowerTail,
        ciLower: value - critical * stdError,
        ciUpper: value + critical * stdError,
        noiseSd: Math.sqrt(noiseVar),
      };
    });
    const shares = coefficients.map((c) => c.noiseSd / c.stdError);
    const percent = (v: number) => `${Math.round(100 * v)} %`;
    const notes = [
      `coefficients carry differential-privacy noise (ρ = ${Number(plan.rho.toPrecision(4))} over ${plan.rounds === 1 ? '1 round' : `${plan.rounds} rounds`} of secure aggregation${plan.rounds === plan.averaged ? '' : `, ${Math.round(100 * AVERAGED_SHARE)} % of it on the last ${plan.averaged}, whose estimates are averaged`}); ` +
        `covariates were clamped to their declared bounds and at most ${plan.maxRecordsPerPerson} row${plan.maxRecordsPerPerson === 1 ? '' : 's'} per person were used`,
      `the standard errors, tests and intervals include the noise: it accounts for ${percent(Math.min(...shares))} to ${percent(Math.max(...shares))} of each coefficient's standard error ` +
        `(its expected shift of each estimate is that share of the standard error, noise_sd in the table)`,
    ];
    let deviance = Number.NaN;
    let nullDeviance = Number.NaN;
    let aic = Number.NaN;
    let disp = dispersion;
    if (gaussian) {
      deviance = gaussian.rss * sy * sy;
      nullDeviance = Math.max(0, gaussian.yy - (gaussian.sumY * gaussian.sumY) / Math.max(1, this.rows)) * sy * sy;
      disp = dispersion * sy * sy;
      aic = this.rows * (Math.log((2 * Math.PI * deviance) / Math.max(1, this.rows)) + 1) + 2 + 2 * p;
    } else {
      notes.push('the deviance, null deviance and AIC of a binomial or poisson model are not released under differential privacy');
    }
    if (!gaussian && Math.max(...shares) > 0.5) {
      notes.push(
        'the noise is large compared with the information in the data: for a binomial or poisson fit its stated size is a first-order approximation ' +
          'that can then understate it (docs/privacy.md); more rows or a larger ρ give a more reliable fit',
      );
    }
    if (!converged)
      notes.push(
        `the rounds' estimates still differ by more than their noise: the fit may not have converged in ${plan.rounds} rounds, and its estimates may be further from the optimum than their stated noise`,
      );
    this.outcome = {
      family: plan.family,
      link: CANONICAL_LINKS[plan.family],
      statisticName: gaussianFamily ? 't' : 'z',
      coefficients,
      deviance,
      nullDeviance,
      dfResidual,
      dfNull: Math.max(0, this.rows - 1),
      dispersion: disp,
      aic,
      iterations: plan.rounds,
      converged,
      rows: this.rows,
      notes,
    };
  }

  /** A with β_original = A·β_scaled (before the response's scale): 1/halfRange on the diagonal, −centre/halfRange in the intercept row. */
  private transform(): number[] {
    const { scaling } = this.options.plan;
    const p = this.p;
    const a = new Array<number>(p * p).fill(0);
    a[0] = 1;
    for (let j = 1; j < p; j++) {
      const s = scaling[j]!;
      a[j * p + j] = 1 / s.halfRange;
      a[j] = -s.centre / s.halfRange;
    }
    return a;
  }
}

function apply(a: number[], v: number[], p: number): number[] {
  return Array.from({ length: p }, (_, i) => v.reduce((s, x, j) => s + a[i * p + j]! * x, 0));
}

/** A·M·Aᵀ for p × p row-major matrices. */
function sandwich(a: number[], m: number[], p: number): number[] {
  const am = new Array<number>(p * p).fill(0);
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) for (let k = 0; k < p; k++) am[i * p + j]! += a[i * p + k]! * m[k * p + j]!;
  const out = new Array<number>(p * p).fill(0);
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) for (let k = 0; k < p; k++) out[i * p + j]! += am[i * p + k]! * a[j * p + k]!;
  return out;
}

/** A·B for p × p row-major matrices. */
function product(a: ArrayLike<number>, b: ArrayLike<number>, p: number): number[] {
  const out = new Array<number>(p * p).fill(0);
  for (let i = 0; i < p; i++) for (let k = 0; k < p; k++) for (let j = 0; j < p; j++) out[i * p + j]! += a[i * p + k]! * b[k * p + j]!;
  return out;
}
