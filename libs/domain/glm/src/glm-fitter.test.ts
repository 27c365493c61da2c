import { describe, expect, it } from 'vitest';
import fixture from './fixtures/glm-reference.json';
import { CONTRIBUTION_LAYOUT, localContribution, type LocalRows } from './glm-contribution';
import { buildDesign, designRow, type Covariate } from './glm-design';
import type { GlmFamily } from './glm-family';
import { GlmFitter, type GlmFitOptions, type GlmResult, type GlmRoundRequest } from './glm-fitter';

/** The shape of libs/domain/glm/src/fixtures/glm-reference.json, written by scripts/glm-reference.R. */
interface Reference {
  covariates: Covariate[];
  columns: string[];
  rows: (number | string | boolean | null)[][];
  models: Record<GlmFamily, GlmResult & { response: string }>;
  binomialOneIteration: { names: string[]; estimates: number[]; deviance: number; iterations: number; converged: boolean };
}
const reference = fixture as unknown as Reference;
const FAMILIES: GlmFamily[] = ['gaussian', 'binomial', 'poisson'];

/** The fixture's complete rows as model matrix rows and responses, in file order. */
function referenceRows(response: string, covariates = reference.covariates): { x: number[][]; y: number[] } {
  const responseIndex = reference.columns.indexOf(response);
  const covariateIndices = covariates.map((covariate) => reference.columns.indexOf(covariate.name));
  const x: number[][] = [];
  const y: number[] = [];
  for (const values of reference.rows) {
    const row = designRow(
      covariates,
      covariateIndices.map((index) => values[index]),
    );
    if (row === null) continue;
    x.push(row);
    y.push(values[responseIndex] as number);
  }
  return { x, y };
}

/** Consecutive slices of the rows, one per node, cut at the given row indices. */
function splitAt(data: { x: number[][]; y: number[] }, cuts: number[]): LocalRows[] {
  const bounds = [0, ...cuts, data.y.length];
  return bounds.slice(1).map((end, i) => ({
    y: Float64Array.from(data.y.slice(bounds[i], end)),
    x: Float64Array.from(data.x.slice(bounds[i], end).flat()),
    p: data.x[0].length,
  }));
}

function sumOf(vectors: Float64Array[]): Float64Array {
  const total = new Float64Array(vectors[0].length);
  for (const vector of vectors) vector.forEach((value, i) => (total[i] += value));
  return total;
}

/** Drives the fitter as the coordinator does, summing the nodes' contributions in every round. */
function fitPooled(family: GlmFamily, nodes: LocalRows[], options: Partial<GlmFitOptions> = {}): GlmResult {
  const fitter = new GlmFitter({ family, names: buildDesign(reference.covariates).names, ...options });
  for (let request = fitter.next(); request !== null; request = fitter.next()) {
    const { beta, nullMean } = request;
    fitter.accept(sumOf(nodes.map((rows) => localContribution(family, rows, beta, nullMean))));
  }
  return fitter.result();
}

/** Every number that differs by more than `relative` × max(|expected|, 1e-12), as readable lines. */
function numericMismatches(actual: GlmResult, expected: GlmResult, relative: number): string[] {
  const out: string[] = [];
  const check = (what: string, a: number, b: number): void => {
    if (!(Math.abs(a - b) <= relative * Math.max(Math.abs(b), 1e-12))) out.push(`${what}: ${a} vs ${b}`);
  };
  for (const key of ['deviance', 'nullDeviance', 'dispersion', 'aic'] as const) check(key, actual[key], expected[key]);
  expected.coefficients.forEach((coefficient, j) => {
    for (const key of ['estimate', 'stdError', 'statistic', 'pValue', 'ciLower', 'ciUpper'] as const) {
      check(`${coefficient.name}.${key}`, actual.coefficients[j][key], coefficient[key]);
    }
  });
  return out;
}

/** Everything in a result that must agree exactly. */
function exactParts(result: GlmResult) {
  const { family, link, statisticName, dfResidual, dfNull, iterations, converged, rows } = result;
  return { family, link, statisticName, dfResidual, dfNull, iterations, converged, rows, names: result.coefficients.map((c) => c.name) };
}

describe("GlmFitter reproduces R's glm() on the reference data", () => {
  it.each(FAMILIES)('%s over 3 nodes: every reported number agrees with R to 1e-6 relative', (family) => {
    const expected = reference.models[family];
    const nodes = splitAt(referenceRows(expected.response), [200, 400]);
    const result = fitPooled(family, nodes);
    expect(exactParts(result)).toEqual(exactParts(expected));
    expect(numericMismatches(result, expected, 1e-6)).toEqual([]);
  });

  it('counts iterations as R does: 2 for gaussian, 4 for binomial and 5 for poisson at tolerance 1e-10', () => {
    const iterations = FAMILIES.map((family) => fitPooled(family, splitAt(referenceRows(reference.models[family].response), [300])).iterations);
    expect(iterations).toEqual([2, 4, 5]);
  });

  it('drops the 12 rows with a missing covariate, as na.omit does, leaving 588', () => {
    expect(referenceRows('score').y).toHaveLength(588);
  });

  it.each(FAMILIES)('%s: splitting the rows over 3 nodes gives the single-node fit to rounding (1e-10)', (family) => {
    const data = referenceRows(reference.models[family].response);
    const pooled = fitPooled(family, splitAt(data, [150, 420]));
    const single = fitPooled(family, splitAt(data, []));
    expect(exactParts(pooled)).toEqual(exactParts(single));
    expect(numericMismatches(pooled, single, 1e-10)).toEqual([]);
  });

  it("stops after one iteration without converging when maxIterations is 1, at R's one-step logistic estimates", () => {
    const expected = reference.binomialOneIteration;
    const result = fitPooled('binomial', splitAt(referenceRows('readmitted'), [200, 400]), { maxIterations: 1 });
    expect([result.iterations, result.converged]).toEqual([expected.iterations, expected.converged]);
    expect([result.iterations, result.converged]).toEqual([1, false]);
    result.coefficients.forEach((coefficient, j) => {
      expect(coefficient.name).toBe(expected.names[j]);
      expect(Math.abs(coefficient.estimate - expected.estimates[j])).toBeLessThanOrEqual(1e-6 * Math.abs(expected.estimates[j]));
    });
    expect(Math.abs(result.deviance - expected.deviance)).toBeLessThanOrEqual(1e-6 * expected.deviance);
  });
});

describe('GlmFitter disclosure rules and refusals', () => {
  const names = buildDesign(reference.covariates).names;

  it('refuses a pooled model with fewer than 10 residual degrees of freedom', () => {
    const [rows] = splitAt(referenceRows('score'), [14]);
    const fitter = new GlmFitter({ family: 'gaussian', names });
    expect(() => fitter.accept(localContribution('gaussian', rows, null, null))).toThrowFedlabError(
      'MODEL_NOT_RELEASABLE',
      'the model has fewer than 10 residual degrees of freedom (pooled rows minus 5 parameters)',
    );
    expect(fitter.next()).toBeNull();
  });

  it('accepts exactly 10 residual degrees of freedom', () => {
    const [rows] = splitAt(referenceRows('score'), [15]);
    const fitter = new GlmFitter({ family: 'gaussian', names });
    fitter.accept(localContribution('gaussian', rows, null, null));
    expect(fitter.next()?.nullMean).toBeCloseTo(rows.y.reduce((a, b) => a + b, 0) / 15, 12);
  });

  it('refuses a duplicated covariate with MODEL_SINGULAR naming the collinear column', () => {
    const covariates: Covariate[] = [...reference.covariates, { name: 'ageAgain', kind: 'numeric' }];
    const data = referenceRows('score');
    const x = data.x.map((row) => [...row, row[1]]);
    const [rows] = splitAt({ x, y: data.y }, []);
    const fitter = new GlmFitter({ family: 'gaussian', names: buildDesign(covariates).names });
    expect(() => fitter.accept(localContribution('gaussian', rows, null, null))).toThrowFedlabError(
      'MODEL_SINGULAR',
      "the model matrix is singular: column 'ageAgain' is constant or collinear with the columns before it",
    );
    expect(fitter.next()).toBeNull();
  });

  it('refuses a factor level without rows (where R would report an NA coefficient) with MODEL_SINGULAR', () => {
    const covariates: Covariate[] = [{ name: 'region', kind: 'factor', levels: ['North', 'South', 'West', 'East'] }];
    const data = referenceRows('score', [{ name: 'region', kind: 'factor', levels: ['North', 'South', 'West'] }]);
    const x = data.x.map((row) => [...row, 0]);
    const [rows] = splitAt({ x, y: data.y }, []);
    const fitter = new GlmFitter({ family: 'gaussian', names: buildDesign(covariates).names });
    expect(() => fitter.accept(localContribution('gaussian', rows, null, null))).toThrowFedlabError(
      'MODEL_SINGULAR',
      "the model matrix is singular: column 'regionEast' is constant or collinear with the columns before it",
    );
  });

  it('refuses a pooled row count that changes between rounds (a node dropped out)', () => {
    const nodes = splitAt(referenceRows('readmitted'), [200, 400]);
    const fitter = new GlmFitter({ family: 'binomial', names });
    const first = fitter.next();
    fitter.accept(sumOf(nodes.map((rows) => localContribution('binomial', rows, first?.beta ?? null, null))));
    const second = fitter.next();
    expect(() =>
      fitter.accept(sumOf(nodes.slice(1).map((rows) => localContribution('binomial', rows, second?.beta ?? null, second?.nullMean ?? null)))),
    ).toThrowFedlabError('POOLED_MISMATCH', 'the pooled row count changed between model iterations (a node dropped out or changed its rows)');
  });
});

describe('GlmFitter state machine', () => {
  const names = buildDesign(reference.covariates).names;
  const [rows] = splitAt(referenceRows('visits'), []);
  const contribution = (request: GlmRoundRequest) => localContribution('poisson', rows, request.beta, request.nullMean);

  it('asks first for the starting round, then for the solved coefficients with the pooled mean', () => {
    const fitter = new GlmFitter({ family: 'poisson', names });
    expect(fitter.next()).toEqual({ beta: null, nullMean: null });
    expect(fitter.next()).toEqual({ beta: null, nullMean: null });
    fitter.accept(contribution({ beta: null, nullMean: null }));
    const request = fitter.next();
    expect(request?.beta).toHaveLength(5);
    expect(request?.nullMean).toBe(rows.y.reduce((a, b) => a + b, 0) / rows.y.length);
  });

  it("halves the step towards the previous coefficients when some row's mean is not finite, as R does", () => {
    const fitter = new GlmFitter({ family: 'poisson', names });
    fitter.accept(contribution({ beta: null, nullMean: null }));
    const first = fitter.next() as GlmRoundRequest;
    fitter.accept(contribution(first));
    const second = fitter.next() as GlmRoundRequest;
    const [beta1, beta2] = [first.beta as number[], second.beta as number[]];
    const diverged = contribution(second);
    diverged[CONTRIBUTION_LAYOUT.invalidRows] = 1;
    fitter.accept(diverged);
    expect(fitter.next()?.beta).toEqual(beta2.map((value, j) => (value + beta1[j]) / 2));
    for (let request = fitter.next(); request !== null; request = fitter.next()) fitter.accept(contribution(request));
    const result = fitter.result();
    expect(result.converged).toBe(true);
    expect(Math.abs(result.deviance - reference.models.poisson.deviance)).toBeLessThanOrEqual(1e-9 * reference.models.poisson.deviance);
  });

  it('gives up with MODEL_SINGULAR when the first step already diverges', () => {
    const fitter = new GlmFitter({ family: 'poisson', names });
    fitter.accept(contribution({ beta: null, nullMean: null }));
    const diverged = contribution(fitter.next() as GlmRoundRequest);
    diverged[CONTRIBUTION_LAYOUT.invalidRows] = 3;
    expect(() => fitter.accept(diverged)).toThrowFedlabError(
      'MODEL_SINGULAR',
      'the model fit diverged: the first step diverged and no earlier coefficients are valid',
    );
  });

  it('returns null from next() once finished, and refuses a further sum or an early result()', () => {
    const fitter = new GlmFitter({ family: 'poisson', names });
    expect(() => fitter.result()).toThrowFedlabError('INTERNAL', 'the model fit has not finished');
    for (let request = fitter.next(); request !== null; request = fitter.next()) fitter.accept(contribution(request));
    expect(fitter.next()).toBeNull();
    expect(() => fitter.accept(contribution({ beta: null, nullMean: null }))).toThrowFedlabError(
      'INTERNAL',
      'the model fit has ended; no round is outstanding',
    );
  });

  it('refuses a summed vector of the wrong length', () => {
    const fitter = new GlmFitter({ family: 'poisson', names });
    expect(() => fitter.accept(new Float64Array(10))).toThrowFedlabError('INTERNAL', 'the summed contribution has 10 entries, not 26');
  });

  it('refuses options that do not describe a model', () => {
    expect(() => new GlmFitter({ family: 'poisson', names: ['age'] })).toThrowFedlabError(
      'INVALID_QUERY',
      "a pooled model needs '(Intercept)' as its first column",
    );
    expect(() => new GlmFitter({ family: 'poisson', names, maxIterations: 0 })).toThrowFedlabError('INVALID_QUERY', 'maxIterations must be a positive integer');
    expect(() => new GlmFitter({ family: 'gamma' as GlmFamily, names })).toThrowFedlabError(
      'INVALID_QUERY',
      'the model family must be gaussian, binomial or poisson',
    );
  });
});
