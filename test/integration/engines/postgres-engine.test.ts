import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import type { AggregateAnalysis, DatasetSchema, Filter, GlmAnalysis } from '@fedlab/model';
import { compileColumnRows, compilePersonRows, compilePrivateAnalysis, compilePrivateModelRows } from '@fedlab/query';
import { compileOptions } from '@fedlab/node-service';
import {
  PostgresDatasetEngine,
  loadDatasetSchemaFile,
  loadPostgresDatasetsFile,
  openDatasetEngine,
  openNodeStore,
  type DatasetEngine,
  type EngineSettings,
  type SqliteNodeStore,
} from '@fedlab/store';
import { startPostgres, type PostgresServer } from '@fedlab/testing';
import { it, test, waitUntil } from '@fedlab/test-kit';
import { restartPostgres } from './postgres-restart';

const READER = { user: 'reader', password: 'reader-secret', database: 'ministry' };
const WRITER = { user: 'writer', password: 'writer-secret', database: 'ministry' };
const URL_ENV = 'FEDLAB_POSTGRES_URL';

const SCHEMA_YAML = `dataset: visits
description: Physician visits
person: person_id
max_records_per_person: 2
columns:
  - { name: visit_id, type: integer, role: identifier }
  - { name: person_id, type: text, role: identifier }
  - { name: region, type: text, role: quasi_identifier, nullable: true, values: [north, south] }
  - { name: cost, type: real, role: attribute, nullable: true, bounds: [0, 100] }
  - { name: items, type: integer, role: attribute, nullable: true, bounds: [0, 10] }
  - { name: urgent, type: boolean, role: attribute, nullable: true }
  - { name: visit_date, type: date, role: date, nullable: true }
`;

interface Visit {
  visitId: number;
  personId: string;
  region: string | null;
  cost: number | null;
  items: number | null;
  urgent: boolean | null;
  visitDate: string | null;
}

/** 120 visits of 40 persons (1 to 5 each, so the contribution bound of 2 applies), every nullable column sometimes NULL. */
const VISITS: Visit[] = Array.from({ length: 120 }, (_, i) => ({
  visitId: 1000 + i,
  personId: `p${String((i * 7) % 40).padStart(2, '0')}${i % 3 === 0 ? 'X' : ''}`,
  region: i % 11 === 0 ? null : i % 3 === 0 ? 'north' : 'south',
  cost: i % 13 === 0 ? null : Math.round(((i * 37) % 1000) * 1.25) / 10,
  items: i % 9 === 0 ? null : (i * 5) % 12,
  urgent: i % 7 === 0 ? null : i % 2 === 0,
  visitDate: i % 17 === 0 ? null : `2024-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`,
}));

const sqlValue = (v: string | number | boolean | null) => (v === null ? 'NULL' : typeof v === 'string' ? `'${v}'` : String(v));
const csvValue = (v: string | number | boolean | null) => (v === null ? '' : String(v));
const fields = (v: Visit) => [v.visitId, v.personId, v.region, v.cost, v.items, v.urgent, v.visitDate];

/** The table, stored in another order than import order (so that only import_order can give it), a view, and the roles. */
const SETUP = `
CREATE TABLE physician_visits (visit_id integer PRIMARY KEY, person_id varchar(10) NOT NULL, region text, cost numeric(8, 2),
  items smallint, urgent boolean, visit_date date, notes text);
INSERT INTO physician_visits (visit_id, person_id, region, cost, items, urgent, visit_date) VALUES
${[...VISITS]
  .reverse()
  .map((v) => `(${fields(v).map(sqlValue).join(', ')})`)
  .join(',\n')};
CREATE VIEW recent_visits AS SELECT visit_id, person_id, region, cost::double precision AS cost, items, urgent, visit_date FROM physician_visits;
CREATE TABLE cost_as_text (LIKE physician_visits INCLUDING ALL);
ALTER TABLE cost_as_text ALTER COLUMN cost TYPE text;
CREATE TABLE nullable_person (LIKE physician_visits INCLUDING ALL);
ALTER TABLE nullable_person ALTER COLUMN person_id DROP NOT NULL;
CREATE TABLE without_items (LIKE physician_visits INCLUDING ALL);
ALTER TABLE without_items DROP COLUMN items;
CREATE TABLE changing (LIKE physician_visits INCLUDING ALL);
CREATE VIEW null_person AS SELECT visit_id, CAST(NULL AS text) AS person_id, region, cost, items, urgent, visit_date FROM physician_visits;
CREATE ROLE reader LOGIN PASSWORD '${READER.password}';
GRANT CONNECT ON DATABASE ministry TO reader;
GRANT USAGE ON SCHEMA public TO reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader;
ALTER ROLE reader SET default_transaction_read_only = on;
CREATE ROLE writer LOGIN PASSWORD '${WRITER.password}';
GRANT CONNECT ON DATABASE ministry TO writer;
GRANT USAGE, CREATE ON SCHEMA public TO writer;
GRANT SELECT, INSERT, UPDATE ON physician_visits TO writer;
CREATE ROLE bulk LOGIN PASSWORD 'bulk-secret' NOINHERIT;
GRANT pg_write_all_data TO bulk;
GRANT USAGE ON SCHEMA public TO bulk;
GRANT SELECT ON physician_visits TO bulk;
CREATE ROLE partial LOGIN PASSWORD 'partial-secret';
GRANT USAGE ON SCHEMA public TO partial;
GRANT SELECT (visit_id, person_id) ON physician_visits TO partial;
`;

const ALL: Filter = { kind: 'cmp', column: 'items', op: 'ge', values: [0] };
const FILTERS: Record<string, Filter> = {
  text: { kind: 'cmp', column: 'region', op: 'lt', values: ['s'] },
  'text in': { kind: 'cmp', column: 'region', op: 'in', values: ['north', 'south'] },
  integer: { kind: 'cmp', column: 'items', op: 'between', values: [2, 7] },
  real: { kind: 'cmp', column: 'cost', op: 'gt', values: [40.5] },
  boolean: { kind: 'cmp', column: 'urgent', op: 'eq', values: [true] },
  date: { kind: 'cmp', column: 'visit_date', op: 'ge', values: ['2024-06-01'] },
  null: { kind: 'cmp', column: 'region', op: 'is_null', values: [] },
  'not null, or': {
    kind: 'or',
    items: [
      { kind: 'cmp', column: 'cost', op: 'not_null', values: [] },
      { kind: 'cmp', column: 'urgent', op: 'ne', values: [false] },
    ],
  },
};

const ANALYSES: AggregateAnalysis[] = [
  { kind: 'count', dataset: 'visits', groupBy: ['region', 'urgent'] },
  { kind: 'sum', dataset: 'visits', groupBy: ['region'], column: 'items' },
  { kind: 'mean', dataset: 'visits', groupBy: ['urgent'], column: 'cost' },
  { kind: 'variance', dataset: 'visits', groupBy: [], column: 'cost' },
  { kind: 'proportion', dataset: 'visits', groupBy: ['region'], condition: FILTERS.boolean! },
  { kind: 'histogram', dataset: 'visits', groupBy: [], column: 'cost', bins: [0, 25, 50, 75, 100] },
];

describe('the postgres engine', () => {
  let pg: PostgresServer;
  let dir: string;
  let sqlite: SqliteNodeStore;
  let engine: DatasetEngine;

  /** Writes datasets.yaml (and the schema file beside it) and returns the engine settings that name it. */
  const datasetsFile = (yaml: string, name = `datasets-${Math.random().toString(36).slice(2)}.yaml`): EngineSettings => {
    const file = path.join(dir, name);
    writeFileSync(file, yaml);
    return { kind: 'postgres', urlEnv: URL_ENV, datasetsFile: file };
  };
  const mapping = (table: string, extra = '') =>
    `- dataset: visits\n  schema_file: visits.schema.yaml\n  table: ${table}\n  import_order: [visit_id]\n${extra}`;
  const open = (settings: EngineSettings, role = READER) =>
    openDatasetEngine(settings, sqlite.db, { [URL_ENV]: pg.connectionString(role.user, role.password, role.database) });

  test.beforeAll(async ({ fileTempDir }) => {
    dir = fileTempDir;
    pg = await startPostgres({ dir });
    await pg.psql('CREATE DATABASE ministry;');
    await pg.psql(SETUP, { database: 'ministry' });
    writeFileSync(path.join(dir, 'visits.schema.yaml'), SCHEMA_YAML);
    const csv = path.join(dir, 'visits.csv');
    writeFileSync(csv, ['visit_id,person_id,region,cost,items,urgent,visit_date', ...VISITS.map((v) => fields(v).map(csvValue).join(','))].join('\n'));
    sqlite = openNodeStore(path.join(dir, 'node.db'));
    await sqlite.datasets.import({ csvPath: csv, schema: loadDatasetSchemaFile(path.join(dir, 'visits.schema.yaml')) });
    engine = await open(datasetsFile(mapping('public.physician_visits')));
  });
  afterAll(async () => {
    await engine?.close();
    sqlite?.close();
    await pg?.stop();
  });

  const schema = (): DatasetSchema => engine.schema('visits')!;
  const both = () => [sqlite.datasets, engine] as const;

  it('publishes the mapped dataset with its schema and its row count rounded to 100', () => {
    expect(engine.dialect).toBe('postgres');
    expect(engine.catalog()).toEqual(sqlite.datasets.catalog());
    expect(engine.catalog()[0]).toMatchObject({ dataset: 'visits', description: 'Physician visits', approxRows: 100, maxRecordsPerPerson: 2 });
    expect(engine.importOrder('visits')).toEqual(['visit_id']);
    expect(engine.hasPersonColumns('visits')).toBe(false);
    expect(engine.schema('nosuch')).toBeUndefined();
  });

  for (const analysis of ANALYSES) {
    for (const [name, filter] of Object.entries({ 'no filter': undefined, ...FILTERS })) {
      it(`answers a ${analysis.kind} with ${name === 'no filter' ? 'no filter' : `a ${name} filter`} exactly as SQLite does`, async () => {
        const [a, b] = both().map(async (e) => {
          const compiled = compilePrivateAnalysis({ ...analysis, ...(filter ? { filter } : {}) }, schema(), compileOptions(e, 'visits'));
          const rows = await e.query(compiled);
          return { rows, cells: compiled.decode(rows) };
        });
        const [sqliteResult, pgResult] = await Promise.all([a, b]);
        expect(pgResult.rows.length).toBeGreaterThan(0);
        expect(pgResult).toEqual(sqliteResult);
      });
    }
  }

  it('gives the rows of a model, a linkage study and an evaluation in the same order as SQLite, a person’s first records by import order', async () => {
    const glm: GlmAnalysis = {
      kind: 'glm',
      dataset: 'visits',
      groupBy: [],
      family: 'gaussian',
      response: 'cost',
      covariates: ['items', 'urgent', 'region'],
      filter: ALL,
    };
    const results = await Promise.all(
      both().map(async (e) => {
        const options = compileOptions(e, 'visits');
        const model = compilePrivateModelRows(glm, schema(), options);
        const persons = compilePersonRows(schema(), ['region', 'visit_date', 'urgent'], [FILTERS.date, undefined], FILTERS.real, options);
        const columns = compileColumnRows(
          schema(),
          [
            ['who', 'person_id'],
            ['when', 'visit_date'],
            ['cost', 'cost'],
          ],
          ['person_id', 'visit_date'],
          options,
        );
        const iterated = [];
        for await (const row of e.iterate(persons)) iterated.push(row);
        const columnRows = [];
        for await (const row of e.iterate(columns)) columnRows.push(row);
        return { model: model.decode(await e.query(model)), iterated, columnRows };
      }),
    );
    expect(results[1]!.iterated.length).toBeGreaterThan(10);
    expect(results[1]!.columnRows).toHaveLength(VISITS.length);
    expect(results[1]).toEqual(results[0]);
  });

  it('streams more rows than one fetch holds, and stops reading when the consumer stops', async () => {
    const many = { sql: 'SELECT g AS n FROM generate_series(1, 2500) AS g ORDER BY g', params: [] };
    let count = 0;
    for await (const row of engine.iterate(many)) {
      expect(row).toEqual({ n: ++count });
    }
    expect(count).toBe(2500);
    for await (const row of engine.iterate(many)) {
      if (row.n === 3) break;
    }
    expect(await engine.query({ sql: 'SELECT 1 AS one', params: [] })).toEqual([{ one: 1 }]);
  });

  it('returns booleans as 0/1, dates as YYYY-MM-DD, bigint and numeric as numbers, and refuses an integer beyond 2^53', async () => {
    expect(
      await engine.query({
        sql: "SELECT true AS t, false AS f, DATE '2024-02-29' AS d, CAST(9007199254740991 AS BIGINT) AS big, CAST(12.50 AS NUMERIC) AS n, CAST(NULL AS BOOLEAN) AS nothing",
        params: [],
      }),
    ).toEqual([{ t: 1, f: 0, d: '2024-02-29', big: 9007199254740991, n: 12.5, nothing: null }]);
    await expect(engine.query({ sql: 'SELECT CAST(9007199254740993 AS BIGINT) AS big', params: [] })).rejects.toThrowFedlabError(
      'INTERNAL',
      'an integer result of the PostgreSQL engine is beyond 2^53 and cannot be returned exactly',
    );
  });

  it('refuses a statement that writes, in a READ ONLY transaction', async () => {
    const message = 'the postgres engine only runs read-only statements that return rows';
    await expect(engine.query({ sql: 'DELETE FROM physician_visits RETURNING visit_id', params: [] })).rejects.toThrowFedlabError('INVALID_ARGUMENT', message);
    await expect(engine.query({ sql: 'CREATE TEMP TABLE scratch AS SELECT 1 AS n', params: [] })).rejects.toThrowFedlabError('INVALID_ARGUMENT', message);
    expect(await pg.psql('SELECT count(*) FROM physician_visits', { database: 'ministry' })).toBe(String(VISITS.length));
  });

  it('checks the live columns again before each query: a change is refused until it is undone', async () => {
    const changing = await open(datasetsFile(mapping('changing')));
    try {
      await changing.check('visits');
      await pg.psql('ALTER TABLE changing ALTER COLUMN items TYPE text', { database: 'ministry' });
      await expect(changing.check('visits')).rejects.toThrowFedlabError(
        'SCHEMA_MISMATCH',
        'dataset "visits": column "items" of changing is text in PostgreSQL but integer in the schema (integer takes smallint, integer, bigint)',
      );
      await pg.psql('ALTER TABLE changing ALTER COLUMN items TYPE bigint USING items::bigint', { database: 'ministry' });
      await changing.check('visits');
      await pg.psql('ALTER TABLE changing RENAME TO changed', { database: 'ministry' });
      await expect(changing.check('visits')).rejects.toThrowFedlabError(
        'SCHEMA_MISMATCH',
        'dataset "visits": the PostgreSQL relation changing does not exist (datasets.yaml table)',
      );
    } finally {
      await changing.close();
    }
  });

  describe('refuses to start', () => {
    const refusal = async (settings: EngineSettings, env: Record<string, string | undefined>) => {
      try {
        await openDatasetEngine(settings, sqlite.db, env);
      } catch (error) {
        return error;
      }
      throw new Error('the engine started');
    };
    const refused = (settings: EngineSettings, role = READER) => refusal(settings, { [URL_ENV]: pg.connectionString(role.user, role.password, role.database) });

    it('when the server cannot be reached', async () => {
      expect(await refusal(datasetsFile(mapping('physician_visits')), { [URL_ENV]: 'postgresql://reader:secret@127.0.0.1:1/ministry' })).toThrowFedlabError(
        'ENGINE_UNAVAILABLE',
        "the PostgreSQL server of the node's datasets cannot be reached (connection refused)",
      );
    });

    it('without the connection string in the environment, or with a wrong password or database', async () => {
      const settings = datasetsFile(mapping('physician_visits'));
      expect(await refusal(settings, {})).toThrowFedlabError(
        'CONFIG_INVALID',
        'engine: the environment variable FEDLAB_POSTGRES_URL is not set; it holds the connection string of the read-only PostgreSQL role',
      );
      expect(await refused(settings, { ...READER, password: 'wrong' })).toThrowFedlabError(
        'CONFIG_INVALID',
        'engine: the PostgreSQL server refused the credentials in FEDLAB_POSTGRES_URL',
      );
      expect(await refused(settings, { ...READER, database: 'nosuch' })).toThrowFedlabError(
        'CONFIG_INVALID',
        'engine: the database in FEDLAB_POSTGRES_URL does not exist on the PostgreSQL server',
      );
    });

    it('with a role that can write, naming what it may do', async () => {
      expect(await refused(datasetsFile(mapping('public.physician_visits')), WRITER)).toThrowFedlabError(
        'CONFIG_INVALID',
        'engine: the PostgreSQL role "writer" can write (INSERT, UPDATE on public.physician_visits; CREATE on schema public); connect with a role that may only read (docs/engines-postgres.md)',
      );
    });

    it('with a role that can write only after SET ROLE to a role it belongs to', async () => {
      expect(await refused(datasetsFile(mapping('physician_visits')), { user: 'bulk', password: 'bulk-secret', database: 'ministry' })).toThrowFedlabError(
        'CONFIG_INVALID',
        'engine: the PostgreSQL role "bulk" can write (INSERT, UPDATE, DELETE on physician_visits); connect with a role that may only read (docs/engines-postgres.md)',
      );
    });

    it('with a superuser', async () => {
      expect(
        await refused(datasetsFile(mapping('physician_visits')), { user: 'postgres', password: pg.superuserPassword, database: 'ministry' }),
      ).toThrowFedlabError(
        'CONFIG_INVALID',
        'engine: the PostgreSQL role "postgres" can write (is a superuser; may create roles (CREATEROLE); CREATE on database ministry; INSERT, UPDATE, DELETE, TRUNCATE on physician_visits; CREATE on schema public); connect with a role that may only read (docs/engines-postgres.md)',
      );
    });

    it('with a role that may not read every column of the schema', async () => {
      expect(
        await refused(datasetsFile(mapping('physician_visits')), { user: 'partial', password: 'partial-secret', database: 'ministry' }),
      ).toThrowFedlabError('CONFIG_INVALID', 'dataset "visits": the PostgreSQL role may not read column "region" of physician_visits (GRANT SELECT)');
    });

    it('with a table that does not exist, or lacks a column', async () => {
      expect(await refused(datasetsFile(mapping('public.nosuch')))).toThrowFedlabError(
        'SCHEMA_MISMATCH',
        'dataset "visits": the PostgreSQL relation public.nosuch does not exist (datasets.yaml table)',
      );
      expect(await refused(datasetsFile(mapping('without_items')))).toThrowFedlabError(
        'SCHEMA_MISMATCH',
        'dataset "visits": column "items" is missing from without_items',
      );
    });

    it('with a column whose type differs from the schema', async () => {
      expect(await refused(datasetsFile(mapping('cost_as_text')))).toThrowFedlabError(
        'SCHEMA_MISMATCH',
        'dataset "visits": column "cost" of cost_as_text is text in PostgreSQL but real in the schema (real takes real, double precision, numeric)',
      );
    });

    it('with a column that may be NULL where the schema says it may not', async () => {
      expect(await refused(datasetsFile(mapping('nullable_person')))).toThrowFedlabError(
        'SCHEMA_MISMATCH',
        'dataset "visits": column "person_id" of nullable_person may be NULL in PostgreSQL but the schema declares it not nullable (add NOT NULL, or nullable: true)',
      );
      expect(await refused(datasetsFile(mapping('null_person')))).toThrowFedlabError(
        'SCHEMA_MISMATCH',
        'dataset "visits": view null_person has NULL in column "person_id", which the schema declares not nullable',
      );
    });

    it('with a bad datasets file, naming the entry and the field', async () => {
      const bad = (yaml: string) => refused(datasetsFile(yaml, 'datasets.yaml'));
      expect(await bad(mapping('physician_visits').replace('[visit_id]', '[nosuch]'))).toThrowFedlabError(
        'CONFIG_INVALID',
        'datasets.yaml: [0].import_order: dataset "visits" has no column "nosuch"',
      );
      expect(await bad(mapping('physician_visits') + mapping('recent_visits'))).toThrowFedlabError(
        'CONFIG_INVALID',
        'datasets.yaml: [1].dataset: "visits" is mapped twice',
      );
      expect(await bad(mapping('physician_visits').replace('dataset: visits', 'dataset: trips'))).toThrowFedlabError(
        'CONFIG_INVALID',
        'datasets.yaml: [0].schema_file: visits.schema.yaml describes dataset "visits", not "trips"',
      );
      expect(await bad(mapping('"physician visits"'))).toThrowFedlabError(
        'CONFIG_INVALID',
        'datasets.yaml: [0].table: must be a table or view name, optionally schema-qualified (schema.table), without quotes or spaces',
      );
      expect(await bad('- dataset: visits\n  table: [')).toThrowFedlabError('CONFIG_INVALID', 'datasets.yaml: not valid YAML (line 2)');
      expect(await bad('visits: public.physician_visits')).toThrowFedlabError(
        'CONFIG_INVALID',
        'datasets.yaml: the file: must be a list of mappings ([] when every dataset is imported)',
      );
    });
  });

  it('takes the password from PGPASSFILE when the connection string leaves it out', async () => {
    const passFile = path.join(dir, 'pgpass');
    writeFileSync(passFile, `127.0.0.1:${pg.port}:ministry:reader:${READER.password}\n`, { mode: 0o600 });
    const previous = process.env.PGPASSFILE;
    // node-postgres reads the libpq variables from the process environment itself, as libpq does.
    process.env.PGPASSFILE = passFile;
    try {
      const withPassFile = await openDatasetEngine(datasetsFile(mapping('physician_visits')), sqlite.db, {
        [URL_ENV]: `postgresql://reader@127.0.0.1:${pg.port}/ministry`,
      });
      expect(await withPassFile.query({ sql: 'SELECT count(*) AS n FROM "visits"', params: [] })).toEqual([{ n: VISITS.length }]);
      await withPassFile.close();
    } finally {
      if (previous === undefined) delete process.env.PGPASSFILE;
      else process.env.PGPASSFILE = previous;
    }
  });

  it('counts the rows again in the background, off the queries’ path, and refuses a view while it holds a NULL the schema forbids', async () => {
    await pg.psql(
      'CREATE TABLE growing (LIKE physician_visits INCLUDING ALL); ALTER TABLE growing ALTER COLUMN person_id DROP NOT NULL; ' +
        'INSERT INTO growing SELECT * FROM physician_visits; CREATE VIEW growing_view AS SELECT * FROM growing; GRANT SELECT ON growing, growing_view TO reader;',
      { database: 'ministry' },
    );
    const growing = await PostgresDatasetEngine.open({
      connectionString: pg.connectionString(READER.user, READER.password, READER.database),
      credentialsSource: URL_ENV,
      datasets: loadPostgresDatasetsFile((datasetsFile(mapping('growing_view')) as { datasetsFile: string }).datasetsFile),
      db: sqlite.db,
      rowCountRefreshMs: 100,
    });
    try {
      expect(growing.catalog()[0]!.approxRows).toBe(100);
      await pg.psql('INSERT INTO growing SELECT visit_id + 10000, person_id, region, cost, items, urgent, visit_date, notes FROM physician_visits;', {
        database: 'ministry',
      });
      await waitUntil('the background count to see 240 rows, published as 200', () => growing.catalog()[0]!.approxRows === 200);
      await pg.psql('INSERT INTO growing (visit_id, person_id) VALUES (99999, NULL);', { database: 'ministry' });
      const refused = async () =>
        growing.check('visits').then(
          () => undefined,
          (error: unknown) => error,
        );
      await waitUntil('the background count to find the NULL', async () => (await refused()) !== undefined);
      await expect(growing.check('visits')).rejects.toThrowFedlabError(
        'SCHEMA_MISMATCH',
        'dataset "visits": view growing_view has NULL in column "person_id", which the schema declares not nullable',
      );
      await pg.psql('DELETE FROM growing WHERE visit_id = 99999;', { database: 'ministry' });
      await waitUntil('the next background count to accept the view again', async () => (await refused()) === undefined);
    } finally {
      await growing.close();
    }
  });

  it('maps a dataset onto a view, reading the same rows', async () => {
    const view = await open(datasetsFile(mapping('recent_visits')));
    try {
      const compiled = compilePrivateAnalysis(ANALYSES[2]!, schema(), compileOptions(view, 'visits'));
      expect(await view.query(compiled)).toEqual(await engine.query(compiled));
      expect(view.catalog()).toEqual(engine.catalog());
    } finally {
      await view.close();
    }
  });
});

describe('the postgres engine when its server stops', () => {
  it('refuses queries with ENGINE_UNAVAILABLE while the server is down, and answers again once it is back', async ({ tempDir }) => {
    const pg = await startPostgres({ dir: tempDir });
    let stopRestarted: (() => void) | undefined;
    let engine: DatasetEngine | undefined;
    const sqlite = openNodeStore(path.join(tempDir, 'node.db'));
    try {
      await pg.psql('CREATE DATABASE ministry;');
      await pg.psql(
        `CREATE TABLE visits (visit_id integer PRIMARY KEY, person_id text NOT NULL, region text, cost double precision, items integer,
           urgent boolean, visit_date date);
         INSERT INTO visits VALUES (1, 'a', 'north', 12.5, 3, true, '2024-01-02');
         CREATE ROLE reader LOGIN PASSWORD '${READER.password}';
         GRANT USAGE ON SCHEMA public TO reader;
         GRANT SELECT ON visits TO reader;`,
        { database: 'ministry' },
      );
      writeFileSync(path.join(tempDir, 'visits.schema.yaml'), SCHEMA_YAML);
      writeFileSync(path.join(tempDir, 'datasets.yaml'), '- dataset: visits\n  schema_file: visits.schema.yaml\n  table: visits\n  import_order: [visit_id]\n');
      engine = await openDatasetEngine({ kind: 'postgres', urlEnv: URL_ENV, datasetsFile: path.join(tempDir, 'datasets.yaml') }, sqlite.db, {
        [URL_ENV]: pg.connectionString(READER.user, READER.password, READER.database),
      });
      const count = { sql: 'SELECT count(*) AS n FROM "visits"', params: [] };
      expect(await engine.query(count)).toEqual([{ n: 1 }]);

      await pg.stop();

      const down = "the PostgreSQL server of the node's datasets cannot be reached (connection refused)";
      await expect(engine.check('visits')).rejects.toThrowFedlabError('ENGINE_UNAVAILABLE', down);
      await expect(engine.query(count)).rejects.toThrowFedlabError('ENGINE_UNAVAILABLE', down);
      const iterate = async () => {
        for await (const _ of engine!.iterate(count));
      };
      await expect(iterate()).rejects.toThrowFedlabError('ENGINE_UNAVAILABLE', down);

      stopRestarted = restartPostgres(pg);

      await engine.check('visits');
      expect(await engine.query(count)).toEqual([{ n: 1 }]);
    } finally {
      await engine?.close();
      sqlite.close();
      stopRestarted?.();
      await pg.stop();
    }
  });
});
