import { FedlabError } from '@fedlab/model';
import { choleskyDecompose, choleskyInverse, choleskySolve, packedLength } from './cholesky';
import { normalCdf, normalQuantile, studentTCdf, studentTQuantile } from './distributions';
import { CONTRIBUTION_LAYOUT, contributionLength, xtwxOffset } from './glm-contribution';
import { INTERCEPT_NAME } from './glm-design';
import { CANONICAL_LINKS, isGlmFamily, type GlmFamily } from './glm-family';

/** What to fit. */
export interface GlmFitOptions {
  family: GlmFamily;
  /** Model matrix column names, `(Intercept)` first (from {@link buildDesign}). */
  names: string[];
  /** Most IRLS iterations (weighted least-squares solves); default 25, as R's `glm.control`. */
  maxIterations?: number;
  /** Convergence when |dev − devOld| / (|dev| + 0.1) < tolerance (R's criterion); default 1e-10. */
  tolerance?: number;
}

/** The defaults of {@link GlmFitOptions}, in one place. */
export const GLM_FIT_DEFAULTS = { maxIterations: 25, tolerance: 1e-10 } as const;

/** What every node evaluates in the next round: R's starting values (`beta: null`) or η = Xβ. */
export interface GlmRoundRequest {
  beta: number[] | null;
  /** The pooled mean of y for the null deviance; null in the first round, before it is known. */
  nullMean: number | null;
}

/** One row of the coefficient table, as `summary.glm` and a 95 % Wald interval report it. */
export interface GlmCoefficient {
  name: string;
  estimate: number;
  stdError: number;
  /** t (gaussian) or z value: estimate / stdError. */
  statistic: number;
  /** Two-sided p-value of the statistic. */
  pValue: number;
  ciLower: number;
  ciUpper: number;
}

/** A fitted pooled GLM, with the quantities R's `glm` and `summary.glm` report. */
export interface GlmResult {
  family: GlmFamily;
  link: 'identity' | 'logit' | 'log';
  statisticName: 't' | 'z';
  coefficients: GlmCoefficient[];
  deviance: number;
  nullDeviance: number;
  dfResidual: number;
  dfNull: number;
  dispersion: number;
  aic: number;
  /** Weighted least-squares solves, as R's `iter`. */
  iterations: number;
  converged: boolean;
  /** Pooled rows used (after each node dropped rows with missing values). */
  rows: number;
}

/** The fewest residual degrees of freedom (pooled rows − parameters) a released model may have. */
export const MIN_RESIDUAL_DF = 10;

interface CompiledGlmFitOptions {
  family: GlmFamily;
  names: string[];
  maxIterations: number;
  tolerance: number;
}

function compileGlmFitOptions(options: GlmFitOptions): CompiledGlmFitOptions {
  const compiled = {
    family: options.family,
    names: options.names,
    maxIterations: options.maxIterations ?? GLM_FIT_DEFAULTS.maxIterations,
    tolerance: options.tolerance ?? GLM_FIT_DEFAULTS.tolerance,
  };
  if (!isGlmFamily(compiled.family)) {
    throw new FedlabError('INVALID_QUERY', 'the model family must be gaussian, binomial or poisson');
  }
  if (compiled.names.length === 0 || compiled.names[0] !== INTERCEPT_NAME) {
    throw new FedlabError('INVALID_QUERY', `a pooled model needs '${INTERCEPT_NAME}' as its first column`);
  }
  if (new Set(compiled.names).size !== compiled.names.length) {
    throw new FedlabError('INVALID_QUERY', 'the model column names must be distinct');
  }
  if (!Number.isInteger(compiled.maxIterations) || compiled.maxIterations < 1) {
    throw new FedlabError('INVALID_QUERY', 'maxIterations must be a positive integer');
  }
  if (!(compiled.tolerance > 0) || !Number.isFinite(compiled.tolerance)) {
    throw new FedlabError('INVALID_QUERY', 'tolerance must be a positive number');
  }
  return { ...compiled, names: [...compiled.names] };
}

/** The pooled sums of one round at the coefficients it was evaluated at. */
interface RoundState {
  beta: number[];
  deviance: number;
  nullDeviance: number;
  minusTwoLogLikelihood: number;
  xtwx: Float64Array;
}

/**
 * The coordinator's side of a pooled GLM fit by Newton–IRLS (Fisher scoring with canonical links), as a
 * transport-free state machine. Loop: `next()` gives the round's request (null once finished); every node
 * answers it with {@link localContribution}; secure aggregation sums the answers; `accept(sum)` takes the
 * sum. Then `result()`.
 *
 * Rounds follow R's `glm.fit`: the first is evaluated at `mustart` and yields β₁ = (XᵀWX)⁻¹XᵀWz; round k
 * is evaluated at β_k, yields the deviance there, and R's convergence test for iteration k; if it fails
 * and iterations remain, the same sums give β_{k+1}. So the last round is always evaluated at the final
 * β, and the reported deviance, AIC and standard errors all belong to it. A round whose μ is not finite
 * at some row triggers R's step halving β ← (β + β_old)/2 (at most `maxIterations` times in a row).
 */
export class GlmFitter {
  private readonly options: CompiledGlmFitOptions;
  private readonly p: number;
  private pending: GlmRoundRequest | null = { beta: null, nullMean: null };
  private rows: number | null = null;
  private nullMean: number | null = null;
  private previousBeta: number[] | null = null;
  private devianceOld = 0;
  private iterations = 0;
  private halvings = 0;
  private outcome: GlmResult | null = null;

  constructor(options: GlmFitOptions) {
    this.options = compileGlmFitOptions(options);
    this.p = this.options.names.length;
  }

  /** The request for the next round, or null when the fit has finished or failed. Repeats until `accept`. */
  next(): GlmRoundRequest | null {
    if (this.pending === null) return null;
    return { beta: this.pending.beta === null ? null : [...this.pending.beta], nullMean: this.pending.nullMean };
  }

  /**
   * Takes the element-wise sum of every node's contribution for the current request. Throws
   * `MODEL_NOT_RELEASABLE` when the pooled residual df (rows − parameters) is below 10, `MODEL_SINGULAR`
   * when XᵀWX is singular or the iteration diverges beyond repair, and `POOLED_MISMATCH` when the pooled
   * row count changes between rounds. After any of these the fit has failed: `next()` returns null.
   */
  accept(sum: Float64Array): void {
    const request = this.pending;
    if (request === null) throw new FedlabError('INTERNAL', 'the model fit has ended; no round is outstanding');
    if (sum.length !== contributionLength(this.p)) {
      throw new FedlabError('INTERNAL', `the summed contribution has ${sum.length} entries, not ${contributionLength(this.p)}`);
    }
    try {
      this.acceptRound(request, sum);
    } catch (error) {
      this.pending = null;
      throw error;
    }
  }

  /** The fitted model. Throws `INTERNAL` unless the fit has finished. */
  result(): GlmResult {
    if (this.outcome === null) throw new FedlabError('INTERNAL', 'the model fit has not finished');
    return structuredClone(this.outcome);
  }

  private acceptRound(request: GlmRoundRequest, sum: Float64Array): void {
    const p = this.p;
    const layout = CONTRIBUTION_LAYOUT;
    const rows = sum[layout.rows];
    const xtwz = sum.subarray(layout.xtwz, layout.xtwz + p);
    const xtwx = sum.slice(xtwxOffset(p), xtwxOffset(p) + packedLength(p));
    const diverged = sum[layout.invalidRows] > 0;

    if (request.beta === null) {
      if (rows - p < MIN_RESIDUAL_DF) {
        throw new FedlabError(
          'MODEL_NOT_RELEASABLE',
          `the model has fewer than ${MIN_RESIDUAL_DF} residual degrees of freedom (pooled rows minus ${p} parameters)`,
          { parameters: p, minimumResidualDf: MIN_RESIDUAL_DF },
        );
      }
      if (diverged) throw this.divergence('the starting values give a non-finite deviance');
      this.rows = rows;
      this.nullMean = sum[layout.sumY] / rows;
      this.devianceOld = sum[layout.deviance];
      this.step(xtwx, xtwz);
      return;
    }

    if (rows !== this.rows) {
      throw new FedlabError('POOLED_MISMATCH', 'the pooled row count changed between model iterations (a node dropped out or changed its rows)');
    }
    if (diverged) {
      if (this.previousBeta === null) throw this.divergence('the first step diverged and no earlier coefficients are valid');
      this.halvings += 1;
      if (this.halvings > this.options.maxIterations) throw this.divergence('step halving could not correct the step size');
      const previous = this.previousBeta;
      this.pending = { beta: request.beta.map((value, j) => (value + previous[j]) / 2), nullMean: this.nullMean };
      return;
    }
    this.halvings = 0;
    const deviance = sum[layout.deviance];
    const round: RoundState = {
      beta: request.beta,
      deviance,
      nullDeviance: sum[layout.nullDeviance],
      minusTwoLogLikelihood: sum[layout.minusTwoLogLikelihood],
      xtwx,
    };
    const converged = Math.abs(deviance - this.devianceOld) / (Math.abs(deviance) + 0.1) < this.options.tolerance;
    if (converged || this.iterations >= this.options.maxIterations) {
      this.outcome = this.summarise(round, converged);
      this.pending = null;
      return;
    }
    this.devianceOld = deviance;
    this.previousBeta = request.beta;
    this.step(xtwx, xtwz);
  }

  /** One weighted least-squares solve: β = (XᵀWX)⁻¹XᵀWz, then a round at β. */
  private step(xtwx: Float64Array, xtwz: ArrayLike<number>): void {
    const beta = choleskySolve(this.factor(xtwx), this.p, xtwz);
    this.iterations += 1;
    this.pending = { beta, nullMean: this.nullMean };
  }

  private factor(xtwx: Float64Array): Float64Array {
    const outcome = choleskyDecompose(xtwx, this.p);
    if ('singularColumn' in outcome) {
      const column = this.options.names[outcome.singularColumn];
      throw new FedlabError('MODEL_SINGULAR', `the model matrix is singular: column '${column}' is constant or collinear with the columns before it`, {
        column,
      });
    }
    return outcome.lower;
  }

  private divergence(reason: string): FedlabError {
    return new FedlabError('MODEL_SINGULAR', `the model fit diverged: ${reason}`);
  }

  private summarise(round: RoundState, converged: boolean): GlmResult {
    const { family, names } = this.options;
    const p = this.p;
    const rows = this.rows as number;
    const dfResidual = rows - p;
    const gaussian = family === 'gaussian';
    const dispersion = gaussian ? round.deviance / dfResidual : 1;
    const inverse = choleskyInverse(this.factor(round.xtwx), p);
    const critical = gaussian ? studentTQuantile(0.975, dfResidual) : normalQuantile(0.975);
    const coefficients = names.map((name, j): GlmCoefficient => {
      const estimate = round.beta[j];
      const stdError = Math.sqrt(dispersion * inverse[j * p + j]);
      const statistic = estimate / stdError;
      const lowerTail = gaussian ? studentTCdf(-Math.abs(statistic), dfResidual) : normalCdf(-Math.abs(statistic));
      return {
        name,
        estimate,
        stdError,
        statistic,
        pValue: 2 * lowerTail,
        ciLower: estimate - critical * stdError,
        ciUpper: estimate + critical * stdError,
      };
    });
    // R: family$aic(...) + 2·rank; gaussian()$aic is n(ln(2π·RSS/n) + 1) + 2, the 2 counting the variance.
    const aic = gaussian ? rows * (Math.log((2 * Math.PI * round.deviance) / rows) + 1) + 2 + 2 * p : round.minusTwoLogLikelihood + 2 * p;
    return {
      family,
      link: CANONICAL_LINKS[family],
      statisticName: gaussian ? 't' : 'z',
      coefficients,
      deviance: round.deviance,
      nullDeviance: round.nullDeviance,
      dfResidual,
      dfNull: rows - 1,
      dispersion,
      aic,
      iterations: this.iterations,
      converged,
      rows,
    };
  }
}
