import { DEFAULT_SDC_POLICY, type RawCell, type ReleasedCell } from '@fedlab/model';
import { describe, expect, it } from 'vitest';
import { applyDisclosureControl } from './index';

const policy = DEFAULT_SDC_POLICY;

function counts(entries: Array<[RawCell['key'], number]>): RawCell[] {
  return entries.map(([key, persons]) => ({ key, persons, records: persons }));
}

function draws(...values: number[]): () => number {
  let next = 0;
  return () => {
    if (next >= values.length) throw new Error('ran out of draws');
    return values[next++];
  };
}

/** key → 'released' or the suppression rule, for asserting a table's suppression pattern. */
function pattern(cells: ReleasedCell[]): Record<string, string> {
  return Object.fromEntries(cells.map((cell) => [cell.key.join('/'), cell.suppressed?.rule ?? 'released']));
}

describe('threshold rule', () => {
  it('releases the record count of a cell with 10 persons', () => {
    const output = applyDisclosureControl({ kind: 'count', dimensions: [], cells: [{ key: [], persons: 10, records: 12 }], policy });
    expect(output).toEqual({
      cells: [{ key: [], stats: { count: 12 }, suppressed: null }],
      report: { rules: [{ rule: 'threshold', parameters: { minPersons: 10 } }], suppressedCells: 0, releasedCells: 1, notes: [] },
    });
  });

  it('suppresses a cell with 9 persons', () => {
    const output = applyDisclosureControl({ kind: 'count', dimensions: [], cells: [{ key: [], persons: 9, records: 30 }], policy });
    expect(output.cells).toEqual([{ key: [], stats: null, suppressed: { rule: 'threshold', reason: 'fewer than 10 persons' } }]);
    expect(output.report.suppressedCells).toBe(1);
    expect(output.report.releasedCells).toBe(0);
  });

  it("uses the policy's minPersons in the rule and the reason", () => {
    const output = applyDisclosureControl({
      kind: 'count',
      dimensions: ['region'],
      cells: counts([
        [['a'], 4],
        [['b'], 5],
        [['c'], 6],
      ]),
      policy: { ...policy, minPersons: 5 },
    });
    expect(output.cells[0].suppressed).toEqual({ rule: 'threshold', reason: 'fewer than 5 persons' });
    expect(output.report.rules[0]).toEqual({ rule: 'threshold', parameters: { minPersons: 5 } });
  });

  it('suppresses a mean with enough persons but fewer than minPersons non-missing values', () => {
    const cells = [{ key: [], persons: 20, records: 20, total: 90, valueCount: 9, top1: 12, top2: 11 }];
    const output = applyDisclosureControl({ kind: 'mean', dimensions: [], cells, policy });
    expect(output.cells[0].suppressed).toEqual({ rule: 'threshold', reason: 'fewer than 10 persons' });
  });

  it('releases no cell when every cell of a group-by is below the threshold', () => {
    const output = applyDisclosureControl({
      kind: 'count',
      dimensions: ['region'],
      cells: counts([
        [['a'], 3],
        [['b'], 9],
        [['c'], 1],
      ]),
      policy,
    });
    expect(pattern(output.cells)).toEqual({ a: 'threshold', b: 'threshold', c: 'threshold' });
    expect(output.report.releasedCells).toBe(0);
    expect(output.report.suppressedCells).toBe(3);
  });
});

describe('released statistics', () => {
  it('releases a sum with its count of non-missing values', () => {
    const cells = [{ key: [], persons: 20, records: 25, total: 1000, valueCount: 24, top1: 100, top2: 80 }];
    const output = applyDisclosureControl({ kind: 'sum', dimensions: [], cells, policy });
    expect(output.cells[0].stats).toEqual({ sum: 1000, count: 24 });
  });

  it('releases a mean with its count of non-missing values', () => {
    const cells = [{ key: [], persons: 25, records: 25, total: 1000, valueCount: 25, top1: 100, top2: 80 }];
    const output = applyDisclosureControl({ kind: 'mean', dimensions: [], cells, policy });
    expect(output.cells[0].stats).toEqual({ mean: 40, count: 25 });
  });

  it('releases the sample variance, sd and mean computed directly from the values', () => {
    const values = [2.5, 3, 7, 10, 4.25, 6.5, 1, 8, 9.75, 5.5, 3.25, 12];
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1);
    const cell = {
      key: [],
      persons: 12,
      records: 12,
      total: values.reduce((a, b) => a + b, 0),
      totalSquares: values.reduce((a, b) => a + b * b, 0),
      valueCount: 12,
    };
    const stats = applyDisclosureControl({ kind: 'variance', dimensions: [], cells: [cell], policy }).cells[0].stats;
    expect(stats?.variance).toBeCloseTo(variance, 10);
    expect(stats?.sd).toBeCloseTo(Math.sqrt(variance), 10);
    expect(stats?.mean).toBeCloseTo(6.0625, 10);
    expect(stats?.count).toBe(12);
  });

  it('releases a proportion with its 95 % Wilson interval, numerator and denominator', () => {
    const cell = { key: [], persons: 100, records: 100, total: 30, personsWith: 30, personsWithout: 70 };
    const stats = applyDisclosureControl({ kind: 'proportion', dimensions: [], cells: [cell], policy }).cells[0].stats;
    expect(stats?.proportion).toBe(0.3);
    expect(stats?.ci_lower).toBeCloseTo(0.21894885294932773, 10);
    expect(stats?.ci_upper).toBeCloseTo(0.39584854633346644, 10);
    expect(stats?.numerator).toBe(30);
    expect(stats?.denominator).toBe(100);
  });

  it('releases a histogram bin as its record count', () => {
    const output = applyDisclosureControl({
      kind: 'histogram',
      dimensions: ['bin'],
      cells: [
        { key: [0], persons: 12, records: 14 },
        { key: [10], persons: 30, records: 31 },
      ],
      policy,
    });
    expect(output.cells.map((cell) => cell.stats)).toEqual([{ count: 14 }, { count: 31 }]);
  });
});

describe('group disclosure rule for proportions', () => {
  it('suppresses a proportion when fewer than minPersons persons do not meet the condition', () => {
    const cell = { key: [], persons: 50, records: 50, total: 45, personsWith: 45, personsWithout: 9 };
    const output = applyDisclosureControl({ kind: 'proportion', dimensions: [], cells: [cell], policy });
    expect(output.cells[0].suppressed).toEqual({
      rule: 'group_disclosure',
      reason: 'fewer than 10 persons meet, or do not meet, the condition',
    });
    expect(output.report.rules).toEqual([
      { rule: 'threshold', parameters: { minPersons: 10 } },
      { rule: 'group_disclosure', parameters: { minPersons: 10 } },
    ]);
  });
});

describe('dominance rule', () => {
  const sumCell = (total: number, top1: number, top2: number): RawCell => ({
    key: [],
    persons: 20,
    records: 20,
    total,
    valueCount: 20,
    top1,
    top2,
  });
  const run = (cell: RawCell) => applyDisclosureControl({ kind: 'sum', dimensions: [], cells: [cell], policy });

  it('suppresses a sum whose two largest contributors exceed 90 % of the total', () => {
    const output = run(sumCell(1000, 600, 301));
    expect(output.cells[0].suppressed).toEqual({
      rule: 'dominance',
      reason: 'two largest contributors exceed 90 % of the total',
    });
    expect(output.report.rules).toEqual([
      { rule: 'threshold', parameters: { minPersons: 10 } },
      { rule: 'dominance', parameters: { n: 2, maxShare: 0.9 } },
    ]);
  });

  it('releases a sum whose two largest contributors are exactly 90 % of the total', () => {
    expect(run(sumCell(1000, 600, 300)).cells[0].suppressed).toBeNull();
  });

  it('compares absolute values for a negative total', () => {
    expect(run(sumCell(-1000, -600, -301)).cells[0].suppressed?.rule).toBe('dominance');
  });

  it('suppresses a total of 0 made of non-zero contributions', () => {
    expect(run(sumCell(0, 50, 40)).cells[0].suppressed?.rule).toBe('dominance');
  });

  it('applies to a variance cell that carries its two largest contributions', () => {
    const cell = { key: [], persons: 20, records: 20, total: 100, totalSquares: 5000, valueCount: 20, top1: 60, top2: 35 };
    const output = applyDisclosureControl({ kind: 'variance', dimensions: [], cells: [cell], policy });
    expect(output.cells[0].suppressed?.rule).toBe('dominance');
  });
});

describe('secondary suppression', () => {
  it('suppresses the smallest released cell of a 1-D table with one suppressed cell', () => {
    const output = applyDisclosureControl({
      kind: 'count',
      dimensions: ['region'],
      cells: counts([
        [['a'], 30],
        [['b'], 5],
        [['c'], 12],
        [['d'], 20],
      ]),
      policy,
    });
    expect(pattern(output.cells)).toEqual({ a: 'released', b: 'threshold', c: 'secondary', d: 'released' });
    expect(output.cells[2].suppressed?.reason).toBe('suppressed so that a suppressed cell cannot be recovered from the margin');
    expect(output.report).toMatchObject({ suppressedCells: 2, releasedCells: 2 });
  });

  it('adds nothing to a 1-D table that already has two suppressed cells', () => {
    const output = applyDisclosureControl({
      kind: 'count',
      dimensions: ['region'],
      cells: counts([
        [['a'], 30],
        [['b'], 5],
        [['c'], 4],
        [['d'], 20],
      ]),
      policy,
    });
    expect(pattern(output.cells)).toEqual({ a: 'released', b: 'threshold', c: 'threshold', d: 'released' });
  });

  it('protects a suppressed cell of a 2-D table along both of its lines', () => {
    const output = applyDisclosureControl({
      kind: 'count',
      dimensions: ['region', 'sex'],
      cells: counts([
        [['north', 'F'], 20],
        [['north', 'M'], 4],
        [['south', 'F'], 15],
        [['south', 'M'], 30],
        [['east', 'F'], 12],
        [['east', 'M'], 25],
      ]),
      policy,
    });
    expect(pattern(output.cells)).toEqual({
      'east/F': 'secondary',
      'east/M': 'secondary',
      'north/F': 'secondary',
      'north/M': 'threshold',
      'south/F': 'released',
      'south/M': 'released',
    });
    expect(output.report.rules).toEqual([
      { rule: 'threshold', parameters: { minPersons: 10 } },
      { rule: 'secondary', parameters: {} },
      { rule: 'zero_margin', parameters: {} },
    ]);
  });

  it('adds nothing to a query without group-by', () => {
    const output = applyDisclosureControl({ kind: 'count', dimensions: [], cells: [{ key: [], persons: 4, records: 4 }], policy });
    expect(output.report.rules).toEqual([{ rule: 'threshold', parameters: { minPersons: 10 } }]);
  });

  it('notes a secondary-suppressed cell that is alone in its line', () => {
    const output = applyDisclosureControl({
      kind: 'count',
      dimensions: ['region', 'sex'],
      cells: counts([
        [['east', 'F'], 12],
        [['north', 'F'], 5],
        [['south', 'F'], 20],
      ]),
      policy,
    });
    expect(pattern(output.cells)).toEqual({ 'east/F': 'secondary', 'north/F': 'threshold', 'south/F': 'released' });
    expect(output.report.notes).toEqual(['1 suppressed cell is alone in its line along "sex", so a query without "sex" would show its value as a margin']);
  });
});

describe('empty cells', () => {
  it('lists an absent combination of a 2-D table as a suppressed cell, like a small cell', () => {
    const output = applyDisclosureControl({
      kind: 'count',
      dimensions: ['region', 'sex'],
      cells: counts([
        [['east', 'F'], 12],
        [['east', 'M'], 25],
        [['north', 'F'], 20],
        [['south', 'F'], 15],
        [['south', 'M'], 30],
      ]),
      policy,
    });
    expect(output.cells.map((cell) => cell.key)).toEqual([
      ['east', 'F'],
      ['east', 'M'],
      ['north', 'F'],
      ['north', 'M'],
      ['south', 'F'],
      ['south', 'M'],
    ]);
    expect(output.cells[3]).toEqual({
      key: ['north', 'M'],
      stats: null,
      suppressed: { rule: 'threshold', reason: 'fewer than 10 persons' },
    });
    expect(pattern(output.cells)).toEqual({
      'east/F': 'secondary',
      'east/M': 'secondary',
      'north/F': 'secondary',
      'north/M': 'threshold',
      'south/F': 'released',
      'south/M': 'released',
    });
  });

  it('suppresses the only non-empty cell of a line whose other cells are all empty', () => {
    const output = applyDisclosureControl({
      kind: 'histogram',
      dimensions: ['bin'],
      cells: [
        { key: [0], persons: 0, records: 0 },
        { key: [10], persons: 25, records: 25 },
        { key: [20], persons: 0, records: 0 },
      ],
      policy,
    });
    expect(pattern(output.cells)).toEqual({ '0': 'threshold', '10': 'zero_margin', '20': 'threshold' });
    expect(output.cells[1].suppressed?.reason).toBe('suppressed so that empty cells cannot be recognised from the margin');
  });

  it('protects a 2-D line whose persons all share one value', () => {
    const output = applyDisclosureControl({
      kind: 'count',
      dimensions: ['region', 'diagnosis'],
      cells: counts([
        [['east', 'A'], 18],
        [['east', 'B'], 11],
        [['east', 'C'], 14],
        [['north', 'A'], 30],
        [['south', 'A'], 20],
        [['south', 'B'], 15],
        [['south', 'C'], 12],
      ]),
      policy,
    });
    expect(pattern(output.cells)).toEqual({
      'east/A': 'secondary',
      'east/B': 'secondary',
      'east/C': 'secondary',
      'north/A': 'zero_margin',
      'north/B': 'threshold',
      'north/C': 'threshold',
      'south/A': 'released',
      'south/B': 'secondary',
      'south/C': 'secondary',
    });
  });
});

describe('random rounding to base 5', () => {
  it('rounds each count with one draw, in key order', () => {
    const output = applyDisclosureControl({
      kind: 'count',
      dimensions: ['region'],
      cells: counts([
        [['c'], 23],
        [['a'], 12],
        [['b'], 20],
      ]),
      policy: { ...policy, rounding: 'random5' },
      random: draws(0.39, 0.9, 0.61),
    });
    expect(output.cells.map((cell) => cell.stats)).toEqual([{ count: 15 }, { count: 20 }, { count: 20 }]);
    expect(output.report.rules).toContainEqual({ rule: 'rounding', parameters: { base: 5 } });
    expect(output.report.notes).toEqual(['counts are randomly rounded to base 5; proportions and intervals use the rounded counts']);
  });

  it('computes a proportion and its interval from the rounded numerator and denominator', () => {
    const cell = { key: [], persons: 100, records: 100, total: 32, personsWith: 32, personsWithout: 68 };
    const stats = applyDisclosureControl({
      kind: 'proportion',
      dimensions: [],
      cells: [cell],
      policy: { ...policy, rounding: 'random5' },
      random: draws(0.3, 0.7),
    }).cells[0].stats;
    expect(stats?.numerator).toBe(35);
    expect(stats?.denominator).toBe(100);
    expect(stats?.proportion).toBe(0.35);
    expect(stats?.ci_lower).toBeCloseTo(0.26364248243097527, 10);
    expect(stats?.ci_upper).toBeCloseTo(0.44745556703112027, 10);
  });

  it('suppresses a proportion whose rounded denominator is 0', () => {
    const cell = { key: [], persons: 6, records: 6, total: 3, personsWith: 3, personsWithout: 3 };
    const output = applyDisclosureControl({
      kind: 'proportion',
      dimensions: [],
      cells: [cell],
      policy: { ...policy, minPersons: 3, rounding: 'random5' },
      random: draws(0.9, 0.9),
    });
    expect(output.cells[0].suppressed).toEqual({ rule: 'rounding', reason: 'the rounded denominator is 0' });
  });

  it('leaves a sum unrounded and rounds its count', () => {
    const cell = { key: [], persons: 24, records: 24, total: 1001, valueCount: 24, top1: 100, top2: 80 };
    const output = applyDisclosureControl({
      kind: 'sum',
      dimensions: [],
      cells: [cell],
      policy: { ...policy, rounding: 'random5' },
      random: draws(0.1),
    });
    expect(output.cells[0].stats).toEqual({ sum: 1001, count: 25 });
  });
});

describe('output order', () => {
  it('sorts cells by key: nulls, then numbers numerically, then strings', () => {
    const output = applyDisclosureControl({
      kind: 'count',
      dimensions: ['value'],
      cells: counts([
        [['b'], 20],
        [[10], 20],
        [[null], 20],
        [['B'], 20],
        [[2], 20],
      ]),
      policy,
    });
    expect(output.cells.map((cell) => cell.key)).toEqual([[null], [2], [10], ['B'], ['b']]);
  });
});

describe('input checks', () => {
  it('refuses a policy below the floors', () => {
    // Any message: only the code is checked here.
    expect(() => applyDisclosureControl({ kind: 'count', dimensions: [], cells: [], policy: { ...policy, minPersons: 2 } })).toThrowFedlabError(
      'POLICY_INVALID',
      /(?:)/,
    );
  });

  it('refuses a key whose length does not match the dimensions', () => {
    expect(() => applyDisclosureControl({ kind: 'count', dimensions: ['region', 'sex'], cells: counts([[['a'], 20]]), policy })).toThrowFedlabError(
      'INTERNAL',
      'raw cell 0 has 1 key values for 2 dimensions',
    );
  });

  it('refuses a repeated key', () => {
    expect(() =>
      applyDisclosureControl({
        kind: 'count',
        dimensions: ['region'],
        cells: counts([
          [['a'], 20],
          [['a'], 12],
        ]),
        policy,
      }),
    ).toThrowFedlabError('INTERNAL', 'raw cell 1 repeats the key of an earlier cell');
  });

  it('refuses a sum cell without its largest contributions', () => {
    const cells = [{ key: [], persons: 20, records: 20, total: 10, valueCount: 20 }];
    expect(() => applyDisclosureControl({ kind: 'sum', dimensions: [], cells, policy })).toThrowFedlabError(
      'INTERNAL',
      'raw cell 0 needs a finite top1 for a sum',
    );
  });

  it('refuses a table larger than 250000 cells', () => {
    const cells = counts(Array.from({ length: 70 }, (_, i): [RawCell['key'], number] => [[i, i, i], 20]));
    expect(() => applyDisclosureControl({ kind: 'count', dimensions: ['a', 'b', 'c'], cells, policy })).toThrowFedlabError(
      'INVALID_QUERY',
      'the table would have more than 250000 cells; group by fewer or coarser columns',
    );
  });
});
