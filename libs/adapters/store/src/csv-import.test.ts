import { appendFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FedlabError } from '@fedlab/model';
import { describe, expect } from 'vitest';
import { importCsv, STAGING_TABLE_PREFIX } from './csv-import';
import { catalog, getDatasetSchema } from './dataset-catalog';
import { parseDatasetSchema } from './dataset-schema';
import type { Database } from './database';
import { test, waitUntil } from '@fedlab/test-kit';

const schema = parseDatasetSchema(
  {
    dataset: 'visits',
    description: 'Hospital visits',
    person: 'person_id',
    columns: [
      { name: 'person_id', type: 'text', role: 'identifier' },
      { name: 'sex', type: 'text', role: 'quasi_identifier', values: ['F', 'M', 'X'] },
      { name: 'birth_date', type: 'date', role: 'date' },
      { name: 'region', type: 'text', role: 'quasi_identifier', nullable: true },
      { name: 'visits', type: 'integer', role: 'attribute' },
      { name: 'cost', type: 'real', role: 'attribute', nullable: true },
      { name: 'insured', type: 'boolean', role: 'attribute' },
      { name: 'note', type: 'text', role: 'attribute', nullable: true },
    ],
  },
  'visits.yaml',
);
const HEADER = 'person_id,sex,birth_date,region,visits,cost,insured,note';
const GOOD_ROWS = [
  'p1,F,1980-02-29,north,3,12.5,true,"said ""hi"", then left"',
  'p2,M,2001-12-31,,0,,FALSE,',
  'p3,X,1999-01-01,south,-9007199254740991,-1.5e3,1,"two',
  'lines"',
  'p4,F,2000-06-15, east ,42,.5,0,  spaced  ',
];

function write(dir: string, name: string, text: string | Buffer): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** The rows as the schema declares them (without the node's per-person row count). */
function rows(db: Database, table = 'visits'): unknown[] {
  return (db.prepare(`SELECT * FROM "${table}" ORDER BY rowid`).all() as Array<Record<string, unknown>>).map(
    ({ fedlab_person_rows: _n, fedlab_person_rank: _r, ...row }) => row,
  );
}

function stagingTables(db: Database): string[] {
  return db.prepare("SELECT name FROM sqlite_schema WHERE name LIKE ? || '%'").pluck().all(STAGING_TABLE_PREFIX) as string[];
}

async function importError(promise: Promise<unknown>): Promise<FedlabError> {
  try {
    await promise;
  } catch (error) {
    return error as FedlabError;
  }
  throw new Error('the import succeeded');
}

describe('importCsv', () => {
  test("stores with every row its person's number of rows in the file and its rank among them, for the node's contribution bounds", async ({
    nodeDb: db,
    tempDir: dir,
  }) => {
    const file = write(dir, 'visits.csv', [HEADER, ...GOOD_ROWS, GOOD_ROWS[0]!, GOOD_ROWS[0]!].join('\n') + '\n');
    await importCsv(db, { csvPath: file, schema });
    expect(db.prepare('SELECT person_id, fedlab_person_rows AS n, fedlab_person_rank AS r FROM visits ORDER BY rowid').all()).toEqual([
      { person_id: 'p1', n: 3, r: 1 },
      { person_id: 'p2', n: 1, r: 1 },
      { person_id: 'p3', n: 1, r: 1 },
      { person_id: 'p4', n: 1, r: 1 },
      { person_id: 'p1', n: 3, r: 2 },
      { person_id: 'p1', n: 3, r: 3 },
    ]);
  });

  test('imports typed values, NULLs for empty nullable cells and quoted fields', async ({ nodeDb: db, tempDir: dir }) => {
    const file = write(dir, 'visits.csv', [HEADER, ...GOOD_ROWS].join('\n') + '\n');
    await expect(importCsv(db, { csvPath: file, schema })).resolves.toEqual({ rows: 4 });
    expect(rows(db)).toEqual([
      { person_id: 'p1', sex: 'F', birth_date: '1980-02-29', region: 'north', visits: 3, cost: 12.5, insured: 1, note: 'said "hi", then left' },
      { person_id: 'p2', sex: 'M', birth_date: '2001-12-31', region: null, visits: 0, cost: null, insured: 0, note: null },
      { person_id: 'p3', sex: 'X', birth_date: '1999-01-01', region: 'south', visits: -9007199254740991, cost: -1500, insured: 1, note: 'two\nlines' },
      { person_id: 'p4', sex: 'F', birth_date: '2000-06-15', region: ' east ', visits: 42, cost: 0.5, insured: 0, note: '  spaced  ' },
    ]);
    expect(getDatasetSchema(db, 'visits')).toEqual(schema);
    expect(db.prepare('SELECT row_count FROM fedlab_datasets WHERE name = ?').pluck().get('visits')).toBe(4);
  });

  test('accepts a UTF-8 BOM, CRLF line endings, non-ASCII text and no final newline', async ({ nodeDb: db, tempDir: dir }) => {
    const text = '\uFEFF' + [HEADER, 'p1,F,1980-01-01,Montréal,1,,true,naïve ✓ 𝄞'].join('\r\n');
    await importCsv(db, { csvPath: write(dir, 'bom.csv', text), schema });
    expect(rows(db)).toEqual([
      { person_id: 'p1', sex: 'F', birth_date: '1980-01-01', region: 'Montréal', visits: 1, cost: null, insured: 1, note: 'naïve ✓ 𝄞' },
    ]);
  });

  test('indexes every quasi-identifier and date column', async ({ nodeDb: db, tempDir: dir }) => {
    await importCsv(db, { csvPath: write(dir, 'v.csv', `${HEADER}\n${GOOD_ROWS[0]}\n`), schema });
    const indexes = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'visits' ORDER BY name").pluck().all();
    expect(indexes).toEqual(['visits:birth_date', 'visits:region', 'visits:sex']);
  });

  test('replaces an existing dataset', async ({ nodeDb: db, tempDir: dir }) => {
    await importCsv(db, { csvPath: write(dir, 'a.csv', [HEADER, ...GOOD_ROWS].join('\n')), schema });
    await expect(importCsv(db, { csvPath: write(dir, 'b.csv', `${HEADER}\n${GOOD_ROWS[1]}\n`), schema })).resolves.toEqual({ rows: 1 });
    expect(rows(db)).toHaveLength(1);
    expect(db.prepare('SELECT row_count FROM fedlab_datasets').pluck().all()).toEqual([1]);
    expect(stagingTables(db)).toEqual([]);
  });

  test('imports a header-only file as an empty dataset', async ({ nodeDb: db, tempDir: dir }) => {
    await expect(importCsv(db, { csvPath: write(dir, 'h.csv', `${HEADER}\n`), schema })).resolves.toEqual({ rows: 0 });
    expect(rows(db)).toEqual([]);
  });

  test('skips blank lines but counts them in line numbers', async ({ nodeDb: db, tempDir: dir }) => {
    const file = write(dir, 'blank.csv', `${HEADER}\n\n${GOOD_ROWS[0]}\n\nq,Q,2000-01-01,,1,,true,\n\n`);
    await expect(importError(importCsv(db, { csvPath: file, schema }))).resolves.toMatchObject({
      code: 'CSV_BAD_VALUE',
      message: 'blank.csv line 5, column "sex": not one of the values the schema lists',
    });
  });

  describe('refuses a bad file and leaves the previous import untouched', () => {
    const cases: Array<[string, string | Buffer, Partial<FedlabError>]> = [
      [
        'a row with too many columns',
        [HEADER, GOOD_ROWS[0], 'p9,F,1980-01-01,north,3,1,true,x,extra'].join('\n'),
        { code: 'CSV_COLUMN_COUNT', message: 'bad.csv line 3: expected 8 columns, found 9', details: { file: 'bad.csv', line: 3, expected: 8, found: 9 } },
      ],
      [
        'a row with too few columns',
        [HEADER, 'p9,F,1980-01-01'].join('\n'),
        { code: 'CSV_COLUMN_COUNT', message: 'bad.csv line 2: expected 8 columns, found 3', details: { file: 'bad.csv', line: 2, expected: 8, found: 3 } },
      ],
      [
        'an impossible date',
        [HEADER, ...GOOD_ROWS, 'p9,F,2023-02-29,north,3,1,true,'].join('\n'),
        {
          code: 'CSV_BAD_VALUE',
          message: 'bad.csv line 7, column "birth_date": not a valid date (expected YYYY-MM-DD)',
          details: { file: 'bad.csv', line: 7, column: 'birth_date' },
        },
      ],
      [
        'a date in year 0000 (no engine may take a date PostgreSQL cannot store)',
        [HEADER, 'p9,F,0000-03-01,north,3,1,true,'].join('\n'),
        {
          code: 'CSV_BAD_VALUE',
          message: 'bad.csv line 2, column "birth_date": not a valid date (expected YYYY-MM-DD)',
          details: { file: 'bad.csv', line: 2, column: 'birth_date' },
        },
      ],
      [
        'a NUL character in a text value',
        [HEADER, 'p9,F,2000-03-01,north,3,1,true,a\u0000b'].join('\n'),
        {
          code: 'CSV_BAD_VALUE',
          message: 'bad.csv line 2, column "note": contains a NUL character',
          details: { file: 'bad.csv', line: 2, column: 'note' },
        },
      ],
      [
        'a date in another format',
        [HEADER, 'p9,F,15/06/2000,north,3,1,true,'].join('\n'),
        {
          code: 'CSV_BAD_VALUE',
          message: 'bad.csv line 2, column "birth_date": not a valid date (expected YYYY-MM-DD)',
          details: { file: 'bad.csv', line: 2, column: 'birth_date' },
        },
      ],
      [
        'text in an integer column',
        [HEADER, 'p9,F,2000-01-01,north,three,1,true,'].join('\n'),
        { code: 'CSV_BAD_VALUE', message: 'bad.csv line 2, column "visits": not an integer', details: { file: 'bad.csv', line: 2, column: 'visits' } },
      ],
      [
        'a fraction in an integer column',
        [HEADER, 'p9,F,2000-01-01,north,2.5,1,true,'].join('\n'),
        { code: 'CSV_BAD_VALUE', message: 'bad.csv line 2, column "visits": not an integer', details: { file: 'bad.csv', line: 2, column: 'visits' } },
      ],
      [
        'an integer beyond the safe range',
        [HEADER, 'p9,F,2000-01-01,north,9007199254740992,1,true,'].join('\n'),
        {
          code: 'CSV_BAD_VALUE',
          message: 'bad.csv line 2, column "visits": integer out of range (beyond ±(2^53 − 1))',
          details: { file: 'bad.csv', line: 2, column: 'visits' },
        },
      ],
      [
        'a decimal comma in a real column',
        [HEADER, 'p9,F,2000-01-01,north,2,"12,5",true,'].join('\n'),
        { code: 'CSV_BAD_VALUE', message: 'bad.csv line 2, column "cost": not a finite number', details: { file: 'bad.csv', line: 2, column: 'cost' } },
      ],
      [
        'infinity in a real column',
        [HEADER, 'p9,F,2000-01-01,north,2,1e999,true,'].join('\n'),
        { code: 'CSV_BAD_VALUE', message: 'bad.csv line 2, column "cost": not a finite number', details: { file: 'bad.csv', line: 2, column: 'cost' } },
      ],
      [
        'a word in a boolean column',
        [HEADER, 'p9,F,2000-01-01,north,2,1,yes,'].join('\n'),
        {
          code: 'CSV_BAD_VALUE',
          message: 'bad.csv line 2, column "insured": not a boolean (expected true, false, 1 or 0)',
          details: { file: 'bad.csv', line: 2, column: 'insured' },
        },
      ],
      [
        'an empty non-nullable cell after a multi-line record',
        [HEADER, ...GOOD_ROWS, 'p9,F,2000-01-01,north,,1,true,'].join('\n'),
        {
          code: 'CSV_BAD_VALUE',
          message: 'bad.csv line 7, column "visits": empty, but the column is not nullable',
          details: { file: 'bad.csv', line: 7, column: 'visits' },
        },
      ],
      [
        'a value outside the categorical set',
        [HEADER, 'p9,female,2000-01-01,north,2,1,true,'].join('\n'),
        {
          code: 'CSV_BAD_VALUE',
          message: 'bad.csv line 2, column "sex": not one of the values the schema lists',
          details: { file: 'bad.csv', line: 2, column: 'sex' },
        },
      ],
      [
        'Latin-1 text',
        Buffer.concat([Buffer.from(`${HEADER}\n${GOOD_ROWS[0]}\np9,F,2000-01-01,Montr`), Buffer.from([0xe9]), Buffer.from('al,2,1,true,\n')]),
        { code: 'CSV_BAD_ENCODING', message: 'bad.csv line 3: invalid UTF-8', details: { file: 'bad.csv', line: 3 } },
      ],
      [
        'a UTF-8 sequence cut off at the end of the file',
        Buffer.concat([Buffer.from(`${HEADER}\np9,F,2000-01-01,north,2,1,true,x`), Buffer.from([0xe2, 0x9c])]),
        { code: 'CSV_BAD_ENCODING', message: 'bad.csv line 2: invalid UTF-8', details: { file: 'bad.csv', line: 2 } },
      ],
      [
        'invalid UTF-8 inside a quoted multi-line field',
        Buffer.concat([Buffer.from(`${HEADER}\np9,F,2000-01-01,north,2,1,true,"first\nsecond `), Buffer.from([0xff]), Buffer.from('"\n')]),
        { code: 'CSV_BAD_ENCODING', message: 'bad.csv line 3: invalid UTF-8', details: { file: 'bad.csv', line: 3 } },
      ],
      [
        'a renamed header column',
        [HEADER.replace('birth_date', 'birthdate'), GOOD_ROWS[0]].join('\n'),
        {
          code: 'CSV_HEADER_MISMATCH',
          message: 'bad.csv: header column 3 is not "birth_date" as the schema expects',
          details: { file: 'bad.csv', line: 1, column: 3 },
        },
      ],
      [
        'a missing header column',
        [HEADER.replace(',note', ''), GOOD_ROWS[0]].join('\n'),
        {
          code: 'CSV_HEADER_MISMATCH',
          message: 'bad.csv: header has 7 columns, schema expects 8 (missing "note")',
          details: { file: 'bad.csv', line: 1, column: 8 },
        },
      ],
      [
        'a file without its header row, whose first row holds data',
        GOOD_ROWS.join('\n'),
        {
          code: 'CSV_HEADER_MISMATCH',
          message: 'bad.csv: header column 1 is not "person_id" as the schema expects',
          details: { file: 'bad.csv', line: 1, column: 1 },
        },
      ],
      [
        'an extra header column',
        [`${HEADER},comment`, GOOD_ROWS[0]].join('\n'),
        {
          code: 'CSV_HEADER_MISMATCH',
          message: 'bad.csv: header has 9 columns, schema expects 8 (column 9 is extra)',
          details: { file: 'bad.csv', line: 1, column: 9 },
        },
      ],
      [
        'an empty file',
        '',
        { code: 'CSV_HEADER_MISMATCH', message: 'bad.csv: the file is empty, the schema expects a header row', details: { file: 'bad.csv', line: 1 } },
      ],
      [
        'an unclosed quote',
        [HEADER, GOOD_ROWS[0], 'p9,F,2000-01-01,north,2,1,true,"open', 'p10,F'].join('\n'),
        { code: 'INVALID_ARGUMENT', message: 'bad.csv line 3: a quoted field is not closed before the end of the file', details: { file: 'bad.csv', line: 3 } },
      ],
      [
        'a quote inside an unquoted field',
        [HEADER, GOOD_ROWS[0], 'p9,F,2000-01-01,no"rth,2,1,true,'].join('\n'),
        { code: 'INVALID_ARGUMENT', message: 'bad.csv line 3: a quote appears inside an unquoted field', details: { file: 'bad.csv', line: 3 } },
      ],
      [
        'a row longer than 1 MiB',
        [HEADER, GOOD_ROWS[0], `p9,F,2000-01-01,north,2,1,true,${'x'.repeat(1_100_000)}`].join('\n'),
        {
          code: 'INVALID_ARGUMENT',
          message: 'bad.csv line 3: a row is longer than 1048576 bytes (is a quote not closed?)',
          details: { file: 'bad.csv', line: 3 },
        },
      ],
    ];

    test.for(cases)('%s', async ([, content, expected], { nodeDb: db, tempDir: dir }) => {
      await importCsv(db, { csvPath: write(dir, 'good.csv', [HEADER, ...GOOD_ROWS].join('\n')), schema });
      const before = { rows: rows(db), catalog: db.prepare('SELECT * FROM fedlab_datasets').all() };

      const error = await importError(importCsv(db, { csvPath: write(dir, 'bad.csv', content), schema }));

      expect(error).toMatchObject(expected);
      expect(error.details).toEqual(expected.details);
      expect(rows(db)).toEqual(before.rows);
      expect(db.prepare('SELECT * FROM fedlab_datasets').all()).toEqual(before.catalog);
      expect(stagingTables(db)).toEqual([]);
    });
  });

  test('never echoes the offending value', async ({ nodeDb: db, tempDir: dir }) => {
    const file = write(dir, 'bad.csv', `${HEADER}\np9,F,1987-13-45,north,2,1,true,\n`);
    const error = await importError(importCsv(db, { csvPath: file, schema }));
    expect(error.message).not.toContain('1987');
    expect(JSON.stringify(error.details)).not.toContain('1987');
  });

  test('reports the first error in file order when a bad value precedes invalid UTF-8', async ({ nodeDb: db, tempDir: dir }) => {
    const file = write(
      dir,
      'bad.csv',
      Buffer.concat([Buffer.from(`${HEADER}\np9,F,2000-01-01,north,x,1,true,\np10,F,2000-01-01,`), Buffer.from([0xe9, 0x0a])]),
    );
    await expect(importError(importCsv(db, { csvPath: file, schema }))).resolves.toMatchObject({
      code: 'CSV_BAD_VALUE',
      message: 'bad.csv line 2, column "visits": not an integer',
    });
  });

  test('a failed import of a new dataset leaves no table and no catalog entry', async ({ nodeDb: db, tempDir: dir }) => {
    const file = write(dir, 'bad.csv', `${HEADER}\n${GOOD_ROWS[0]}\np9,F,2000-01-01,north,x,1,true,\n`);
    await expect(importError(importCsv(db, { csvPath: file, schema }))).resolves.toMatchObject({ code: 'CSV_BAD_VALUE' });
    expect(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'fedlab_%'").all()).toEqual([]);
    expect(catalog(db)).toEqual([]);
    expect(stagingTables(db)).toEqual([]);
  });

  test('reports a directory as INVALID_ARGUMENT', async ({ nodeDb: db, tempDir: dir }) => {
    await expect(importError(importCsv(db, { csvPath: dir, schema }))).resolves.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: `${path.basename(dir)}: not a file`,
    });
  });

  test('keeps multi-byte characters and long lines intact across read chunks', async ({ nodeDb: db, tempDir: dir }) => {
    const note = 'é✓𝄞'.repeat(30_000);
    const lines = [HEADER, ...Array.from({ length: 3000 }, (_, i) => `p${i},F,2000-01-01,Genève ${'à'.repeat(i % 7)},1,,true,${i === 1500 ? note : 'ü'}`)];
    await importCsv(db, { csvPath: write(dir, 'utf8.csv', lines.join('\n')), schema });
    const stored = db.prepare('SELECT region, note FROM visits ORDER BY rowid').all() as Array<{ region: string; note: string }>;
    expect(stored).toHaveLength(3000);
    expect(stored.every(({ region }, i) => region === `Genève ${'à'.repeat(i % 7)}`)).toBe(true);
    expect(stored[1500].note).toBe(note);
    expect(stored.filter(({ note: value }) => value === 'ü')).toHaveLength(2999);
  });

  test('refuses a second concurrent import of the same dataset', async ({ nodeDb: db, tempDir: dir }) => {
    const file = write(dir, 'v.csv', [HEADER, ...GOOD_ROWS].join('\n'));
    const first = importCsv(db, { csvPath: file, schema });
    await expect(importError(importCsv(db, { csvPath: file, schema }))).resolves.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'v.csv: dataset "visits" is already being imported',
    });
    await expect(first).resolves.toEqual({ rows: 4 });
  });

  test('reports a missing file as INVALID_ARGUMENT', async ({ nodeDb: db, tempDir: dir }) => {
    await expect(importError(importCsv(db, { csvPath: path.join(dir, 'none.csv'), schema }))).resolves.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'none.csv: cannot read the CSV file (ENOENT)',
    });
  });

  test('a full disk rolls the import back and keeps the previous table', async ({ nodeDb: db, tempDir: dir }) => {
    await importCsv(db, { csvPath: write(dir, 'good.csv', [HEADER, ...GOOD_ROWS].join('\n')), schema });
    const before = rows(db);
    const big = Array.from({ length: 20_000 }, (_, i) => `p${i},F,2000-01-01,north,${i},1.5,true,some text`);
    const file = write(dir, 'big.csv', [HEADER, ...big].join('\n'));
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages + 20}`);

    const error = await importError(importCsv(db, { csvPath: file, schema }));

    expect(error).toMatchObject({ code: 'INTERNAL', details: { file: 'big.csv', sqliteCode: 'SQLITE_FULL' } });
    expect(error.message).toBe('big.csv: import failed, nothing was changed (SQLITE_FULL: database or disk is full)');
    expect(rows(db)).toEqual(before);
    expect(stagingTables(db)).toEqual([]);
    db.pragma('max_page_count = 1073741823');
    await expect(importCsv(db, { csvPath: file, schema })).resolves.toEqual({ rows: 20_000 });
  });

  test('a failure in the final transaction restores the previous table and catalog entry', async ({ nodeDb: db, tempDir: dir }) => {
    await importCsv(db, { csvPath: write(dir, 'good.csv', [HEADER, ...GOOD_ROWS].join('\n')), schema });
    const before = { rows: rows(db), catalog: db.prepare('SELECT * FROM fedlab_datasets').all() };
    db.exec("CREATE TRIGGER fail_catalog BEFORE UPDATE ON fedlab_datasets BEGIN SELECT RAISE(ABORT, 'simulated failure'); END");

    const error = await importError(importCsv(db, { csvPath: write(dir, 'new.csv', `${HEADER}\n${GOOD_ROWS[1]}\n`), schema }));

    expect(error).toMatchObject({ code: 'INTERNAL', message: 'new.csv: import failed, nothing was changed (SQLITE_CONSTRAINT_TRIGGER: simulated failure)' });
    expect(rows(db)).toEqual(before.rows);
    expect(db.prepare('SELECT * FROM fedlab_datasets').all()).toEqual(before.catalog);
    expect(stagingTables(db)).toEqual([]);
  });

  describe('reads quote-free stretches itself and the rest with csv-parse, with the same rows, person columns and errors', () => {
    /** `count` quote-free rows of persons p0..p(persons-1), about 50 bytes each (so 20,000 span several read chunks). */
    const plainRows = (count: number, persons: number) =>
      Array.from({ length: count }, (_, i) => `p${i % persons},${'FMX'[i % 3]},1980-01-0${1 + (i % 9)},r${i % 7},${i},${i / 4},${i % 2},n${i}`);
    /** The person columns as SQLite's own window computes them from the stored rows. */
    const windowed = (db: Database) =>
      db
        .prepare(
          'SELECT COUNT(*) OVER (PARTITION BY person_id) AS n, ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY rowid) AS r FROM visits ORDER BY rowid',
        )
        .all();
    const stored = (db: Database) => db.prepare('SELECT fedlab_person_rows AS n, fedlab_person_rank AS r FROM visits ORDER BY rowid').all();

    test('counts every person in a first pass over a quote-free file, as SQLite would rank them', async ({ nodeDb: db, tempDir: dir }) => {
      const file = write(dir, 'plain.csv', [HEADER, ...plainRows(20_000, 6_999)].join('\n') + '\n');
      await expect(importCsv(db, { csvPath: file, schema })).resolves.toEqual({ rows: 20_000 });
      expect(stored(db)).toEqual(windowed(db));
      // p0 holds rows 0, 6999 and 13998: three rows, ranked in file order.
      expect(db.prepare("SELECT visits, fedlab_person_rows AS n, fedlab_person_rank AS r FROM visits WHERE person_id = 'p0' ORDER BY rowid").all()).toEqual([
        { visits: 0, n: 3, r: 1 },
        { visits: 6999, n: 3, r: 2 },
        { visits: 13998, n: 3, r: 3 },
      ]);
    });

    test('switches to csv-parse at the first quote, after which values, person columns and line numbers stay right', async ({ nodeDb: db, tempDir: dir }) => {
      const before = plainRows(20_000, 5_000);
      const after = plainRows(30, 5_000);
      const file = write(dir, 'mixed.csv', [HEADER, ...before, 'p1,F,1990-05-05,"r,1",7,1.5,1,"a ""quoted"" note"', ...after].join('\n') + '\n');
      await expect(importCsv(db, { csvPath: file, schema })).resolves.toEqual({ rows: 20_031 });
      expect(db.prepare('SELECT region, note FROM visits WHERE rowid = 20001').get()).toEqual({ region: 'r,1', note: 'a "quoted" note' });
      expect(stored(db)).toEqual(windowed(db));

      const bad = write(
        dir,
        'bad.csv',
        [HEADER, ...before, 'p1,F,1990-05-05,"r,1",7,1.5,1,', ...after.slice(0, 10), 'p2,F,1990-02-30,r,1,1,1,'].join('\n') + '\n',
      );
      await expect(importCsv(db, { csvPath: bad, schema })).rejects.toThrowFedlabError(
        'CSV_BAD_VALUE',
        'bad.csv line 20013, column "birth_date": not a valid date (expected YYYY-MM-DD)',
      );
      const open = write(dir, 'open.csv', [HEADER, ...before, '', 'p1,F,1990-05-05,"r,1', ...after].join('\n') + '\n');
      await expect(importCsv(db, { csvPath: open, schema })).rejects.toThrowFedlabError(
        'INVALID_ARGUMENT',
        'open.csv line 20003: a quoted field is not closed before the end of the file',
      );
      expect(db.prepare('SELECT count(*) FROM visits').pluck().get()).toBe(20_031);
      expect(stagingTables(db)).toEqual([]);
    });

    test('reads CRLF line ends on the quote-free path as csv-parse would, blank lines included', async ({ nodeDb: db, tempDir: dir }) => {
      const lines = [HEADER, ...plainRows(20_000, 3_000)];
      lines.splice(10_000, 0, '');
      await importCsv(db, { csvPath: write(dir, 'lf.csv', lines.join('\n') + '\n'), schema });
      const lf = db.prepare('SELECT * FROM visits ORDER BY rowid').all();
      await importCsv(db, { csvPath: write(dir, 'crlf.csv', lines.join('\r\n') + '\r\n'), schema });
      expect(db.prepare('SELECT * FROM visits ORDER BY rowid').all()).toEqual(lf);
      expect(lf).toHaveLength(20_000);
      expect(stored(db)).toEqual(windowed(db));
      const bad = [...lines];
      bad[15_000] = 'p7,F,1980-01-01,r,1,1,1,a\rb';
      await importCsv(db, { csvPath: write(dir, 'cr.csv', bad.join('\r\n') + '\r\n'), schema });
      expect(db.prepare('SELECT note FROM visits WHERE rowid = 14999').pluck().get()).toBe('a\rb');
      expect(stored(db)).toEqual(windowed(db));
    });

    test('reports a bad value deep in a quote-free file at its physical line, blank lines counted', async ({ nodeDb: db, tempDir: dir }) => {
      const lines = [HEADER, ...plainRows(15_000, 100), '', '', ...plainRows(5_000, 100)];
      lines[18_000] = 'p7,F,1980-01-01,r,12x,1,1,';
      await expect(importCsv(db, { csvPath: write(dir, 'deep.csv', lines.join('\n') + '\n'), schema })).rejects.toThrowFedlabError(
        'CSV_BAD_VALUE',
        'deep.csv line 18001, column "visits": not an integer',
      );
      expect(stagingTables(db)).toEqual([]);
    });

    test('closes the file when a row is refused early, in the quote-free and the csv-parse stretches alike', async ({ nodeDb: db, tempDir: dir }) => {
      const openFiles = (file: string) =>
        readdirSync('/proc/self/fd').filter((fd) => {
          try {
            return readlinkSync(`/proc/self/fd/${fd}`) === file;
          } catch {
            return false;
          }
        }).length;
      const plain = write(dir, 'early.csv', [HEADER, 'p1,F,1980-01-01,r,x,1,1,', ...plainRows(20_000, 10)].join('\n') + '\n');
      const quoted = write(dir, 'quoted.csv', [HEADER, 'p1,F,1980-01-01,"r",x,1,1,', ...plainRows(20_000, 10)].join('\n') + '\n');
      for (const file of [plain, quoted]) {
        await expect(importCsv(db, { csvPath: file, schema })).rejects.toThrowFedlabError(
          'CSV_BAD_VALUE',
          `${path.basename(file)} line 2, column "visits": not an integer`,
        );
        await waitUntil(`${path.basename(file)} closed`, () => openFiles(file) === 0);
      }
    });

    test('ranks persons again in SQLite when the file grew between the two passes', async ({ nodeDb: db, tempDir: dir }) => {
      const file = write(dir, 'growing.csv', [HEADER, ...plainRows(40_000, 4_000)].join('\n') + '\n');
      let appended = false;
      const onProgress = () => {
        if (appended) return;
        appended = true;
        appendFileSync(file, ['p0,F,1980-01-01,r,1,1,1,late', 'p0,M,1980-01-02,r,2,2,0,late'].join('\n') + '\n');
      };
      const { rows: imported } = await importCsv(db, { csvPath: file, schema, onProgress });
      expect(imported).toBe(40_002);
      expect(stored(db)).toEqual(windowed(db));
      expect(db.prepare("SELECT DISTINCT fedlab_person_rows FROM visits WHERE person_id = 'p0'").pluck().all()).toEqual([12]);
    });
  });

  test('imports 200,000 rows and reports progress', async ({ nodeDb: db, tempDir: dir }) => {
    const lines = [HEADER];
    for (let i = 0; i < 200_000; i++) lines.push(`p${i},${'FMX'[i % 3]},19${50 + (i % 50)}-0${1 + (i % 9)}-1${i % 10},r${i % 13},${i},${i / 7},${i % 2},`);
    const file = write(dir, 'large.csv', lines.join('\n') + '\n');
    const calls: Array<[number, number, number]> = [];

    await expect(importCsv(db, { csvPath: file, schema, onProgress: (...args) => calls.push(args) })).resolves.toEqual({ rows: 200_000 });

    const totalBytes = Buffer.byteLength(lines.join('\n') + '\n');
    expect(calls.length).toBeGreaterThan(10);
    expect(calls.at(-1)).toEqual([200_000, totalBytes, totalBytes]);
    expect(calls.every(([rowsDone, bytesDone, total], i) => total === totalBytes && bytesDone <= total && (i === 0 || rowsDone >= calls[i - 1][0]))).toBe(true);
    expect(db.prepare('SELECT count(*) FROM visits').pluck().get()).toBe(200_000);
    expect(catalog(db)[0].approxRows).toBe(200_000);
  });
});
