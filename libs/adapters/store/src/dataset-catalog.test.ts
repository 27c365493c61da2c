import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { importCsv } from './csv-import';
import { catalog, getDatasetSchema, listDatasets } from './dataset-catalog';
import { parseDatasetSchema } from './dataset-schema';
import type { Database } from './database';
import { test } from '@fedlab/test-kit';

const schemaOf = (dataset: string, description?: string) =>
  parseDatasetSchema(
    {
      dataset,
      description,
      person: 'pid',
      columns: [
        { name: 'pid', type: 'text', role: 'identifier', values: ['a', 'b'] },
        { name: 'sex', type: 'text', role: 'quasi_identifier', values: ['F', 'M'] },
      ],
    },
    'test',
  );

async function importRows(db: Database, dir: string, dataset: string, count: number, description?: string): Promise<void> {
  const file = path.join(dir, `${dataset}.csv`);
  writeFileSync(file, ['pid,sex', ...Array.from({ length: count }, (_, i) => `${'ab'[i % 2]},F`)].join('\n'));
  await importCsv(db, { csvPath: file, schema: schemaOf(dataset, description) });
}

describe('dataset catalog', () => {
  test('lists imported schemas by name and looks one up', async ({ nodeDb: db, tempDir: dir }) => {
    await importRows(db, dir, 'zeta', 1);
    await importRows(db, dir, 'alpha', 1);
    expect(listDatasets(db)).toEqual([schemaOf('alpha'), schemaOf('zeta')]);
    expect(getDatasetSchema(db, 'zeta')).toEqual(schemaOf('zeta'));
    expect(getDatasetSchema(db, 'missing')).toBeUndefined();
  });

  test.for([
    [0, 0],
    [49, 0],
    [50, 100],
    [149, 100],
    [150, 200],
    [1234, 1200],
  ])('rounds %i rows to %i', async ([count, approxRows], { nodeDb: db, tempDir: dir }) => {
    await importRows(db, dir, 'people', count);
    expect(catalog(db).map((entry) => entry.approxRows)).toEqual([approxRows]);
  });

  test('publishes roles and categorical values but never values of identifier columns', async ({ nodeDb: db, tempDir: dir }) => {
    await importRows(db, dir, 'people', 3, 'People');
    await importRows(db, dir, 'other', 3);
    expect(catalog(db)).toEqual([
      {
        dataset: 'other',
        description: '',
        approxRows: 0,
        maxRecordsPerPerson: 1,
        columns: [
          { name: 'pid', type: 'text', role: 'identifier', nullable: false },
          { name: 'sex', type: 'text', role: 'quasi_identifier', nullable: false, values: ['F', 'M'] },
        ],
      },
      {
        dataset: 'people',
        description: 'People',
        approxRows: 0,
        maxRecordsPerPerson: 1,
        columns: [
          { name: 'pid', type: 'text', role: 'identifier', nullable: false },
          { name: 'sex', type: 'text', role: 'quasi_identifier', nullable: false, values: ['F', 'M'] },
        ],
      },
    ]);
  });
});
