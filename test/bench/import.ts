import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { PERSON_RANK_COLUMN, PERSON_ROWS_COLUMN } from '@fedlab/model';
import { duckDbConfig, openNodeStoreWithEngine } from '@fedlab/store';
import { IMPORT_BENCH_SCHEMA, writeImportBenchCsv } from './import-data';
import { integerOption } from './options';

/*
 * Import throughput against each engine's own bulk loader (issue 19), on the same CSV file, side by side in
 * one run, alternating, best of `repeats` each:
 * - SQLite: the sqlite3 shell's `.import` into a table with the columns' types, and the same followed by what
 *   a node's import also builds (the indexes on quasi-identifier and date columns and the person columns,
 *   with SQLite's own window), against fedlab's import on the SQLite engine.
 * - DuckDB: `CREATE TABLE … AS SELECT * FROM read_csv(…)` with the column types given, then CHECKPOINT,
 *   against fedlab's import on the DuckDB engine.
 * Times are wall clock and, for SQLite, also CPU (user + system of the process doing the work), which a busy
 * machine disturbs less.
 */
interface Timing {
  wallMs: number;
  cpuMs: number;
}

/** The sqlite3 shell's own import (a plain table: `.import` stores an empty cell as text, which STRICT refuses), optionally with a node's indexes and person columns. */
function sqliteShell(dir: string, csvPath: string, run: number, sameEndState: boolean): Timing {
  const db = path.join(dir, `shell-${run}-${sameEndState ? 'full' : 'plain'}.db`);
  const columns = 'person_id TEXT NOT NULL, sex TEXT NOT NULL, birth_year INTEGER NOT NULL, cost REAL, visit_date TEXT NOT NULL, urgent INTEGER NOT NULL';
  const script = [`CREATE TABLE visits (${columns});`, `.import --csv --skip 1 ${csvPath} visits`];
  if (sameEndState) {
    const [rows, rank] = [PERSON_ROWS_COLUMN, PERSON_RANK_COLUMN];
    script.push(
      `ALTER TABLE visits ADD COLUMN ${rows} INTEGER; ALTER TABLE visits ADD COLUMN ${rank} INTEGER;`,
      `UPDATE visits SET ${rows} = w.n, ${rank} = w.r FROM (SELECT rowid AS id, COUNT(*) OVER (PARTITION BY person_id) AS n, ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY rowid) AS r FROM visits) AS w WHERE visits.rowid = w.id;`,
      'CREATE INDEX v_sex ON visits (sex); CREATE INDEX v_birth ON visits (birth_year); CREATE INDEX v_date ON visits (visit_date);',
    );
  }
  const start = performance.now();
  const result = spawnSync('sqlite3', [db], { input: script.join('\n'), encoding: 'utf8' });
  const wallMs = performance.now() - start;
  if (result.status !== 0 || result.stderr !== '') throw new Error(`sqlite3 failed: ${result.stderr}`);
  return { wallMs, cpuMs: childCpuMs() };
}

/** User + system CPU of this process's waited-for children so far (ms), from /proc (clock ticks of 10 ms). */
function cpuOfChildren(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // cutime and cstime are fields 16 and 17; the fields after the command name start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[16 - 3]) + Number(fields[17 - 3])) * 10;
}

let childrenCpu = 0;
/** The CPU the children finished since the last call used (ms). */
function childCpuMs(): number {
  const now = cpuOfChildren();
  const spent = now - childrenCpu;
  childrenCpu = now;
  return spent;
}

async function fedlabImport(dir: string, csvPath: string, run: number, engine: 'sqlite' | 'duckdb', threads: number): Promise<Timing> {
  const file = path.join(dir, `node-${engine}-${run}.db`);
  const store = await openNodeStoreWithEngine(
    file,
    engine === 'sqlite' ? { kind: 'sqlite' } : { kind: 'duckdb', folder: path.join(dir, `datasets-${run}`), threads },
  );
  const cpu = process.cpuUsage();
  const start = performance.now();
  await store.datasets.import({ csvPath, schema: IMPORT_BENCH_SCHEMA });
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  await store.datasets.close();
  store.close();
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

async function duckDbReadCsv(dir: string, csvPath: string, run: number, threads: number): Promise<Timing> {
  const instance = await DuckDBInstance.create(path.join(dir, `baseline-${run}.duckdb`), duckDbConfig({ threads, tempDirectory: path.join(dir, '.tmp') }));
  const connection = await instance.connect();
  const cpu = process.cpuUsage();
  const start = performance.now();
  await connection.run(
    `CREATE TABLE visits AS SELECT * FROM read_csv('${csvPath}', header = true, columns = {'person_id': 'VARCHAR', 'sex': 'VARCHAR', 'birth_year': 'BIGINT', 'cost': 'DOUBLE', 'visit_date': 'DATE', 'urgent': 'BOOLEAN'})`,
  );
  await connection.run('CHECKPOINT');
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  connection.closeSync();
  instance.closeSync();
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

/**
 * `npm run bench -- import [--rows=1000000] [--repeats=3] [--threads=2] [--engines=sqlite,duckdb]`. Needs the
 * sqlite3 shell for the SQLite baseline (Debian's `sqlite3`).
 */
export async function importBench(args: string[]): Promise<void> {
  const rows = integerOption(args, 'rows', 1_000_000);
  const repeats = integerOption(args, 'repeats', 3);
  const threads = integerOption(args, 'threads', 2);
  const enginesArg = args.find((a) => a.startsWith('--engines='));
  const engines = enginesArg === undefined ? ['sqlite', 'duckdb'] : enginesArg.slice('--engines='.length).split(',');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fedlab-import-bench-'));
  try {
    const csvPath = path.join(dir, 'visits.csv');
    writeImportBenchCsv(csvPath, rows);
    console.log(`${rows.toLocaleString('en-CA')} rows × 6 columns, ${repeats} runs each, alternating; load average ${os.loadavg()[0].toFixed(2)}`);
    childrenCpu = cpuOfChildren();
    const results = new Map<string, Timing[]>();
    const record = (name: string, timing: Timing) => results.set(name, [...(results.get(name) ?? []), timing]);
    for (let run = 0; run < repeats; run++) {
      if (engines.includes('sqlite')) {
        record('sqlite3 .import', sqliteShell(dir, csvPath, run, false));
        record('sqlite3 .import + indexes + person columns', sqliteShell(dir, csvPath, run, true));
        record('fedlab import (sqlite)', await fedlabImport(dir, csvPath, run, 'sqlite', threads));
      }
      if (engines.includes('duckdb')) {
        record('DuckDB read_csv', await duckDbReadCsv(dir, csvPath, run, threads));
        record('fedlab import (duckdb)', await fedlabImport(dir, csvPath, run, 'duckdb', threads));
      }
    }
    const best = (name: string) => {
      const timings = results.get(name)!;
      return { wall: Math.min(...timings.map((t) => t.wallMs)), cpu: Math.min(...timings.map((t) => t.cpuMs)), all: timings };
    };
    for (const [name] of results) {
      const { wall, cpu, all } = best(name);
      const perSecond = Math.round((rows / wall) * 1000).toLocaleString('en-CA');
      console.log(
        `${name.padEnd(44)} best ${wall.toFixed(0).padStart(6)} ms wall (${perSecond} rows/s), ${cpu.toFixed(0).padStart(6)} ms CPU; runs ${all.map((t) => t.wallMs.toFixed(0)).join(', ')} ms`,
      );
    }
    const ratio = (baseline: string, ours: string) => {
      const [b, o] = [best(baseline), best(ours)];
      return `${(b.wall / o.wall).toFixed(2)}× wall, ${(b.cpu / o.cpu).toFixed(2)}× CPU`;
    };
    if (engines.includes('sqlite')) {
      console.log(`sqlite: fedlab's throughput = ${ratio('sqlite3 .import', 'fedlab import (sqlite)')} of sqlite3 .import`);
      console.log(
        `sqlite: fedlab's throughput = ${ratio('sqlite3 .import + indexes + person columns', 'fedlab import (sqlite)')} of .import to the same end state`,
      );
    }
    if (engines.includes('duckdb')) console.log(`duckdb: fedlab's throughput = ${ratio('DuckDB read_csv', 'fedlab import (duckdb)')} of read_csv`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
