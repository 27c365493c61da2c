import { DEFAULT_SDC_POLICY, FedlabError, type SdcPolicy } from '@fedlab/model';
import { describe, expect, it } from 'vitest';
import { validateSdcPolicy } from './sdc-policy';

function failure(policy: SdcPolicy): FedlabError {
  try {
    validateSdcPolicy(policy);
  } catch (error) {
    if (error instanceof FedlabError) return error;
    throw error;
  }
  throw new Error('validateSdcPolicy accepted the policy');
}

describe('validateSdcPolicy', () => {
  it('accepts the default policy', () => {
    expect(() => validateSdcPolicy(DEFAULT_SDC_POLICY)).not.toThrow();
  });

  it('accepts a policy exactly at the floors', () => {
    expect(() => validateSdcPolicy({ minPersons: 3, dominanceMaxShare: 0.9, rounding: 'random5' })).not.toThrow();
  });

  it('refuses minPersons below the floor of 3', () => {
    const error = failure({ ...DEFAULT_SDC_POLICY, minPersons: 2 });
    expect(error.code).toBe('POLICY_INVALID');
    expect(error.message).toBe('sdc.minPersons must be an integer of at least 3 (got 2)');
    expect(error.details).toEqual({ field: 'sdc.minPersons' });
  });

  it('refuses a minPersons that is not an integer', () => {
    expect(failure({ ...DEFAULT_SDC_POLICY, minPersons: 9.5 }).message).toBe(
      'sdc.minPersons must be an integer of at least 3 (got 9.5)',
    );
  });

  it('refuses a dominance share above the floor of 0.9', () => {
    const error = failure({ ...DEFAULT_SDC_POLICY, dominanceMaxShare: 0.95 });
    expect(error.code).toBe('POLICY_INVALID');
    expect(error.message).toBe('sdc.dominanceMaxShare must be a number greater than 0 and at most 0.9 (got 0.95)');
  });

  it('refuses a dominance share of 0', () => {
    expect(failure({ ...DEFAULT_SDC_POLICY, dominanceMaxShare: 0 }).message).toBe(
      'sdc.dominanceMaxShare must be a number greater than 0 and at most 0.9 (got 0)',
    );
  });

  it('refuses an unknown rounding', () => {
    const policy = { ...DEFAULT_SDC_POLICY, rounding: 'random10' } as unknown as SdcPolicy;
    expect(failure(policy).message).toBe("sdc.rounding must be one of 'none', 'random5' (got \"random10\")");
  });
});
