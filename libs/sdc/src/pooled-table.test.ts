import { describe, expect, it } from 'vitest';
import { FedlabError } from '@fedlab/model';
import { pooledCells, pooledLayout, pooledVector, strictestPolicy } from './pooled-table';

describe('pooled tables', () => {
  it('lays out the cross product of the published values, NULL only where the column is nullable, bins last', () => {
    expect(pooledLayout('histogram', ['sex', 'smoker', 'bin'], [['F', 'M'], ['false', 'true', null]], [0, 10]).keys).toEqual([
      ['F', 'false', 0], ['F', 'false', 10], ['F', 'true', 0], ['F', 'true', 10], ['F', null, 0], ['F', null, 10],
      ['M', 'false', 0], ['M', 'false', 10], ['M', 'true', 0], ['M', 'true', 10], ['M', null, 0], ['M', null, 10],
    ]);
  });

  it('refuses a layout of more than 20,000 cells', () => {
    const values = Array.from({ length: 200 }, (_, i) => `v${i}`);
    expect(() => pooledLayout('count', ['a', 'b'], [values, values])).toThrow(new FedlabError('INVALID_QUERY', 'a pooled table may have at most 20000 cells; this one would have 40000'));
  });

  it('round-trips cells through the vector, leaving out (and counting) cells outside the layout', () => {
    const layout = pooledLayout('sum', ['sex'], [['F', 'M']]);
    const { values, excludedCells } = pooledVector(layout, [
      { key: ['M'], persons: 3, records: 4, total: 12.5, valueCount: 4, top1: 6, top2: 3 },
      { key: ['X'], persons: 1, records: 1, total: 2, valueCount: 1, top1: 2, top2: 0 },
    ]);
    expect(excludedCells).toBe(1);
    expect(pooledCells(layout, values)).toEqual([
      { key: ['F'], persons: 0, records: 0, total: 0, totalSquares: 0, valueCount: 0, top1: 0, top2: 0, personsWith: 0, personsWithout: 0 },
      { key: ['M'], persons: 3, records: 4, total: 12.5, totalSquares: 0, valueCount: 4, top1: 6, top2: 3, personsWith: 0, personsWithout: 0 },
    ]);
  });

  it('takes the strictest of the nodes\u2019 policies', () => {
    expect(strictestPolicy([
      { minPersons: 10, dominanceMaxShare: 0.9, rounding: 'none' },
      { minPersons: 15, dominanceMaxShare: 0.8, rounding: 'none' },
      { minPersons: 5, dominanceMaxShare: 0.85, rounding: 'random5' },
    ])).toEqual({ minPersons: 15, dominanceMaxShare: 0.8, rounding: 'random5' });
  });
});
