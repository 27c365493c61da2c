import { describe, expect, it } from 'vitest';
import { buildDesign, designRow, MAX_FACTOR_LEVELS, type Covariate } from './glm-design';

const COVARIATES: Covariate[] = [
  { name: 'age', kind: 'numeric' },
  { name: 'region', kind: 'factor', levels: ['North', 'South', 'West'] },
  { name: 'smoker', kind: 'numeric' },
];

const levels = (count: number) => Array.from({ length: count }, (_, i) => `L${i + 1}`);

describe('buildDesign', () => {
  it('names the columns as R does: intercept, numerics, then treatment contrasts against the first level', () => {
    expect(buildDesign(COVARIATES).names).toEqual(['(Intercept)', 'age', 'regionSouth', 'regionWest', 'smoker']);
  });

  it('gives an intercept-only design for no covariates', () => {
    expect(buildDesign([]).names).toEqual(['(Intercept)']);
  });

  it(`accepts a factor with exactly ${MAX_FACTOR_LEVELS} levels`, () => {
    expect(buildDesign([{ name: 'district', kind: 'factor', levels: levels(40) }]).names).toHaveLength(40);
  });

  it('refuses a factor with more than 40 levels with INVALID_QUERY naming the column and the limit', () => {
    expect(() => buildDesign([{ name: 'district', kind: 'factor', levels: levels(41) }])).toThrowFedlabError(
      'INVALID_QUERY',
      "factor 'district' has more than 40 levels, the limit for a model covariate",
    );
  });

  it('refuses a factor with a single level', () => {
    expect(() => buildDesign([{ name: 'sex', kind: 'factor', levels: ['F'] }])).toThrowFedlabError('INVALID_QUERY', "factor 'sex' needs at least 2 levels");
  });

  it('refuses a covariate that appears twice', () => {
    expect(() => buildDesign([COVARIATES[0], COVARIATES[0]])).toThrowFedlabError('INVALID_QUERY', "covariate 'age' appears more than once in the model");
  });

  it('refuses a factor that lists a level twice', () => {
    expect(() => buildDesign([{ name: 'sex', kind: 'factor', levels: ['F', 'M', 'F'] }])).toThrowFedlabError(
      'INVALID_QUERY',
      "factor 'sex' lists a level more than once",
    );
  });

  it('refuses covariates whose column names collide', () => {
    const colliding: Covariate[] = [COVARIATES[1], { name: 'regionWest', kind: 'numeric' }];
    expect(() => buildDesign(colliding)).toThrowFedlabError('INVALID_QUERY', "model column 'regionWest' would appear more than once");
  });
});

describe('designRow', () => {
  it('codes numbers as themselves, booleans as 0/1 and factor levels as indicators', () => {
    expect(designRow(COVARIATES, [41.5, 'West', true])).toEqual([1, 41.5, 0, 1, 1]);
    expect(designRow(COVARIATES, [18, 'North', false])).toEqual([1, 18, 0, 0, 0]);
  });

  it('drops a row with a null, undefined or NaN value, as na.omit does', () => {
    expect(designRow(COVARIATES, [null, 'West', true])).toBeNull();
    expect(designRow(COVARIATES, [30, undefined, true])).toBeNull();
    expect(designRow(COVARIATES, [Number.NaN, 'West', true])).toBeNull();
  });

  it('refuses a factor value that is not a level, naming the column but not the value', () => {
    expect(() => designRow(COVARIATES, [30, 'East', true])).toThrowFedlabError(
      'INVALID_ARGUMENT',
      "column 'region' has a value that is not one of its 3 levels",
    );
  });

  it('refuses a numeric value that is not a finite number or boolean', () => {
    expect(() => designRow(COVARIATES, ['thirty', 'West', true])).toThrowFedlabError(
      'INVALID_ARGUMENT',
      "column 'age' has a value that is not a finite number",
    );
    expect(() => designRow(COVARIATES, [Infinity, 'West', true])).toThrowFedlabError(
      'INVALID_ARGUMENT',
      "column 'age' has a value that is not a finite number",
    );
  });

  it('refuses a row with the wrong number of values', () => {
    expect(() => designRow(COVARIATES, [30, 'West'])).toThrowFedlabError('INVALID_ARGUMENT', 'a model row has 2 values for 3 covariates');
  });
});
