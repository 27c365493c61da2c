import { FedlabError, isFedlabError } from '@fedlab/model';
import { buildDesign, designRow, type Covariate } from './glm-design';
import { localContribution, type LocalRows } from './glm-contribution';
import { GlmFitter, MIN_RESIDUAL_DF, type GlmCoefficient, type GlmFitOptions } from './glm-fitter';

/*
 * The propensity model of a study's comparison group and of an impact evaluation: a local logistic
 * regression of membership on the covariates (@fedlab/glm's exact IRLS, all rows on one "node"), and
 * each unit's linear predictor. Used by libs/domain/study (control selection) and libs/domain/evaluation (matching).
 */

/** One value of a unit's attribute; null is a missing value. */
type UnitValue = string | number | boolean | null;

/**
 * Each covariate's model kind, read from the values of the complete units: text makes a factor with its
 * levels in code-unit order (R's factor levels in the C locale), the first the reference; anything else
 * is numeric. Throws INVALID_ARGUMENT for a covariate mixing text with numbers, INVALID_QUERY for a
 * factor with a single level `among` the units.
 */
export function covariateKinds(
  columns: readonly string[],
  units: ReadonlyArray<{ values: Readonly<Record<string, unknown>> }>,
  among = 'the units with every covariate',
): Covariate[] {
  return columns.map((name): Covariate => {
    let numbers = 0;
    const levels = new Set<string>();
    for (const unit of units) {
      const value = unit.values[name];
      if (typeof value === 'string') levels.add(value);
      else numbers += 1;
    }
    if (levels.size > 0 && numbers > 0) {
      throw new FedlabError('INVALID_ARGUMENT', `covariate '${name}' mixes text with numbers or booleans`, {
        column: name,
      });
    }
    if (levels.size === 0) return { name, kind: 'numeric' };
    if (levels.size < 2) {
      throw new FedlabError('INVALID_QUERY', `the propensity model is singular: covariate '${name}' has a single value among ${among}`, { column: name });
    }
    return { name, kind: 'factor', levels: [...levels].sort() };
  });
}

/**
 * Fits a logistic propensity model locally with @fedlab/glm's IRLS rounds, all rows on one "node"
 * (`control`: R's `glm.control` tolerance and iterations, when a caller must agree with R's `glm`).
 * Throws INVALID_QUERY naming the constant or collinear model column, or the residual degrees of freedom missing.
 */
export function fitPropensityModel(
  names: string[],
  rows: LocalRows,
  control: Pick<GlmFitOptions, 'tolerance' | 'maxIterations'> = {},
): { coefficients: GlmCoefficient[]; converged: boolean } {
  const fitter = new GlmFitter({ family: 'binomial', names, ...control });
  try {
    for (let request = fitter.next(); request !== null; request = fitter.next()) {
      fitter.accept(localContribution('binomial', rows, request.beta, request.nullMean));
    }
  } catch (error) {
    if (isFedlabError(error, 'MODEL_SINGULAR')) {
      const column = error.details.column;
      throw new FedlabError(
        'INVALID_QUERY',
        typeof column === 'string'
          ? `the propensity model is singular: model column '${column}' is constant or collinear with the columns before it`
          : 'the propensity model could not be fitted: the fit diverged',
        typeof column === 'string' ? { column } : {},
      );
    }
    if (isFedlabError(error, 'MODEL_NOT_RELEASABLE')) {
      throw new FedlabError(
        'INVALID_QUERY',
        `the propensity model needs at least ${MIN_RESIDUAL_DF} more units with every covariate than its ${names.length} parameters`,
        { parameters: names.length },
      );
    }
    throw error;
  }
  const result = fitter.result();
  return { coefficients: result.coefficients, converged: result.converged };
}

function sampleSd(values: Float64Array): number {
  const n = values.length;
  if (n < 2) return 0;
  let mean = 0;
  for (const value of values) mean += value;
  mean /= n;
  let squares = 0;
  for (const value of values) squares += (value - mean) ** 2;
  return Math.sqrt(squares / (n - 1));
}

/**
 * The propensity model over `units` (every covariate present; `kinds` from {@link covariateKinds}): the
 * logistic regression of membership (`member(index)`) on the covariates ({@link fitPropensityModel}),
 * its coefficients, each unit's linear predictor (logit), and the sample SD of the logits (R's `sd()`, 0 below two units).
 */
export function propensityLogits(
  kinds: Covariate[],
  covariates: readonly string[],
  units: ReadonlyArray<{ values: Readonly<Record<string, unknown>> }>,
  member: (index: number) => boolean,
  control: Pick<GlmFitOptions, 'tolerance' | 'maxIterations'> = {},
): { coefficients: GlmCoefficient[]; logits: Float64Array; logitSd: number; converged: boolean } {
  const { names } = buildDesign(kinds);
  const p = names.length;
  const x = new Float64Array(units.length * p);
  const y = new Float64Array(units.length);
  units.forEach((unit, index) => {
    x.set(
      designRow(
        kinds,
        covariates.map((column) => unit.values[column] as UnitValue),
      ) as number[],
      index * p,
    );
    y[index] = member(index) ? 1 : 0;
  });
  const { coefficients, converged } = fitPropensityModel(names, { x, y, p }, control);
  const logits = new Float64Array(units.length);
  for (let row = 0; row < units.length; row++) {
    let eta = 0;
    for (let j = 0; j < p; j++) eta += x[row * p + j] * coefficients[j].estimate;
    logits[row] = eta;
  }
  return { coefficients, logits, logitSd: sampleSd(logits), converged };
}
