import { describe, expect, it } from 'vitest';
import { contributionLength, localContribution, type LocalRows } from './glm-contribution';

// y = 1, 2, 4 on x = 0, 1, 2, with an intercept column.
const LINE: LocalRows = { y: Float64Array.from([1, 2, 4]), x: Float64Array.from([1, 0, 1, 1, 1, 2]), p: 2 };

describe('contributionLength', () => {
  it('is 6 sums, then XᵀWz (p) and the upper triangle of XᵀWX (p(p+1)/2)', () => {
    expect([contributionLength(1), contributionLength(2), contributionLength(5)]).toEqual([8, 11, 26]);
  });
});

describe('localContribution', () => {
  it('sums rows, Σy, deviance, null deviance, XᵀWz and XᵀWX at β for the gaussian family', () => {
    const contribution = Array.from(localContribution('gaussian', LINE, [1, 1], 7 / 3));
    // At β = (1, 1): μ = 1, 2, 3, W = 1, z = y; deviance = 1; null deviance = Σ(y − 7/3)² = 42/9.
    expect(contribution.slice(0, 4)).toEqual([3, 7, 0, 1]);
    expect(contribution[4]).toBeCloseTo(42 / 9, 14);
    expect(contribution.slice(5)).toEqual([0, 7, 10, 3, 3, 5]);
  });

  it("starts from R's mustart in the first round and leaves the null deviance at 0 while ȳ is unknown", () => {
    // gaussian mustart = y: deviance 0, XᵀWz = Xᵀy.
    expect(Array.from(localContribution('gaussian', LINE, null, null))).toEqual([3, 7, 0, 0, 0, 0, 7, 10, 3, 3, 5]);
  });

  it('uses μ = (y + ½)/2 for the binomial start, where −2 log-likelihood equals the deviance', () => {
    const rows: LocalRows = { y: Float64Array.from([0, 1]), x: Float64Array.from([1, 1]), p: 1 };
    const contribution = localContribution('binomial', rows, null, null);
    // μ = 0.25 and 0.75: deviance = −2 ln 0.75 per row; W = μ(1 − μ) = 0.1875 per row.
    expect(contribution[3]).toBeCloseTo(-4 * Math.log(0.75), 14);
    expect(contribution[5]).toBeCloseTo(-4 * Math.log(0.75), 14);
    expect(contribution[7]).toBeCloseTo(0.375, 15);
  });

  it('gives the poisson deviance and −2 log-likelihood including ln y!', () => {
    const rows: LocalRows = { y: Float64Array.from([0, 3]), x: Float64Array.from([1, 1]), p: 1 };
    const contribution = localContribution('poisson', rows, [Math.log(2)], 1.5);
    // μ = 2: deviance = 2(0 + 2) + 2(3 ln 1.5 − 1); −2ℓ = −2[(−2) + (3 ln 2 − 2 − ln 6)].
    expect(contribution[3]).toBeCloseTo(2 + 6 * Math.log(1.5), 14);
    expect(contribution[5]).toBeCloseTo(8 - 6 * Math.log(2) + 2 * Math.log(6), 14);
    // W = μ = 2; Σ W z = Σ (2 ln 2 + y − 2).
    expect(contribution[6]).toBeCloseTo(4 * Math.log(2) - 1, 14);
    expect(contribution[7]).toBe(4);
  });

  it('counts rows whose mean overflows and leaves them out of every other sum', () => {
    const rows: LocalRows = { y: Float64Array.from([0, 3]), x: Float64Array.from([1, 1]), p: 1 };
    expect(Array.from(localContribution('poisson', rows, [800], 1.5))).toEqual([2, 3, 2, 0, 0, 0, 0, 0]);
  });

  it('is additive: two nodes sum to the contribution of their pooled rows', () => {
    const first: LocalRows = { y: LINE.y.slice(0, 1), x: LINE.x.slice(0, 2), p: 2 };
    const second: LocalRows = { y: LINE.y.slice(1), x: LINE.x.slice(2), p: 2 };
    const a = localContribution('gaussian', first, [1, 1], 2);
    const b = localContribution('gaussian', second, [1, 1], 2);
    expect(Array.from(a).map((value, i) => value + b[i])).toEqual(Array.from(localContribution('gaussian', LINE, [1, 1], 2)));
  });

  it('refuses a model matrix whose size does not match the rows', () => {
    expect(() => localContribution('gaussian', { ...LINE, p: 3 }, null, null)).toThrowFedlabError(
      'INTERNAL',
      'the model matrix has 6 entries, not 3 rows × 3 columns',
    );
  });
});
