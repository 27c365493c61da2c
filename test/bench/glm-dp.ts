import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCryptoRandomSource, discreteGaussianSampler, distributedGaussianShare, rationalToNumber } from '@fedlab/dp';
import {
  checkPrivateRange,
  PrivateGlmFitter,
  privateGlmPlan,
  privateRoundLength,
  privateRoundRho,
  privateRoundSensitivitySquared,
  privateRoundVector,
  type LocalRows,
  type PrivateCovariate,
  type PrivateGlmPlan,
  type PrivateGlmResult,
} from '@fedlab/glm';
import { MODEL_COVARIATES, MODEL_RESPONSE_BOUNDS, modelRows, type ModelFamily, type ModelRows } from '@fedlab/synth';
import { integerOption } from './options';

/** The synthetic model rows' covariates as a private plan declares them (also used by the secagg bench). */
export const COVARIATES: PrivateCovariate[] = MODEL_COVARIATES.map((c) =>
  'levels' in c
    ? { name: c.name, kind: 'factor', levels: [...c.levels] }
    : { name: c.name, kind: 'numeric', bounds: [c.bounds[0], c.bounds[1]], binary: c.bounds[0] === 0 && c.bounds[1] === 1 },
);

/**
 * One private fit as the nodes and the coordinator run it (libs/domain/glm private-glm.ts, the calls
 * pooled-contribution.ts and pooled-runner.ts make): every node computes its integer round vector and
 * adds its share of N_Z noise sized for `honest` honest nodes, the sums are added (what secure
 * aggregation returns) and the fitter takes its step. Also used by the glm-converge bench.
 */
export function fitPrivately(plan: PrivateGlmPlan, nodes: LocalRows[], honest: number, minPersons = 10): PrivateGlmResult {
  const random = createCryptoRandomSource();
  const fitter = new PrivateGlmFitter({ plan, minPersons });
  for (let request = fitter.next(); request !== null; request = fitter.next()) {
    const { round } = request;
    const share = distributedGaussianShare(privateRoundSensitivitySquared(plan, round), privateRoundRho(plan, round), honest, privateRoundLength(plan, round));
    const sample = discreteGaussianSampler(share);
    const sum = new Array<number>(privateRoundLength(plan, round)).fill(0);
    for (const rows of nodes) privateRoundVector(plan, rows, round, request.beta).forEach((v, i) => (sum[i]! += v + Number(sample(random))));
    fitter.accept(sum, nodes.length * rationalToNumber(share));
  }
  return fitter.result();
}

/** A private fit of the synthetic rows (raw birth years and dollar amounts) at ρ = `rho`. */
function fitSynthetic(family: ModelFamily, nodes: ModelRows[], rho: number, honest: number): PrivateGlmResult {
  const plan = privateGlmPlan({
    family,
    response: 'y',
    responseBounds: family === 'binomial' ? undefined : MODEL_RESPONSE_BOUNDS[family],
    covariates: COVARIATES,
    rho,
    maxRecordsPerPerson: 1,
  });
  for (const rows of nodes) checkPrivateRange(plan, rows.y.length, nodes.length, 'y');
  return fitPrivately(plan, nodes, honest);
}

/** R's glm() on the union of the nodes' rows (scripts/glm-dp-reference.R). */
function fitInR(family: ModelFamily, nodes: ModelRows[], dir: string): number[] {
  const rows = nodes.reduce((n, r) => n + r.y.length, 0);
  const out = new Float64Array(rows * 6);
  let at = 0;
  for (const r of nodes) {
    for (let i = 0; i < r.y.length; i++) {
      out.set(r.x.subarray(i * 6 + 1, i * 6 + 6), at);
      out[at + 5] = r.y[i]!;
      at += 6;
    }
  }
  const file = path.join(dir, `${family}.bin`);
  writeFileSync(file, Buffer.from(out.buffer));
  const line = execFileSync('Rscript', ['scripts/glm-dp-reference.R', file, family, String(rows)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return line.trim().split(',').map(Number);
}

/**
 * `npm run bench -- glm-dp`: for each seed, `--nodes` nodes of `--rows` synthetic rows each (raw birth
 * years and dollar amounts, @fedlab/synth modelRows), a private fit of each of `--families` (default
 * gaussian, binomial and poisson) at ρ = `--rho` against R's glm on the union; counts unconverged fits. Reports how often R's coefficient lies within the fit's own 95 % interval
 * and within ±1.96 of its stated noise SD (the noise is the only thing between the two fits, so that
 * should be about 95 %), and the ratio of the observed to the stated noise spread.
 */
export async function glmDp(args: string[]): Promise<void> {
  const rowsPerNode = integerOption(args, 'rows', 1_000_000);
  const nodeCount = integerOption(args, 'nodes', 3, 2);
  const seeds = integerOption(args, 'seeds', 20);
  const rho = Number(args.find((a) => a.startsWith('--rho='))?.slice(6) ?? 1);
  const families = (args.find((a) => a.startsWith('--families='))?.slice(11) ?? 'gaussian,binomial,poisson').split(',');
  for (const family of families) if (!['gaussian', 'binomial', 'poisson'].includes(family)) throw new Error(`--families: unknown family '${family}'`);
  const honest = Math.floor((2 * nodeCount) / 3) + 1 - Math.max(1, nodeCount - (Math.floor((2 * nodeCount) / 3) + 1));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fedlab-glm-dp-'));
  console.log(
    `glm-dp: ${seeds} seeds × ${nodeCount} nodes × ${rowsPerNode.toLocaleString('en-CA')} rows, ρ = ${rho} per fit, noise shares for ${honest} honest node(s)`,
  );
  console.log(`  command: npm run bench -- glm-dp --rows=${rowsPerNode} --nodes=${nodeCount} --seeds=${seeds} --rho=${rho} --families=${families.join(',')}`);
  try {
    for (const family of families as ModelFamily[]) {
      let unconverged = 0;
      let inCi = 0;
      let inNoise = 0;
      let total = 0;
      let zSquares = 0;
      let fitSeconds = 0;
      let rSeconds = 0;
      for (let seed = 1; seed <= seeds; seed++) {
        const nodes = modelRows(family, rowsPerNode, nodeCount, seed);
        const t0 = performance.now();
        const fit = fitSynthetic(family, nodes, rho, honest);
        const t1 = performance.now();
        const reference = fitInR(family, nodes, dir);
        rSeconds += (performance.now() - t1) / 1000;
        fitSeconds += (t1 - t0) / 1000;
        if (!fit.converged) unconverged += 1;
        fit.coefficients.forEach((c, j) => {
          const r = reference[j]!;
          total += 1;
          if (r >= c.ciLower && r <= c.ciUpper) inCi += 1;
          const z = (c.estimate - r) / c.noiseSd;
          zSquares += z * z;
          if (Math.abs(z) <= 1.959963984540054) inNoise += 1;
        });
        if (seed === 1)
          console.log(
            `  ${family} seed 1: ${fit.coefficients.map((c, j) => `${c.name} ${c.estimate.toPrecision(5)} (R ${reference[j]!.toPrecision(5)}, noise sd ${c.noiseSd.toPrecision(2)})`).join('; ')}`,
          );
      }
      console.log(
        `  ${family}: unconverged ${unconverged}/${seeds}; R's coefficient within the fit's 95 % CI ${inCi}/${total} (${((100 * inCi) / total).toFixed(1)} %); within ±1.96 noise SD ${inNoise}/${total} ` +
          `(${((100 * inNoise) / total).toFixed(1)} %); observed/stated noise spread ${Math.sqrt(zSquares / total).toFixed(2)}; ` +
          `private fit ${(fitSeconds / seeds).toFixed(1)} s, R ${(rSeconds / seeds).toFixed(1)} s per seed`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
