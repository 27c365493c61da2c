import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { test } from '@fedlab/test-kit';
import { readCsvRows, readSimpleCsvRows, type CsvRowsSource, type SqlValue } from './csv-import';
import { parseDatasetSchema } from './dataset-schema';

const schema = parseDatasetSchema(
  {
    dataset: 'visits',
    person: 'person_id',
    columns: [
      { name: 'person_id', type: 'text', role: 'identifier' },
      { name: 'sex', type: 'text', role: 'quasi_identifier', values: ['F', 'M'] },
      { name: 'visits', type: 'integer', role: 'attribute' },
      { name: 'cost', type: 'real', role: 'attribute', nullable: true },
      { name: 'seen', type: 'date', role: 'date', nullable: true },
      { name: 'insured', type: 'boolean', role: 'attribute' },
    ],
  },
  'visits.yaml',
);
const HEADER = 'person_id,sex,visits,cost,seen,insured';

/** What a reader passes on: every batch's rows, the counts it reports and its result. */
type Reader = (source: CsvRowsSource, onBatch: (rows: SqlValue[][], rowsDone: number, bytesDone: number | undefined) => void) => Promise<number | undefined>;

async function readWith(read: Reader, source: CsvRowsSource) {
  const rows: SqlValue[][] = [];
  const progress: Array<[number, number | undefined]> = [];
  const result = await read(source, (batch, rowsDone, bytesDone) => {
    rows.push(...batch);
    progress.push([rowsDone, bytesDone]);
  });
  return { result, rows, last: progress.at(-1) };
}

describe('readSimpleCsvRows', () => {
  const write = (dir: string, text: string | Buffer) => {
    const csvPath = path.join(dir, 'v.csv');
    writeFileSync(csvPath, text);
    return { csvPath, schema, file: 'v.csv' };
  };

  test.for([
    ['LF endings and a final newline', `${HEADER}\np1,F,3,12.5,2024-02-29,true\np2,M,-9007199254740991,,,0\n`],
    ['CRLF endings, a BOM, no final newline', `\uFEFF${HEADER}\r\np1,F,3,-1.5e3,2024-01-01,FALSE\r\np2,M,0,+7,2023-12-31,1`],
    ['non-ASCII text, a tab and spaces kept as written', `${HEADER}\nMontréal ✓,F,1,.5,,true\n\tp 3 ,M,2,7,2020-06-15,false\n`],
    ['a header only', `${HEADER}\n`],
  ])('reads %s exactly as the full reader does', async ([, text], { tempDir }) => {
    const source = write(tempDir, text);
    const simple = await readWith(readSimpleCsvRows, source);
    const full = await readWith(readCsvRows, source);
    expect(simple.result).toBe(full.result);
    expect(simple.rows).toEqual(full.rows);
    expect(simple.last).toEqual(full.last);
  });

  test('passes on each row’s fields as the file writes them', async ({ tempDir }) => {
    const source = write(tempDir, `${HEADER}\r\np1,F,007,1e3,,TRUE\r\np2,M,-0,.50,2024-01-01,0`);
    const got: Array<[SqlValue[], string[]]> = [];
    await readSimpleCsvRows(source, (rows, _done, _bytes, fields) => rows.forEach((row, i) => got.push([row, fields[i]!])));
    expect(got).toEqual([
      [
        ['p1', 'F', 7, 1000, null, 1],
        ['p1', 'F', '007', '1e3', '', 'TRUE'],
      ],
      [
        ['p2', 'M', -0, 0.5, '2024-01-01', 0],
        ['p2', 'M', '-0', '.50', '2024-01-01', '0'],
      ],
    ]);
  });

  test('passes on many rows in batches, with the bytes read so far', async ({ tempDir }) => {
    const lines = Array.from(
      { length: 70_000 },
      (_, i) => `p${i % 999},${i % 2 ? 'F' : 'M'},${i},${i / 4},2024-03-${String(1 + (i % 28)).padStart(2, '0')},${i % 3 ? 1 : 0}`,
    );
    const source = write(tempDir, `${HEADER}\n${lines.join('\n')}\n`);
    const batches: Array<[number, number | undefined]> = [];
    const rows = await readSimpleCsvRows(source, (batch, rowsDone, bytesDone) => {
      batches.push([rowsDone, bytesDone]);
    });
    expect(rows).toBe(70_000);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.at(-1)).toEqual([70_000, undefined]);
    expect(batches[0]![1]).toBeGreaterThan(0);
    const full = await readWith(readCsvRows, source);
    expect((await readWith(readSimpleCsvRows, source)).rows).toEqual(full.rows);
  });

  test.for([
    ['a quoted value', `${HEADER}\n"p1",F,3,1,,true\n`],
    ['a blank line before the end', `${HEADER}\np1,F,3,1,,true\n\np2,F,3,1,,true\n`],
    ['a carriage return inside a value', `${HEADER}\np1\rx,F,3,1,,true\n`],
    ['a header that differs', `person,sex,visits,cost,seen,insured\np1,F,3,1,,true\n`],
    ['a column too many', `${HEADER}\np1,F,3,1,,true,x\n`],
    ['a value the schema refuses', `${HEADER}\np1,F,3,1,2023-02-29,true\n`],
    ['an empty file', ''],
    ['invalid UTF-8', Buffer.concat([Buffer.from(`${HEADER}\np`), Buffer.from([0xff]), Buffer.from(',F,3,1,,true\n')])],
  ])('gives up on %s, for the full reader', async ([, text], { tempDir }) => {
    expect(await readSimpleCsvRows(write(tempDir, text), () => undefined)).toBeUndefined();
  });

  test('gives up on a one-column schema, whose empty lines are values', async ({ tempDir }) => {
    const one = parseDatasetSchema({ dataset: 'ids', person: 'id', columns: [{ name: 'id', type: 'text', role: 'identifier' }] }, 'ids.yaml');
    const csvPath = path.join(tempDir, 'ids.csv');
    writeFileSync(csvPath, 'id\na\nb\n');
    expect(await readSimpleCsvRows({ csvPath, schema: one, file: 'ids.csv' }, () => undefined)).toBeUndefined();
  });

  test('accepts exactly the dates YYYY-MM-DD of the calendar, as both readers type them', async ({ tempDir }) => {
    const cases: Array<[string, boolean]> = [
      ['2024-02-29', true],
      ['2000-02-29', true],
      ['0001-01-01', true],
      ['0000-01-01', false],
      ['9999-12-31', true],
      ['2023-02-29', false],
      ['1900-02-29', false],
      ['2024-04-31', false],
      ['2024-13-01', false],
      ['2024-00-10', false],
      ['2024-01-00', false],
      ['2024-1-01', false],
      ['2024-01-1 ', false],
      ['2024/01/01', false],
      ['20240101', false],
      ['２０２４-01-01', false],
      ['2024-0a-01', false],
      ['+024-01-01', false],
      ['2024-01-011', false],
    ];
    for (const [date, valid] of cases) {
      const source = write(tempDir, `${HEADER}\np1,F,1,1,${date},true\n`);
      const simple = await readSimpleCsvRows(source, () => undefined);
      expect([date, simple]).toEqual([date, valid ? 1 : undefined]);
      const full = readCsvRows(source, () => undefined);
      if (valid) await expect(full).resolves.toBe(1);
      else await expect(full).rejects.toThrowFedlabError('CSV_BAD_VALUE', 'v.csv line 2, column "seen": not a valid date (expected YYYY-MM-DD)');
    }
  });
});
