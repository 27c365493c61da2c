import { appendFileSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import type { DatasetSchema } from '@fedlab/model';
import { importNodeDataset } from '@fedlab/node-service';
import postgres from 'pg';
import { openNodeStore, openNodeStoreWithEngine, parseDatasetSchema, writePostgresDataset, type EngineSettings, type SqliteNodeStore } from '@fedlab/store';
import { startPostgres, type PostgresServer } from '@fedlab/testing';
import { it, test } from '@fedlab/test-kit';

/*
 * `fedlab node import` on the PostgreSQL engine (issue 19): a CSV checked exactly as the SQLite importer
 * checks it, streamed through COPY by a separate import role into the schema fedlab_import, published in
 * the node database's catalog and served by the daemon's read-only role. A real server, no mocks.
 */

const READER = { user: 'reader', password: 'reader-secret', database: 'ministry' };
const IMPORTER = { user: 'importer', password: 'importer-secret', database: 'ministry' };
const URL_ENV = 'FEDLAB_POSTGRES_URL';
const IMPORT_ENV = 'FEDLAB_PG_IMPORT_URL';

const SCHEMA: DatasetSchema = parseDatasetSchema(
  {
    dataset: 'visits',
    person: 'person_id',
    max_records_per_person: 2,
    columns: [
      { name: 'visit_id', type: 'integer', role: 'identifier' },
      { name: 'person_id', type: 'text', role: 'identifier' },
      { name: 'region', type: 'text', role: 'quasi_identifier', nullable: true, values: ['north', 'south'] },
      { name: 'cost', type: 'real', role: 'attribute', nullable: true, bounds: [0, 100] },
      { name: 'urgent', type: 'boolean', role: 'attribute', nullable: true },
      { name: 'seen', type: 'date', role: 'date', nullable: true },
    ],
  },
  'test',
);
const HEADER = 'visit_id,person_id,region,cost,urgent,seen';

/** `count` rows of persons that COPY's text format must escape (backslash, tab, newline, carriage return), every nullable column sometimes empty. */
function csv(
  count: number,
  costOf: (i: number) => string = (i) => String(((i * 37) % 1000) / 8),
  persons = ['p\\1', 'tab\there', '"multi\nline"', '"cr\rin"', 'é"ü', 'plain'],
): string {
  const lines = [HEADER];
  for (let i = 0; i < count; i++) {
    const person = persons[(i * 5) % persons.length]!.replace('é"ü', '"é""ü"');
    const region = i % 7 === 0 ? '' : i % 2 === 0 ? 'north' : 'south';
    const cost = i % 11 === 0 ? '' : costOf(i);
    const urgent = i % 5 === 0 ? '' : i % 3 === 0 ? 'TRUE' : '0';
    const seen = i % 13 === 0 ? '' : `2024-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`;
    lines.push([String(1000 + i), person, region, cost, urgent, seen].join(','));
  }
  return `${lines.join('\n')}\n`;
}

const ROWS_SQL = 'SELECT visit_id, person_id, region, cost, urgent, seen, fedlab_person_rows, fedlab_person_rank, rowid FROM "visits" ORDER BY rowid';

describe('import into the postgres engine', () => {
  let pg: PostgresServer;
  let dir: string;
  let settings: EngineSettings;
  const stores: Array<{ datasets: { close(): Promise<void> }; close(): void }> = [];

  const env = (importer: typeof IMPORTER | undefined) => ({
    [URL_ENV]: pg.connectionString(READER.user, READER.password, READER.database),
    ...(importer ? { [IMPORT_ENV]: pg.connectionString(importer.user, importer.password, importer.database) } : {}),
  });
  /** A node store on the node database `name` (the command's or the daemon's connection to the same file). */
  const node = async (name: string, importer: typeof IMPORTER | null = IMPORTER): Promise<SqliteNodeStore> => {
    const store = await openNodeStoreWithEngine(path.join(dir, name), settings, env(importer ?? undefined));
    stores.push(store);
    return store;
  };
  const file = (name: string, text: string | Buffer) => {
    const at = path.join(dir, name);
    writeFileSync(at, text);
    return at;
  };
  const importTables = async () =>
    (await pg.psql("SELECT tablename FROM pg_tables WHERE schemaname = 'fedlab_import' ORDER BY tablename", { database: 'ministry' }))
      .split('\n')
      .filter(Boolean);

  test.beforeAll(async ({ fileTempDir }) => {
    dir = fileTempDir;
    pg = await startPostgres({ dir });
    await pg.psql('CREATE DATABASE ministry;');
    await pg.psql(
      [
        `CREATE ROLE reader LOGIN PASSWORD '${READER.password}';`,
        `CREATE ROLE importer LOGIN PASSWORD '${IMPORTER.password}';`,
        "CREATE ROLE stranger LOGIN PASSWORD 'stranger-secret';",
        'CREATE SCHEMA fedlab_import AUTHORIZATION importer;',
        'GRANT USAGE ON SCHEMA fedlab_import TO reader;',
        'ALTER DEFAULT PRIVILEGES FOR ROLE importer IN SCHEMA fedlab_import GRANT SELECT ON TABLES TO reader;',
        // A second role that may create tables there, without the default privileges that let the reader read them.
        'GRANT CREATE, USAGE ON SCHEMA fedlab_import TO stranger;',
      ].join('\n'),
      { database: 'ministry' },
    );
    const datasetsFile = file('datasets.yaml', '[]\n');
    settings = { kind: 'postgres', urlEnv: URL_ENV, datasetsFile };
  });
  afterAll(async () => {
    for (const store of stores) {
      await store.datasets.close();
      store.close();
    }
    await pg?.stop();
  });

  it('loads a CSV that the daemon’s engine then serves with SQLite’s exact values, person columns and import order', async () => {
    const csvPath = file('good.csv', csv(12_345));
    const sqlite = openNodeStore(path.join(dir, 'reference.db'));
    try {
      await sqlite.datasets.import({ csvPath, schema: SCHEMA });
      const command = await node('good.db');
      const progress: Array<[number, number, number]> = [];
      const result = await command.datasets.import({ csvPath, schema: SCHEMA, onProgress: (...p) => progress.push(p) });
      expect(result).toEqual({ rows: 12_345 });
      expect(progress[0]).toEqual([0, 0, progress[0]![2]]);
      expect(progress.at(-1)).toEqual([12_345, progress[0]![2], progress[0]![2]]);
      expect(progress.length).toBeGreaterThan(3);

      // The daemon: its own connection to the node database, the read-only role, no import credential.
      const daemon = await node('good.db', null);
      expect(daemon.datasets.schema('visits')).toEqual(SCHEMA);
      expect(daemon.datasets.hasPersonColumns('visits')).toBe(true);
      expect(daemon.datasets.importOrder('visits')).toBeUndefined();
      expect(daemon.datasets.catalog().map((d) => [d.dataset, d.approxRows])).toEqual([['visits', 12_300]]);
      await daemon.datasets.check('visits');
      const expected = await sqlite.datasets.query({ sql: ROWS_SQL, params: [] });
      expect(expected).toHaveLength(12_345);
      expect(expected[3]).toEqual({
        visit_id: 1003,
        person_id: 'cr\rin',
        region: 'south',
        cost: 13.875,
        urgent: 1,
        seen: '2024-04-04',
        fedlab_person_rows: 2057,
        fedlab_person_rank: 1,
        rowid: 4,
      });
      expect(await daemon.datasets.query({ sql: ROWS_SQL, params: [] })).toEqual(expected);
      expect(await importTables()).toHaveLength(1);
    } finally {
      sqlite.close();
    }
  });

  it('imports a file without quotes (read twice in JavaScript, the person columns counted there) with SQLite’s exact rows', async () => {
    const csvPath = file('plain.csv', csv(23_456, undefined, ['p\\1', 'tab\there', 'Montréal ✓', 'plain', 'x,y'.split(',')[0]!, ' spaced ']));
    const sqlite = openNodeStore(path.join(dir, 'plain-reference.db'));
    try {
      await sqlite.datasets.import({ csvPath, schema: SCHEMA });
      const command = await node('plain.db');
      const progress: number[] = [];
      expect(await command.datasets.import({ csvPath, schema: SCHEMA, onProgress: (_rows, bytes) => progress.push(bytes) })).toEqual({ rows: 23_456 });
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      const expected = await sqlite.datasets.query({ sql: ROWS_SQL, params: [] });
      expect(expected[5]).toMatchObject({ person_id: 'tab\there', fedlab_person_rows: 3909, fedlab_person_rank: 1 });
      expect(await command.datasets.query({ sql: ROWS_SQL, params: [] })).toEqual(expected);
    } finally {
      sqlite.close();
    }
  });

  it('reads a file again with the full reader when the second reading gives up after rows were copied (a carriage return inside a value)', async () => {
    const lines = [HEADER];
    for (let i = 0; i < 40_000; i++) lines.push(`${1000 + i},${i === 39_000 ? 'a\rb' : `p${i % 977}`},north,${(i % 80) / 4},1,2024-05-06`);
    const csvPath = file('late-cr.csv', `${lines.join('\n')}\n`);
    const sqlite = openNodeStore(path.join(dir, 'late-cr-reference.db'));
    try {
      await sqlite.datasets.import({ csvPath, schema: SCHEMA });
      const command = await node('late-cr.db');
      expect(await command.datasets.import({ csvPath, schema: SCHEMA })).toEqual({ rows: 40_000 });
      const expected = await sqlite.datasets.query({ sql: ROWS_SQL, params: [] });
      expect(expected[39_000]!.person_id).toBe('a\rb');
      expect(await command.datasets.query({ sql: ROWS_SQL, params: [] })).toEqual(expected);
    } finally {
      sqlite.close();
    }
  });

  it('counts the persons by window functions when a file has more persons than the import counts in memory, with the same rows', async () => {
    const lines = [HEADER];
    for (let i = 0; i < 5_000; i++) lines.push(`${1000 + i},p${(i * 7) % 977},${i % 3 === 0 ? '' : 'south'},${(i % 80) / 4},${i % 2},2024-05-06`);
    const csvPath = file('many-persons.csv', `${lines.join('\n')}\n`);
    const client = new postgres.Client({ connectionString: pg.connectionString(IMPORTER.user, IMPORTER.password, IMPORTER.database) });
    await client.connect();
    try {
      const source = (progress: Array<[number, number]>) => ({
        csvPath,
        file: 'many-persons.csv',
        schema: SCHEMA,
        totalBytes: statSync(csvPath).size,
        onProgress: (rowsDone: number, bytesDone: number) => progress.push([rowsDone, bytesDone]),
      });
      // The default: the persons' rows counted in JavaScript (a first reading, reported with no row done yet).
      const counting: Array<[number, number]> = [];
      expect(await writePostgresDataset(client, 'counted', source(counting))).toBe(5_000);
      expect(counting.some(([rowsDone, bytesDone]) => rowsDone === 0 && bytesDone > 0)).toBe(true);
      // Room for 100 persons: the first reading stops at the 101st of the 977, and the window path reads the file once.
      const windowing: Array<[number, number]> = [];
      expect(await writePostgresDataset(client, 'windowed', source(windowing), 100)).toBe(5_000);
      expect(windowing.some(([rowsDone, bytesDone]) => rowsDone === 0 && bytesDone > 0)).toBe(false);
      expect(windowing.at(-1)).toEqual([5_000, statSync(csvPath).size]);
    } finally {
      await client.end();
    }
    const rows = (table: string) =>
      pg.psql(`SELECT ${HEADER}, fedlab_person_rows, fedlab_person_rank, fedlab_row FROM fedlab_import.${table} ORDER BY fedlab_row`, { database: 'ministry' });
    const windowed = (await rows('windowed')).split('\n');
    expect(windowed).toHaveLength(5_000);
    // p0 is on lines 1, 978, 1955 … (every 977th, 7 × 977 ≡ 0): 6 rows, and this is its second.
    expect(windowed[977]).toBe('1977|p0|south|4.25|t|2024-05-06|6|2|978');
    expect(windowed).toEqual((await rows('counted')).split('\n'));
    await pg.psql('DROP TABLE fedlab_import.counted; DROP TABLE fedlab_import.windowed;', {
      database: 'ministry',
      user: IMPORTER.user,
      password: IMPORTER.password,
    });
  });

  it('stores every number as SQLite does, whatever its written form', async () => {
    const reals = ['1e3', '.50', '+7', '5.', '-0', '0.000', '1e-310', '1e-400', '-2.5E-3', '123456789.123456789', '0.1', '1.7976931348623157e308'];
    const integers = ['007', '-0', '9007199254740991', '-9007199254740991', '0'];
    const lines = [HEADER, ...reals.map((cost, i) => `${integers[i % integers.length]},p${i},north,${cost},1,2024-01-01`)];
    const csvPath = file('numbers.csv', `${lines.join('\n')}\n`);
    const sqlite = openNodeStore(path.join(dir, 'numbers-reference.db'));
    try {
      await sqlite.datasets.import({ csvPath, schema: SCHEMA });
      const command = await node('numbers.db');
      await command.datasets.import({ csvPath, schema: SCHEMA });
      const sql = 'SELECT visit_id, cost FROM "visits" ORDER BY rowid';
      const expected = await sqlite.datasets.query({ sql, params: [] });
      expect(expected.map((r) => r.cost)).toEqual([1000, 0.5, 7, 5, 0, 0, 1e-310, 0, -0.0025, 123456789.12345679, 0.1, 1.7976931348623157e308]);
      expect((await command.datasets.query({ sql, params: [] })).map((r) => [r.visit_id, Object.is(r.cost, -0) ? 0 : r.cost])).toEqual(
        expected.map((r) => [r.visit_id, Object.is(r.cost, -0) ? 0 : r.cost]),
      );
    } finally {
      sqlite.close();
    }
  });

  it('reads a file whose first quote is past the first MiB with the full reader, as SQLite does', async () => {
    const lines = [HEADER];
    for (let i = 0; i < 40_000; i++) lines.push(`${1000 + i},${i === 39_000 ? '"q,uoted"' : `p${i % 977}`},north,${(i % 80) / 4},1,2024-05-06`);
    const csvPath = file('late-quote.csv', `${lines.join('\n')}\n`);
    const sqlite = openNodeStore(path.join(dir, 'late-quote-reference.db'));
    try {
      await sqlite.datasets.import({ csvPath, schema: SCHEMA });
      const command = await node('late-quote.db');
      expect(await command.datasets.import({ csvPath, schema: SCHEMA })).toEqual({ rows: 40_000 });
      const expected = await sqlite.datasets.query({ sql: ROWS_SQL, params: [] });
      expect(expected[39_000]!.person_id).toBe('q,uoted');
      expect(await command.datasets.query({ sql: ROWS_SQL, params: [] })).toEqual(expected);
    } finally {
      sqlite.close();
    }
  });

  it('replaces an earlier import atomically: the daemon reads the old rows until the new ones are published, then the old table is gone', async () => {
    const command = await node('replace.db');
    const daemon = await node('replace.db', null);
    await command.datasets.import({ csvPath: file('first.csv', csv(50)), schema: SCHEMA });
    const count = async () => (await daemon.datasets.query({ sql: 'SELECT count(*) AS n, sum(cost) AS total FROM "visits"', params: [] }))[0];
    expect(await count()).toEqual({ n: 50, total: 2656.875 });
    const before = await importTables();
    const location = () => (command.db.prepare("SELECT location FROM fedlab_datasets WHERE name = 'visits'").pluck().get() as string).split('.')[1];
    const firstTable = location();
    expect(before).toContain(firstTable);
    // The generation names the import: a model fit refuses its later rounds when it changes (DATASET_CHANGED).
    const generation = daemon.datasets.generation('visits');
    expect(generation).toMatch(/^[0-9]+$/);

    // A refused re-import (a bad value in its last batch) changes nothing.
    const bad = file(
      'bad-late.csv',
      csv(12_000, (i) => (i === 11_001 ? 'lots' : '1')),
    );
    // Physical lines, as SQLite's importer counts them (quoted values span two lines).
    const message = 'bad-late.csv line 14669, column "cost": not a finite number';
    const reference = openNodeStore(path.join(dir, 'bad-late-reference.db'));
    await expect(reference.datasets.import({ csvPath: bad, schema: SCHEMA })).rejects.toThrowFedlabError('CSV_BAD_VALUE', message);
    reference.close();
    await expect(command.datasets.import({ csvPath: bad, schema: SCHEMA })).rejects.toThrowFedlabError('CSV_BAD_VALUE', message);
    expect(await count()).toEqual({ n: 50, total: 2656.875 });
    expect(await importTables()).toEqual(before);
    expect(daemon.datasets.generation('visits')).toBe(generation);

    await command.datasets.import({
      csvPath: file(
        'second.csv',
        csv(7, () => '2'),
      ),
      schema: SCHEMA,
    });
    expect(await count()).toEqual({ n: 7, total: 12 });
    expect(Number(daemon.datasets.generation('visits'))).toBeGreaterThan(Number(generation));
    const after = await importTables();
    expect(after).toHaveLength(before.length);
    expect(after).not.toContain(firstTable);
    expect(after).toContain(location());

    // A table dropped behind the node's back is refused before the next query, naming what to do.
    await pg.psql(`DROP TABLE fedlab_import.${location()}`, { database: 'ministry' });
    await expect(daemon.datasets.check('visits')).rejects.toThrowFedlabError(
      'SCHEMA_MISMATCH',
      `dataset "visits": the PostgreSQL relation fedlab_import.${location()} does not exist (written by fedlab node import: import the file again)`,
    );
  });

  describe('refuses, with nothing written', () => {
    let command: SqliteNodeStore;
    let daemon: SqliteNodeStore;
    let reference: SqliteNodeStore;
    test.beforeAll(async () => {
      command = await node('refusals.db');
      daemon = await node('refusals.db', null);
      reference = openNodeStore(path.join(dir, 'refusals-reference.db'));
      stores.push({ datasets: { close: async () => undefined }, close: () => reference.close() });
      await command.datasets.import({ csvPath: file('kept.csv', csv(30)), schema: SCHEMA });
    });
    const unchanged = async (tables: string[]) => {
      expect(await importTables()).toEqual(tables);
      expect(await daemon.datasets.query({ sql: 'SELECT count(*) AS n FROM "visits"', params: [] })).toEqual([{ n: 30 }]);
    };

    test.for([
      [
        'a header that differs',
        `visit,person_id,region,cost,urgent,seen\n1,p,north,1,true,2024-01-01\n`,
        'CSV_HEADER_MISMATCH',
        'bad.csv: header column 1 is not "visit_id" as the schema expects',
      ],
      [
        'a row with a column too many',
        `${HEADER}\n1,p,north,1,true,2024-01-01\n2,p,north,1,true,2024-01-01,x\n`,
        'CSV_COLUMN_COUNT',
        'bad.csv line 3: expected 6 columns, found 7',
      ],
      [
        'a value that is not a number',
        `${HEADER}\n1,p,north,1,true,2024-01-01\n2,p,north,abc,true,2024-01-01\n`,
        'CSV_BAD_VALUE',
        'bad.csv line 3, column "cost": not a finite number',
      ],
      [
        'a value outside the listed ones',
        `${HEADER}\n1,p,west,1,true,2024-01-01\n`,
        'CSV_BAD_VALUE',
        'bad.csv line 2, column "region": not one of the values the schema lists',
      ],
      [
        'an impossible date',
        `${HEADER}\n1,p,north,1,true,2023-02-29\n`,
        'CSV_BAD_VALUE',
        'bad.csv line 2, column "seen": not a valid date (expected YYYY-MM-DD)',
      ],
      [
        'a date in year 0000, which PostgreSQL cannot store',
        `${HEADER}\n1,p,north,1,true,2024-01-01\n2,p,north,1,true,0000-01-01\n`,
        'CSV_BAD_VALUE',
        'bad.csv line 3, column "seen": not a valid date (expected YYYY-MM-DD)',
      ],
      [
        'a NUL character in a text value, which PostgreSQL cannot store',
        `${HEADER}\n1,p\u0000q,north,1,true,2024-01-01\n`,
        'CSV_BAD_VALUE',
        'bad.csv line 2, column "person_id": contains a NUL character',
      ],
      [
        'an integer beyond 2^53',
        `${HEADER}\n9007199254740993,p,north,1,true,2024-01-01\n`,
        'CSV_BAD_VALUE',
        'bad.csv line 2, column "visit_id": integer out of range (beyond ±(2^53 − 1))',
      ],
      [
        'an empty value where none may be',
        `${HEADER}\n1,,north,1,true,2024-01-01\n`,
        'CSV_BAD_VALUE',
        'bad.csv line 2, column "person_id": empty, but the column is not nullable',
      ],
      [
        'a quote not closed',
        `${HEADER}\n1,p,north,1,true,2024-01-01\n2,"p,north,1,true,2024-01-01\n`,
        'INVALID_ARGUMENT',
        'bad.csv line 3: a quoted field is not closed before the end of the file',
      ],
      ['an empty file', '', 'CSV_HEADER_MISMATCH', 'bad.csv: the file is empty, the schema expects a header row'],
    ] as const)('%s, with SQLite’s exact error', async ([, text, code, message]) => {
      const csvPath = file('bad.csv', text);
      const tables = await importTables();
      await expect(reference.datasets.import({ csvPath, schema: SCHEMA })).rejects.toThrowFedlabError(code, message);
      await expect(command.datasets.import({ csvPath, schema: SCHEMA })).rejects.toThrowFedlabError(code, message);
      await unchanged(tables);
    });

    it('invalid UTF-8, with SQLite’s exact error', async () => {
      const csvPath = file(
        'bad.csv',
        Buffer.concat([Buffer.from(`${HEADER}\n1,p,north,1,true,2024-01-01\n2,p`), Buffer.from([0xff]), Buffer.from(',north,1,true,\n')]),
      );
      const tables = await importTables();
      await expect(reference.datasets.import({ csvPath, schema: SCHEMA })).rejects.toThrowFedlabError('CSV_BAD_ENCODING', 'bad.csv line 3: invalid UTF-8');
      await expect(command.datasets.import({ csvPath, schema: SCHEMA })).rejects.toThrowFedlabError('CSV_BAD_ENCODING', 'bad.csv line 3: invalid UTF-8');
      await unchanged(tables);
    });

    it('a schema change the node refuses (bounds widened), after the rows were written', async () => {
      const tables = await importTables();
      // A DP answer spent budget on the dataset: its contribution bounds are fixed from now on.
      command.ledger.append({ queryId: 'q1', projectId: 'p1', dataset: 'visits', analysis: 'count', rho: 0.1, spentAtMs: Date.now() });
      const wider: DatasetSchema = { ...SCHEMA, columns: SCHEMA.columns.map((c) => (c.name === 'cost' ? { ...c, bounds: [0, 1000] } : c)) };
      await expect(importNodeDataset(command, { csvPath: file('wider.csv', csv(10)), schema: wider })).rejects.toThrowFedlabError(
        'SCHEMA_CHANGE_REFUSED',
        'dataset "visits" has answered queries under its contribution bounds; column "cost": bounds [0, 1000] are wider than [0, 100]',
      );
      await unchanged(tables);
      expect(daemon.datasets.schema('visits')).toEqual(SCHEMA);
    });

    it('without an import credential, with one that is refused, and with a role that may not create tables in fedlab_import', async () => {
      const tables = await importTables();
      const csvPath = file('ok.csv', csv(10));
      await expect(daemon.datasets.import({ csvPath, schema: SCHEMA })).rejects.toThrowFedlabError(
        'CONFIG_INVALID',
        'engine: the environment variable FEDLAB_PG_IMPORT_URL is not set; it holds the connection string of the PostgreSQL role that imports (docs/engines-postgres.md)',
      );
      const wrong = await node('refusals.db', { ...IMPORTER, password: 'wrong' });
      await expect(wrong.datasets.import({ csvPath, schema: SCHEMA })).rejects.toThrowFedlabError(
        'CONFIG_INVALID',
        'engine: the PostgreSQL server refused the credentials in FEDLAB_PG_IMPORT_URL',
      );
      const readOnly = await node('refusals.db', READER);
      await expect(readOnly.datasets.import({ csvPath, schema: SCHEMA })).rejects.toThrowFedlabError(
        'CONFIG_INVALID',
        'engine: the PostgreSQL role "reader" in FEDLAB_PG_IMPORT_URL may not create tables in schema fedlab_import; imports need the role that owns it (docs/engines-postgres.md)',
      );
      await unchanged(tables);
    });

    it('a file that changes between the two readings', async () => {
      const tables = await importTables();
      const csvPath = file('changing.csv', csv(20, undefined, ['plain', 'other']));
      let calls = 0;
      const appendDuringFirstReading = () => {
        if (++calls === 2) appendFileSync(csvPath, '1999,plain,north,1,1,2024-01-01\n');
      };
      await expect(command.datasets.import({ csvPath, schema: SCHEMA, onProgress: appendDuringFirstReading })).rejects.toThrowFedlabError(
        'INVALID_ARGUMENT',
        'changing.csv: the file changed while it was imported; nothing was changed',
      );
      expect(calls).toBeGreaterThanOrEqual(2);
      await unchanged(tables);
    });

    it('a file rewritten between the two readings with its size and modification time kept', async () => {
      const tables = await importTables();
      // Persons "plain" and "other" alternate; after the first reading one "other" row becomes "plain" (same length
      // as written: "other" and "plain" have five letters each), and the file's time is put back.
      const csvPath = file('rewritten.csv', csv(20, undefined, ['plain', 'other']));
      // A whole second, which setting it again gives back exactly (a file system's own times have nanoseconds).
      const time = 1_700_000_000;
      utimesSync(csvPath, time, time);
      let rewritten = false;
      // The first reading reports its bytes with no rows yet; the file is one read chunk, so it was read whole.
      const rewriteAfterFirstReading = (rowsDone: number, bytesDone: number) => {
        if (rewritten || rowsDone > 0 || bytesDone === 0) return;
        rewritten = true;
        writeFileSync(csvPath, readFileSync(csvPath, 'utf8').replace(',other,', ',plain,'));
        utimesSync(csvPath, time, time);
      };
      await expect(command.datasets.import({ csvPath, schema: SCHEMA, onProgress: rewriteAfterFirstReading })).rejects.toThrowFedlabError(
        'INVALID_ARGUMENT',
        'rewritten.csv: the file changed while it was imported; nothing was changed',
      );
      expect(rewritten).toBe(true);
      expect(statSync(csvPath).mtimeMs).toBe(time * 1000);
      await unchanged(tables);
    });

    it('in a database without the schema fedlab_import', async () => {
      await pg.psql('CREATE DATABASE bare;');
      const bare = await openNodeStoreWithEngine(path.join(dir, 'bare.db'), settings, {
        [URL_ENV]: pg.connectionString(READER.user, READER.password, 'bare'),
        [IMPORT_ENV]: pg.connectionString(IMPORTER.user, IMPORTER.password, 'bare'),
      });
      stores.push(bare);
      await expect(bare.datasets.import({ csvPath: file('ok.csv', csv(10)), schema: SCHEMA })).rejects.toThrowFedlabError(
        'CONFIG_INVALID',
        'engine: the PostgreSQL schema fedlab_import does not exist; the steward creates it for imports (docs/engines-postgres.md)',
      );
      expect(bare.datasets.catalog()).toEqual([]);
    });

    it('when the daemon’s read-only role could not read the new table (no default privileges for the role that wrote it)', async () => {
      const tables = await importTables();
      const stranger = await node('refusals.db', { user: 'stranger', password: 'stranger-secret', database: 'ministry' });
      await expect(stranger.datasets.import({ csvPath: file('ok.csv', csv(10)), schema: SCHEMA })).rejects.toThrowFedlabError(
        'CONFIG_INVALID',
        "engine: the read-only PostgreSQL role in FEDLAB_POSTGRES_URL may not read the tables the import role writes into fedlab_import; the steward grants it USAGE on the schema and SELECT on the import role's tables (ALTER DEFAULT PRIVILEGES, docs/engines-postgres.md)",
      );
      await unchanged(tables);
    });

    it('a Parquet file, and a dataset datasets.yaml maps', async () => {
      const tables = await importTables();
      await expect(command.datasets.import({ csvPath: file('visits.parquet', 'PAR1'), schema: SCHEMA })).rejects.toThrowFedlabError(
        'INVALID_ARGUMENT',
        'visits.parquet: the postgres engine imports CSV files only; Parquet needs engine: duckdb',
      );
      await pg.psql('CREATE TABLE mapped (visit_id bigint NOT NULL, person_id text NOT NULL); GRANT SELECT ON mapped TO reader;', { database: 'ministry' });
      const schemaFile = file(
        'mapped.schema.yaml',
        'dataset: mapped\nperson: person_id\ncolumns:\n  - { name: visit_id, type: integer, role: identifier }\n  - { name: person_id, type: text, role: identifier }\n',
      );
      const mappedFile = file(
        'mapped-datasets.yaml',
        `- dataset: mapped\n  schema_file: ${path.basename(schemaFile)}\n  table: public.mapped\n  import_order: [visit_id]\n`,
      );
      const mappedNode = await openNodeStoreWithEngine(
        path.join(dir, 'refusals.db'),
        { ...settings, datasetsFile: mappedFile } as EngineSettings,
        env(IMPORTER),
      );
      stores.push(mappedNode);
      const mappedSchema = mappedNode.datasets.schema('mapped')!;
      // A mapped table is the ministry's live table: it has no generation (docs/engines-postgres.md).
      expect(mappedNode.datasets.generation('mapped')).toBeUndefined();
      await expect(mappedNode.datasets.import({ csvPath: file('mapped.csv', 'visit_id,person_id\n1,a\n'), schema: mappedSchema })).rejects.toThrowFedlabError(
        'INVALID_ARGUMENT',
        'mapped.csv: dataset "mapped" is mapped in datasets.yaml onto public.mapped; the node does not import over a mapped table',
      );
      await unchanged(tables);
      // Both mapped and imported: refused at start.
      const both = file('both-datasets.yaml', `- dataset: visits\n  schema_file: both.schema.yaml\n  table: public.mapped\n  import_order: [visit_id]\n`);
      file(
        'both.schema.yaml',
        'dataset: visits\nperson: person_id\ncolumns:\n  - { name: visit_id, type: integer, role: identifier }\n  - { name: person_id, type: text, role: identifier }\n',
      );
      await expect(
        openNodeStoreWithEngine(path.join(dir, 'refusals.db'), { ...settings, datasetsFile: both } as EngineSettings, env(IMPORTER)),
      ).rejects.toThrowFedlabError(
        'CONFIG_INVALID',
        'engine: dataset "visits" is both mapped in datasets.yaml and imported into fedlab_import (fedlab node import); remove its datasets.yaml entry or use another dataset name',
      );
    });
  });
});
