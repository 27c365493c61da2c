import { DEFAULT_SDC_POLICY, type SdcPolicy } from '@fedlab/model';
import { describe, expect, it } from 'vitest';
import { validateSdcPolicy } from './sdc-policy';

describe('validateSdcPolicy', () => {
  it('accepts the default policy', () => {
    expect(() => validateSdcPolicy(DEFAULT_SDC_POLICY)).not.toThrow();
  });

  it('accepts a policy exactly at the floors', () => {
    expect(() => validateSdcPolicy({ minPersons: 3, dominanceMaxShare: 0.9, rounding: 'random5' })).not.toThrow();
  });

  it('refuses minPersons below the floor of 3', () => {
    const policy = { ...DEFAULT_SDC_POLICY, minPersons: 2 };
    expect(() => validateSdcPolicy(policy)).toThrowFedlabError('POLICY_INVALID', 'sdc.minPersons must be an integer of at least 3 (got 2)');
    expect(() => validateSdcPolicy(policy)).toThrow(expect.objectContaining({ details: { field: 'sdc.minPersons' } }));
  });

  it('refuses a minPersons that is not an integer', () => {
    expect(() => validateSdcPolicy({ ...DEFAULT_SDC_POLICY, minPersons: 9.5 })).toThrowFedlabError(
      'POLICY_INVALID',
      'sdc.minPersons must be an integer of at least 3 (got 9.5)',
    );
  });

  it('refuses a dominance share above the floor of 0.9', () => {
    expect(() => validateSdcPolicy({ ...DEFAULT_SDC_POLICY, dominanceMaxShare: 0.95 })).toThrowFedlabError(
      'POLICY_INVALID',
      'sdc.dominanceMaxShare must be a number greater than 0 and at most 0.9 (got 0.95)',
    );
  });

  it('refuses a dominance share of 0', () => {
    expect(() => validateSdcPolicy({ ...DEFAULT_SDC_POLICY, dominanceMaxShare: 0 })).toThrowFedlabError(
      'POLICY_INVALID',
      'sdc.dominanceMaxShare must be a number greater than 0 and at most 0.9 (got 0)',
    );
  });

  it('refuses an unknown rounding', () => {
    const policy = { ...DEFAULT_SDC_POLICY, rounding: 'random10' } as unknown as SdcPolicy;
    expect(() => validateSdcPolicy(policy)).toThrowFedlabError('POLICY_INVALID', "sdc.rounding must be one of 'none', 'random5' (got \"random10\")");
  });
});
