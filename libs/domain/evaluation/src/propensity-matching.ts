import { covariateKinds as covariateKindsOf, propensityLogits, type Covariate } from '@fedlab/glm';
import { FedlabError } from '@fedlab/model';
import { PROPENSITY_SELECTION_DEFAULTS, SMD_FLAG_THRESHOLD } from '@fedlab/study';
import type { BalanceRowResult } from './evaluation-result';

/**
 * A person in the matching: a participant (treated) or an eligible non-participant (control), with
 * complete covariate values. A number is a numeric covariate, a boolean a 0/1 covariate, and text a level
 * of a categorical covariate.
 */
export interface PsmUnit {
  /** Unique among all units. */
  id: number;
  treated: boolean;
  values: Record<string, number | boolean | string>;
}

/** What {@link propensityMatch} needs. */
export interface PsmOptions {
  /** Treated and control units, in data order: ties between equal logits are broken by this order. */
  units: PsmUnit[];
  /** Names of the values that enter the propensity model, in model order. */
  covariates: string[];
  /** The caliper in standard deviations of the logit; default 0.2. */
  caliperSd?: number;
  /**
   * Called once per stage with its wall time in milliseconds (`performance.now()`), for benchmarks:
   * `propensity model` (checks, design matrix, IRLS fit, logits), then `nearest-neighbour matching`
   * (caliper, sorting the controls, matching, weights). Not called when the run throws. Changes nothing else.
   */
  onStage?: (stage: PsmStage, ms: number) => void;
}

/** The stages {@link PsmOptions.onStage} reports, in order. */
export type PsmStage = 'propensity model' | 'nearest-neighbour matching';

/** One coefficient of the logistic propensity model. */
export interface PsmCoefficient {
  /**
   * R's `model.matrix` name: `(Intercept)`; a numeric or boolean covariate's own name (`age_at_index`,
   * `male`); for a categorical covariate, the covariate name followed by the level, one per level after the
   * reference (`regionnorth`, `index_offencetheft`).
   */
  name: string;
  estimate: number;
  /**
   * The maximum-likelihood standard error √diag((XᵀWX)⁻¹), W = p(1 − p) at the estimates (binomial,
   * dispersion 1). R's `summary.glm` takes W from the previous IRLS iterate instead, which at glm's default
   * tolerance differs by about 1e-5 relative.
   */
  standardError: number;
}

/** A matched treated unit and its control. */
export interface PsmPair {
  treatedId: number;
  controlId: number;
  /** |logit(treated) − logit(control)|, at most the caliper. */
  distance: number;
}

/** The fitted propensity model and the matched sample. */
export interface PsmResult {
  /** Intercept first, then the model columns in covariate order (see {@link PsmCoefficient.name}). */
  coefficients: PsmCoefficient[];
  /** The linear predictor (log odds of treatment) of every unit, by id, in data order. */
  logit: Map<number, number>;
  /** caliperSd × the sample SD of the logit over all units, in logit units. */
  caliper: number;
  /** One pair per matched treated unit, in data order. */
  pairs: PsmPair[];
  /** Ids of the treated units whose nearest control is further than the caliper, in data order. */
  outsideCaliper: number[];
  /**
   * Matching weights of the matched units, in data order: 1 for a matched treated unit; for a control,
   * (times used) × (distinct controls used) / (treated units matched). Unmatched units are absent.
   */
  weights: Map<number, number>;
}

/** What {@link matchedBalance} compares: the units and covariates given to {@link propensityMatch}, and its result. */
export interface BalanceInput {
  units: PsmUnit[];
  covariates: string[];
  result: PsmResult;
}

/** One row of the balance table: a numeric or boolean covariate, or one level of a categorical one. */
/**
 * One row of {@link matchedBalance} (the shared result type without its label): `treatedMean` is the
 * mean of the matched treated units, `smdBefore` compares all treated with all controls, `smdAfter` the
 * matched treated with the weighted matched controls, and `flagged` is |smdAfter| > 0.1 or NaN.
 */
type BalanceRow = Omit<BalanceRowResult, 'label'>;

/** R's `glm.control()` defaults, which MatchIt's `distance = "glm"` fit runs with. */
const R_GLM_CONTROL = { tolerance: 1e-8, maxIterations: 25 } as const;

/** R's `sqrt(.Machine$double.eps)`, MatchIt's threshold for "no difference" and "no spread" in `bal1var()`. */
const SQRT_EPSILON = Math.sqrt(Number.EPSILON);

function checkUnits(units: readonly PsmUnit[]): void {
  const seen = new Set<number>();
  for (const unit of units) {
    if (!Number.isFinite(unit.id)) throw new FedlabError('INVALID_ARGUMENT', 'a unit id is not a finite number');
    if (seen.has(unit.id)) throw new FedlabError('INVALID_ARGUMENT', 'a unit id appears more than once');
    if (typeof unit.treated !== 'boolean') {
      throw new FedlabError('INVALID_ARGUMENT', 'a unit has a treatment flag that is not true or false');
    }
    seen.add(unit.id);
  }
}

function checkCovariateNames(covariates: readonly string[]): void {
  if (covariates.length === 0) {
    throw new FedlabError('INVALID_ARGUMENT', 'the propensity model needs at least one covariate');
  }
  if (new Set(covariates).size !== covariates.length) {
    throw new FedlabError('INVALID_ARGUMENT', 'the covariates name a column more than once');
  }
}

/**
 * Each covariate's model kind, read from the values of all units: text makes a factor with its levels in
 * code-unit order (R's factor levels in the C locale), the first being the reference; numbers and booleans
 * are numeric.
 */
function covariateKinds(units: readonly PsmUnit[], covariates: readonly string[]): Covariate[] {
  for (const name of covariates) {
    for (const unit of units) {
      const value = unit.values[name];
      if (typeof value !== 'string' && typeof value !== 'boolean' && !(typeof value === 'number' && Number.isFinite(value))) {
        throw new FedlabError(
          'INVALID_ARGUMENT',
          `covariate '${name}' is missing or not a finite number for a unit; propensity matching needs complete cases`,
          { column: name },
        );
      }
    }
  }
  return covariateKindsOf(covariates, units, 'the units');
}

/**
 * Estimates each unit's propensity score with a logistic regression of treatment on the covariates, and
 * matches every treated unit to its nearest control on the logit, with replacement, within a caliper:
 * R MatchIt's `matchit(treat ~ covariates, data, method = "nearest", distance = "glm",
 * link = "linear.logit", caliper = caliperSd, replace = TRUE, estimand = "ATT")` (ratio 1). The rules,
 * as read in MatchIt 4.5.1's R source and checked against its output (scripts/psm-reference.R):
 *
 * - Model: `distance2glm()` fits `glm(family = quasibinomial())` with `glm.control()` defaults (same
 *   estimates as binomial; here IRLS to R's criterion |Δdeviance| / (|deviance| + 0.1) < 1e-8, at most 25
 *   iterations, so the iterates are R's). A fit that does not converge is used as it is, as R does.
 *   The logit is the linear predictor (`predict(type = "link")`).
 * - Caliper: `process.caliper()` multiplies caliperSd by `sd(distance[!discarded])`, the sample SD (n − 1)
 *   of the logit over all units, treated and control (nothing is discarded with `discard = "none"`).
 * - Order: with replacement (`reuse.max` ≥ number treated) `matchit2nearest()` uses `m.order = "data"`;
 *   as every control stays available, the order does not change any match.
 * - Nearest and ties: all units are sorted by logit, equal logits in data order (`order()` is stable);
 *   the nearer of the nearest control below and the nearest control above the treated unit in that order
 *   is taken, the one below when the distances are equal; it is a match when its distance is at most the
 *   caliper (`find_control_vec()` in MatchIt's current src/internal.cpp). MatchIt 4.5.1 to 4.5.3 compare
 *   these distances with C's integer `abs()` (`nn_matchC_vec()`), so a distance under 1 logit passes any
 *   caliper and the neighbour below wins (MatchIt issue #163); this follows the corrected rule, which their
 *   distance-matrix path also computes whenever no two logits tie (it breaks ties by data order alone).
 * - Weights: `weights.matrix()` gives a matched treated unit 1 and a control the number of times it was
 *   used, then scales the controls to sum to the number of distinct controls used:
 *   (times used) × (controls used) / (treated matched).
 *
 * Unlike MatchIt, which stops with "No units were matched", a run in which no treated unit has a control
 * within the caliper returns no pairs and every treated id in `outsideCaliper`. O(n·p² per IRLS iteration
 * + (treated + controls) · log controls).
 *
 * Throws `INVALID_ARGUMENT` for no treated or no control units, ids that are not finite or not unique, a
 * missing, non-finite or mixed-type covariate, repeated or no covariates, or a caliperSd that is not a
 * positive number; `INVALID_QUERY` when the model is singular (a constant or collinear covariate, or a
 * categorical covariate with one level), has fewer than 10 residual degrees of freedom, or diverges.
 * Messages name covariates and model columns, never data values.
 */
export function propensityMatch(options: PsmOptions): PsmResult {
  const { units, covariates, onStage } = options;
  const started = performance.now();
  const caliperSd = options.caliperSd ?? PROPENSITY_SELECTION_DEFAULTS.caliperSd;
  if (!(caliperSd > 0 && Number.isFinite(caliperSd))) {
    throw new FedlabError('INVALID_ARGUMENT', 'caliperSd must be a positive number');
  }
  checkCovariateNames(covariates);
  checkUnits(units);
  const treatedCount = units.filter((unit) => unit.treated).length;
  if (treatedCount === 0 || treatedCount === units.length) {
    throw new FedlabError('INVALID_ARGUMENT', 'propensity matching needs at least one treated and one control unit');
  }

  const kinds = covariateKinds(units, covariates);
  const n = units.length;
  const { coefficients, logits, logitSd, converged } = propensityLogits(kinds, covariates, units, (row) => units[row].treated, R_GLM_CONTROL);
  // Without convergence (complete separation) the logits run off to infinity and so does the caliper.
  if (!converged)
    throw new FedlabError('INVALID_QUERY', 'the propensity model did not converge: a characteristic separates participants from non-participants completely');
  const modelled = performance.now();
  const caliper = caliperSd * logitSd;

  // Controls in the order of (logit, data row): MatchIt's stable sort of all units, treated ones skipped.
  const controls = new Uint32Array(n - treatedCount);
  let next = 0;
  units.forEach((unit, row) => {
    if (!unit.treated) controls[next++] = row;
  });
  controls.sort((a, b) => logits[a] - logits[b] || a - b);
  const controlLogits = Float64Array.from(controls, (row) => logits[row]);

  const pairs: PsmPair[] = [];
  const outsideCaliper: number[] = [];
  const timesUsed = new Map<number, number>();
  units.forEach((unit, row) => {
    if (!unit.treated) return;
    const logit = logits[row];
    // The first control after (logit, row) in that order; the nearest below is the one before it.
    let low = 0;
    let high = controls.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const other = controlLogits[middle];
      if (other < logit || (other === logit && controls[middle] < row)) low = middle + 1;
      else high = middle;
    }
    const below = low > 0 ? Math.abs(logit - controlLogits[low - 1]) : Infinity;
    const above = low < controls.length ? Math.abs(logit - controlLogits[low]) : Infinity;
    const position = below <= above ? low - 1 : low;
    const distance = Math.min(below, above);
    if (!(distance <= caliper)) {
      outsideCaliper.push(unit.id);
      return;
    }
    const controlRow = controls[position];
    pairs.push({ treatedId: unit.id, controlId: units[controlRow].id, distance });
    timesUsed.set(controlRow, (timesUsed.get(controlRow) ?? 0) + 1);
  });

  const weights = new Map<number, number>();
  const matchedTreated = new Set(pairs.map((pair) => pair.treatedId));
  units.forEach((unit, row) => {
    if (unit.treated) {
      if (matchedTreated.has(unit.id)) weights.set(unit.id, 1);
      return;
    }
    const used = timesUsed.get(row);
    if (used !== undefined) weights.set(unit.id, (used * timesUsed.size) / pairs.length);
  });

  const result: PsmResult = {
    coefficients: coefficients.map(({ name, estimate, stdError }) => ({ name, estimate, standardError: stdError })),
    logit: new Map(units.map((unit, row) => [unit.id, logits[row]])),
    caliper,
    pairs,
    outsideCaliper,
    weights,
  };
  if (onStage) {
    onStage('propensity model', modelled - started);
    onStage('nearest-neighbour matching', performance.now() - modelled);
  }
  return result;
}

/** MatchIt's `wm()`: Σwx / Σw over the given rows. */
function weightedMean(x: Float64Array, weights: Float64Array, rows: readonly number[]): number {
  let sum = 0;
  let total = 0;
  for (const row of rows) {
    sum += x[row] * weights[row];
    total += weights[row];
  }
  return sum / total;
}

/** MatchIt's `wvar()` with unit weights: p(1 − p) for a 0/1 variable, else the sample variance. */
function unweightedVariance(x: Float64Array, rows: readonly number[], binary: boolean): number {
  const w = 1 / rows.length;
  let mean = 0;
  for (const row of rows) mean += w * x[row];
  if (binary) return mean * (1 - mean);
  let squares = 0;
  let weightSquares = 0;
  for (const row of rows) {
    squares += w * (x[row] - mean) ** 2;
    weightSquares += w * w;
  }
  return squares / (1 - weightSquares);
}

/**
 * MatchIt's `pooled_sd()` with unit weights (`contribution = "proportional"`): for a 0/1 variable
 * √(Σ_g s_g(1 − s_g/n_g) / n) with s_g the group's sum; else √(Σ(x − x̄_g)² / (n − 1)), centred by group.
 */
function pooledSd(x: Float64Array, groups: ReadonlyArray<readonly number[]>, binary: boolean): number {
  const n = groups.reduce((count, rows) => count + rows.length, 0);
  let variance = 0;
  if (binary) {
    for (const rows of groups) {
      let sum = 0;
      for (const row of rows) sum += x[row];
      variance += (sum * (1 - sum / rows.length)) / n;
    }
    return Math.sqrt(variance);
  }
  const w = 1 / n;
  let weightSquares = 0;
  for (const rows of groups) {
    let mean = 0;
    for (const row of rows) mean += x[row];
    mean /= rows.length;
    for (const row of rows) {
      variance += w * (x[row] - mean) ** 2;
      weightSquares += w * w;
    }
  }
  return Math.sqrt(variance / (1 - weightSquares));
}

function countNonZero(weights: Float64Array, rows: readonly number[]): number {
  let count = 0;
  for (const row of rows) if (weights[row] !== 0) count += 1;
  return count;
}

/**
 * The covariate balance of a matching, as R MatchIt's `summary(m)` (`standardize = TRUE`) reports it in
 * its "Means Treated", "Means Control" and "Std. Mean Diff." columns, before (`sum.all`) and after
 * (`sum.matched`) matching. One row per numeric or boolean covariate and one per level of a categorical
 * covariate (`name=level`, levels in the order of {@link propensityMatch}'s factors, every level as with
 * `get.covs.matrix()`'s `contrasts = FALSE`), in covariate order. The rules of MatchIt 4.5.1's `bal1var()`,
 * checked against its output by scripts/psm-reference.R:
 *
 * - Means: before, plain means of all treated and all control units; after, means weighted by the
 *   matching weights (unmatched units weigh 0). `treatedMean` is the after-matching one (the matched
 *   treated units); `smdBefore` uses the mean of all treated units.
 * - Standardiser, for the ATT (`s.d.denom = "treated"`), the same before and after matching: the SD of
 *   all treated units, unweighted — √(p(1 − p)) when the row takes only the values 0 and 1 over all units
 *   (booleans, levels, and any 0/1 numeric covariate), else the sample SD (n − 1). When that SD is below
 *   √ε (2⁻²⁶) MatchIt falls back to `pooled_sd()` over both groups (see {@link pooledSd}).
 * - SMD = (treated mean − comparison mean) / standardiser; when |difference| ≤ √ε the unstandardised
 *   difference is reported instead; when fewer than 2 treated and fewer than 2 control units carry weight
 *   it is NaN (R's NA).
 * - flagged: |smdAfter| > 0.1 (DESIGN.md §7.5), or smdAfter is NaN.
 *
 * Means and SMDs after matching are NaN when no treated unit was matched. Throws `INVALID_ARGUMENT` when the
 * units are not those of the result, or for a bad covariate list or value.
 */
export function matchedBalance(input: BalanceInput): BalanceRow[] {
  const { units, covariates, result } = input;
  checkCovariateNames(covariates);
  checkUnits(units);
  if (units.length !== result.logit.size || units.some((unit) => !result.logit.has(unit.id))) {
    throw new FedlabError('INVALID_ARGUMENT', 'the units are not the units the matching result was computed for');
  }
  const kinds = covariateKinds(units, covariates);
  const treatedRows: number[] = [];
  const controlRows: number[] = [];
  units.forEach((unit, row) => (unit.treated ? treatedRows : controlRows).push(row));
  const allWeights = new Float64Array(units.length).fill(1);
  const matchWeights = Float64Array.from(units, (unit) => result.weights.get(unit.id) ?? 0);

  const variables: Array<{ covariate: string; x: Float64Array }> = kinds.flatMap((kind) => {
    if (kind.kind === 'numeric') {
      return [{ covariate: kind.name, x: Float64Array.from(units, (unit) => Number(unit.values[kind.name])) }];
    }
    return kind.levels.map((level) => ({
      covariate: `${kind.name}=${level}`,
      x: Float64Array.from(units, (unit) => (unit.values[kind.name] === level ? 1 : 0)),
    }));
  });

  return variables.map(({ covariate, x }) => {
    const binary = x.every((value) => value === 0 || value === 1);
    let standardiser = Math.sqrt(unweightedVariance(x, treatedRows, binary));
    if (!Number.isFinite(standardiser) || standardiser < SQRT_EPSILON) {
      standardiser = pooledSd(x, [treatedRows, controlRows], binary);
    }
    const compare = (weights: Float64Array) => {
      const treatedMean = weightedMean(x, weights, treatedRows);
      const comparisonMean = weightedMean(x, weights, controlRows);
      const difference = treatedMean - comparisonMean;
      let smd: number;
      if (!(Math.abs(difference) > SQRT_EPSILON)) smd = difference;
      else if (countNonZero(weights, treatedRows) < 2 && countNonZero(weights, controlRows) < 2) smd = Number.NaN;
      else smd = difference / standardiser;
      return { treatedMean, comparisonMean, smd };
    };
    const before = compare(allWeights);
    const after = compare(matchWeights);
    return {
      covariate,
      treatedMean: after.treatedMean,
      comparisonMeanBefore: before.comparisonMean,
      comparisonMeanAfter: after.comparisonMean,
      smdBefore: before.smd,
      smdAfter: after.smd,
      flagged: !(Math.abs(after.smd) <= SMD_FLAG_THRESHOLD),
    };
  });
}
