import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { duckDbConfig, openNodeStoreWithEngine } from '@fedlab/store';
import { IMPORT_BENCH_SCHEMA, writeImportBenchCsv } from './import-data';

/*
 * DuckDB import throughput (issue 19): `fedlab node import` on the DuckDB engine against DuckDB's own bulk
 * loader (`CREATE TABLE … AS SELECT * FROM read_csv(…)` with the column types given) on the same file,
 * side by side in one run, alternating, best of three each. Run: node bin/run-ts.js test/bench/duckdb-import.ts [rows] [threads]
 */
const rows = Number(process.argv[2] ?? 1_000_000);
const threads = Number(process.argv[3] ?? 2);
const dir = mkdtempSync(path.join(os.tmpdir(), 'fedlab-duckdb-bench-'));
const schema = IMPORT_BENCH_SCHEMA;

async function main(): Promise<void> {
  const csvPath = path.join(dir, 'visits.csv');
  writeImportBenchCsv(csvPath, rows);
  const baseline = async (run: number) => {
    const instance = await DuckDBInstance.create(path.join(dir, `baseline-${run}.duckdb`), duckDbConfig({ threads, tempDirectory: path.join(dir, '.tmp') }));
    const connection = await instance.connect();
    const start = performance.now();
    await connection.run(
      `CREATE TABLE visits AS SELECT * FROM read_csv('${csvPath}', header = true, columns = {'person_id': 'VARCHAR', 'sex': 'VARCHAR', 'birth_year': 'BIGINT', 'cost': 'DOUBLE', 'visit_date': 'DATE', 'urgent': 'BOOLEAN'})`,
    );
    await connection.run('CHECKPOINT');
    const ms = performance.now() - start;
    connection.closeSync();
    instance.closeSync();
    return ms;
  };
  const ours = async (run: number) => {
    const store = await openNodeStoreWithEngine(path.join(dir, `node-${run}.db`), { kind: 'duckdb', folder: path.join(dir, `datasets-${run}`), threads });
    const start = performance.now();
    await store.datasets.import({ csvPath, schema });
    const ms = performance.now() - start;
    await store.datasets.close();
    store.close();
    return ms;
  };
  const times = { baseline: [] as number[], ours: [] as number[] };
  for (let run = 0; run < 3; run++) {
    times.baseline.push(await baseline(run));
    times.ours.push(await ours(run));
  }
  const best = { baseline: Math.min(...times.baseline), ours: Math.min(...times.ours) };
  const perSecond = (ms: number) => Math.round((rows / ms) * 1000).toLocaleString('en-CA');
  console.log(`${rows.toLocaleString('en-CA')} rows, ${threads} threads`);
  console.log(
    `DuckDB read_csv into a table: best ${best.baseline.toFixed(0)} ms (${perSecond(best.baseline)} rows/s) of ${times.baseline.map((t) => t.toFixed(0)).join(', ')}`,
  );
  console.log(
    `fedlab import (duckdb engine): best ${best.ours.toFixed(0)} ms (${perSecond(best.ours)} rows/s) of ${times.ours.map((t) => t.toFixed(0)).join(', ')}`,
  );
  console.log(`ratio ${(best.baseline / best.ours).toFixed(2)}× the bulk loader's throughput`);
}

main().finally(() => rmSync(dir, { recursive: true, force: true }));
