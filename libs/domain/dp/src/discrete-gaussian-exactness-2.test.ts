import { expect, it } from 'vitest';
import { describeExactness } from './testing/describe-exactness';

// σ² = 2: a count's noise share at ρ = 0.25 for 4 honest nodes (what `npm run bench -- secagg` draws).
describeExactness({ num: 2n, den: 1n }, (audit) => {
  it('bins by integer', () => {
    expect(audit().binning).toBe('integers');
  });
});
