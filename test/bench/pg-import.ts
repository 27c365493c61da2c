import { createReadStream, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { openNodeStoreWithEngine, readCsvRows, readSimpleCsvRows } from '@fedlab/store';
import { createTempDir, startPostgres } from '@fedlab/testing';
import { IMPORT_BENCH_SCHEMA, writeImportBenchCsv } from './import-data';
import { integerOption } from './options';

/*
 * PostgreSQL import throughput (issue 19): `fedlab node import` on the PostgreSQL engine against PostgreSQL's
 * own COPY of the same CSV file (`COPY … FROM STDIN (FORMAT csv, HEADER)`, the raw file piped by
 * pg-copy-streams, as psql's \copy does) into an equivalent table (the six columns, typed, NOT NULL where
 * the schema says so), side by side in one run on one server, alternating, best of `--runs` each. Also
 * timed alone, to say what the import adds: reading and checking the CSV in JavaScript without any database
 * (csv-import's simple reader, which this file takes, and its full reader), and the person columns as
 * window functions compute them for files the simple reader gives up on (a copy of the COPY'd table).
 *
 * Run: npm run bench -- pg-import [--rows 1000000] [--runs 3]
 */
const SCHEMA = IMPORT_BENCH_SCHEMA;
const TABLE = `(person_id text NOT NULL, sex text NOT NULL, birth_year bigint NOT NULL, cost double precision, visit_date date NOT NULL, urgent boolean NOT NULL)`;

export async function pgImport(args: string[]): Promise<void> {
  const rows = integerOption(args, 'rows', 1_000_000);
  const runs = integerOption(args, 'runs', 3);
  const dir = createTempDir('fedlab-pg-import-bench-');
  const server = await startPostgres({ dir: dir.path });
  try {
    await server.psql('CREATE DATABASE ministry;');
    await server.psql(
      [
        "CREATE ROLE reader LOGIN PASSWORD 'reader';",
        "CREATE ROLE importer LOGIN PASSWORD 'importer';",
        'CREATE SCHEMA fedlab_import AUTHORIZATION importer;',
        'CREATE SCHEMA baseline AUTHORIZATION importer;',
        'GRANT USAGE ON SCHEMA fedlab_import TO reader;',
        'ALTER DEFAULT PRIVILEGES FOR ROLE importer IN SCHEMA fedlab_import GRANT SELECT ON TABLES TO reader;',
      ].join('\n'),
      { database: 'ministry' },
    );
    const csvPath = path.join(dir.path, 'visits.csv');
    writeImportBenchCsv(csvPath, rows);
    const datasetsFile = path.join(dir.path, 'datasets.yaml');
    writeFileSync(datasetsFile, '[]\n');
    const importUrl = server.connectionString('importer', 'importer', 'ministry');
    const env = { FEDLAB_POSTGRES_URL: server.connectionString('reader', 'reader', 'ministry'), FEDLAB_PG_IMPORT_URL: importUrl };

    const client = new pg.Client({ connectionString: importUrl });
    await client.connect();
    /** PostgreSQL's own COPY of the raw file, in one transaction with the table's creation, as the import's. */
    const baseline = async (run: number): Promise<number> => {
      const table = `baseline.visits_${run}`;
      const start = performance.now();
      await client.query('BEGIN');
      await client.query(`CREATE TABLE ${table} ${TABLE}`);
      await pipeline(createReadStream(csvPath), client.query(copyFrom(`COPY ${table} FROM STDIN (FORMAT csv, HEADER true)`)));
      await client.query('COMMIT');
      const ms = performance.now() - start;
      return ms;
    };
    const ours = async (run: number): Promise<number> => {
      const store = await openNodeStoreWithEngine(
        path.join(dir.path, `node-${run}.db`),
        { kind: 'postgres', urlEnv: 'FEDLAB_POSTGRES_URL', datasetsFile },
        env,
      );
      const start = performance.now();
      const result = await store.datasets.import({ csvPath, schema: SCHEMA });
      const ms = performance.now() - start;
      if (result.rows !== rows) throw new Error(`imported ${result.rows} rows, expected ${rows}`);
      await store.datasets.close();
      store.close();
      return ms;
    };
    const times = { baseline: [] as number[], ours: [] as number[], simple: [] as number[], reading: [] as number[], personColumns: [] as number[] };
    for (let run = 0; run < runs; run++) {
      times.baseline.push(await baseline(run));
      times.ours.push(await ours(run));
      let start = performance.now();
      if ((await readSimpleCsvRows({ csvPath, schema: SCHEMA, file: 'visits.csv' }, () => undefined)) !== rows) throw new Error('the simple reader gave up');
      times.simple.push(performance.now() - start);
      start = performance.now();
      await readCsvRows({ csvPath, schema: SCHEMA, file: 'visits.csv' }, () => undefined);
      times.reading.push(performance.now() - start);
      start = performance.now();
      await client.query('BEGIN');
      await client.query(`SET LOCAL work_mem = '256MB'`);
      await client.query(
        `CREATE TABLE baseline.persons_${run} AS SELECT *, count(*) OVER (PARTITION BY person_id) AS n, row_number() OVER (PARTITION BY person_id ORDER BY visit_date) AS r FROM baseline.visits_${run}`,
      );
      await client.query('COMMIT');
      times.personColumns.push(performance.now() - start);
    }
    await client.end();
    const best = (values: number[]) => Math.min(...values);
    const perSecond = (ms: number) => Math.round((rows / ms) * 1000).toLocaleString('en-CA');
    const line = (label: string, values: number[]) =>
      `${label}: best ${best(values).toFixed(0)} ms (${perSecond(best(values))} rows/s) of ${values.map((t) => t.toFixed(0)).join(', ')}`;
    console.log(`${rows.toLocaleString('en-CA')} rows, 6 columns, ${(statSync(csvPath).size / 2 ** 20).toFixed(1)} MiB; PostgreSQL at ${server.binDir}`);
    console.log(line('PostgreSQL COPY FROM STDIN (csv) into a table', times.baseline));
    console.log(line('fedlab import (postgres engine)', times.ours));
    console.log(`ratio ${(best(times.baseline) / best(times.ours)).toFixed(2)}× COPY's throughput`);
    console.log('alone, for comparison:');
    console.log(line('  reading and checking the CSV in JavaScript once (simple reader, no database; the import reads this file twice)', times.simple));
    console.log(line('  the same with the full reader (csv-parse), for files the simple one gives up on', times.reading));
    console.log(
      line('  person columns by window functions (CREATE TABLE AS from the COPY table; the path of files the simple reader gives up on)', times.personColumns),
    );
  } finally {
    await server.stop();
    dir.cleanup();
  }
}
