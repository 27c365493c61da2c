import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AggregateAnalysis, DatasetSchema } from '@fedlab/model';
import { compilePrivateAnalysis, publicDomains, valueGrid } from '@fedlab/query';

const SCHEMA: DatasetSchema = {
  dataset: 'visits',
  person: 'person_id',
  maxRecordsPerPerson: 2,
  columns: [
    { name: 'person_id', type: 'text', role: 'identifier', nullable: false },
    { name: 'sex', type: 'text', role: 'quasi_identifier', nullable: true, values: ['F', 'M'] },
    { name: 'birth_year', type: 'integer', role: 'quasi_identifier', nullable: false, bounds: [1990, 1994] },
    { name: 'cost', type: 'real', role: 'attribute', nullable: true, bounds: [0, 100] },
    { name: 'visit_date', type: 'date', role: 'date', nullable: false },
  ],
};

// p1 has four visits (only the first two, in insertion order, count); p2's cost is above the bound.
const ROWS: Array<[string, string | null, number, number | null, string]> = [
  ['p1', 'F', 1990, 10, '2024-01-01'],
  ['p2', 'M', 1991, 250, '2024-01-02'],
  ['p1', 'F', 1990, 20, '2024-01-03'],
  ['p1', 'F', 1990, 30, '2024-01-04'],
  ['p3', null, 1999, null, '2024-01-05'],
  ['p1', 'F', 1990, 40, '2024-01-06'],
  ['p4', 'M', 1992, -5, '2024-01-07'],
];

describe('bounded SQL of differentially private queries', () => {
  let db: Database.Database;
  beforeAll(() => {
    db = new Database(':memory:');
    db.exec('CREATE TABLE visits (person_id TEXT NOT NULL, sex TEXT, birth_year INTEGER NOT NULL, cost REAL, visit_date TEXT NOT NULL) STRICT');
    const insert = db.prepare('INSERT INTO visits VALUES (?, ?, ?, ?, ?)');
    for (const row of ROWS) insert.run(...row);
  });
  afterAll(() => db.close());

  const run = (analysis: AggregateAnalysis) => {
    const compiled = compilePrivateAnalysis(analysis, SCHEMA);
    return { compiled, cells: compiled.decode(db.prepare(compiled.sql).all(...compiled.params) as Array<Record<string, unknown>>) };
  };

  it('counts at most max_records_per_person rows per person, the first ones in import order', () => {
    const { cells } = run({ kind: 'count', dataset: 'visits', groupBy: ['sex'] });
    expect(cells.map((c) => [c.key[0], c.records])).toEqual([
      [null, 1],
      ['F', 2],
      ['M', 2],
    ]);
  });

  it('applies the bound after the filter, so filtered-out rows use up no slot', () => {
    const { cells } = run({ kind: 'count', dataset: 'visits', groupBy: [], filter: { kind: 'cmp', column: 'visit_date', op: 'ge', values: ['2024-01-03'] } });
    // p1 keeps 01-03 and 01-04 (not 01-06); p3 and p4 one each.
    expect(cells[0]!.records).toBe(4);
  });

  it('clamps values to the bounds and sums them exactly on the grid', () => {
    const grid = valueGrid(SCHEMA.columns[3]!, 'visits');
    // Half-range 50 → 2^6 rounded up, less 16 bits: steps of 2^-10, so |value − centre| ≤ 2^16 steps.
    expect(grid).toEqual({ step: 2 ** -10, lo: 0, hi: 102_400, centre: 51_200, halfRange: 51_200, maxAbs: 102_400 });
    const { cells } = run({ kind: 'variance', dataset: 'visits', column: 'cost', groupBy: [] });
    // Counted values: p1 10, 20; p2 250 → 100; p4 −5 → 0; p3 null.
    const values = [10, 20, 100, 0].map((v) => v / grid.step);
    expect(cells[0]).toEqual({
      key: [],
      records: 5,
      valueCount: 4,
      total: values.reduce((a, b) => a + b, 0),
      centredTotal: values.reduce((a, b) => a + b - grid.centre, 0),
      centredSquares: values.reduce((a, b) => a + (b - grid.centre) ** 2, 0),
      meeting: 0,
    });
  });

  it('rounds an integer column on a grid coarser than 1 half away from zero, not by integer division', () => {
    const db2 = new Database(':memory:');
    try {
      db2.exec('CREATE TABLE counts (person_id TEXT NOT NULL, n INTEGER) STRICT');
      const insert = db2.prepare('INSERT INTO counts VALUES (?, ?)');
      [4, -4, 12, -12, 20, 3, null].forEach((n, i) => insert.run(`p${i}`, n));
      const schema: DatasetSchema = {
        dataset: 'counts',
        person: 'person_id',
        columns: [
          { name: 'person_id', type: 'text', role: 'identifier', nullable: false },
          { name: 'n', type: 'integer', role: 'attribute', nullable: true, bounds: [-300_000, 300_000] },
        ],
      };
      const compiled = compilePrivateAnalysis({ kind: 'sum', dataset: 'counts', column: 'n', groupBy: [] }, schema);
      // Half-range 300 000 → 2^19 less 16 bits: steps of 8. 4/8 → 1, −4/8 → −1, 12/8 → 2, −12/8 → −2, 20/8 → 3, 3/8 → 0.
      expect(compiled.grid?.step).toBe(8);
      expect(compiled.decode(db2.prepare(compiled.sql).all(...compiled.params) as Array<Record<string, unknown>>)[0]).toMatchObject({
        valueCount: 6,
        total: 3,
      });
    } finally {
      db2.close();
    }
  });

  it('gives the same cells from the person columns of the import (stored rank without a filter, ranking only persons above the bound with one)', () => {
    const analyses: AggregateAnalysis[] = [
      { kind: 'count', dataset: 'visits', groupBy: [] },
      { kind: 'count', dataset: 'visits', groupBy: ['sex'], filter: { kind: 'cmp', column: 'visit_date', op: 'ge', values: ['2024-01-03'] } },
      { kind: 'variance', dataset: 'visits', column: 'cost', groupBy: ['sex'] },
      { kind: 'proportion', dataset: 'visits', groupBy: [], condition: { kind: 'cmp', column: 'cost', op: 'gt', values: [15] } },
      { kind: 'histogram', dataset: 'visits', column: 'cost', bins: [0, 25, 100], groupBy: [] },
    ];
    const before = analyses.map((a) => run(a).cells);
    const copy = new Database(':memory:');
    try {
      copy.exec(
        'CREATE TABLE visits (person_id TEXT NOT NULL, sex TEXT, birth_year INTEGER NOT NULL, cost REAL, visit_date TEXT NOT NULL, fedlab_person_rows INTEGER, fedlab_person_rank INTEGER) STRICT',
      );
      const insert = copy.prepare('INSERT INTO visits VALUES (?, ?, ?, ?, ?, ?, ?)');
      ROWS.forEach((row, i) => insert.run(...row, ROWS.filter((r) => r[0] === row[0]).length, ROWS.slice(0, i + 1).filter((r) => r[0] === row[0]).length));
      for (const [i, analysis] of analyses.entries()) {
        const compiled = compilePrivateAnalysis(analysis, SCHEMA, { personColumns: true });
        expect(compiled.sql.includes('ROW_NUMBER()')).toBe(analysis.filter !== undefined || analysis.kind === 'histogram');
        expect(compiled.decode(copy.prepare(compiled.sql).all(...compiled.params) as Array<Record<string, unknown>>)).toEqual(before[i]);
      }
    } finally {
      copy.close();
    }
  });

  it('lays out the public value set of each dimension, and refuses a dimension without one', () => {
    expect(publicDomains({ kind: 'count', dataset: 'visits', groupBy: ['sex', 'birth_year'] }, SCHEMA)).toEqual([
      [null, 'F', 'M'],
      [1990, 1991, 1992, 1993, 1994],
    ]);
    const noDomain = { ...SCHEMA, columns: SCHEMA.columns.map((c) => (c.name === 'birth_year' ? { ...c, bounds: undefined } : c)) };
    expect(() => publicDomains({ kind: 'count', dataset: 'visits', groupBy: ['birth_year'] }, noDomain)).toThrow(
      'analysis.group_by[0]: column "birth_year" has no public value set; declare bounds spanning fewer than 1000 values in the dataset schema',
    );
  });

  it('refuses a mean on a column without bounds', () => {
    const noBounds = { ...SCHEMA, columns: SCHEMA.columns.map((c) => (c.name === 'cost' ? { ...c, bounds: undefined } : c)) };
    expect(() => compilePrivateAnalysis({ kind: 'mean', dataset: 'visits', column: 'cost', groupBy: [] }, noBounds)).toThrow(
      expect.objectContaining({
        code: 'BOUNDS_MISSING',
        message: 'column "cost" of dataset "visits" has no bounds: a sum, mean or variance needs bounds: [lo, hi] in the dataset schema',
      }),
    );
  });
});
