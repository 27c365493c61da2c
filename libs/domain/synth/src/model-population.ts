import { createRng } from './prng';

/** A family of generalised linear model, as the synthetic model rows are drawn for. */
export type ModelFamily = 'gaussian' | 'binomial' | 'poisson';

/**
 * Covariates of the synthetic model rows, in raw units with their declared bounds: the units that
 * overflowed a fixed-point model encoding (birth years, dollars), a 3-level factor and a 0/1 flag.
 */
export const MODEL_COVARIATES = [
  { name: 'birth_year', bounds: [1950, 2009] },
  { name: 'amount', bounds: [0, 50_000] },
  { name: 'region', levels: ['North', 'South', 'West'] },
  { name: 'smoker', bounds: [0, 1] },
] as const;

/** Declared bounds of the response per family (binomial is 0/1). */
export const MODEL_RESPONSE_BOUNDS: Record<ModelFamily, [number, number]> = { gaussian: [-50, 50], binomial: [0, 1], poisson: [0, 100] };

/** Rows of one node: the model matrix row-major with the intercept first (1, birth_year, amount, regionSouth, regionWest, smoker) and the response. */
export interface ModelRows {
  x: Float64Array;
  y: Float64Array;
  p: 6;
}

/**
 * `nodes` × `rowsPerNode` rows of a known model, the same for the same seed on every machine:
 * η = 0.02·(birth_year − 1980) + 0.00002·amount + 0.3·South − 0.2·West + 0.4·smoker; gaussian
 * y = 5 + 4η + N(0, 2²) (clamped to its bounds), binomial P(y = 1) = logistic(η − 0.3), poisson
 * y ~ Poisson(exp(0.5 + η)) (at most 100).
 */
export function modelRows(family: ModelFamily, rowsPerNode: number, nodes: number, seed: number): ModelRows[] {
  return Array.from({ length: nodes }, (_, node) => {
    const rng = createRng(seed, `model-${family}`, node);
    const x = new Float64Array(rowsPerNode * 6);
    const y = new Float64Array(rowsPerNode);
    for (let r = 0; r < rowsPerNode; r++) {
      const year = 1950 + rng.int(60);
      const amount = Math.round(rng.float() * 50_000);
      const region = rng.int(3);
      const smoker = rng.float() < 0.3 ? 1 : 0;
      x.set([1, year, amount, region === 1 ? 1 : 0, region === 2 ? 1 : 0, smoker], r * 6);
      const eta = 0.02 * (year - 1980) + 0.00002 * amount + (region === 1 ? 0.3 : region === 2 ? -0.2 : 0) + 0.4 * smoker;
      if (family === 'gaussian') y[r] = Math.max(-50, Math.min(50, 5 + 4 * eta + 2 * rng.normal()));
      else if (family === 'binomial') y[r] = rng.float() < 1 / (1 + Math.exp(-(eta - 0.3))) ? 1 : 0;
      else y[r] = Math.min(100, rng.poisson(Math.exp(0.5 + eta)));
    }
    return { x, y, p: 6 };
  });
}
