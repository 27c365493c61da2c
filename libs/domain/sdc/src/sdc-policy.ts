import { FedlabError, SDC_FLOORS, type SdcPolicy } from '@fedlab/model';

const ROUNDINGS: ReadonlyArray<SdcPolicy['rounding']> = ['none', 'random5'];

function invalid(field: keyof SdcPolicy, requirement: string, value: unknown): FedlabError {
  return new FedlabError('POLICY_INVALID', `sdc.${field} must be ${requirement} (got ${JSON.stringify(value)})`, {
    field: `sdc.${field}`,
  });
}

/**
 * Checks a node's disclosure-control settings against the floors of DESIGN.md §5: `minPersons` an
 * integer ≥ 3, `dominanceMaxShare` a number in (0, 0.9], `rounding` one of 'none' | 'random5'.
 *
 * @throws FedlabError `POLICY_INVALID` naming the first offending field, e.g.
 *   "sdc.minPersons must be an integer of at least 3 (got 2)".
 */
export function validateSdcPolicy(policy: SdcPolicy): void {
  const { minPersons, dominanceMaxShare, rounding } = policy;
  if (!Number.isInteger(minPersons) || minPersons < SDC_FLOORS.minPersons) {
    throw invalid('minPersons', `an integer of at least ${SDC_FLOORS.minPersons}`, minPersons);
  }
  const shareOk = typeof dominanceMaxShare === 'number' && dominanceMaxShare > 0;
  if (!shareOk || dominanceMaxShare > SDC_FLOORS.dominanceMaxShare) {
    const requirement = `a number greater than 0 and at most ${SDC_FLOORS.dominanceMaxShare}`;
    throw invalid('dominanceMaxShare', requirement, dominanceMaxShare);
  }
  if (!ROUNDINGS.includes(rounding)) {
    throw invalid('rounding', `one of ${ROUNDINGS.map((r) => `'${r}'`).join(', ')}`, rounding);
  }
}
