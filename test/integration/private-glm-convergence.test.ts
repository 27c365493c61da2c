import { describe, expect, it } from 'vitest';
import { privateGlmPlan } from '@fedlab/glm';
import reference from '../../libs/domain/glm/src/fixtures/glm-reference.json';
import { fitPrivately } from '../bench/glm-dp';
import { fixtureNodes, FIXTURE_COVARIATES, FIXTURE_RESPONSES } from '../bench/glm-converge';

/*
 * The pooled model of pooled-query.test.ts ("a pooled … regression agrees with R glm()"), fitted 40
 * times in process as its nodes and coordinator fit it (same rows per node, bounds, ρ, minimum count and
 * noise shares; no network): every fit must converge, and R's coefficients on the union must lie within
 * the fits' stated noise at about its coverage. Before the schedule of docs/privacy.md "Models", about
 * 1 poisson fit in 20 ended unconverged, up to 171 stated noise SDs from R (`npm run bench -- glm-converge`).
 */
const FITS = 40;
const Z95 = 1.959963984540054;

describe('private pooled GLMs of the R reference data converge, within their stated noise of R', () => {
  it.each(['poisson', 'binomial'] as const)(`%s: ${FITS} fits at ρ = 100`, (family) => {
    const nodes = fixtureNodes(family);
    const plan = privateGlmPlan({
      family,
      response: FIXTURE_RESPONSES[family].column,
      responseBounds: FIXTURE_RESPONSES[family].bounds,
      covariates: FIXTURE_COVARIATES,
      rho: 100,
      maxRecordsPerPerson: 1,
    });
    const expected = reference.models[family].coefficients;
    let within = 0;
    let total = 0;
    for (let i = 0; i < FITS; i++) {
      const fit = fitPrivately(plan, nodes, 2, 12);
      expect(fit.converged, `fit ${i}`).toBe(true);
      fit.coefficients.forEach((c, j) => {
        const distance = Math.abs(c.estimate - expected[j]!.estimate);
        // Measured over 2,000 fits of each family: at most 4.2 stated noise SDs.
        expect(distance, `fit ${i}: ${c.name}`).toBeLessThan(5 * c.noiseSd);
        total += 1;
        if (distance <= Z95 * c.noiseSd) within += 1;
      });
    }
    // About 95 % of the 200 coefficients (measured 94.5–95.6 %); 88 % is about 4.5 binomial SDs below that.
    expect(within / total).toBeGreaterThan(0.88);
  });
});
