import { describe, expect, test } from 'vitest';
import { isFedlabError, type Analysis, type DatasetSchema } from '@fedlab/model';
import { compileAnalysis, compileColumnRows } from './query-compiler';

const SCHEMA: DatasetSchema = {
  dataset: 'visits',
  person: 'health_number',
  columns: [
    { name: 'health_number', type: 'text', role: 'identifier', nullable: false },
    { name: 'sex', type: 'text', role: 'quasi_identifier', nullable: false, values: ['F', 'M'] },
    { name: 'region', type: 'text', role: 'quasi_identifier', nullable: true, values: ['north', 'south', 'east', 'west'] },
    { name: 'birth_year', type: 'integer', role: 'quasi_identifier', nullable: false },
    { name: 'visit_date', type: 'date', role: 'date', nullable: true },
    { name: 'cost', type: 'real', role: 'attribute', nullable: true },
    { name: 'flag', type: 'boolean', role: 'attribute', nullable: true },
  ],
};

describe('compileAnalysis', () => {
  test('compiles an ungrouped count to one aggregate without parameters', () => {
    const q = compileAnalysis({ kind: 'count', dataset: 'visits', groupBy: [] }, SCHEMA);
    expect(q.sql).toBe('SELECT COUNT(DISTINCT "health_number") AS persons, COUNT(*) AS records FROM "visits"');
    expect(q.params).toEqual([]);
  });

  test('compiles a grouped count to a single GROUP BY with every operator bound', () => {
    const q = compileAnalysis(
      {
        kind: 'count',
        dataset: 'visits',
        groupBy: ['sex', 'region'],
        filter: {
          kind: 'and',
          items: [
            { kind: 'cmp', column: 'birth_year', op: 'between', values: [2000, 2010] },
            { kind: 'cmp', column: 'visit_date', op: 'ge', values: ['2020-01-01'] },
            {
              kind: 'or',
              items: [
                { kind: 'cmp', column: 'sex', op: 'eq', values: ['F'] },
                { kind: 'cmp', column: 'sex', op: 'ne', values: ['M'] },
                { kind: 'cmp', column: 'region', op: 'in', values: ['north', 'south'] },
                { kind: 'cmp', column: 'cost', op: 'lt', values: [1.5] },
                { kind: 'cmp', column: 'cost', op: 'le', values: [2] },
                { kind: 'cmp', column: 'cost', op: 'gt', values: [3] },
                { kind: 'cmp', column: 'flag', op: 'eq', values: [true] },
                { kind: 'cmp', column: 'flag', op: 'in', values: [false] },
                { kind: 'cmp', column: 'visit_date', op: 'is_null', values: [] },
                { kind: 'cmp', column: 'region', op: 'not_null', values: [] },
              ],
            },
          ],
        },
      },
      SCHEMA,
    );
    expect(q.sql).toBe(
      'SELECT "sex" AS g0, "region" AS g1, COUNT(DISTINCT "health_number") AS persons, COUNT(*) AS records FROM "visits" ' +
        'WHERE ("birth_year" BETWEEN ? AND ? AND "visit_date" >= ? AND ("sex" = ? OR "sex" <> ? OR "region" IN (?, ?) OR "cost" < ? ' +
        'OR "cost" <= ? OR "cost" > ? OR "flag" = ? OR "flag" IN (?) OR "visit_date" IS NULL OR "region" IS NOT NULL)) ' +
        'GROUP BY 1, 2 ORDER BY "sex" NULLS FIRST, "region" NULLS FIRST',
    );
    expect(q.params).toEqual([2000, 2010, '2020-01-01', 'F', 'M', 'north', 'south', 1.5, 2, 3, 1, 0]);
  });

  test('keeps researcher-provided values out of the SQL text', () => {
    const hostile = ["x' OR 1=1 --", '"; DROP TABLE visits; --', 'visits', 'sex'];
    const q = compileAnalysis(
      { kind: 'sum', dataset: 'visits', groupBy: ['sex'], column: 'cost', filter: { kind: 'cmp', column: 'region', op: 'in', values: hostile } },
      SCHEMA,
    );
    expect(q.params).toEqual(hostile);
    expect(q.sql).not.toContain("'");
    expect(q.sql).not.toContain(';');
    expect(q.sql.match(/\?/g)).toHaveLength(4);
  });

  test('takes and quotes table and person names from the schema', () => {
    const schema: DatasetSchema = { ...SCHEMA, dataset: 'odd"name', person: 'person"id' };
    const q = compileAnalysis({ kind: 'count', dataset: 'odd"name', groupBy: [] }, schema);
    expect(q.sql).toBe('SELECT COUNT(DISTINCT "person""id") AS persons, COUNT(*) AS records FROM "odd""name"');
  });

  test('ranks per-person sums within each cell for sums and means', () => {
    const q = compileAnalysis(
      { kind: 'mean', dataset: 'visits', groupBy: ['sex'], column: 'cost', filter: { kind: 'cmp', column: 'flag', op: 'eq', values: [false] } },
      SCHEMA,
    );
    expect(q.sql).toBe(
      'SELECT _g0 AS g0, COUNT(_pid) AS persons, SUM(_n) AS records, SUM(_s) AS total, SUM(_vc) AS value_count, ' +
        'MAX(CASE WHEN _rn = 1 THEN ABS(_s) END) AS top1, MAX(CASE WHEN _rn = 2 THEN ABS(_s) END) AS top2 ' +
        'FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY _g0 ORDER BY ABS(_s) DESC NULLS LAST) AS _rn ' +
        'FROM (SELECT "sex" AS _g0, "health_number" AS _pid, COUNT(*) AS _n, COUNT(CAST("cost" AS DOUBLE PRECISION)) AS _vc, ' +
        'SUM(CAST("cost" AS DOUBLE PRECISION)) AS _s FROM "visits" WHERE "flag" = ? GROUP BY 1, 2) AS _persons) AS _ranked GROUP BY 1 ORDER BY _g0 NULLS FIRST',
    );
    expect(q.params).toEqual([0]);
  });

  test('computes sums of squares and the two largest contributions for variances', () => {
    const q = compileAnalysis({ kind: 'variance', dataset: 'visits', groupBy: [], column: 'birth_year' }, SCHEMA);
    expect(q.sql).toBe(
      'SELECT COUNT(_pid) AS persons, SUM(_n) AS records, SUM(_s) AS total, SUM(_ss) AS total_squares, SUM(_vc) AS value_count, ' +
        'MAX(CASE WHEN _rn = 1 THEN ABS(_s) END) AS top1, MAX(CASE WHEN _rn = 2 THEN ABS(_s) END) AS top2 ' +
        'FROM (SELECT *, ROW_NUMBER() OVER (ORDER BY ABS(_s) DESC NULLS LAST) AS _rn FROM (SELECT "health_number" AS _pid, COUNT(*) AS _n, ' +
        'COUNT(CAST("birth_year" AS BIGINT)) AS _vc, SUM(CAST("birth_year" AS BIGINT)) AS _s, ' +
        'SUM(CAST("birth_year" AS BIGINT) * CAST("birth_year" AS BIGINT)) AS _ss FROM "visits" GROUP BY 1) AS _persons) AS _ranked',
    );
  });

  test('binds the proportion condition before the filter', () => {
    const q = compileAnalysis(
      {
        kind: 'proportion',
        dataset: 'visits',
        groupBy: ['region'],
        condition: { kind: 'cmp', column: 'cost', op: 'gt', values: [100] },
        filter: { kind: 'cmp', column: 'sex', op: 'eq', values: ['F'] },
      },
      SCHEMA,
    );
    expect(q.sql).toBe(
      'SELECT _g0 AS g0, COUNT(_pid) AS persons, SUM(_n) AS records, SUM(_m) AS total, ' +
        'COUNT(CASE WHEN _m > 0 THEN _pid END) AS persons_with, COUNT(CASE WHEN _m = 0 THEN _pid END) AS persons_without ' +
        'FROM (SELECT "region" AS _g0, "health_number" AS _pid, COUNT(*) AS _n, SUM(CASE WHEN "cost" > ? THEN 1 ELSE 0 END) AS _m ' +
        'FROM "visits" WHERE "sex" = ? GROUP BY 1, 2) AS _persons GROUP BY 1 ORDER BY _g0 NULLS FIRST',
    );
    expect(q.params).toEqual([100, 'F']);
  });

  test('binds inner bin edges, then the filter, then the outer edges for histograms', () => {
    const q = compileAnalysis(
      {
        kind: 'histogram',
        dataset: 'visits',
        groupBy: [],
        column: 'cost',
        bins: [0, 10, 20, 50],
        filter: { kind: 'cmp', column: 'sex', op: 'eq', values: ['F'] },
      },
      SCHEMA,
    );
    expect(q.sql).toBe(
      'SELECT _bin AS bin, COUNT(DISTINCT _pid) AS persons, COUNT(*) AS records ' +
        'FROM (SELECT "health_number" AS _pid, CASE WHEN "cost" < ? THEN 0 WHEN "cost" < ? THEN 1 ELSE 2 END AS _bin ' +
        'FROM "visits" WHERE "sex" = ? AND "cost" >= ? AND "cost" <= ?) AS _binned GROUP BY 1 ORDER BY _bin NULLS FIRST',
    );
    expect(q.params).toEqual([10, 20, 'F', 0, 50]);
  });

  test('puts every row of a two-edge histogram in bin 0', () => {
    const q = compileAnalysis({ kind: 'histogram', dataset: 'visits', groupBy: ['sex'], column: 'cost', bins: [0, 1] }, SCHEMA);
    expect(q.sql).toContain(
      '"health_number" AS _pid, 0 AS _bin FROM "visits" WHERE "cost" >= ? AND "cost" <= ?) AS _binned GROUP BY 1, 2 ORDER BY _g0 NULLS FIRST, _bin NULLS FIRST',
    );
    expect(q.params).toEqual([0, 1]);
  });

  test('validates before compiling', () => {
    const analysis: Analysis = { kind: 'count', dataset: 'visits', groupBy: ['sex" FROM visits; --'] };
    expect(() => compileAnalysis(analysis, SCHEMA)).toThrow(expect.objectContaining({ code: 'UNKNOWN_COLUMN', message: 'invalid column name' }));
  });

  test('decodes rows: NULL aggregates to 0, booleans to words, bigints to numbers', () => {
    const q = compileAnalysis({ kind: 'sum', dataset: 'visits', groupBy: ['flag', 'region'], column: 'cost' }, SCHEMA);
    expect(
      q.decode([
        { g0: 1, g1: null, persons: 2, records: 3, total: 7.5, value_count: 3, top1: 5, top2: 2.5 },
        { g0: 0, g1: 'north', persons: 1n, records: 1, total: null, value_count: 0, top1: null, top2: null },
      ]),
    ).toEqual([
      { key: ['true', null], persons: 2, records: 3, total: 7.5, valueCount: 3, top1: 5, top2: 2.5 },
      { key: ['false', 'north'], persons: 1, records: 1, total: 0, valueCount: 0, top1: 0, top2: 0 },
    ]);
  });

  test('decodes each kind into its RawCell fields', () => {
    const variance = compileAnalysis({ kind: 'variance', dataset: 'visits', groupBy: [], column: 'cost' }, SCHEMA);
    expect(variance.decode([{ persons: 3, records: 4, total: 6, total_squares: 14, value_count: 3, top1: 3, top2: 2 }])).toEqual([
      { key: [], persons: 3, records: 4, total: 6, totalSquares: 14, valueCount: 3, top1: 3, top2: 2 },
    ]);
    const proportion = compileAnalysis(
      { kind: 'proportion', dataset: 'visits', groupBy: ['birth_year'], condition: { kind: 'cmp', column: 'flag', op: 'eq', values: [true] } },
      SCHEMA,
    );
    expect(proportion.decode([{ g0: 2001, persons: 5, records: 9, total: 4, persons_with: 2, persons_without: 3 }])).toEqual([
      { key: [2001], persons: 5, records: 9, total: 4, personsWith: 2, personsWithout: 3 },
    ]);
    const histogram = compileAnalysis({ kind: 'histogram', dataset: 'visits', groupBy: ['sex'], column: 'cost', bins: [0, 10, 20, 50] }, SCHEMA);
    expect(histogram.decode([{ g0: 'F', bin: 2, persons: 1, records: 2 }])).toEqual([{ key: ['F', 20], persons: 1, records: 2 }]);
  });

  test('refuses a bin index outside the bins', () => {
    const histogram = compileAnalysis({ kind: 'histogram', dataset: 'visits', groupBy: [], column: 'cost', bins: [0, 10] }, SCHEMA);
    let thrown: unknown;
    try {
      histogram.decode([{ bin: 1, persons: 1, records: 1 }]);
    } catch (error) {
      thrown = error;
    }
    expect(isFedlabError(thrown, 'INTERNAL')).toBe(true);
  });
});

describe('compileColumnRows', () => {
  test('selects named columns under their aliases, every identifier quoted, in the order asked with ties in import order', () => {
    const q = compileColumnRows(
      SCHEMA,
      [
        ['person', 'health_number'],
        ['date', 'visit_date'],
        ['release', 'cost'],
      ],
      ['health_number', 'visit_date'],
    );
    expect(q.sql).toBe(
      'SELECT "health_number" AS "person", "visit_date" AS "date", "cost" AS "release" FROM "visits" ' +
        'ORDER BY "health_number" NULLS FIRST, "visit_date" NULLS FIRST, rowid NULLS FIRST',
    );
    expect(q.params).toEqual([]);
  });

  test('refuses a column the dataset does not have', () => {
    expect(() => compileColumnRows(SCHEMA, [['x', 'nope']], ['health_number'])).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_COLUMN', message: 'unknown column "nope" in dataset "visits"' }),
    );
    expect(() => compileColumnRows(SCHEMA, [['person', 'health_number']], ['nope'])).toThrow(expect.objectContaining({ code: 'UNKNOWN_COLUMN' }));
  });
});
