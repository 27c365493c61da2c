import { describe, expect, it } from 'vitest';
import { FedlabError } from '@fedlab/model';
import { MODEL_RESPONSE_BOUNDS, modelRows } from '@fedlab/synth';
import { createCryptoRandomSource, discreteGaussianSampler, distributedGaussianShare, rationalToNumber } from '@fedlab/dp';
import { localContribution, type LocalRows } from './glm-contribution';
import { buildDesign } from './glm-design';
import type { GlmFamily } from './glm-family';
import { GlmFitter, type GlmResult } from './glm-fitter';
import {
  checkPrivateRange,
  PRIVATE_GLM_AVERAGED,
  PRIVATE_GLM_ROUNDS,
  PrivateGlmFitter,
  privateGlmPlan,
  privateRoundLength,
  privateRoundRho,
  privateRoundSensitivitySquared,
  privateRoundVector,
  type PrivateCovariate,
  type PrivateGlmPlan,
  type PrivateGlmResult,
} from './private-glm';

const COVARIATES: PrivateCovariate[] = [
  { name: 'birth_year', kind: 'numeric', bounds: [1950, 2009], binary: false },
  { name: 'amount', kind: 'numeric', bounds: [0, 50_000], binary: false },
  { name: 'region', kind: 'factor', levels: ['North', 'South', 'West'] },
  { name: 'smoker', kind: 'numeric', bounds: [0, 1], binary: true, binaryLabels: ['false', 'true'] },
];
const RESPONSE_BOUNDS: Record<GlmFamily, [number, number] | undefined> = { ...MODEL_RESPONSE_BOUNDS, binomial: undefined };

/** Raw rows with birth years and dollar amounts (the units that overflowed the old encoding), split over `nodes` nodes. */
function synthetic(family: GlmFamily, rowsPerNode: number, nodes: number, seed: number): LocalRows[] {
  return modelRows(family, rowsPerNode, nodes, seed);
}

function planFor(family: GlmFamily, rho: number): PrivateGlmPlan {
  return privateGlmPlan({ family, response: 'y', responseBounds: RESPONSE_BOUNDS[family], covariates: COVARIATES, rho, maxRecordsPerPerson: 1 });
}

/** Runs a private fit as the nodes and coordinator do: every node adds its share of N_Z noise for `honest` honest nodes. */
function fitPrivately(plan: PrivateGlmPlan, nodes: LocalRows[], honest: number, minPersons = 10): PrivateGlmResult {
  const random = createCryptoRandomSource();
  const fitter = new PrivateGlmFitter({ plan, minPersons });
  for (let request = fitter.next(); request !== null; request = fitter.next()) {
    const { round } = request;
    const share = distributedGaussianShare(privateRoundSensitivitySquared(plan, round), privateRoundRho(plan, round), honest, privateRoundLength(plan, round));
    const sample = discreteGaussianSampler(share);
    const sum = nodes.map((rows) => privateRoundVector(plan, rows, round, request.beta).map((v) => v + Number(sample(random))));
    fitter.accept(
      sum.reduce((a, b) => a.map((v, i) => v + b[i]!)),
      nodes.length * rationalToNumber(share),
    );
  }
  return fitter.result();
}

/** The exact pooled fit (the fitter that matches R's glm to 1e-6). */
function fitExactly(family: GlmFamily, nodes: LocalRows[]): GlmResult {
  const names = buildDesign([
    { name: 'birth_year', kind: 'numeric' },
    { name: 'amount', kind: 'numeric' },
    { name: 'region', kind: 'factor', levels: ['North', 'South', 'West'] },
    { name: 'smoker', kind: 'numeric' },
  ]).names;
  const fitter = new GlmFitter({ family, names });
  for (let request = fitter.next(); request !== null; request = fitter.next()) {
    const parts = nodes.map((rows) => localContribution(family, rows, request.beta, request.nullMean));
    fitter.accept(parts.reduce((a, b) => a.map((v, i) => v + b[i]!)));
  }
  return fitter.result();
}

describe('private GLM fits on raw covariates (birth years, dollar amounts)', () => {
  it.each(['gaussian', 'binomial', 'poisson'] as const)('a %s fit with negligible noise equals the exact fit, in the columns\u2019 own units', (family) => {
    const nodes = synthetic(family, 4000, 3, 11);
    const exact = fitExactly(family, nodes);
    const result = fitPrivately(planFor(family, 1e9), nodes, 2);
    expect(result.coefficients.map((c) => c.name)).toEqual(['(Intercept)', 'birth_year', 'amount', 'regionSouth', 'regionWest', 'smoker']);
    result.coefficients.forEach((c, j) => {
      const e = exact.coefficients[j]!;
      expect(Math.abs(c.estimate - e.estimate), `${c.name} estimate`).toBeLessThan(5e-3 * e.stdError);
      expect(c.stdError / e.stdError, `${c.name} standard error`).toBeCloseTo(1, 3);
    });
    expect(result.rows).toBe(12_000);
    expect(result.converged).toBe(true);
    if (family === 'gaussian') expect(result.deviance / exact.deviance).toBeCloseTo(1, 4);
    else expect([result.deviance, result.aic]).toEqual([Number.NaN, Number.NaN]);
  });

  it.each(['binomial', 'poisson'] as const)('a %s fit of exact sums (no noise at all) equals the exact fit', (family) => {
    const nodes = synthetic(family, 2000, 3, 17);
    const exact = fitExactly(family, nodes);
    const plan = planFor(family, 1);
    const fitter = new PrivateGlmFitter({ plan, minPersons: 10 });
    for (let request = fitter.next(); request !== null; request = fitter.next()) {
      const { round, beta } = request;
      fitter.accept(
        nodes.map((rows) => privateRoundVector(plan, rows, round, beta)).reduce((a, b) => a.map((v, i) => v + b[i]!)),
        0,
      );
    }
    const result = fitter.result();
    expect(result.converged).toBe(true);
    result.coefficients.forEach((c, j) => {
      expect(c.noiseSd).toBe(0);
      expect(Math.abs(c.estimate - exact.coefficients[j]!.estimate), c.name).toBeLessThan(1e-3 * exact.coefficients[j]!.stdError);
    });
  });

  it.each(['gaussian', 'binomial'] as const)('a %s fit at ρ = 1 lands within its stated intervals of the exact fit, at their coverage', (family) => {
    const nodes = synthetic(family, 20_000, 3, 29);
    const exact = fitExactly(family, nodes);
    let within = 0;
    let total = 0;
    for (let run = 0; run < 10; run++) {
      const result = fitPrivately(planFor(family, 1), nodes, 2);
      result.coefficients.forEach((c, j) => {
        total += 1;
        if (Math.abs(c.estimate - exact.coefficients[j]!.estimate) <= 1.959963984540054 * c.noiseSd) within += 1;
      });
      expect(result.notes[1]).toMatch(
        /^the standard errors, tests and intervals include the noise: it accounts for \d+ % to \d+ % of each coefficient's standard error/,
      );
    }
    // The noise intervals alone should cover about 95 % of the 60 coefficients; far fewer means the stated noise is too small.
    expect(within / total).toBeGreaterThan(0.8);
  });

  it.each(['gaussian', 'binomial', 'poisson'] as const)(
    'a %s fit spends exactly its ρ over its rounds, three quarters of it on the averaged last ones',
    (family) => {
      for (const rho of [0.1, 1, 3, 100]) {
        const plan = planFor(family, rho);
        const rounds = Array.from({ length: plan.rounds }, (_, i) => privateRoundRho(plan, i + 1));
        expect(rounds).toHaveLength(PRIVATE_GLM_ROUNDS[family]);
        const total = rounds.reduce((a, b) => a + b, 0);
        expect(total).toBeLessThanOrEqual(rho);
        expect(total).toBeGreaterThan(rho * (1 - 1e-9));
        if (family === 'gaussian') continue;
        const averaged = PRIVATE_GLM_AVERAGED[family];
        const approach = plan.rounds - averaged;
        rounds.forEach((r, i) => expect(r / rho).toBeCloseTo(i < approach ? 0.25 / approach : 0.75 / averaged, 12));
      }
    },
  );

  it('a poisson fit whose mean response is far from 1 starts at its log and converges within its stated noise of the exact fit', () => {
    // Counts 50 times those of the synthetic rows (mean about 150): from β = 0 the fit took more rounds than it has.
    const nodes = synthetic('poisson', 2000, 3, 13).map((rows) => ({ ...rows, y: rows.y.map((v) => 50 * v) }));
    const exact = fitExactly('poisson', nodes);
    const plan = privateGlmPlan({ family: 'poisson', response: 'y', responseBounds: [0, 5000], covariates: COVARIATES, rho: 1e6, maxRecordsPerPerson: 1 });
    for (let run = 0; run < 5; run++) {
      const result = fitPrivately(plan, nodes, 2);
      expect(result.converged, `run ${run}`).toBe(true);
      result.coefficients.forEach((c, j) =>
        expect(Math.abs(c.estimate - exact.coefficients[j]!.estimate), `run ${run}: ${c.name}`).toBeLessThan(5 * c.noiseSd),
      );
    }
  });

  it('says a fit may not have converged when its averaged rounds disagree by more than their noise', () => {
    const plan = planFor('poisson', 1);
    const nodes = synthetic('poisson', 2000, 3, 7);
    const factor = 2 ** plan.scaleBits;
    const fit = (shift: number) => {
      const fitter = new PrivateGlmFitter({ plan, minPersons: 10 });
      for (let request = fitter.next(); request !== null; request = fitter.next()) {
        const { round } = request;
        const sum = nodes.map((rows) => privateRoundVector(plan, rows, round, request.beta)).reduce((a, b) => a.map((v, i) => v + b[i]!));
        // Sums as if nearly noiseless (noise SD 10⁻³ per entry), except that the averaged rounds' scores are pushed
        // alternately up and down on the intercept: each of those rounds then lands somewhere else.
        if (round > plan.rounds - plan.averaged) sum[1]! += (round % 2 === 0 ? 1 : -1) * shift * factor;
        fitter.accept(sum, (1e-3 * factor) ** 2);
      }
      return fitter.result();
    };
    expect(fit(0).converged).toBe(true);
    const result = fit(500);
    expect(result.converged).toBe(false);
    expect(result.notes).toContain(
      "the rounds' estimates still differ by more than their noise: the fit may not have converged in 8 rounds, and its estimates may be further from the optimum than their stated noise",
    );
  });

  it('refuses a model whose factor level has fewer pooled rows than the minimum, naming the level', () => {
    const nodes = synthetic('binomial', 2000, 2, 5);
    // Make "West" rare: 3 rows in all.
    let west = 0;
    for (const rows of nodes) {
      for (let r = 0; r < rows.y.length; r++) {
        if (rows.x[r * 6 + 4] === 1 && (west += 1) > 3) rows.x[r * 6 + 4] = 0;
      }
    }
    expect(() => fitPrivately(planFor('binomial', 1e6), nodes, 1)).toThrow(
      new FedlabError(
        'MODEL_NOT_RELEASABLE',
        'the model\'s level "region = West" has fewer than 10 pooled rows (noisy count); merge or drop it, or narrow the model',
        { minPersons: 10 },
      ),
    );
  });

  it('refuses a poisson model whose response bounds overflow the widest encoding, before anything is summed', () => {
    const plan = privateGlmPlan({ family: 'poisson', response: 'visits', responseBounds: [0, 1e9], covariates: COVARIATES, rho: 1, maxRecordsPerPerson: 1 });
    expect(() => checkPrivateRange(plan, 40_000, 3, 'visits')).toThrow(
      new FedlabError(
        'RANGE_EXCEEDED',
        "the model's pooled sums could exceed ±2^55, the widest range secure aggregation adds exactly: a row may add up to 2^50 to a sum (from the bounds of the response 'visits', [0, 1000000000]) " +
          "over up to 65536 rows at each of 3 nodes; declare narrower bounds for 'visits'",
      ),
    );
    expect(() => checkPrivateRange(planFor('poisson', 1), 1_000_000, 5, 'visits')).not.toThrow();
  });

  it('refuses a plan without a valid number of averaged rounds, as from a node of an older version', () => {
    const { averaged: _, ...older } = planFor('poisson', 1);
    expect(() => new PrivateGlmFitter({ plan: older as PrivateGlmPlan, minPersons: 10 })).toThrowFedlabError(
      'POOLED_MISMATCH',
      'the model plan averages undefined of its 8 rounds; the nodes run a different version of the fit',
    );
    expect(() => new PrivateGlmFitter({ plan: { ...planFor('binomial', 1), averaged: 6 }, minPersons: 10 })).toThrowFedlabError(
      'POOLED_MISMATCH',
      'the model plan averages 6 of its 5 rounds; the nodes run a different version of the fit',
    );
  });

  it('needs declared bounds on a gaussian or poisson response', () => {
    expect(() =>
      privateGlmPlan({ family: 'gaussian', response: 'score', responseBounds: undefined, covariates: COVARIATES, rho: 1, maxRecordsPerPerson: 1 }),
    ).toThrow(new FedlabError('BOUNDS_MISSING', "a gaussian model needs public bounds on its response 'score', declared in the dataset schema"));
  });
});
