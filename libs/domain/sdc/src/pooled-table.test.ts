import { describe, expect, it } from 'vitest';
import { strictestPolicy } from './pooled-table';

describe('pooled tables', () => {
  it('takes the strictest of the nodes\u2019 policies', () => {
    expect(
      strictestPolicy([
        { minPersons: 10, dominanceMaxShare: 0.9, rounding: 'none' },
        { minPersons: 15, dominanceMaxShare: 0.8, rounding: 'none' },
        { minPersons: 5, dominanceMaxShare: 0.85, rounding: 'random5' },
      ]),
    ).toEqual({ minPersons: 15, dominanceMaxShare: 0.8, rounding: 'random5' });
  });
});
