import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect } from 'vitest';
import type { AggregateAnalysis, CellKey, DatasetSchema, Filter, RawCell, Scalar } from '@fedlab/model';
import { compileAnalysis, parseQueryDocument, validateAnalysis } from '@fedlab/query';
import { test } from '@fedlab/test-kit';

type Value = Scalar | null;
type Row = Record<string, Value>;

const SCHEMA: DatasetSchema = {
  dataset: 'visits',
  person: 'person_id',
  columns: [
    { name: 'person_id', type: 'text', role: 'identifier', nullable: false },
    { name: 'sex', type: 'text', role: 'quasi_identifier', nullable: true, values: ['F', 'M'] },
    { name: 'region', type: 'text', role: 'quasi_identifier', nullable: true, values: ['north', 'south', 'east', 'west'] },
    { name: 'birth_year', type: 'integer', role: 'quasi_identifier', nullable: false },
    { name: 'visit_date', type: 'date', role: 'date', nullable: true },
    { name: 'cost', type: 'real', role: 'attribute', nullable: true },
    { name: 'flag', type: 'boolean', role: 'attribute', nullable: true },
  ],
};

// Costs are multiples of 0.25, so every sum is exact in floating point whatever the summation order.
const VISITS: Array<[string, string | null, string | null, number, string | null, number | null, boolean | null]> = [
  ['p01', 'M', 'north', 1999, '2020-10-19', 5.5, null],
  ['p02', 'M', 'east', 1996, '2020-08-19', -8.25, true],
  ['p03', 'F', null, 2012, '2020-06-24', 94.75, null],
  ['p04', 'F', 'north', 2006, '2020-11-03', 74, true],
  ['p05', 'F', 'north', 2011, '2020-05-16', 87.75, null],
  ['p06', 'F', 'east', 1996, '2020-01-15', 61, null],
  ['p07', 'F', null, 2008, '2020-08-03', 53, null],
  ['p08', 'M', 'south', 1997, '2020-03-03', null, false],
  ['p09', 'M', null, 1997, '2020-09-12', 150, null],
  ['p10', 'M', null, 1996, '2020-07-13', 6.5, true],
  ['p11', 'F', 'north', 2002, '2020-01-19', 1.25, true],
  ['p12', 'F', 'east', 2007, '2020-08-04', 37.75, true],
  ['p13', 'F', null, 2002, '2020-12-06', 16.75, true],
  ['p14', 'F', 'east', 2012, '2020-09-12', 26.5, false],
  ['p15', 'F', 'south', 2004, '2020-07-24', 1.5, true],
  ['p16', 'M', 'south', 1999, '2020-12-20', 42.5, true],
  ['p17', 'F', 'south', 2004, '2020-08-20', 80.25, false],
  ['p18', null, null, 2000, '2020-03-14', -95.5, false],
  ['p01', 'M', 'south', 1999, '2020-01-05', 42.75, false],
  ['p02', 'M', 'north', 1996, '2020-01-26', 93.75, false],
  ['p03', 'F', 'east', 2012, '2020-09-08', 56.5, null],
  ['p04', 'F', 'south', 2006, '2020-09-05', 54.25, null],
  ['p05', 'F', 'north', 2011, '2020-09-02', 69, false],
  ['p06', 'F', 'east', 1996, '2020-01-25', 62.5, false],
  ['p07', 'F', 'east', 2008, '2020-08-17', 62.75, null],
  ['p08', 'M', 'north', 1997, '2020-07-15', 28.75, true],
  ['p09', 'M', 'south', 1997, '2020-05-05', 18.75, null],
  ['p10', 'M', 'east', 1996, '2020-07-07', null, null],
  ['p11', 'F', 'east', 2002, '2020-09-20', 12.25, true],
  ['p12', 'F', 'south', 2007, '2020-07-28', 31, true],
  ['p13', 'F', 'north', 2002, '2020-12-06', 7.25, true],
  ['p14', 'F', 'north', 2012, '2020-08-01', 68.75, false],
  ['p15', 'F', 'east', 2004, '2020-01-06', 78.25, true],
  ['p16', 'M', 'east', 1999, null, -2, null],
  ['p17', 'F', null, 2004, '2020-09-27', 37.25, null],
  ['p18', null, 'east', 2000, '2020-01-27', 18.75, true],
  ['p08', 'M', 'east', 1997, '2020-01-15', null, true],
  ['p07', 'F', 'east', 2008, '2020-03-01', null, true],
  ['p09', 'M', 'north', 1997, '2020-03-13', 0.75, null],
  ['p11', 'F', null, 2002, '2020-03-10', 100, false],
  ['p17', 'F', 'north', 2004, '2020-11-19', 27.25, true],
  ['p13', 'F', null, 2002, '2020-09-02', 78, true],
  ['p17', 'F', 'north', 2004, '2020-12-24', 27.5, null],
  ['p13', 'F', 'north', 2002, '2020-08-22', 80.25, true],
  ['p05', 'F', 'north', 2011, '2020-08-02', 25, null],
  ['p15', 'F', null, 2004, '2020-02-18', 7.75, false],
  ['p07', 'F', 'north', 2008, '2020-10-03', 75, false],
  ['p16', 'M', null, 1999, '2020-07-01', 91, true],
  ['p04', 'F', 'east', 2006, '2020-01-11', 48.75, null],
  ['p13', 'F', 'north', 2002, '2020-06-14', 4.5, null],
];
const ROWS: Row[] = VISITS.map(([person_id, sex, region, birth_year, visit_date, cost, flag]) => ({
  person_id,
  sex,
  region,
  birth_year,
  visit_date,
  cost,
  flag,
}));

// --- Reference semantics, computed in JS straight from the rows -------------------------------

function matches(filter: Filter, row: Row): boolean {
  if (filter.kind === 'and') return filter.items.every((item) => matches(item, row));
  if (filter.kind === 'or') return filter.items.some((item) => matches(item, row));
  const v = row[filter.column]!;
  const [a, b] = filter.values;
  if (filter.op === 'is_null') return v === null;
  if (filter.op === 'not_null') return v !== null;
  if (v === null) return false;
  switch (filter.op) {
    case 'eq':
      return v === a;
    case 'ne':
      return v !== a;
    case 'lt':
      return v < a!;
    case 'le':
      return v <= a!;
    case 'gt':
      return v > a!;
    case 'ge':
      return v >= a!;
    case 'in':
      return filter.values.includes(v);
    case 'between':
      return v >= a! && v <= b!;
  }
}

const rank = (v: CellKey[number]): number => (v === null ? 0 : typeof v === 'number' ? 1 : 2);
function compareKeys(x: CellKey, y: CellKey): number {
  for (let i = 0; i < x.length; i += 1) {
    const [a, b] = [x[i]!, y[i]!];
    if (rank(a) !== rank(b)) return rank(a) - rank(b);
    if (a !== b) return a! < b! ? -1 : 1;
  }
  return 0;
}

function binOf(value: Value, bins: number[]): number | null {
  if (typeof value !== 'number' || value < bins[0]! || value > bins[bins.length - 1]!) return null;
  const index = bins.findLastIndex((edge) => value >= edge);
  return Math.min(index, bins.length - 2);
}

function expected(analysis: AggregateAnalysis, rows: Row[] = ROWS, schema: DatasetSchema = SCHEMA): RawCell[] {
  const keyValue = (row: Row, column: string): string | number | null => {
    const v = row[column]!;
    return typeof v === 'boolean' ? String(v) : v;
  };
  const cells = new Map<string, { key: CellKey; rows: Row[] }>();
  if (analysis.groupBy.length === 0 && analysis.kind !== 'histogram') cells.set('[]', { key: [], rows: [] });
  for (const row of rows.filter((r) => !analysis.filter || matches(analysis.filter, r))) {
    const key: CellKey = analysis.groupBy.map((c) => keyValue(row, c));
    if (analysis.kind === 'histogram') {
      const bin = binOf(row[analysis.column]!, analysis.bins);
      if (bin === null) continue;
      key.push(analysis.bins[bin]!);
    }
    const id = JSON.stringify(key);
    if (!cells.has(id)) cells.set(id, { key, rows: [] });
    cells.get(id)!.rows.push(row);
  }
  const personOf = (row: Row): string => row[schema.person] as string;
  return [...cells.values()]
    .sort((a, b) => compareKeys(a.key, b.key))
    .map(({ key, rows: inCell }) => {
      const cell: RawCell = { key, persons: new Set(inCell.map(personOf)).size, records: inCell.length };
      if (analysis.kind === 'count' || analysis.kind === 'histogram') return cell;
      if (analysis.kind === 'proportion') {
        const met = inCell.filter((r) => matches(analysis.condition, r));
        const personsWith = new Set(met.map(personOf)).size;
        return { ...cell, total: met.length, personsWith, personsWithout: cell.persons - personsWith };
      }
      const values = inCell.map((r) => r[analysis.column]).filter((v): v is number => typeof v === 'number');
      const total = values.reduce((s, v) => s + v, 0);
      const perPerson = new Map<string, number>();
      for (const r of inCell) {
        const v = r[analysis.column];
        if (typeof v === 'number') perPerson.set(personOf(r), (perPerson.get(personOf(r)) ?? 0) + v);
      }
      const tops = [...perPerson.values()].map(Math.abs).sort((a, b) => b - a);
      const dominance = { top1: tops[0] ?? 0, top2: tops[1] ?? 0 };
      if (analysis.kind === 'variance') {
        return { ...cell, total, totalSquares: values.reduce((s, v) => s + v * v, 0), valueCount: values.length, ...dominance };
      }
      return { ...cell, total, valueCount: values.length, ...dominance };
    });
}

// --- Database fixture ---------------------------------------------------------------------------

let db: Database.Database;

function createTable(schema: DatasetSchema, rows: Row[]): void {
  const sqlType = { text: 'TEXT', integer: 'INTEGER', real: 'REAL', date: 'TEXT', boolean: 'INTEGER' } as const;
  const names = schema.columns.map((c) => c.name);
  db.exec(`CREATE TABLE "${schema.dataset}" (${schema.columns.map((c) => `"${c.name}" ${sqlType[c.type]}`).join(', ')}) STRICT`);
  const insert = db.prepare(`INSERT INTO "${schema.dataset}" VALUES (${names.map(() => '?').join(', ')})`);
  db.transaction(() => rows.forEach((row) => insert.run(...names.map((n) => (typeof row[n] === 'boolean' ? Number(row[n]) : row[n]!)))))();
}

const run = (analysis: AggregateAnalysis, schema: DatasetSchema = SCHEMA): RawCell[] => {
  const query = compileAnalysis(analysis, schema);
  return query.decode(db.prepare(query.sql).all(...query.params) as Array<Record<string, unknown>>);
};
const rowCount = (): number => (db.prepare('SELECT COUNT(*) AS n FROM "visits"').get() as { n: number }).n;

test.beforeAll(({ fileTempDir }) => {
  db = new Database(path.join(fileTempDir, 'node.db'));
  createTable(SCHEMA, ROWS);
});

afterAll(() => {
  db.close();
});

const cmp = (column: string, op: Extract<Filter, { kind: 'cmp' }>['op'], values: Scalar[] = []): Filter => ({ kind: 'cmp', column, op, values });
const base = { dataset: 'visits' } as const;

// --- Results match the rows ---------------------------------------------------------------------

describe('compiled queries on SQLite', () => {
  test.each<[string, AggregateAnalysis]>([
    ['an ungrouped count', { ...base, kind: 'count', groupBy: [] }],
    ['a count by sex and region, NULL groups included', { ...base, kind: 'count', groupBy: ['sex', 'region'] }],
    ['a count by boolean and integer columns', { ...base, kind: 'count', groupBy: ['flag', 'birth_year'] }],
    [
      'a count under a nested filter with every operator',
      {
        ...base,
        kind: 'count',
        groupBy: ['region'],
        filter: {
          kind: 'and',
          items: [
            cmp('birth_year', 'between', [1996, 2008]),
            cmp('cost', 'ne', [42.5]),
            {
              kind: 'or',
              items: [cmp('sex', 'eq', ['F']), cmp('region', 'in', ['north', 'south']), cmp('visit_date', 'is_null'), cmp('cost', 'lt', [0])],
            },
            { kind: 'or', items: [cmp('flag', 'not_null'), cmp('cost', 'gt', [50]), cmp('cost', 'le', [7.25])] },
            cmp('visit_date', 'ge', ['2020-01-10']),
          ],
        },
      },
    ],
    ['a count where flag is false', { ...base, kind: 'count', groupBy: ['sex'], filter: cmp('flag', 'eq', [false]) }],
    ['a count matching nothing, ungrouped', { ...base, kind: 'count', groupBy: [], filter: cmp('sex', 'eq', ['X']) }],
    [
      'a sum by region over a date range',
      { ...base, kind: 'sum', column: 'cost', groupBy: ['region'], filter: cmp('visit_date', 'between', ['2020-03-01', '2020-10-31']) },
    ],
    ['an ungrouped sum with negative contributions', { ...base, kind: 'sum', column: 'cost', groupBy: [] }],
    ['a mean by sex and flag', { ...base, kind: 'mean', column: 'cost', groupBy: ['sex', 'flag'] }],
    ['a mean of an integer column', { ...base, kind: 'mean', column: 'birth_year', groupBy: ['region'] }],
    ['a mean matching nothing, ungrouped', { ...base, kind: 'mean', column: 'cost', groupBy: [], filter: cmp('birth_year', 'gt', [2100]) }],
    ['a variance by sex', { ...base, kind: 'variance', column: 'cost', groupBy: ['sex'] }],
    ['an ungrouped variance of an integer column', { ...base, kind: 'variance', column: 'birth_year', groupBy: [], filter: cmp('sex', 'not_null') }],
    ['a proportion by sex', { ...base, kind: 'proportion', groupBy: ['sex'], condition: cmp('flag', 'eq', [true]) }],
    [
      'a proportion with a compound condition and a filter',
      {
        ...base,
        kind: 'proportion',
        groupBy: ['region', 'sex'],
        condition: { kind: 'or', items: [cmp('cost', 'gt', [75]), cmp('cost', 'is_null')] },
        filter: cmp('birth_year', 'le', [2010]),
      },
    ],
    [
      'an ungrouped histogram with values on the edges and outside the bins',
      { ...base, kind: 'histogram', column: 'cost', groupBy: [], bins: [0, 25, 50, 100] },
    ],
    [
      'a histogram by sex with fractional edges and a filter',
      { ...base, kind: 'histogram', column: 'cost', groupBy: ['sex'], bins: [-10, 7.25, 60], filter: cmp('region', 'ne', ['east']) },
    ],
    ['a histogram of an integer column with two edges', { ...base, kind: 'histogram', column: 'birth_year', groupBy: ['flag'], bins: [1996, 2004] }],
  ])('returns the exact cells for %s', (_name, analysis) => {
    expect(run(analysis)).toEqual(expected(analysis));
  });

  test('reports the two largest per-person contributions by absolute value', () => {
    const [cell] = run({ ...base, kind: 'sum', column: 'cost', groupBy: [], filter: cmp('birth_year', 'in', [2000, 1997]) });
    // p18: -95.5 + 18.75 = -76.75 (2 rows); p09: 150 + 18.75 + 0.75 = 169.5 (3 rows); p08: 28.75 (3 rows, 2 NULL).
    expect(cell).toEqual({ key: [], persons: 3, records: 8, total: 121.5, valueCount: 6, top1: 169.5, top2: 76.75 });
  });

  test('never confuses output aliases with dataset columns of the same name', () => {
    const schema: DatasetSchema = {
      dataset: 'collide',
      person: 'person_id',
      columns: [
        { name: 'person_id', type: 'text', role: 'identifier', nullable: false },
        { name: 'persons', type: 'text', role: 'attribute', nullable: false, values: ['x', 'y'] },
        { name: 'g0', type: 'integer', role: 'attribute', nullable: false },
        { name: 'records', type: 'real', role: 'attribute', nullable: true },
      ],
    };
    const rows: Row[] = [
      ['a', 'x', 1, 2],
      ['a', 'y', 2, 3],
      ['b', 'x', 1, null],
      ['c', 'x', 2, 5],
      ['c', 'x', 2, 7],
    ].map(([person_id, persons, g0, records]) => ({ person_id, persons, g0, records }) as Row);
    createTable(schema, rows);
    const analyses: AggregateAnalysis[] = [
      { dataset: 'collide', kind: 'count', groupBy: ['persons', 'g0'], filter: cmp('records', 'not_null') },
      { dataset: 'collide', kind: 'sum', column: 'records', groupBy: ['g0'], filter: cmp('persons', 'eq', ['x']) },
      { dataset: 'collide', kind: 'variance', column: 'g0', groupBy: ['persons'] },
      { dataset: 'collide', kind: 'proportion', groupBy: ['persons'], condition: cmp('g0', 'eq', [2]) },
      { dataset: 'collide', kind: 'histogram', column: 'records', groupBy: ['g0'], bins: [0, 4, 8] },
    ];
    for (const analysis of analyses) expect(run(analysis, schema)).toEqual(expected(analysis, rows, schema));
  });
});

// --- SQL injection ------------------------------------------------------------------------------

const HOSTILE_VALUES = ["x' OR 1=1 --", '"; DROP TABLE visits; --', "' UNION SELECT person_id FROM visits --", 'F"; DELETE FROM visits; --'];
const HOSTILE_NAMES = ['sex" FROM visits; --', 'sex"', 'visits; DROP TABLE visits', "region' OR '1'='1"];

describe('SQL injection attempts', () => {
  test.each(HOSTILE_VALUES)('binds the text value %j as a parameter that matches nothing', (value) => {
    const analyses: AggregateAnalysis[] = [
      { ...base, kind: 'count', groupBy: [], filter: cmp('sex', 'eq', [value]) },
      { ...base, kind: 'count', groupBy: [], filter: cmp('region', 'in', ['nowhere', value]) },
      { ...base, kind: 'sum', column: 'cost', groupBy: [], filter: { kind: 'and', items: [cmp('region', 'between', [value, value])] } },
      { ...base, kind: 'proportion', groupBy: [], condition: cmp('sex', 'eq', [value]), filter: cmp('region', 'eq', [value]) },
      { ...base, kind: 'histogram', column: 'cost', groupBy: ['sex'], bins: [0, 100], filter: cmp('sex', 'eq', [value]) },
    ];
    for (const analysis of analyses) {
      const query = compileAnalysis(analysis, SCHEMA);
      expect(query.sql).not.toContain(value);
      expect(query.params).toContain(value);
      const cells = run(analysis);
      expect(cells.every((cell) => cell.records === 0 && cell.persons === 0)).toBe(true);
    }
    expect(rowCount()).toBe(ROWS.length);
  });

  test('binds a hostile value in a proportion condition without matching anything', () => {
    const [cell] = run({ ...base, kind: 'proportion', groupBy: [], condition: cmp('region', 'in', HOSTILE_VALUES) });
    expect(cell).toEqual({ key: [], persons: 18, records: ROWS.length, total: 0, personsWith: 0, personsWithout: 18 });
    expect(rowCount()).toBe(ROWS.length);
  });

  test.each(HOSTILE_NAMES)('refuses the column name %j wherever a column is named, without echoing it', (name) => {
    const analyses: AggregateAnalysis[] = [
      { ...base, kind: 'count', groupBy: [name] },
      { ...base, kind: 'count', groupBy: [], filter: cmp(name, 'eq', ['F']) },
      { ...base, kind: 'sum', column: name, groupBy: [] },
      { ...base, kind: 'histogram', column: name, groupBy: [], bins: [0, 1] },
      { ...base, kind: 'proportion', groupBy: [], condition: cmp(name, 'is_null') },
    ];
    for (const analysis of analyses) {
      expect(() => validateAnalysis(analysis, SCHEMA)).toThrowFedlabError('UNKNOWN_COLUMN', 'invalid column name');
      expect(() => compileAnalysis(analysis, SCHEMA)).toThrowFedlabError('UNKNOWN_COLUMN', 'invalid column name');
    }
    expect(rowCount()).toBe(ROWS.length);
  });

  test.each(HOSTILE_NAMES)('refuses the dataset name %j', (dataset) => {
    expect(() => compileAnalysis({ kind: 'count', dataset, groupBy: [] }, SCHEMA)).toThrowFedlabError(
      'INVALID_QUERY',
      'analysis.dataset: does not name dataset "visits"',
    );
    expect(rowCount()).toBe(ROWS.length);
  });

  test('refuses hostile names in a query document before any schema is consulted', () => {
    const doc = (analysis: Record<string, unknown>) => ({ project: 'p1', purpose: 'research', nodes: ['health'], analysis });
    const name = 'expected a lower snake case name (a-z, 0-9, _; at most 63 characters)';
    expect(() => parseQueryDocument(doc({ kind: 'count', dataset: 'visits"; DROP TABLE visits; --' }))).toThrowFedlabError(
      'INVALID_QUERY',
      `analysis.dataset: ${name}`,
    );
    expect(() => parseQueryDocument(doc({ kind: 'mean', dataset: 'visits', column: 'cost" FROM visits; --' }))).toThrowFedlabError(
      'INVALID_QUERY',
      `analysis.column: ${name}`,
    );
    expect(() => parseQueryDocument(doc({ kind: 'count', dataset: 'visits', filter: { column: "sex' OR 1=1", op: 'eq', value: 'F' } }))).toThrowFedlabError(
      'INVALID_QUERY',
      `analysis.filter.column: ${name}`,
    );
  });

  test('refuses hostile values for typed columns with the exact error and without echoing them', () => {
    const value = "2020-01-01' OR '1'='1";
    expect(() => compileAnalysis({ ...base, kind: 'count', groupBy: [], filter: cmp('visit_date', 'ge', [value]) }, SCHEMA)).toThrowFedlabError(
      'INVALID_QUERY',
      'column "visit_date" is date; value at analysis.filter.values[0] is not a real date in YYYY-MM-DD form',
    );
    expect(() => compileAnalysis({ ...base, kind: 'count', groupBy: [], filter: cmp('birth_year', 'eq', ['1 OR 1=1']) }, SCHEMA)).toThrowFedlabError(
      'TYPE_MISMATCH',
      'column "birth_year" is integer; value at analysis.filter.values[0] is not an integer',
    );
    expect(() => compileAnalysis({ ...base, kind: 'count', groupBy: [], filter: cmp('flag', 'eq', ['1; DROP TABLE visits']) }, SCHEMA)).toThrowFedlabError(
      'TYPE_MISMATCH',
      'column "flag" is boolean; value at analysis.filter.values[0] is not a boolean',
    );
  });

  test('leaves the table and the schema intact after every attempt', () => {
    expect(rowCount()).toBe(ROWS.length);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all();
    expect(tables).toEqual([{ name: 'collide' }, { name: 'visits' }]);
  });
});
