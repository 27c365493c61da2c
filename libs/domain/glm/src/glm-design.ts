import { FedlabError } from '@fedlab/model';

/** The most levels a factor covariate may have (it contributes levels − 1 model parameters). */
export const MAX_FACTOR_LEVELS = 40;

/** A model covariate: a number (booleans enter as 0/1) or a factor coded by treatment contrasts. */
export type Covariate = { name: string; kind: 'numeric' } | { name: string; kind: 'factor'; levels: string[] };

/** The columns of the model matrix. */
export interface GlmDesign {
  /**
   * `(Intercept)`, then R-style names in covariate order: a numeric covariate keeps its name (`age`); a
   * factor contributes one indicator per level after the first, the reference level (`regionSouth`,
   * `regionWest` for levels North, South, West).
   */
  names: string[];
}

/** The name of the intercept column, as R prints it. */
export const INTERCEPT_NAME = '(Intercept)';

/**
 * Builds the model matrix columns for `covariates`. Throws `INVALID_QUERY` for a repeated covariate or
 * column name, a factor with fewer than 2 or more than {@link MAX_FACTOR_LEVELS} levels, or a repeated level.
 */
export function buildDesign(covariates: Covariate[]): GlmDesign {
  const covariateNames = new Set<string>();
  const names = [INTERCEPT_NAME];
  for (const covariate of covariates) {
    if (covariateNames.has(covariate.name)) {
      throw new FedlabError('INVALID_QUERY', `covariate '${covariate.name}' appears more than once in the model`, {
        column: covariate.name,
      });
    }
    covariateNames.add(covariate.name);
    if (covariate.kind === 'numeric') {
      names.push(covariate.name);
      continue;
    }
    const { levels } = covariate;
    if (levels.length > MAX_FACTOR_LEVELS) {
      throw new FedlabError('INVALID_QUERY', `factor '${covariate.name}' has more than ${MAX_FACTOR_LEVELS} levels, the limit for a model covariate`, {
        column: covariate.name,
        maxLevels: MAX_FACTOR_LEVELS,
      });
    }
    if (levels.length < 2) {
      throw new FedlabError('INVALID_QUERY', `factor '${covariate.name}' needs at least 2 levels`, {
        column: covariate.name,
      });
    }
    if (new Set(levels).size !== levels.length) {
      throw new FedlabError('INVALID_QUERY', `factor '${covariate.name}' lists a level more than once`, {
        column: covariate.name,
      });
    }
    for (const level of levels.slice(1)) names.push(covariate.name + level);
  }
  if (new Set(names).size !== names.length) {
    const repeated = names.find((name, index) => names.indexOf(name) !== index);
    throw new FedlabError('INVALID_QUERY', `model column '${repeated}' would appear more than once`, {
      column: repeated,
    });
  }
  return { names };
}

/**
 * One row of the model matrix (intercept first) from the covariate values, given in covariate order:
 * numbers, booleans (as 0/1) and factor levels. Returns null when any value is missing (null, undefined
 * or NaN): the row is dropped, as R's default `na.omit` does. Throws `INVALID_ARGUMENT`, naming the column
 * but never the value, for a factor value that is not one of its levels or a numeric value that is not a
 * finite number or boolean.
 */
export function designRow(covariates: Covariate[], values: ReadonlyArray<unknown>): number[] | null {
  if (values.length !== covariates.length) {
    throw new FedlabError('INVALID_ARGUMENT', `a model row has ${values.length} values for ${covariates.length} covariates`, {
      expected: covariates.length,
      actual: values.length,
    });
  }
  if (values.some((value) => value === null || value === undefined || Number.isNaN(value))) return null;
  const row = [1];
  covariates.forEach((covariate, index) => {
    const value = values[index];
    if (covariate.kind === 'numeric') {
      if (typeof value === 'boolean') row.push(value ? 1 : 0);
      else if (typeof value === 'number' && Number.isFinite(value)) row.push(value);
      else {
        throw new FedlabError('INVALID_ARGUMENT', `column '${covariate.name}' has a value that is not a finite number`, {
          column: covariate.name,
        });
      }
      return;
    }
    const levelIndex = typeof value === 'string' ? covariate.levels.indexOf(value) : -1;
    if (levelIndex < 0) {
      throw new FedlabError('INVALID_ARGUMENT', `column '${covariate.name}' has a value that is not one of its ${covariate.levels.length} levels`, {
        column: covariate.name,
      });
    }
    for (let level = 1; level < covariate.levels.length; level++) row.push(level === levelIndex ? 1 : 0);
  });
  return row;
}
