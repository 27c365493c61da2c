import { expect, it } from 'vitest';
import { describeExactness } from './testing/describe-exactness';

// σ² = 2^31 + 1/1024: of the order of a pooled mean's centred-sum share (a half-range of 2^16 grid steps).
describeExactness({ num: 2n ** 41n + 1n, den: 1024n }, (audit) => {
  it('bins into 1000 equal-probability bins by the exact cumulative distribution', () => {
    expect({ binning: audit().binning, bins: audit().bins }).toEqual({ binning: 'quantiles', bins: 1000 });
  });
});
