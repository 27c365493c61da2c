import { reduceRational, type Rational } from './rational';

/*
 * Distributed discrete Gaussian noise for sums computed by secure aggregation: Kairouz, Liu & Steinke,
 * "The Distributed Discrete Gaussian Mechanism for Federated Learning with Secure Aggregation",
 * ICML 2021, arXiv:2102.06387 (KLS21). Each party adds N_Z(0, σ²) to its own vector before masking;
 * the sum of n such draws is not exactly a discrete Gaussian, but KLS21 Theorem 1 bounds its privacy
 * loss: for a d-dimensional integer query of L2 sensitivity Δ, the sum of n independent
 * N_Z(0, σ²)^d (σ ≥ 1/2) is ½ε²-zCDP with
 *   ε = min{ √(Δ²/(nσ²) + ½τd),  Δ/(√n·σ) + τ√d },   τ = 10 Σ_{k=1}^{n−1} exp(−2π²σ²·k/(k+1)).
 * τ is the distance between the sum and a true discrete Gaussian of variance nσ²; it vanishes fast
 * (below 1e−16 per term once σ² ≥ 4), so for the noise scales of real releases ρ ≈ Δ²/(2nσ²).
 */

/** The smallest per-party σ² this module hands out (KLS21 Theorem 1 needs σ ≥ ½; we keep a margin). */
export const MIN_PARTY_SIGMA2 = 0.5;

/** How far below the target the computed ρ must stay, against floating-point error in the bound. */
const SAFETY = 1 - 1e-9;

function check(caller: string, name: string, value: number, integer: boolean, min: number): void {
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new RangeError(`${caller}: ${name} must be ${integer ? 'an integer' : 'a finite number'} of at least ${min}, got ${value}`);
  }
}

/** KLS21's τ for `parties` parties each adding N_Z(0, σ²): 10 Σ_{k=1}^{parties−1} exp(−2π²σ²·k/(k+1)). */
export function distributedGaussianTau(sigma2: number, parties: number): number {
  check('distributedGaussianTau', 'sigma2', sigma2, false, 0);
  check('distributedGaussianTau', 'parties', parties, true, 1);
  let tau = 0;
  for (let k = 1; k < parties; k++) tau += Math.exp((-2 * Math.PI * Math.PI * sigma2 * k) / (k + 1));
  return 10 * tau;
}

/**
 * The ρ (zCDP) of the sum of `parties` independent N_Z(0, σ²) vectors of `dimension` entries added
 * to an integer query of squared L2 sensitivity Δ² (KLS21 Theorem 1; see the top of this file). One
 * party is the ordinary discrete Gaussian: Δ²/(2σ²). Throws a `RangeError` for σ² below
 * {@link MIN_PARTY_SIGMA2} (the theorem does not cover it) or a non-integer count.
 */
export function distributedGaussianRho(sensitivitySquared: number, sigma2: number, parties: number, dimension: number): number {
  check('distributedGaussianRho', 'sensitivitySquared', sensitivitySquared, false, 0);
  check('distributedGaussianRho', 'sigma2', sigma2, false, MIN_PARTY_SIGMA2);
  check('distributedGaussianRho', 'parties', parties, true, 1);
  check('distributedGaussianRho', 'dimension', dimension, true, 1);
  const ratio = sensitivitySquared / (parties * sigma2);
  if (parties === 1) return ratio / 2;
  const tau = distributedGaussianTau(sigma2, parties);
  const first = ratio + (tau * dimension) / 2;
  const second = (Math.sqrt(ratio) + tau * Math.sqrt(dimension)) ** 2;
  return Math.min(first, second) / 2;
}

/**
 * The per-party σ² such that the noise of any `honest` parties alone — whatever the others add, and
 * even if they tell the aggregator what they added — makes the sum ρ-zCDP for a query of squared L2
 * sensitivity Δ² over `dimension` entries (KLS21 Theorem 1). Starts from the continuous answer
 * Δ²/(2ρ·honest) and raises it until the bound, τ included, is below ρ; never below
 * {@link MIN_PARTY_SIGMA2}. Returned rounded up to a multiple of 2^-10, an exact rational ready for the sampler;
 * Δ² = 0 needs no noise (σ² = 0). Throws a `RangeError` for an invalid argument.
 */
export function distributedGaussianShare(sensitivitySquared: number, rho: number, honest: number, dimension: number): Rational {
  check('distributedGaussianShare', 'sensitivitySquared', sensitivitySquared, false, 0);
  check('distributedGaussianShare', 'honest', honest, true, 1);
  check('distributedGaussianShare', 'dimension', dimension, true, 1);
  if (!Number.isFinite(rho) || rho <= 0) throw new RangeError(`distributedGaussianShare: rho must be a positive finite number, got ${rho}`);
  if (sensitivitySquared === 0) return { num: 0n, den: 1n };
  let sigma2 = Math.max(MIN_PARTY_SIGMA2, sensitivitySquared / (2 * rho * honest * SAFETY));
  // ρ falls about as 1/σ², so scaling σ² by the excess converges in a few steps (τ only shrinks as σ² grows).
  for (let i = 0, excess = distributedGaussianRho(sensitivitySquared, sigma2, honest, dimension) / (rho * SAFETY); excess > 1; i++) {
    if (i > 1000 || !Number.isFinite(sigma2)) throw new RangeError('distributedGaussianShare: no finite noise scale meets the target');
    sigma2 *= Math.max(excess, 1 + 1e-9);
    excess = distributedGaussianRho(sensitivitySquared, sigma2, honest, dimension) / (rho * SAFETY);
  }
  // Rounded up to a multiple of 2^-10 (at most 0.2 % more variance, as σ² ≥ ½): a small exact rational
  // keeps the sampler's constants below 2^53, where it runs on numbers about three times faster.
  return reduceRational({ num: BigInt(Math.ceil(sigma2 * SHARE_GRID)), den: BigInt(SHARE_GRID) });
}

/** Shares are multiples of 1/SHARE_GRID. */
const SHARE_GRID = 1024;
