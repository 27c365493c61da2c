import { expect, it } from 'vitest';
import { describeExactness } from './testing/describe-exactness';

// σ² = 2^16: the largest σ² the inversion table takes.
describeExactness({ num: 65_536n, den: 1n }, (audit) => {
  it('bins by quantiles (about 1,800 integers expect 5 draws): 829 bins, as an integer near 0 holds more than 1/1000 of the mass', () => {
    expect({ binning: audit().binning, bins: audit().bins }).toEqual({ binning: 'quantiles', bins: 829 });
  });
});
