import { expect, it } from 'vitest';
import { describeExactness } from './testing/describe-exactness';
import { gaussianSigma2 } from './zcdp';

// σ² as the accountant produces it for Δ² = 1, ρ = 0.1: 2^54/3602879701896397 ≈ 5. The acceptance
// exponent's denominator 2abt² is then about 2^110, so every draw also exercises the multi-word path
// of uniformBelow.
describeExactness(gaussianSigma2(1, 0.1), (audit) => {
  it('is audited against σ² = 5 (the nearest double)', () => {
    expect(audit().exactVariance).toBe(5);
  });
});
