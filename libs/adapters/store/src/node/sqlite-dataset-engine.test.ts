import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { FedlabError, type DatasetSchema } from '@fedlab/model';
import { catalog } from '../dataset-catalog';
import { parseDatasetSchema } from '../dataset-schema';
import { test as kit } from '@fedlab/test-kit';
import { openNodeStore, type SqliteNodeStore } from './node-store';

const schemaOf = (dataset: string, description?: string): DatasetSchema =>
  parseDatasetSchema(
    {
      dataset,
      description,
      person: 'pid',
      columns: [
        { name: 'pid', type: 'text', role: 'identifier' },
        { name: 'sex', type: 'text', role: 'quasi_identifier', values: ['F', 'M'] },
      ],
    },
    'test',
  );

/** Test fixtures: a node store in a temporary directory, and a CSV writer there. */
const test = kit.extend<{ store: SqliteNodeStore; csv: (name: string, rows: string[]) => string }>({
  store: async ({ nodeDbFile: dbFile }, use) => {
    const store = openNodeStore(dbFile);
    await use(store);
    store.close();
  },
  csv: async ({ tempDir: dir }, use) =>
    use((name, rows) => {
      const file = path.join(dir, `${name}.csv`);
      writeFileSync(file, ['pid,sex', ...rows].join('\n'));
      return file;
    }),
});

describe('SqliteDatasetEngine', () => {
  test('decodes a schema once: the same object on every call until an import replaces it', async ({ store, csv }) => {
    const { datasets } = store;
    expect(datasets.schema('people')).toBeUndefined();
    await datasets.import({ csvPath: csv('people', ['a,F', 'b,M']), schema: schemaOf('people', 'first') });
    const first = datasets.schema('people');
    expect(first).toEqual(schemaOf('people', 'first'));
    expect(datasets.schema('people')).toBe(first);
    expect(datasets.hasPersonColumns('people')).toBe(true);
    await datasets.import({ csvPath: csv('people', ['a,F']), schema: schemaOf('people', 'second') });
    expect(datasets.schema('people')).toEqual(schemaOf('people', 'second'));
    expect(datasets.catalog().map((d) => [d.dataset, d.description])).toEqual([['people', 'second']]);
  });

  test('names every import of a dataset with a new generation, however quickly they follow each other, and no generation for an unknown one', async ({
    store,
    csv,
  }) => {
    const { datasets } = store;
    expect(datasets.generation('people')).toBeUndefined();
    const generations: string[] = [];
    for (let i = 0; i < 5; i++) {
      await datasets.import({ csvPath: csv('people', ['a,F']), schema: schemaOf('people') });
      generations.push(datasets.generation('people')!);
    }
    // imported_at is kept strictly increasing: the generations are five increasing numbers.
    expect(generations.map(Number).every((g, i) => i === 0 || g > Number(generations[i - 1]))).toBe(true);
    expect(datasets.generation('other')).toBeUndefined();
  });

  test('sees a dataset another connection imported, without reopening', async ({ store, nodeDbFile: dbFile, csv }) => {
    expect(store.datasets.catalog()).toEqual([]);
    const other = openNodeStore(dbFile);
    try {
      await other.datasets.import({ csvPath: csv('visits', ['a,F']), schema: schemaOf('visits') });
    } finally {
      other.close();
    }
    expect(store.datasets.schema('visits')).toEqual(schemaOf('visits'));
    expect(store.datasets.catalog()).toEqual(catalog(store.db));
  });

  test('keeps the previous schema when a schema change is refused', async ({ store, csv }) => {
    await store.datasets.import({ csvPath: csv('people', ['a,F']), schema: schemaOf('people', 'kept') });
    const refuse = () => {
      throw new FedlabError('SCHEMA_CHANGE_REFUSED', 'refused');
    };
    await expect(
      store.datasets.import({ csvPath: csv('people', ['a,F', 'b,F']), schema: schemaOf('people', 'new'), checkSchemaChange: refuse }),
    ).rejects.toMatchObject({ code: 'SCHEMA_CHANGE_REFUSED' });
    expect(store.datasets.schema('people')?.description).toBe('kept');
    expect(await store.datasets.query({ sql: 'SELECT count(*) AS n FROM "people"', params: [] })).toEqual([{ n: 1 }]);
  });

  test('runs a compiled statement with its parameters bound, all rows at once or one at a time', async ({ store, csv }) => {
    await store.datasets.import({ csvPath: csv('people', ['a,F', 'b,M', 'c,F']), schema: schemaOf('people') });
    const statement = { sql: 'SELECT pid AS p, sex FROM "people" WHERE sex = ? ORDER BY rowid', params: ['F'] };
    const rows = [
      { p: 'a', sex: 'F' },
      { p: 'c', sex: 'F' },
    ];
    expect(await store.datasets.query(statement)).toEqual(rows);
    expect(await collect(store.datasets.iterate(statement))).toEqual(rows);
  });

  test('refuses a statement that writes, changing nothing', async ({ store, csv }) => {
    await store.datasets.import({ csvPath: csv('people', ['a,F']), schema: schemaOf('people') });
    const write = { sql: 'DELETE FROM "people"', params: [] };
    await expect(store.datasets.query(write)).rejects.toThrowFedlabError('INVALID_ARGUMENT', 'runQuery only runs read-only statements that return rows');
    await expect(collect(store.datasets.iterate(write))).rejects.toThrowFedlabError(
      'INVALID_ARGUMENT',
      'iterateQuery only runs read-only statements that return rows',
    );
    expect(await store.datasets.query({ sql: 'SELECT count(*) AS n FROM "people"', params: [] })).toEqual([{ n: 1 }]);
  });
});

async function collect<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const row of rows) all.push(row);
  return all;
}
