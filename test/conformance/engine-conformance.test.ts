import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import type { AggregateAnalysis, DatasetSchema, Filter, GlmAnalysis } from '@fedlab/model';
import { compileColumnRows, compilePersonRows, compilePrivateAnalysis, compilePrivateModelRows, type PrivateCompileOptions } from '@fedlab/query';
import { openNodeStore, openNodeStoreWithEngine, parseDatasetSchema, type DatasetEngine, type SqliteNodeStore } from '@fedlab/store';
import { test } from '@fedlab/test-kit';
import { compileOptions } from '@fedlab/node-service';
import { startPostgres, type PostgresServer } from '@fedlab/testing';
import { stringify as stringifyYaml } from 'yaml';

/*
 * One conformance suite for every dataset engine (issue 19): the same analyses, compiled for each engine's
 * dialect, must give identical exact results (before noise) on each. An engine is one ENGINES entry: a
 * factory that gives a node store holding the dataset. An engine that maps an existing table instead of
 * importing (PostgreSQL) creates and fills its table in its factory from the same rows; `postgres-import`
 * is PostgreSQL with the dataset loaded by `fedlab node import`.
 */

/** The dataset as its schema file says it (snake_case), for the engines that read a schema file. */
const SCHEMA_DOCUMENT = {
  dataset: 'visits',
  person: 'pid',
  max_records_per_person: 2,
  columns: [
    // A visit number in import order: PostgreSQL, which has no rowid, takes it as the import order.
    { name: 'visit', type: 'integer', role: 'attribute' },
    { name: 'pid', type: 'text', role: 'identifier' },
    { name: 'sex', type: 'text', role: 'quasi_identifier', values: ['F', 'M'], nullable: true },
    { name: 'region', type: 'text', role: 'quasi_identifier', values: ['north', 'south', 'east'] },
    { name: 'age', type: 'integer', role: 'quasi_identifier', bounds: [0, 100], nullable: true },
    { name: 'cost', type: 'real', role: 'attribute', bounds: [0, 500], nullable: true },
    { name: 'seen', type: 'date', role: 'date' },
    { name: 'urgent', type: 'boolean', role: 'attribute', nullable: true },
  ],
};
const SCHEMA: DatasetSchema = parseDatasetSchema(SCHEMA_DOCUMENT, 'conformance');

/** 600 visits of 150 persons (up to 9 each, in an order that interleaves them), with nulls in every nullable column. */
function csvRows(): string {
  const lines = ['visit,pid,sex,region,age,cost,seen,urgent'];
  for (let i = 0; i < 600; i++) {
    const person = (i * 7) % 150;
    const sex = i % 11 === 0 ? '' : person % 2 === 0 ? 'F' : 'M';
    const region = ['north', 'south', 'east'][(person + i) % 3];
    const age = i % 13 === 0 ? '' : String(10 + ((person * 3 + i) % 85));
    const cost = i % 17 === 0 ? '' : String(((i * 37) % 6000) / 8 - 20);
    const seen = `2023-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + ((i * 5) % 28)).padStart(2, '0')}`;
    const urgent = i % 19 === 0 ? '' : i % 3 === 0 ? 'true' : 'false';
    lines.push([String(i + 1), `p${person}`, sex, region, age, cost, seen, urgent].join(','));
  }
  return lines.join('\n');
}

interface EngineEntry {
  name: string;
  /** A node store in `dir` holding the dataset of `schema` with the rows of the CSV file `csvPath`; closed by `close`. */
  open(dir: string, schema: DatasetSchema, csvPath: string): Promise<{ store: SqliteNodeStore; close: () => Promise<void> }>;
}

/** A store and what closes it: its engine, the node database, then the PostgreSQL server it reads, if any. */
function opened(store: SqliteNodeStore, pg?: PostgresServer): { store: SqliteNodeStore; close: () => Promise<void> } {
  return {
    store,
    close: async () => {
      await store.datasets.close();
      store.close();
      await pg?.stop();
    },
  };
}

const ENGINES: EngineEntry[] = [
  {
    name: 'sqlite',
    async open(dir, schema, csvPath) {
      const store = openNodeStore(path.join(dir, 'sqlite-node.db'));
      await store.datasets.import({ csvPath, schema });
      return { store, close: async () => store.close() };
    },
  },
  {
    name: 'duckdb',
    async open(dir, schema, csvPath) {
      const store = await openNodeStoreWithEngine(path.join(dir, 'duckdb-node.db'), { kind: 'duckdb', folder: path.join(dir, 'duckdb'), threads: 2 });
      await store.datasets.import({ csvPath, schema });
      return opened(store);
    },
  },
  {
    name: 'postgres',
    async open(dir, _schema, csvPath) {
      // A real server; the table holds the same rows in reverse order, so only the mapped import order
      // (visit) gives SQLite's order, and a read-only role reads it.
      const pg = await startPostgres({ dir });
      await pg.psql('CREATE DATABASE ministry;');
      const [header, ...rows] = readFileSync(csvPath, 'utf8').split('\n');
      const value = (v: string, i: number) => (v === '' ? 'NULL' : [0, 4, 5].includes(i) ? v : `'${v}'`);
      await pg.psql(
        [
          'CREATE TABLE clinic_visits (visit integer PRIMARY KEY, pid text NOT NULL, sex text, region text NOT NULL, age smallint, cost double precision, seen date NOT NULL, urgent boolean);',
          `INSERT INTO clinic_visits (${header}) VALUES ${rows
            .reverse()
            .map((row) => `(${row.split(',').map(value).join(', ')})`)
            .join(', ')};`,
          "CREATE ROLE reader LOGIN PASSWORD 'reader';",
          'GRANT SELECT ON clinic_visits TO reader;',
        ].join('\n'),
        { database: 'ministry' },
      );
      writeFileSync(path.join(dir, 'visits.schema.yaml'), stringifyYaml(SCHEMA_DOCUMENT));
      const datasetsFile = path.join(dir, 'datasets.yaml');
      writeFileSync(datasetsFile, '- dataset: visits\n  schema_file: visits.schema.yaml\n  table: public.clinic_visits\n  import_order: [visit]\n');
      const store = await openNodeStoreWithEngine(
        path.join(dir, 'postgres-node.db'),
        { kind: 'postgres', urlEnv: 'CONFORMANCE_PG', datasetsFile },
        { CONFORMANCE_PG: pg.connectionString('reader', 'reader', 'ministry') },
      );
      return opened(store, pg);
    },
  },
  {
    name: 'postgres-import',
    async open(dir, schema, csvPath) {
      // The same CSV loaded by `fedlab node import` into PostgreSQL (COPY, through a role that may write),
      // served through a read-only role, with the person columns and the file's order as its import order.
      const pg = await startPostgres({ dir });
      await pg.psql('CREATE DATABASE ministry;');
      await pg.psql(
        [
          "CREATE ROLE reader LOGIN PASSWORD 'reader';",
          "CREATE ROLE importer LOGIN PASSWORD 'importer';",
          'CREATE SCHEMA fedlab_import AUTHORIZATION importer;',
          'GRANT USAGE ON SCHEMA fedlab_import TO reader;',
          'ALTER DEFAULT PRIVILEGES FOR ROLE importer IN SCHEMA fedlab_import GRANT SELECT ON TABLES TO reader;',
        ].join('\n'),
        { database: 'ministry' },
      );
      const datasetsFile = path.join(dir, 'imported-datasets.yaml');
      writeFileSync(datasetsFile, '[]\n');
      const store = await openNodeStoreWithEngine(
        path.join(dir, 'postgres-import-node.db'),
        { kind: 'postgres', urlEnv: 'CONFORMANCE_PG', importUrlEnv: 'CONFORMANCE_PG_IMPORT', datasetsFile },
        {
          CONFORMANCE_PG: pg.connectionString('reader', 'reader', 'ministry'),
          CONFORMANCE_PG_IMPORT: pg.connectionString('importer', 'importer', 'ministry'),
        },
      );
      await store.datasets.import({ csvPath, schema });
      return opened(store, pg);
    },
  },
];

const cmp = (column: string, op: Extract<Filter, { kind: 'cmp' }>['op'], ...values: Array<string | number | boolean>): Filter => ({
  kind: 'cmp',
  column,
  op,
  values,
});
const FILTERS: Array<[string, Filter | undefined]> = [
  ['no filter', undefined],
  ['text equal', cmp('region', 'eq', 'north')],
  ['text in', cmp('region', 'in', 'north', 'east')],
  ['text not equal', cmp('sex', 'ne', 'F')],
  ['integer between', cmp('age', 'between', 20, 60)],
  ['integer less than', cmp('age', 'lt', 40)],
  ['real greater than', cmp('cost', 'gt', 100.25)],
  ['boolean', cmp('urgent', 'eq', true)],
  ['date on or after', cmp('seen', 'ge', '2023-06-15')],
  ['date between', cmp('seen', 'between', '2023-03-01', '2023-09-30')],
  ['null', cmp('sex', 'is_null')],
  ['not null', cmp('cost', 'not_null')],
  ['and of or', { kind: 'and', items: [{ kind: 'or', items: [cmp('region', 'eq', 'south'), cmp('urgent', 'eq', false)] }, cmp('age', 'ge', 30)] }],
  ['nothing matches', cmp('age', 'gt', 1000)],
];
const ANALYSES: Array<[string, Omit<AggregateAnalysis, 'filter'>]> = [
  ['count by sex', { kind: 'count', dataset: 'visits', groupBy: ['sex'] }],
  ['count by region and sex', { kind: 'count', dataset: 'visits', groupBy: ['region', 'sex'] }],
  ['sum', { kind: 'sum', dataset: 'visits', groupBy: ['region'], column: 'cost' }],
  ['mean', { kind: 'mean', dataset: 'visits', groupBy: [], column: 'cost' }],
  ['variance', { kind: 'variance', dataset: 'visits', groupBy: ['sex'], column: 'age' }],
  ['proportion', { kind: 'proportion', dataset: 'visits', groupBy: ['region'], condition: cmp('urgent', 'eq', true) }],
  ['histogram', { kind: 'histogram', dataset: 'visits', groupBy: [], column: 'age', bins: [0, 18, 40, 65, 100] }],
] as Array<[string, Omit<AggregateAnalysis, 'filter'>]>;

const options = (engine: DatasetEngine, personColumns: boolean): PrivateCompileOptions => ({
  ...compileOptions(engine, 'visits'),
  personColumns: personColumns && engine.hasPersonColumns('visits'),
});

describe('dataset engine conformance', () => {
  const opened = new Map<string, { store: SqliteNodeStore; close: () => Promise<void> }>();
  test.beforeAll(async ({ fileTempDir }) => {
    const csvPath = path.join(fileTempDir, 'visits.csv');
    writeFileSync(csvPath, csvRows());
    for (const entry of ENGINES) opened.set(entry.name, await entry.open(fileTempDir, SCHEMA, csvPath));
  });
  test.afterAll(async () => {
    for (const { close } of opened.values()) await close();
  });
  const engine = (name: string) => opened.get(name)!.store.datasets;
  const others = ENGINES.map((e) => e.name).filter((name) => name !== 'sqlite');

  const aggregate = async (name: string, analysis: AggregateAnalysis, personColumns: boolean) => {
    const datasets = engine(name);
    const compiled = compilePrivateAnalysis(analysis, SCHEMA, options(datasets, personColumns));
    return compiled.decode(await datasets.query(compiled));
  };

  describe.each(others)('%s gives the SQLite engine’s exact cells', (name) => {
    for (const [analysisName, analysis] of ANALYSES) {
      for (const personColumns of [true, false]) {
        test.for(FILTERS)(`${analysisName}, %s, ${personColumns ? 'with' : 'without'} person columns`, async ([, filter]) => {
          const full = { ...analysis, ...(filter ? { filter } : {}) } as AggregateAnalysis;
          const expected = await aggregate('sqlite', full, personColumns);
          expect(await aggregate(name, full, personColumns)).toEqual(expected);
        });
      }
    }

    test.for(['gaussian', 'binomial'] as const)('a %s model’s rows', async (family) => {
      const response = family === 'gaussian' ? 'cost' : 'urgent';
      const analysis: GlmAnalysis = {
        kind: 'glm',
        dataset: 'visits',
        family,
        response,
        covariates: ['age', 'region'],
        groupBy: [],
        filter: cmp('seen', 'ge', '2023-02-01'),
      };
      const rows = async (engineName: string) => {
        const datasets = engine(engineName);
        const compiled = compilePrivateModelRows(analysis, SCHEMA, options(datasets, true));
        return datasets.query(compiled);
      };
      const expected = await rows('sqlite');
      expect(expected.length).toBeGreaterThan(50);
      expect(await rows(name)).toEqual(expected);
    });

    test('a linkage study’s person rows', async () => {
      const rows = async (engineName: string) => {
        const datasets = engine(engineName);
        const compiled = compilePersonRows(
          SCHEMA,
          ['cost', 'age'],
          [cmp('urgent', 'eq', true), undefined],
          cmp('region', 'ne', 'east'),
          options(datasets, true),
        );
        const out = [];
        for await (const row of datasets.iterate(compiled)) out.push(row);
        return out;
      };
      const expected = await rows('sqlite');
      expect(expected.length).toBeGreaterThan(50);
      expect(await rows(name)).toEqual(expected);
    });

    test('an evaluation’s column rows', async () => {
      const rows = async (engineName: string) => {
        const datasets = engine(engineName);
        const compiled = compileColumnRows(
          SCHEMA,
          [
            ['person', 'pid'],
            ['day', 'seen'],
            ['flag', 'urgent'],
          ],
          ['pid', 'seen'],
          compileOptions(datasets, 'visits'),
        );
        return datasets.query(compiled);
      };
      const expected = await rows('sqlite');
      expect(expected).toHaveLength(600);
      expect(await rows(name)).toEqual(expected);
    });
  });
});
