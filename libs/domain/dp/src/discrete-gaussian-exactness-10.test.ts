import { expect, it } from 'vitest';
import { describeExactness } from './testing/describe-exactness';

describeExactness({ num: 10n, den: 1n }, (audit) => {
  it('bins by integer, every bin expecting at least 5 draws', () => {
    expect(audit().binning).toBe('integers');
  });
});
