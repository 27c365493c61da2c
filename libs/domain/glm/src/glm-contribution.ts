import { FedlabError } from '@fedlab/model';
import { packedIndex, packedLength } from './cholesky';
import { fitRow, minusTwoLogLikelihood, startingEta, unitDeviance, type GlmFamily } from './glm-family';

/**
 * Where each quantity sits in a node's contribution vector. Every entry is a sum over the node's rows,
 * so the vectors of all nodes add up, element by element, to the same vector for the pooled rows:
 *
 * | index | entry |
 * |---|---|
 * | 0 | rows n |
 * | 1 | Σ y |
 * | 2 | rows whose mean μ is not finite at this β (the coordinator then halves the step, as R does) |
 * | 3 | deviance Σ d(y, μ) at this β (at R's `mustart` in the first round) |
 * | 4 | null deviance Σ d(y, ȳ) at the pooled mean ȳ (`nullMean`), 0 while ȳ is unknown |
 * | 5 | −2 Σ ln f(y; μ) at this β for binomial and poisson (their AIC term), 0 for gaussian |
 * | 6 … 6+p−1 | XᵀWz |
 * | 6+p … | XᵀWX, upper triangle row by row: (0,0), (0,1) … (0,p−1), (1,1) … (p−1,p−1) |
 *
 * Rows with a non-finite μ count in entries 0–2 only.
 */
export const CONTRIBUTION_LAYOUT = {
  rows: 0,
  sumY: 1,
  invalidRows: 2,
  deviance: 3,
  nullDeviance: 4,
  minusTwoLogLikelihood: 5,
  xtwz: 6,
} as const;

/** Number of f64 entries of one node's contribution for p parameters: 6 + p + p(p+1)/2. */
export function contributionLength(p: number): number {
  return CONTRIBUTION_LAYOUT.xtwz + p + packedLength(p);
}

/** Offset of the packed XᵀWX block in a contribution vector for p parameters. */
export function xtwxOffset(p: number): number {
  return CONTRIBUTION_LAYOUT.xtwz + p;
}

/** A node's rows for one model: the response and the model matrix. */
export interface LocalRows {
  y: Float64Array;
  /** Row-major n × p model matrix, intercept column included (rows from {@link designRow}). */
  x: Float64Array;
  p: number;
}

/**
 * One node's contribution for one IRLS round (layout: {@link CONTRIBUTION_LAYOUT}). `beta === null` is the
 * first round, evaluated at R's starting means `mustart` (binomial (y + ½)/2, poisson y + 0.1, gaussian y);
 * otherwise the round is evaluated at η = Xβ. `nullMean` is the pooled mean of y once the coordinator
 * knows it (null before), for the null deviance.
 */
export function localContribution(family: GlmFamily, rows: LocalRows, beta: readonly number[] | null, nullMean: number | null): Float64Array {
  const { y, x, p } = rows;
  const n = y.length;
  if (!Number.isInteger(p) || p < 1 || x.length !== n * p) {
    throw new FedlabError('INTERNAL', `the model matrix has ${x.length} entries, not ${n} rows × ${p} columns`);
  }
  if (beta !== null && beta.length !== p) {
    throw new FedlabError('INTERNAL', `the coefficient vector has ${beta.length} entries for ${p} parameters`);
  }
  const out = new Float64Array(contributionLength(p));
  const xtwx = xtwxOffset(p);
  const layout = CONTRIBUTION_LAYOUT;
  out[layout.rows] = n;
  for (let r = 0; r < n; r++) {
    const yr = y[r];
    const base = r * p;
    out[layout.sumY] += yr;
    let eta: number;
    if (beta === null) eta = startingEta(family, yr);
    else {
      eta = 0;
      for (let j = 0; j < p; j++) eta += x[base + j] * beta[j];
    }
    const fit = fitRow(family, yr, eta);
    const deviance = fit === null ? Number.NaN : unitDeviance(family, yr, fit.mu);
    if (fit === null || !Number.isFinite(deviance)) {
      out[layout.invalidRows] += 1;
      continue;
    }
    out[layout.deviance] += deviance;
    if (nullMean !== null) out[layout.nullDeviance] += unitDeviance(family, yr, nullMean);
    out[layout.minusTwoLogLikelihood] += minusTwoLogLikelihood(family, yr, fit.mu);
    const weightedWorking = fit.weight * fit.working;
    for (let i = 0; i < p; i++) {
      const xi = x[base + i];
      out[layout.xtwz + i] += weightedWorking * xi;
      const wxi = fit.weight * xi;
      for (let j = i; j < p; j++) out[xtwx + packedIndex(i, j, p)] += wxi * x[base + j];
    }
  }
  return out;
}
