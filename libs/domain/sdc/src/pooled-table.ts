import { FedlabError, type SdcPolicy } from '@fedlab/model';

/** Most cells a pooled table may have. */
export const MAX_POOLED_CELLS = 20_000;

/**
 * The strictest of several nodes' disclosure-control policies: the largest minimum cell size, the
 * smallest dominance share, and random rounding if any node rounds.
 */
export function strictestPolicy(policies: readonly SdcPolicy[]): SdcPolicy {
  if (policies.length === 0) throw new FedlabError('INTERNAL', 'strictestPolicy: no policies');
  return {
    minPersons: Math.max(...policies.map((p) => p.minPersons)),
    dominanceMaxShare: Math.min(...policies.map((p) => p.dominanceMaxShare)),
    rounding: policies.some((p) => p.rounding === 'random5') ? 'random5' : 'none',
  };
}
