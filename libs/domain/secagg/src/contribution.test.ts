import { describe, expect, it } from 'vitest';
import { FedlabError } from '@fedlab/model';
import { addInto } from './encoding';
import { contributionBound, decodeContribution, encodeContribution } from './contribution';

const half = () => 0.5;

describe('encodeContribution / decodeContribution', () => {
  it('sums reals from several parties exactly to the fixed-point resolution', () => {
    const parties = [
      [1.25, -3, 1e6],
      [2.5, 7, -2e6],
      [0.125, 0, 0.5],
    ];
    const sum = new Uint32Array(6);
    for (const values of parties) addInto(sum, encodeContribution(values, { scaleBits: 16, parties: 3, random: half }));
    expect(decodeContribution(sum, 16)).toEqual([3.875, 4, -999_999.5]);
  });

  it('divides the two-limb range (at most 2^55 − 1) among the parties and the scale', () => {
    expect(contributionBound(16, 4)).toBe(2 ** 37 - 1);
    expect(contributionBound(16, 3)).toBe(Math.floor((2 ** 55 - 1) / 3 / 2 ** 16));
    // 2^55 − 1 is not a double: the largest double below it.
    expect(contributionBound(0, 1)).toBe(2 ** 55 - 4);
  });

  it('accepts contributions for any number of parties, powers of two included (2 parties used to refuse everything)', () => {
    for (let parties = 1; parties <= 8; parties += 1) {
      for (const scaleBits of [0, 16, 24])
        expect(() => encodeContribution([1, -2.5], { scaleBits, parties, random: half }), `${parties} × ${scaleBits}`).not.toThrow();
    }
  });

  it('refuses a value outside the declared range before anything is masked, naming the index only', () => {
    const bound = contributionBound(24, 5);
    expect(() => encodeContribution([1, -(bound * 2)], { scaleBits: 24, parties: 5, random: half })).toThrow(
      new FedlabError('INVALID_ARGUMENT', `checkRange: value at index 1 is outside the declared range ±${bound}`),
    );
  });

  it('refuses a scale outside 0–40 bits', () => {
    expect(() => encodeContribution([1], { scaleBits: 41, parties: 2, random: half })).toThrow(
      new FedlabError('INVALID_ARGUMENT', 'secagg: scale bits must be an integer from 0 to 40'),
    );
  });
});
