import { FedlabError, type PrivacyPolicy } from '@fedlab/model';
import { distributedGaussianShare, rationalToNumber, type Rational } from '@fedlab/dp';
import { defaultThreshold } from '@fedlab/secagg';

/** Whom a node counts on when it sizes its share of a pooled query's noise (docs/privacy.md "Pooled results"). */
export interface NoiseSharing {
  /** Nodes the researcher-signed query targets. */
  nodes: number;
  /** Survivors a secure-aggregation round needs before it releases a sum (the node computes it itself). */
  threshold: number;
  /** Of those, how many may be working with the coordinator (they may add no noise and tell it theirs). */
  colluding: number;
  /** threshold − colluding: the honest nodes whose noise alone must meet the target. */
  honest: number;
}

/**
 * How a node shares a pooled query's noise over `nodes` target nodes: the coordinator releases a sum
 * once `t = ⌊2n/3⌋ + 1` nodes survive (DESIGN.md §7.2), and up to `colluding` of them — the steward's
 * `privacy.colluding_nodes`, or by default n − t and at least one — may collude with it, so only
 * `t − colluding` honest nodes' noise is certain to be in every released sum.
 *
 * @throws FedlabError NOISE_UNREACHABLE when no honest node would be left: no share of the noise,
 *   however large, could then be relied on; the message says how many nodes the query needs.
 */
export function noiseSharing(nodes: number, policy: PrivacyPolicy): NoiseSharing {
  const threshold = defaultThreshold(nodes);
  const colluding = policy.colludingNodes ?? Math.max(1, nodes - threshold);
  const honest = threshold - colluding;
  if (honest < 1) {
    let needed = nodes;
    while (defaultThreshold(needed) - colluding < 1) needed += 1;
    throw new FedlabError(
      'NOISE_UNREACHABLE',
      `a pooled result over ${nodes} nodes is released once ${threshold} of them take part, and this node assumes up to ${colluding} may collude with the coordinator, ` +
        `so no honest node's share of the noise is certain to be in it; ask at least ${needed} nodes`,
      { nodes, threshold, colluding, needed },
    );
  }
  return { nodes, threshold, colluding, honest };
}

/** One noise component of a pooled contribution: the squared L2 sensitivity and ρ of its mechanism, and its entries. */
export interface PooledNoiseComponent<N extends string = string> {
  name: N;
  sensitivitySquared: number;
  rho: number;
  entries: number;
}

/**
 * The per-node σ² of each component such that the noise of `sharing.honest` nodes alone makes the
 * pooled sum meet the component's ρ (distributed discrete Gaussian, KLS21 Theorem 1).
 */
export function noiseShares<N extends string>(components: ReadonlyArray<PooledNoiseComponent<N>>, sharing: NoiseSharing): Map<N, Rational> {
  return new Map(components.map((c) => [c.name, distributedGaussianShare(c.sensitivitySquared, c.rho, sharing.honest, Math.max(1, c.entries))]));
}

/** The public description of a node's noise, sent in PooledReady: variance per component as numbers. */
export interface PooledNoiseDescription {
  variances: Record<string, number>;
  /** The fewest survivors a round summing this share may release with (see {@link NoiseSharing}). */
  threshold: number;
  honest: number;
  colluding: number;
  reportDelta: number;
}

export function describeNoise(shares: ReadonlyMap<string, Rational>, sharing: NoiseSharing, reportDelta: number): PooledNoiseDescription {
  return {
    variances: Object.fromEntries([...shares].map(([name, s2]) => [name, rationalToNumber(s2)])),
    threshold: sharing.threshold,
    honest: sharing.honest,
    colluding: sharing.colluding,
    reportDelta,
  };
}
