import { expect, it } from 'vitest';
import { describeExactness } from './testing/describe-exactness';

describeExactness({ num: 10_000n, den: 1n }, (audit) => {
  it('bins by integer (about 730 integers expect at least 5 draws)', () => {
    expect(audit().binning).toBe('integers');
  });
});
