import { describe, expect, test } from 'vitest';
import type { AggregateAnalysis, DatasetSchema } from '@fedlab/model';
import { compilePersonRows } from './query-compiler';
import { compilePrivateAnalysis } from './private-analysis';

const SCHEMA: DatasetSchema = {
  dataset: 'visits',
  person: 'person_id',
  maxRecordsPerPerson: 2,
  columns: [
    { name: 'visit_id', type: 'integer', role: 'identifier', nullable: false },
    { name: 'person_id', type: 'text', role: 'identifier', nullable: false },
    { name: 'region', type: 'text', role: 'quasi_identifier', nullable: true, values: ['north', 'south'] },
    { name: 'cost', type: 'real', role: 'attribute', nullable: true, bounds: [0, 100] },
    { name: 'flag', type: 'boolean', role: 'attribute', nullable: true },
    { name: 'visit_date', type: 'date', role: 'date', nullable: true },
  ],
};

const MEAN: AggregateAnalysis = {
  kind: 'mean',
  dataset: 'visits',
  groupBy: ['region', 'flag'],
  column: 'cost',
  filter: {
    kind: 'and',
    items: [
      { kind: 'cmp', column: 'visit_date', op: 'ge', values: ['2024-01-01'] },
      { kind: 'cmp', column: 'region', op: 'lt', values: ['s'] },
      { kind: 'cmp', column: 'flag', op: 'eq', values: [true] },
    ],
  },
};

const AGGREGATES =
  'SELECT _g0 AS g0, _g1 AS g1, COUNT(*) AS records, COUNT(_v) AS value_count, SUM(_v) AS total, SUM(_v - 51200) AS centred_total, ' +
  '0 AS centred_squares, 0 AS meeting FROM (SELECT _g0, _g1, CAST(';
const PORTABLE_ROUND = 'CASE WHEN _x >= 4503599627370496 OR _x <= -4503599627370496 THEN _x WHEN _x < 0 THEN -FLOOR(0.5 - _x) ELSE FLOOR(_x + 0.5) END';
const PARAMS = [0, 0, 100, 100, 2 ** -10, '2024-01-01', 's', 1, 2];

describe('compilePrivateAnalysis in each dialect', () => {
  test('sqlite: ? placeholders, rowid, booleans and dates as stored, ROUND', () => {
    const q = compilePrivateAnalysis(MEAN, SCHEMA);
    expect(q.sql).toBe(
      `${AGGREGATES}ROUND(_x) AS BIGINT) AS _v FROM (SELECT _g0, _g1, _x FROM (SELECT "region" AS _g0, "flag" AS _g1, ` +
        'CAST(CASE WHEN "cost" < ? THEN ? WHEN "cost" > ? THEN ? ELSE "cost" END AS DOUBLE PRECISION) / ? AS _x, ' +
        'ROW_NUMBER() OVER (PARTITION BY "person_id" ORDER BY rowid NULLS FIRST) AS _r FROM "visits" ' +
        'WHERE ("visit_date" >= ? AND "region" < ? AND "flag" = ?)) AS _ranked WHERE _r <= ?) AS _bounded) AS _rows ' +
        'GROUP BY 1, 2 ORDER BY _g0 NULLS FIRST, _g1 NULLS FIRST',
    );
    expect(q.params).toEqual(PARAMS);
    expect(compilePrivateAnalysis(MEAN, SCHEMA, { dialect: 'sqlite' }).sql).toBe(q.sql);
  });

  test('duckdb: ? placeholders, rowid, booleans cast to INTEGER, dates compared as DATE, SQLite rounding with FLOOR', () => {
    const q = compilePrivateAnalysis(MEAN, SCHEMA, { dialect: 'duckdb' });
    expect(q.sql).toBe(
      `${AGGREGATES}${PORTABLE_ROUND} AS BIGINT) AS _v FROM (SELECT _g0, _g1, _x FROM (SELECT "region" AS _g0, CAST("flag" AS INTEGER) AS _g1, ` +
        'CAST(CASE WHEN "cost" < ? THEN ? WHEN "cost" > ? THEN ? ELSE "cost" END AS DOUBLE PRECISION) / ? AS _x, ' +
        'ROW_NUMBER() OVER (PARTITION BY "person_id" ORDER BY rowid NULLS FIRST) AS _r FROM "visits" ' +
        'WHERE ("visit_date" >= CAST(? AS DATE) AND "region" < ? AND CAST("flag" AS INTEGER) = ?)) AS _ranked WHERE _r <= ?) AS _bounded) AS _rows ' +
        'GROUP BY 1, 2 ORDER BY _g0 NULLS FIRST, _g1 NULLS FIRST',
    );
    expect(q.params).toEqual(PARAMS);
  });

  test('postgres: $n placeholders (numbers as doubles), the declared import order, text by its bytes', () => {
    const q = compilePrivateAnalysis(MEAN, SCHEMA, { dialect: 'postgres', importOrder: ['visit_id'] });
    const d = (n: number) => `CAST($${n} AS DOUBLE PRECISION)`;
    expect(q.sql).toBe(
      `${AGGREGATES}${PORTABLE_ROUND} AS BIGINT) AS _v FROM (SELECT _g0, _g1, _x FROM (SELECT "region" AS _g0, CAST("flag" AS INTEGER) AS _g1, ` +
        `CAST(CASE WHEN "cost" < ${d(1)} THEN ${d(2)} WHEN "cost" > ${d(3)} THEN ${d(4)} ELSE "cost" END AS DOUBLE PRECISION) / ${d(5)} AS _x, ` +
        'ROW_NUMBER() OVER (PARTITION BY "person_id" ORDER BY "visit_id" NULLS FIRST) AS _r FROM "visits" ' +
        `WHERE ("visit_date" >= CAST($6 AS DATE) AND "region" COLLATE "C" < $7 AND CAST("flag" AS INTEGER) = ${d(8)})) AS _ranked WHERE _r <= ${d(9)}) AS _bounded) AS _rows ` +
        'GROUP BY 1, 2 ORDER BY _g0 COLLATE "C" NULLS FIRST, _g1 NULLS FIRST',
    );
    expect(q.params).toEqual(PARAMS);
  });

  test('postgres refuses a dataset without an import order, and every dialect a column the schema does not have', () => {
    expect(() => compilePrivateAnalysis(MEAN, SCHEMA, { dialect: 'postgres' })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: 'dataset "visits" has no import order: a postgres dataset needs the columns that order its rows',
      }),
    );
    // A dataset fedlab imported into PostgreSQL has a rowid column of its own.
    expect(compilePrivateAnalysis(MEAN, SCHEMA, { dialect: 'postgres', rowid: true }).sql).toContain('ORDER BY rowid NULLS FIRST) AS _r');
    expect(() => compilePrivateAnalysis(MEAN, SCHEMA, { dialect: 'duckdb', importOrder: ['nope'] })).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_COLUMN', message: 'unknown column "nope" in dataset "visits"' }),
    );
  });
});

describe('compilePersonRows in each dialect', () => {
  test('reads booleans as 0/1 and orders rows by the import order of the dialect', () => {
    const sqlOf = (dialect: 'sqlite' | 'duckdb' | 'postgres') =>
      compilePersonRows(SCHEMA, ['flag'], [undefined], undefined, { dialect, ...(dialect === 'postgres' ? { importOrder: ['visit_id'] } : {}) }).sql;
    expect(sqlOf('sqlite')).toBe('SELECT "person_id" AS p, "flag" AS c0, 1 AS f0 FROM "visits" ORDER BY rowid NULLS FIRST');
    expect(sqlOf('duckdb')).toBe('SELECT "person_id" AS p, CAST("flag" AS INTEGER) AS c0, 1 AS f0 FROM "visits" ORDER BY rowid NULLS FIRST');
    expect(sqlOf('postgres')).toBe('SELECT "person_id" AS p, CAST("flag" AS INTEGER) AS c0, 1 AS f0 FROM "visits" ORDER BY "visit_id" NULLS FIRST');
  });
});
