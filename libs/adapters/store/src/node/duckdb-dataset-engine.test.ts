import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect } from 'vitest';
import { FedlabError, type DatasetSchema } from '@fedlab/model';
import { test as kit } from '@fedlab/test-kit';
import { parseDatasetSchema } from '../dataset-schema';
import type { DatasetEngine } from './dataset-engine';
import { DUCKDB_STATIC_EXTENSIONS } from './duckdb-dataset-engine';
import { openNodeStore, openNodeStoreWithEngine, type SqliteNodeStore } from './node-store';

const visits: DatasetSchema = parseDatasetSchema(
  {
    dataset: 'visits',
    person: 'pid',
    columns: [
      { name: 'pid', type: 'text', role: 'identifier' },
      { name: 'sex', type: 'text', role: 'quasi_identifier', values: ['F', 'M'] },
      { name: 'age', type: 'integer', role: 'quasi_identifier', nullable: true },
      { name: 'cost', type: 'real', role: 'attribute', nullable: true },
      { name: 'seen', type: 'date', role: 'date' },
      { name: 'urgent', type: 'boolean', role: 'attribute' },
    ],
  },
  'test',
);
const header = 'pid,sex,age,cost,seen,urgent';

interface Fixtures {
  folder: string;
  duck: SqliteNodeStore;
  lite: SqliteNodeStore;
  write: (name: string, text: string) => string;
  parquet: (name: string, select: string) => Promise<string>;
}

const test = kit.extend<Fixtures>({
  folder: async ({ tempDir }, use) => use(path.join(tempDir, 'datasets')),
  duck: async ({ nodeDbFile, folder }, use) => {
    const store = await openNodeStoreWithEngine(nodeDbFile, { kind: 'duckdb', folder, threads: 2 });
    await use(store);
    await store.datasets.close();
    store.close();
  },
  lite: async ({ tempDir }, use) => {
    const store = openNodeStore(path.join(tempDir, 'sqlite.db'));
    await use(store);
    store.close();
  },
  write: async ({ tempDir }, use) =>
    use((name, text) => {
      const file = path.join(tempDir, name);
      writeFileSync(file, text);
      return file;
    }),
  parquet: async ({ tempDir }, use) => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await use(async (name, select) => {
      const file = path.join(tempDir, name);
      await connection.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
      return file;
    });
    connection.closeSync();
    instance.closeSync();
  },
});

const rowsOf = (engine: DatasetEngine, sql = 'SELECT * FROM visits ORDER BY rowid') => engine.query({ sql, params: [] });
const failureOf = async (run: Promise<unknown>) => {
  try {
    await run;
  } catch (error) {
    if (error instanceof FedlabError) return [error.code, error.message];
    throw error;
  }
  return undefined;
};

const good = [header, 'a,F,34,12.5,2024-02-29,true', 'b,M,,,2023-01-01,0', 'a,F,35,1e3,2024-03-01,FALSE', 'c,M,7,-0.25,1999-12-31,1'].join('\n');

describe('DuckDbDatasetEngine', () => {
  test('imports a CSV into a dataset file and returns its rows as plain values with the person columns', async ({ duck, write, folder }) => {
    const progress: number[][] = [];
    const result = await duck.datasets.import({ csvPath: write('visits.csv', good), schema: visits, onProgress: (...p) => progress.push(p) });
    expect(result).toEqual({ rows: 4 });
    expect(progress[0]).toEqual([0, 0, good.length]);
    expect(progress.at(-1)).toEqual([4, good.length, good.length]);
    expect(duck.datasets.dialect).toBe('duckdb');
    expect(duck.datasets.schema('visits')).toEqual(visits);
    expect(duck.datasets.hasPersonColumns('visits')).toBe(true);
    expect(duck.datasets.catalog().map((d) => [d.dataset, d.approxRows])).toEqual([['visits', 0]]);
    expect(await rowsOf(duck.datasets)).toEqual([
      { rowid: 0, pid: 'a', sex: 'F', age: 34, cost: 12.5, seen: '2024-02-29', urgent: 1, fedlab_person_rows: 2, fedlab_person_rank: 1 },
      { rowid: 1, pid: 'b', sex: 'M', age: null, cost: null, seen: '2023-01-01', urgent: 0, fedlab_person_rows: 1, fedlab_person_rank: 1 },
      { rowid: 2, pid: 'a', sex: 'F', age: 35, cost: 1000, seen: '2024-03-01', urgent: 0, fedlab_person_rows: 2, fedlab_person_rank: 2 },
      { rowid: 3, pid: 'c', sex: 'M', age: 7, cost: -0.25, seen: '1999-12-31', urgent: 1, fedlab_person_rows: 1, fedlab_person_rank: 1 },
    ]);
    expect(readdirSync(folder).filter((f) => f.endsWith('.duckdb'))).toHaveLength(1);
  });

  test('returns sums as exact numbers and refuses an integer beyond 2^53 rather than round it', async ({ duck, write }) => {
    await duck.datasets.import({ csvPath: write('visits.csv', good), schema: visits });
    expect(await rowsOf(duck.datasets, 'SELECT SUM(age) AS s, COUNT(*) AS n, AVG(cost) AS m FROM visits')).toEqual([
      { s: 76, n: 4, m: (12.5 + 1000 - 0.25) / 3 },
    ]);
    await expect(rowsOf(duck.datasets, 'SELECT CAST(9007199254740992 AS BIGINT) AS big')).rejects.toThrowFedlabError(
      'INTERNAL',
      'column "big": an integer beyond ±(2^53 − 1) cannot be returned exactly',
    );
  });

  test('streams the rows of a statement in order', async ({ duck, write }) => {
    const many = [header, ...Array.from({ length: 5000 }, (_, i) => `p${i % 70},F,${i},,2020-01-01,true`)].join('\n');
    await duck.datasets.import({ csvPath: write('visits.csv', many), schema: visits });
    let n = 0;
    for await (const row of duck.datasets.iterate({ sql: 'SELECT age FROM visits WHERE age >= ? ORDER BY rowid', params: [10] })) {
      expect(row).toEqual({ age: n + 10 });
      n++;
    }
    expect(n).toBe(4990);
  });

  const badFiles: Array<[string, string]> = [
    ['a header that is not the schema', ['pid,sex,age,cost,urgent,seen', 'a,F,1,1,2020-01-01,true'].join('\n')],
    ['a header with a missing column', ['pid,sex,age,cost,seen', 'a,F,1,1,2020-01-01'].join('\n')],
    ['an empty file', ''],
    ['a row with too few columns', [header, 'a,F,1,1,2020-01-01,true', 'b,M,1,1,2020-01-01'].join('\n')],
    ['a row with too many columns', [header, 'a,F,1,1,2020-01-01,true,x'].join('\n')],
    ['a text value the schema does not list', [header, 'a,F,1,1,2020-01-01,true', 'a,X,1,1,2020-01-01,true'].join('\n')],
    ['an integer that is not one', [header, 'a,F,1.5,1,2020-01-01,true'].join('\n')],
    ['an integer beyond 2^53', [header, 'a,F,9007199254740992,1,2020-01-01,true'].join('\n')],
    ['a real that is not finite', [header, 'a,F,1,1e999,2020-01-01,true'].join('\n')],
    ['a real that is not a number', [header, 'a,F,1,NaN,2020-01-01,true'].join('\n')],
    ['a date that does not exist', [header, 'a,F,1,1,2023-02-29,true'].join('\n')],
    ['a date in another format', [header, 'a,F,1,1,2023-2-3,true'].join('\n')],
    ['a date in year 0000', [header, 'a,F,1,1,2020-01-01,true', 'b,F,1,1,0000-01-01,true'].join('\n')],
    ['a NUL character in a text value', [header, 'a,F,1,1,2020-01-01,true', 'b\u0000c,F,1,1,2020-01-01,true'].join('\n')],
    ['a boolean that is not one', [header, 'a,F,1,1,2023-02-03,yes'].join('\n')],
    ['an empty value in a column that is not nullable', [header, 'a,F,1,1,,true'].join('\n')],
    ['a quoted empty value in a column that is not nullable', [header, 'a,"",1,1,2020-01-01,true'].join('\n')],
    ['a quote inside an unquoted field', [header, 'a,F,1,1,2020-01-01,true', 'b"x,F,1,1,2020-01-01,true'].join('\n')],
    ['a doubled quote in a quoted field, then a bad value', [header, '"a""b",F,1,1,2020-01-01,true', '"b""",F,1,1,2020-01-01,yes'].join('\n')],
    ['a quoted field that is not closed', [header, 'a,F,1,1,2020-01-01,true', '"b,F,1,1,2020-01-01,true'].join('\n')],
  ];

  test.for(badFiles)(
    'refuses %s with the error and message of the SQLite engine, leaving no file and no catalog entry',
    async ([, text], { duck, lite, write, folder }) => {
      const csvPath = write('bad.csv', text);
      const expected = await failureOf(lite.datasets.import({ csvPath, schema: visits }));
      expect(expected).toBeDefined();
      expect(await failureOf(duck.datasets.import({ csvPath, schema: visits }))).toEqual(expected);
      expect(duck.datasets.catalog()).toEqual([]);
      expect(readdirSync(folder).filter((f) => f.endsWith('.duckdb'))).toEqual([]);
    },
  );

  test('refuses invalid UTF-8 as the SQLite engine does', async ({ duck, lite, write }) => {
    const csvPath = write('bad.csv', '');
    writeFileSync(
      csvPath,
      Buffer.concat([Buffer.from(`${header}\na,F,1,1,2020-01-01,true\n`), Buffer.from([0x62, 0xff]), Buffer.from(',F,1,1,2020-01-01,true\n')]),
    );
    await expect(duck.datasets.import({ csvPath, schema: visits })).rejects.toThrowFedlabError('CSV_BAD_ENCODING', 'bad.csv line 3: invalid UTF-8');
    expect(await failureOf(lite.datasets.import({ csvPath, schema: visits }))).toEqual(['CSV_BAD_ENCODING', 'bad.csv line 3: invalid UTF-8']);
  });

  test('reports a bad value with its line and column', async ({ duck, write }) => {
    const csvPath = write('bad.csv', [header, 'a,F,1,1,2020-01-01,true', '', 'b,F,x,1,2020-01-01,true'].join('\n'));
    await expect(duck.datasets.import({ csvPath, schema: visits })).rejects.toThrowFedlabError('CSV_BAD_VALUE', 'bad.csv line 4, column "age": not an integer');
  });

  test('imports what DuckDB reads differently but csv-import accepts (CRLF, a carriage return in a value, blank lines) as SQLite does', async ({
    duck,
    lite,
    write,
  }) => {
    const csvPath = write('odd.csv', `\uFEFF${header}\r\n"a\rb",F,1,1,2020-01-01,true\r\n\r\nb,M,,,2020-01-02,0\n`);
    const text = visits.columns.map((c) => (c.name === 'sex' ? { ...c, values: undefined } : c));
    const schema = { ...visits, columns: text };
    await lite.datasets.import({ csvPath, schema });
    await duck.datasets.import({ csvPath, schema });
    const sql = 'SELECT pid, sex, age, cost, seen, urgent FROM visits ORDER BY rowid';
    expect(await rowsOf(duck.datasets, sql)).toEqual(await rowsOf(lite.datasets, sql));
    expect((await rowsOf(duck.datasets, sql))[0].pid).toBe('a\rb');
  });

  test('keeps the previous import in force when a new one fails, and replaces its file when one succeeds', async ({ duck, write, folder }) => {
    await duck.datasets.import({ csvPath: write('visits.csv', good), schema: visits });
    const before = readdirSync(folder).filter((f) => f.endsWith('.duckdb'));
    const generation = duck.datasets.generation('visits');
    await expect(duck.datasets.import({ csvPath: write('bad.csv', `${header}\na,F,1,1,2020-01-01,maybe`), schema: visits })).rejects.toThrowFedlabError(
      'CSV_BAD_VALUE',
      'bad.csv line 2, column "urgent": not a boolean (expected true, false, 1 or 0)',
    );
    expect(readdirSync(folder).filter((f) => f.endsWith('.duckdb'))).toEqual(before);
    expect(duck.datasets.generation('visits')).toBe(generation);
    expect(await rowsOf(duck.datasets, 'SELECT COUNT(*) AS n FROM visits')).toEqual([{ n: 4 }]);
    await duck.datasets.import({ csvPath: write('visits.csv', `${header}\nz,F,1,1,2020-01-01,true`), schema: visits });
    const after = readdirSync(folder).filter((f) => f.endsWith('.duckdb'));
    expect(after).toHaveLength(1);
    expect(after).not.toEqual(before);
    expect(Number(duck.datasets.generation('visits'))).toBeGreaterThan(Number(generation));
    expect(await rowsOf(duck.datasets, 'SELECT pid FROM visits')).toEqual([{ pid: 'z' }]);
  });

  test('sees an import another engine instance made on the same node database without reopening (daemon and importer)', async ({
    duck,
    nodeDbFile,
    folder,
    write,
  }) => {
    await duck.datasets.import({ csvPath: write('visits.csv', good), schema: visits });
    expect(await rowsOf(duck.datasets, 'SELECT COUNT(*) AS n FROM visits')).toEqual([{ n: 4 }]);
    const importer = await openNodeStoreWithEngine(nodeDbFile, { kind: 'duckdb', folder });
    try {
      await importer.datasets.import({ csvPath: write('more.csv', `${header}\nz,F,1,1,2020-01-01,true`), schema: visits });
    } finally {
      await importer.datasets.close();
      importer.close();
    }
    expect(await rowsOf(duck.datasets, 'SELECT pid FROM visits')).toEqual([{ pid: 'z' }]);
    expect(readdirSync(folder).filter((f) => f.endsWith('.duckdb'))).toHaveLength(1);
  });

  test('runs one statement text again with other parameters, and against the new rows once an import replaced the dataset', async ({ duck, write }) => {
    await duck.datasets.import({ csvPath: write('visits.csv', good), schema: visits });
    const visitsOf = (pid: string) => duck.datasets.query({ sql: 'SELECT COUNT(*) AS n, MIN(age) AS youngest FROM visits WHERE pid = ?', params: [pid] });
    expect(await visitsOf('a')).toEqual([{ n: 2, youngest: 34 }]);
    expect(await visitsOf('c')).toEqual([{ n: 1, youngest: 7 }]);
    expect(await Promise.all(['a', 'b', 'c', 'z'].map(visitsOf))).toEqual([
      [{ n: 2, youngest: 34 }],
      [{ n: 1, youngest: null }],
      [{ n: 1, youngest: 7 }],
      [{ n: 0, youngest: null }],
    ]);
    await duck.datasets.import({ csvPath: write('visits.csv', `${header}\nz,F,61,1,2020-01-01,true\nz,F,60,1,2020-01-02,true`), schema: visits });
    expect(await visitsOf('a')).toEqual([{ n: 0, youngest: null }]);
    expect(await visitsOf('z')).toEqual([{ n: 2, youngest: 60 }]);
  });

  const parquetSelect = `SELECT * FROM (VALUES ('a', 'F', 34::BIGINT, 12.5::DOUBLE, DATE '2024-02-29', true), ('b', 'M', NULL, NULL, DATE '2023-01-01', false), ('a', 'F', 35, 1000, DATE '2024-03-01', false)) AS t(pid, sex, age, cost, seen, urgent)`;

  test('imports a Parquet file as a copy with the person columns', async ({ duck, parquet }) => {
    const file = await parquet('visits.parquet', parquetSelect);
    expect(await duck.datasets.import({ csvPath: file, schema: visits })).toEqual({ rows: 3 });
    expect(duck.datasets.hasPersonColumns('visits')).toBe(true);
    expect(await rowsOf(duck.datasets, 'SELECT rowid, pid, age, seen, urgent, fedlab_person_rank FROM visits ORDER BY rowid')).toEqual([
      { rowid: 0, pid: 'a', age: 34, seen: '2024-02-29', urgent: 1, fedlab_person_rank: 1 },
      { rowid: 1, pid: 'b', age: null, seen: '2023-01-01', urgent: 0, fedlab_person_rank: 1 },
      { rowid: 2, pid: 'a', age: 35, seen: '2024-03-01', urgent: 0, fedlab_person_rank: 2 },
    ]);
  });

  test('refuses a Parquet file with a different schema, naming the column and both types', async ({ duck, parquet, folder }) => {
    const file = await parquet('other.parquet', parquetSelect.replace("DATE '2024-02-29'", "'2024-02-29'").replace(/DATE '/g, "'"));
    await expect(duck.datasets.import({ csvPath: file, schema: visits })).rejects.toThrowFedlabError(
      'SCHEMA_MISMATCH',
      `other.parquet: column "seen" is VARCHAR in the Parquet file, the schema's date needs DATE`,
    );
    await expect(duck.datasets.import({ csvPath: file, schema: visits, inPlace: true })).rejects.toThrowFedlabError(
      'SCHEMA_MISMATCH',
      `other.parquet: column "seen" is VARCHAR in the Parquet file, the schema's date needs DATE`,
    );
    const missing = await parquet('missing.parquet', `SELECT pid, sex, age, cost, seen FROM (${parquetSelect})`);
    await expect(duck.datasets.import({ csvPath: missing, schema: visits })).rejects.toThrowFedlabError(
      'SCHEMA_MISMATCH',
      'missing.parquet: column "urgent" of the schema is not in the Parquet file',
    );
    const extra = await parquet('extra.parquet', `SELECT *, 1 AS more FROM (${parquetSelect})`);
    await expect(duck.datasets.import({ csvPath: extra, schema: visits })).rejects.toThrowFedlabError(
      'SCHEMA_MISMATCH',
      'extra.parquet: column "more" of the Parquet file is not in the schema',
    );
    // A value the schema refuses; and what PostgreSQL cannot store, refused from Parquet as from a CSV file.
    const badValues: Array<[string, string, string]> = [
      ['value.parquet', parquetSelect.replace("('b', 'M'", "('b', 'X'"), 'row 2, column "sex": not one of the values the schema lists'],
      ['year0.parquet', parquetSelect.replace("DATE '2023-01-01'", "DATE '0000-06-01'"), 'row 2, column "seen": not a valid date (expected YYYY-MM-DD)'],
      ['nul.parquet', parquetSelect.replace("('a', 'F', 35", "('a' || chr(0) || 'z', 'F', 35"), 'row 3, column "pid": contains a NUL character'],
    ];
    for (const [name, select, message] of badValues) {
      const csvPath = await parquet(name, select);
      await expect(duck.datasets.import({ csvPath, schema: visits })).rejects.toThrowFedlabError('CSV_BAD_VALUE', `${name} ${message}`);
    }
    expect(duck.datasets.catalog()).toEqual([]);
    expect(readdirSync(folder).filter((f) => f.endsWith('.duckdb'))).toEqual([]);
  });

  test('attaches a Parquet file in place, without person columns, and refuses queries once its columns change under it', async ({ duck, parquet, folder }) => {
    const file = await parquet('steward.parquet', parquetSelect);
    expect(await duck.datasets.import({ csvPath: file, schema: visits, inPlace: true })).toEqual({ rows: 3 });
    expect(readdirSync(folder).filter((f) => f.endsWith('.duckdb'))).toEqual([]);
    expect(duck.datasets.hasPersonColumns('visits')).toBe(false);
    await duck.datasets.check('visits');
    expect(await rowsOf(duck.datasets, 'SELECT rowid, pid, cost FROM visits ORDER BY rowid')).toEqual([
      { rowid: 0, pid: 'a', cost: 12.5 },
      { rowid: 1, pid: 'b', cost: null },
      { rowid: 2, pid: 'a', cost: 1000 },
    ]);
    await parquet('steward.parquet', `SELECT * REPLACE (CAST(age AS VARCHAR) AS age) FROM (${parquetSelect})`);
    await expect(duck.datasets.check('visits')).rejects.toThrowFedlabError(
      'SCHEMA_MISMATCH',
      `dataset "visits" (steward.parquet): column "age" is VARCHAR in the Parquet file, the schema's integer needs an integer type`,
    );
  });

  test('attaches in place only a Parquet file, and the SQLite engine imports no Parquet', async ({ duck, lite, write, parquet }) => {
    await expect(duck.datasets.import({ csvPath: write('visits.csv', good), schema: visits, inPlace: true })).rejects.toThrowFedlabError(
      'INVALID_ARGUMENT',
      'visits.csv: only a Parquet file (.parquet) can be attached in place',
    );
    await expect(lite.datasets.import({ csvPath: await parquet('v.parquet', parquetSelect), schema: visits })).rejects.toThrowFedlabError(
      'INVALID_ARGUMENT',
      'v.parquet: the sqlite engine imports CSV files only; Parquet needs engine: duckdb',
    );
  });

  test('loads only the extensions statically linked into the package, and installs none', async ({ duck }) => {
    const rows = await duck.datasets.query({
      sql: "SELECT extension_name AS name FROM duckdb_extensions() WHERE loaded AND install_mode <> 'STATICALLY_LINKED' UNION ALL SELECT current_setting('autoinstall_known_extensions')::VARCHAR || '/' || current_setting('autoload_known_extensions')::VARCHAR",
      params: [],
    });
    expect(rows).toEqual([{ name: 'false/false' }]);
    const linked = await duck.datasets.query({
      sql: "SELECT extension_name AS name FROM duckdb_extensions() WHERE install_mode = 'STATICALLY_LINKED' ORDER BY 1",
      params: [],
    });
    expect(linked.map((r) => r.name)).toEqual(expect.arrayContaining([...DUCKDB_STATIC_EXTENSIONS]));
  });
});
