import { discreteGaussianSampler } from './discrete-gaussian';
import type { RandomSource } from './random-source';
import { checkPositiveRational, rational, type Rational } from './rational';

/*
 * Distributed noise: each of n nodes adds its own share N_Z(0, σ²/n) before secure aggregation, so
 * no party ever sees a value with less than the sum's noise removed. The sum of the shares has
 * variance n·Var[N_Z(0, σ²/n)] ≤ σ² but is NOT distributed as N_Z(0, σ²): discrete Gaussians are
 * not closed under addition. Its privacy is therefore not `gaussianRho(Δ², σ²)`; Kairouz, Liu &
 * Steinke, "The Distributed Discrete Gaussian Mechanism for Federated Learning with Secure
 * Aggregation", ICML 2021 (arXiv:2102.06387), bound it by the ρ of N_Z(0, σ²) plus a correction
 * that vanishes quickly as σ²/n grows. That bound is not implemented here; accounting for summed
 * shares must add it.
 */

/**
 * Each node's share σ²/n of a total noise variance σ², exactly. Throws a `RangeError` unless σ² > 0
 * and `nodes` is a positive safe integer.
 */
export function nodeNoiseSigma2(totalSigma2: Rational, nodes: number): Rational {
  if (!Number.isSafeInteger(nodes) || nodes < 1) throw new RangeError(`nodeNoiseSigma2: nodes must be a positive integer, got ${nodes}`);
  checkPositiveRational('nodeNoiseSigma2', 'totalSigma2', totalSigma2);
  return rational(totalSigma2.num, totalSigma2.den * BigInt(nodes));
}

/**
 * One node's noise share: `length` independent draws from N_Z(0, σ²_node), e.g. with σ²_node from
 * {@link nodeNoiseSigma2}. See the module note: the sum over nodes is close to, but not exactly,
 * N_Z(0, n·σ²_node). Throws a `RangeError` unless σ²_node > 0 and `length` is a non-negative safe
 * integer.
 */
export function sampleNodeNoiseShare(sigma2PerNode: Rational, length: number, rng: RandomSource): bigint[] {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`sampleNodeNoiseShare: length must be a non-negative integer, got ${length}`);
  checkPositiveRational('sampleNodeNoiseShare', 'sigma2PerNode', sigma2PerNode);
  const sample = discreteGaussianSampler(sigma2PerNode);
  return Array.from({ length }, () => sample(rng));
}
