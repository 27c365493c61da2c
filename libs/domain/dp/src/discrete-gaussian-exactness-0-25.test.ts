import { expect, it } from 'vitest';
import { describeExactness } from './testing/describe-exactness';

describeExactness({ num: 1n, den: 4n }, (audit) => {
  it('bins by integer: ≤ −2, −1, 0, 1, ≥ 2', () => {
    expect({ binning: audit().binning, bins: audit().bins }).toEqual({ binning: 'integers', bins: 5 });
  });

  it('has a mean square more than 5 standard errors below σ² = 1/4 itself (Var = 0.2150…)', () => {
    expect((0.25 - audit().meanSquare) / audit().varianceStandardError).toBeGreaterThan(5);
  });
});
