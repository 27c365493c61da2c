import { expect, it } from 'vitest';
import { describeExactness } from './testing/describe-exactness';

describeExactness({ num: 100_000_000n, den: 1n }, (audit) => {
  it('bins into 1000 equal-probability bins by the exact cumulative distribution', () => {
    expect({ binning: audit().binning, bins: audit().bins }).toEqual({ binning: 'quantiles', bins: 1000 });
  });
});
