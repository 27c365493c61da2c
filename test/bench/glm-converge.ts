import {
  buildDesign,
  designRow,
  GlmFitter,
  localContribution,
  privateGlmPlan,
  type Covariate,
  type GlmFamily,
  type LocalRows,
  type PrivateCovariate,
} from '@fedlab/glm';
import reference from '../../libs/domain/glm/src/fixtures/glm-reference.json';
import { fitPrivately } from './glm-dp';
import { integerOption } from './options';

/**
 * The pooled model of test/integration/pooled-query.test.ts, in process: R's reference rows
 * (libs/domain/glm/src/fixtures/glm-reference.json, scripts/glm-reference.R) split over three nodes
 * row by row, the same schema bounds, ρ per fit and minimum count, noise shares for the 2 honest
 * nodes of a 3-node session. No network: the round vectors are privateRoundVector's, which the
 * engines' SQL equals entry for entry (test/integration/private-round-sums.test.ts). Also used by
 * test/integration/private-glm-convergence.test.ts.
 */
export const FIXTURE_COVARIATES: PrivateCovariate[] = [
  { name: 'age', kind: 'numeric', bounds: [18, 80], binary: false },
  { name: 'region', kind: 'factor', levels: ['North', 'South', 'West'] },
  { name: 'smoker', kind: 'numeric', bounds: [0, 1], binary: true, binaryLabels: ['false', 'true'] },
];
export const FIXTURE_RESPONSES: Record<GlmFamily, { column: string; bounds: [number, number] | undefined }> = {
  gaussian: { column: 'score', bounds: [0, 100] },
  binomial: { column: 'readmitted', bounds: undefined },
  poisson: { column: 'visits', bounds: [0, 20] },
};
const NODES = 3;
const HONEST = 2;
const MIN_PERSONS = 12;

/** The fixture's complete rows for `family`'s response, node i mod 3 holding row i. */
export function fixtureNodes(family: GlmFamily): LocalRows[] {
  const covariates = reference.covariates as Covariate[];
  const responseAt = reference.columns.indexOf(FIXTURE_RESPONSES[family].column);
  const at = covariates.map((c) => reference.columns.indexOf(c.name));
  const parts = Array.from({ length: NODES }, () => ({ x: [] as number[], y: [] as number[] }));
  (reference.rows as Array<Array<string | number | boolean | null>>).forEach((values, i) => {
    const row = designRow(
      covariates,
      at.map((k) => values[k]!),
    );
    if (row === null || values[responseAt] === null) return;
    parts[i % NODES]!.x.push(...row);
    parts[i % NODES]!.y.push(Number(values[responseAt]));
  });
  const p = buildDesign(covariates).names.length;
  return parts.map((part) => ({ x: Float64Array.from(part.x), y: Float64Array.from(part.y), p }));
}

/** The coefficients of the exact pooled fit of `nodes` (no noise). */
function exactFit(family: GlmFamily, nodes: LocalRows[]): Array<{ name: string; estimate: number }> {
  const fitter = new GlmFitter({ family, names: buildDesign(reference.covariates as Covariate[]).names });
  for (let request = fitter.next(); request !== null; request = fitter.next()) {
    const { beta, nullMean } = request;
    fitter.accept(nodes.map((rows) => localContribution(family, rows, beta, nullMean)).reduce((a, b) => a.map((v, i) => v + b[i]!)));
  }
  return fitter.result().coefficients;
}

/**
 * `npm run bench -- glm-converge [--fits=400] [--rho=100]`: that many private fits per family of the
 * pooled test model; reports how many ended unconverged or were refused, how often R's coefficient on
 * the union lies within the fit's 95 % interval and within ±1.96 of its stated noise SD (the noise is
 * the only difference between the two, so about 95 %), the largest and the root-mean-square distance
 * from R in stated noise SDs, and the mean stated noise SD per coefficient.
 *
 * `--scale=K` (K ≠ 1) fits only poisson, with every count and the response's bound times K (mean
 * about 2.3·K): a response far from the fit's start. The reference is then the exact pooled fit
 * (GlmFitter, which matches R's glm to 1e-6 — glm-fitter.test.ts) of the scaled counts.
 */
export async function glmConverge(args: string[]): Promise<void> {
  const fits = integerOption(args, 'fits', 400);
  const rho = Number(args.find((a) => a.startsWith('--rho='))?.slice(6) ?? 100);
  const scale = integerOption(args, 'scale', 1);
  const against = scale === 1 ? 'R' : 'exact';
  console.log(
    `glm-converge: ${fits} private fits per family of the pooled test model (588 rows over ${NODES} nodes), ρ = ${rho} per fit` +
      (scale === 1 ? '' : `, poisson counts times ${scale}`),
  );
  console.log(`  command: npm run bench -- glm-converge --fits=${fits} --rho=${rho}${scale === 1 ? '' : ` --scale=${scale}`}`);
  for (const family of scale === 1 ? (['poisson', 'binomial', 'gaussian'] as const) : (['poisson'] as const)) {
    const nodes = fixtureNodes(family).map((rows) => ({ ...rows, y: rows.y.map((v) => scale * v) }));
    const expected = scale === 1 ? reference.models[family].coefficients : exactFit(family, nodes);
    const bounds = FIXTURE_RESPONSES[family].bounds;
    const plan = privateGlmPlan({
      family,
      response: FIXTURE_RESPONSES[family].column,
      responseBounds: bounds && [bounds[0], scale * bounds[1]],
      covariates: FIXTURE_COVARIATES,
      rho,
      maxRecordsPerPerson: 1,
    });
    const refusals = new Map<string, number>();
    const noiseSd = new Array<number>(expected.length).fill(0);
    let released = 0;
    let unconverged = 0;
    let inCi = 0;
    let inNoise = 0;
    let total = 0;
    let worst = 0;
    let squares = 0;
    for (let i = 0; i < fits; i++) {
      let fit;
      try {
        fit = fitPrivately(plan, nodes, HONEST, MIN_PERSONS);
      } catch (error) {
        const code = (error as { code?: string }).code ?? String(error);
        refusals.set(code, (refusals.get(code) ?? 0) + 1);
        continue;
      }
      released += 1;
      if (!fit.converged) unconverged += 1;
      fit.coefficients.forEach((c, j) => {
        const r = expected[j]!.estimate;
        const z = (c.estimate - r) / c.noiseSd;
        total += 1;
        noiseSd[j]! += c.noiseSd;
        if (r >= c.ciLower && r <= c.ciUpper) inCi += 1;
        if (Math.abs(z) <= 1.959963984540054) inNoise += 1;
        worst = Math.max(worst, Math.abs(z));
        squares += z * z;
      });
    }
    const percent = (k: number, n: number) => `${k}/${n} (${((100 * k) / Math.max(1, n)).toFixed(1)} %)`;
    console.log(
      `  ${family}: released ${released}/${fits}${refusals.size ? ` (refused: ${[...refusals].map(([code, n]) => `${code} ${n}`).join(', ')})` : ''}; ` +
        `unconverged ${percent(unconverged, released)}; ${against} within the 95 % CI ${percent(inCi, total)}, within ±1.96 noise SD ${percent(inNoise, total)}; ` +
        `|estimate − ${against}| / noise SD: largest ${worst.toFixed(1)}, rms ${Math.sqrt(squares / Math.max(1, total)).toFixed(2)}; ` +
        `mean noise SD ${expected.map((c, j) => `${c.name} ${(noiseSd[j]! / Math.max(1, released)).toPrecision(3)}`).join(', ')}`,
    );
  }
}
