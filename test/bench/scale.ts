import { readFileSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { stringify } from 'yaml';
import type { AggregateAnalysis } from '@fedlab/model';
import { compileAnalysis, compilePrivateAnalysis, parseQueryDocument } from '@fedlab/query';
import { createLocalNetwork, startLocalNetwork } from '@fedlab/devnet';
import { createTempDir } from '@fedlab/testing';
import { integerOption } from './options';
import { VISITS_FILTERED_COUNT, VISITS_POLICY, VISITS_SCHEMA } from './visits';

const SCHEMA = VISITS_SCHEMA;
const NODES = ['node1', 'node2', 'node3', 'node4'];
/** ρ the federated query spends at each node (the central query has no noise: it is the exact baseline). */
const QUERY_RHO = 0.05;

const ANALYSIS = VISITS_FILTERED_COUNT;

/** `--name=a,b,c`: positive integers, or the fallback. */
function listOption(args: readonly string[], name: string, fallback: number[]): number[] {
  const raw = args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  if (raw === undefined) return fallback;
  const values = raw.split(',').map(Number);
  if (values.some((v) => !Number.isSafeInteger(v) || v < 1)) throw new Error(`--${name} must list positive integers, got ${raw}`);
  return values;
}

function textOption(args: readonly string[], name: string, fallback: string[]): string[] {
  const raw = args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return raw === undefined ? fallback : raw.split(',');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const count = (n: number) => n.toLocaleString('en-CA');

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/**
 * Writes one node's visits as CSV and Parquet with DuckDB (fast and deterministic: every value is a hash
 * of the row number and the node's seed): four visits per person, persons distinct across nodes.
 */
async function writeNodeData(dir: string, nodeIndex: number, rows: number, withCsv: boolean): Promise<{ csv: string; parquet: string }> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const db = await instance.connect();
  const csv = path.join(dir, `node${nodeIndex + 1}-${rows}.csv`);
  const parquet = path.join(dir, `node${nodeIndex + 1}-${rows}.parquet`);
  const diagnoses = SCHEMA.columns
    .find((c) => c.name === 'diagnosis')!
    .values!.map((d) => `'${d}'`)
    .join(', ');
  const select = `SELECT 'N${nodeIndex + 1}P' || (i // 4) AS person_id,
      CASE WHEN (i // 4) % 2 = 1 THEN 'F' ELSE 'M' END AS sex,
      ['north', 'south', 'east', 'west', 'central'][((i // 4) % 5) + 1] AS region,
      1930 + ((i // 4) % 90) AS birth_year,
      [${diagnoses}][CAST(hash(i, ${nodeIndex}) % 8 AS BIGINT) + 1] AS diagnosis,
      round(20 + CAST(hash(i, ${nodeIndex} + 100) % 50000 AS BIGINT) / 100.0, 2) AS cost
    FROM range(${rows}) AS t(i) ORDER BY i`;
  if (withCsv) await db.run(`COPY (${select}) TO '${csv}' (HEADER, DELIMITER ',')`);
  await db.run(`COPY (${select}) TO '${parquet}' (FORMAT parquet)`);
  db.closeSync();
  instance.closeSync();
  return { csv, parquet };
}

/** The same statement a node runs (bounded contributions, no noise), over all nodes' rows in one DuckDB table: the central baseline. */
async function centralDuckDb(dir: string, files: string[], iterations: number): Promise<{ ms: number; plainMs: number; rows: number }> {
  // A database file, so that 400 million rows fit: DuckDB keeps what it can in memory and reads the rest.
  const instance = await DuckDBInstance.create(path.join(dir, 'central.duckdb'), { threads: '2' });
  const db = await instance.connect();
  await db.run(`CREATE TABLE visits AS SELECT * FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}])`);
  const doc = parseQueryDocument({ project: 'bench', purpose: 'research', nodes: NODES, privacy: { rho: QUERY_RHO }, analysis: ANALYSIS });
  const bounded = compilePrivateAnalysis(doc.analysis as AggregateAnalysis, SCHEMA, { dialect: 'duckdb' });
  // The plain group-by a warehouse user would write: every visit counted, no bound per person.
  const plain = compileAnalysis(doc.analysis as AggregateAnalysis, SCHEMA, { dialect: 'duckdb' });
  const once = async (compiled: { sql: string; params: unknown[]; decode: (rows: Array<Record<string, unknown>>) => unknown }) => {
    const t = performance.now();
    const reader = await db.runAndReadAll(compiled.sql, compiled.params as never);
    compiled.decode(reader.getRowObjects() as Array<Record<string, unknown>>);
    return performance.now() - t;
  };
  await once(bounded);
  await once(plain);
  const times: number[] = [];
  const plainTimes: number[] = [];
  for (let i = 0; i < iterations; i++) {
    times.push(await once(bounded));
    plainTimes.push(await once(plain));
  }
  const rows = Number((await db.runAndReadAll('SELECT count(*) AS n FROM visits')).getRowObjects()[0]!.n);
  db.closeSync();
  instance.closeSync();
  return { ms: median(times), plainMs: median(plainTimes), rows };
}

/** Four node processes on `engine`, each holding one file; the federated query end to end. */
async function federated(
  dir: string,
  engine: string,
  files: Array<{ csv: string; parquet: string }>,
  iterations: number,
): Promise<{ ms: number; importMs: number; rssMiB: number[] }> {
  const dataDir = path.join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const schemaPath = path.join(dataDir, 'visits.schema.yaml');
  writeFileSync(schemaPath, stringify(SCHEMA));
  const started = performance.now();
  const net = await createLocalNetwork({
    dir: path.join(dir, `net-${engine}`),
    nodes: NODES,
    persons: 0,
    seed: 0,
    logLevel: 'warn',
    engine: () => (engine === 'duckdb' ? { kind: 'duckdb', threads: 1 } : engine),
    datasets: (id) => {
      const file = files[NODES.indexOf(id)]!;
      return [{ dataset: 'visits', csvPath: engine === 'duckdb' ? file.parquet : file.csv, schemaPath }];
    },
    projects: [{ id: 'bench', purpose: 'research', title: 'Benchmark', privacy: { visits: { rho: 1_000 } } }],
  });
  const importMs = performance.now() - started;
  for (const config of Object.values(net.nodeConfigs)) {
    const policy = path.join(path.dirname(config), 'policy.yaml');
    writeFileSync(policy, stringify(VISITS_POLICY));
  }
  await startLocalNetwork(net);
  const client = await net.client('alice');
  try {
    const doc = parseQueryDocument({ project: 'bench', purpose: 'research', nodes: NODES, privacy: { rho: QUERY_RHO }, analysis: ANALYSIS });
    const once = async () => {
      const t = performance.now();
      const { queryId } = await client.submit(doc);
      await client.watch(queryId);
      const result = await client.result(queryId);
      const refused = result.answers.find((a) => !a.table);
      if (result.answers.length !== NODES.length || refused)
        throw new Error(`scale bench: a node did not answer (${refused?.refusal?.code ?? 'missing'}: ${refused?.refusal?.message ?? ''})`);
      return performance.now() - t;
    };
    await once();
    await once();
    const times: number[] = [];
    for (let i = 0; i < iterations; i++) times.push(await once());
    const rssMiB = Object.values(net.nodePids()).map(peakRssMiB);
    return { ms: median(times), importMs, rssMiB };
  } finally {
    client.close();
    await net.stop();
  }
}

/**
 * `npm run bench -- scale [--rows=1000000,10000000] [--engines=sqlite,duckdb] [--big-rows=100000000] [--iterations=9]`:
 * for each size, four nodes × that many rows on each engine against the same statement central on DuckDB
 * over all rows in the same run (issue 19); `--big-rows` adds one size on DuckDB nodes only.
 */
export async function scale(args: string[]): Promise<void> {
  const sizes = listOption(args, 'rows', [1_000_000, 10_000_000]);
  const engines = textOption(args, 'engines', ['sqlite', 'duckdb']);
  const big = integerOption(args, 'big-rows', 0, 0);
  const iterations = integerOption(args, 'iterations', 9);
  const runs = [...sizes.map((rows) => ({ rows, engines })), ...(big > 0 ? [{ rows: big, engines: ['duckdb'] }] : [])];
  const tmp = createTempDir('fedlab-bench-scale-');
  try {
    for (const { rows, engines: on } of runs) {
      const dir = path.join(tmp.path, `rows-${rows}`);
      mkdirSync(dir, { recursive: true });
      let t = performance.now();
      const files = [];
      for (let i = 0; i < NODES.length; i++) files.push(await writeNodeData(dir, i, rows, on.includes('sqlite')));
      const parquetMiB = files.reduce((sum, f) => sum + statSync(f.parquet).size, 0) / 2 ** 20;
      console.log(
        `\n${NODES.length} nodes × ${count(rows)} rows: data written in ${((performance.now() - t) / 1000).toFixed(1)} s (${parquetMiB.toFixed(0)} MiB of Parquet; CSV too for SQLite nodes)`,
      );
      t = performance.now();
      const central = await centralDuckDb(
        dir,
        files.map((f) => f.parquet),
        iterations,
      );
      console.log(
        `  central DuckDB (2 threads), ${count(central.rows)} rows: median ${central.ms.toFixed(1)} ms for the node's statement (at most ` +
          `${SCHEMA.maxRecordsPerPerson} visits per person, no noise); ${central.plainMs.toFixed(1)} ms for the plain group-by (every visit)`,
      );
      for (const engine of on) {
        const result = await federated(dir, engine, files, iterations);
        console.log(
          `  federated, ${engine} nodes: median ${result.ms.toFixed(1)} ms end to end = ${(result.ms / central.ms).toFixed(2)} × central; ` +
            `network set-up with imports ${(result.importMs / 1000).toFixed(1)} s; node peak RSS ${result.rssMiB.map((m) => `${m.toFixed(0)} MiB`).join(', ')}`,
        );
      }
    }
  } finally {
    tmp.cleanup();
  }
}
