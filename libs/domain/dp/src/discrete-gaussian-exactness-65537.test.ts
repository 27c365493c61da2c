import { expect, it } from 'vitest';
import { describeExactness } from './testing/describe-exactness';

// σ² = 2^16 + 1: just above the inversion table, where the scaled table takes over with blocks of B = 2.
describeExactness({ num: 65_537n, den: 1n }, (audit) => {
  it('bins by quantiles', () => {
    expect(audit().binning).toBe('quantiles');
  });
});
