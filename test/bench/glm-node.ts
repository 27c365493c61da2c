import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { designRow, privateGlmPlan, privateRoundVector, type Covariate, type PrivateCovariate, type PrivateGlmPlan } from '@fedlab/glm';
import { PERSON_RANK_COLUMN, PERSON_ROWS_COLUMN, type DatasetSchema, type GlmAnalysis } from '@fedlab/model';
import { compilePrivateModelRows, compilePrivateRoundSums } from '@fedlab/query';
import { integerOption } from './options';

/*
 * One node's share of a private poisson fit on SQLite, before and after issue 19 moved the round sums into
 * the engine: 'rows' pulls the bounded rows into Float64Arrays once and computes each round in JavaScript
 * (privateRoundVector, as prepareModel and the SecAggParticipant did); 'engine' runs each round as the
 * SQL of compilePrivateRoundSums. Each runs in its own process, so its peak RSS is its own.
 */

const SCHEMA: DatasetSchema = {
  dataset: 'visits',
  person: 'person_id',
  maxRecordsPerPerson: 2,
  columns: [
    { name: 'person_id', type: 'text', role: 'identifier', nullable: false },
    { name: 'age', type: 'integer', role: 'quasi_identifier', nullable: true, bounds: [18, 90] },
    { name: 'income', type: 'real', role: 'attribute', nullable: true, bounds: [0, 80_000] },
    { name: 'smoker', type: 'boolean', role: 'attribute', nullable: true },
    { name: 'region', type: 'text', role: 'quasi_identifier', nullable: true, values: ['North', 'South', 'West'] },
    { name: 'visits', type: 'integer', role: 'attribute', nullable: true, bounds: [0, 12] },
  ],
};
const ANALYSIS: GlmAnalysis = {
  kind: 'glm',
  dataset: 'visits',
  groupBy: [],
  family: 'poisson',
  response: 'visits',
  covariates: ['age', 'income', 'smoker', 'region'],
};
const COVARIATES: Covariate[] = [
  { name: 'age', kind: 'numeric' },
  { name: 'income', kind: 'numeric' },
  { name: 'smoker', kind: 'numeric' },
  { name: 'region', kind: 'factor', levels: ['North', 'South', 'West'] },
];
const PRIVATE_COVARIATES: PrivateCovariate[] = [
  { name: 'age', kind: 'numeric', bounds: [18, 90], binary: false },
  { name: 'income', kind: 'numeric', bounds: [0, 80_000], binary: false },
  { name: 'smoker', kind: 'numeric', bounds: [0, 1], binary: true, binaryLabels: ['false', 'true'] },
  { name: 'region', kind: 'factor', levels: ['North', 'South', 'West'] },
];
const PLAN: PrivateGlmPlan = privateGlmPlan({
  family: 'poisson',
  response: 'visits',
  responseBounds: [0, 12],
  covariates: PRIVATE_COVARIATES,
  rho: 1,
  maxRecordsPerPerson: 2,
});

/** Coefficients of round `round` (fixed, non-trivial: the point is the node's work, not the fit). */
const betaOf = (round: number): number[] | null => (round === 1 ? null : PLAN.names.map((_, j) => 0.3 * Math.sin(1.3 * j + round)));

function build(file: string, rows: number): void {
  const db = new Database(file);
  db.exec(
    `CREATE TABLE visits (person_id TEXT NOT NULL, age INTEGER, income REAL, smoker INTEGER, region TEXT, visits INTEGER, ${PERSON_ROWS_COLUMN} INTEGER NOT NULL, ${PERSON_RANK_COLUMN} INTEGER NOT NULL) STRICT`,
  );
  const insert = db.prepare('INSERT INTO visits VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const persons = Math.ceil(rows / 2);
  let seed = 7;
  const random = () => ((seed = (seed * 48271) % 2147483647) - 1) / 2147483646;
  db.transaction(() => {
    for (let i = 0; i < rows; i++) {
      const age = 18 + Math.floor(random() * 73);
      const smoker = random() < 0.3 ? 1 : 0;
      const region = ['North', 'South', 'West'][Math.floor(random() * 3)]!;
      const mean = Math.exp(-0.5 + 0.02 * (age - 50) + 0.4 * smoker);
      const visits = Math.min(12, Math.floor(-Math.log(random() || 1e-9) * mean));
      // Person i % persons: two rows each (the last one if rows is odd), ranked in import order.
      const person = i % persons;
      const personRows = person + persons < rows ? 2 : 1;
      insert.run(`p${person}`, random() < 0.02 ? null : age, Math.round(random() * 90_000), smoker, region, visits, personRows, i < persons ? 1 : 2);
    }
  })();
  db.close();
}

/** The child: computes every round of the fit one way and prints timings, peak RSS and the vectors' checksum. */
function child(file: string, mode: string): void {
  const db = new Database(file, { readonly: true });
  const options = { personColumns: true };
  const started = performance.now();
  let rounds: (round: number) => number[];
  if (mode === 'rows') {
    const compiled = compilePrivateModelRows(ANALYSIS, SCHEMA, options);
    const y: number[] = [];
    const x: number[] = [];
    for (const [value, ...values] of compiled.decode(db.prepare(compiled.sql).all(...compiled.params) as Array<Record<string, unknown>>)) {
      const row = designRow(COVARIATES, values);
      if (row === null || value === null || typeof value !== 'number') continue;
      y.push(value);
      x.push(...row);
    }
    const rows = { y: Float64Array.from(y), x: Float64Array.from(x), p: PLAN.names.length };
    rounds = (round) => privateRoundVector(PLAN, rows, round, betaOf(round));
  } else {
    rounds = (round) => {
      const compiled = compilePrivateRoundSums(ANALYSIS, SCHEMA, PLAN, round, betaOf(round), options);
      return compiled.decode(compiled.statements.map((s) => db.prepare(s.sql).all(...s.params) as Array<Record<string, unknown>>));
    };
  }
  const prepareMs = performance.now() - started;
  const roundMs: number[] = [];
  const vectors: number[][] = [];
  for (let round = 1; round <= PLAN.rounds; round++) {
    const t = performance.now();
    vectors.push(rounds(round));
    roundMs.push(performance.now() - t);
  }
  db.close();
  console.log(JSON.stringify({ mode, prepareMs, roundMs, maxRssMiB: process.resourceUsage().maxRSS / 1024, vectors }));
}

export async function glmNode(args: string[]): Promise<void> {
  const childMode = args.find((a) => a.startsWith('--child='))?.slice('--child='.length);
  const dbFile = args.find((a) => a.startsWith('--db='))?.slice('--db='.length);
  if (childMode && dbFile) return child(dbFile, childMode);
  const rows = integerOption(args, 'rows', 1_000_000);
  console.log(`glm-node: one node's rounds of a private poisson fit (p = ${PLAN.names.length}, ${PLAN.rounds} rounds) on SQLite, ${rows} rows`);
  console.log(`  command: npm run bench -- glm-node --rows=${rows}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fedlab-glm-node-'));
  try {
    const file = path.join(dir, 'node.db');
    build(file, rows);
    const run = (mode: string) =>
      JSON.parse(
        execFileSync(
          process.execPath,
          [path.resolve(__dirname, '../../bin/run-ts.js'), path.resolve(__dirname, 'run.ts'), 'glm-node', `--child=${mode}`, `--db=${file}`],
          {
            encoding: 'utf8',
            maxBuffer: 64 * 2 ** 20,
          },
        )
          .trim()
          .split('\n')
          .pop()!,
      ) as { mode: string; prepareMs: number; roundMs: number[]; maxRssMiB: number; vectors: number[][] };
    const results = [run('rows'), run('engine')];
    for (const r of results) {
      const mean = r.roundMs.reduce((a, b) => a + b, 0) / r.roundMs.length;
      console.log(
        `  ${r.mode.padEnd(6)}  prepare ${r.prepareMs.toFixed(0).padStart(6)} ms  round mean ${mean.toFixed(0).padStart(5)} ms (round 1 ${r.roundMs[0]!.toFixed(0)} ms, max ${Math.max(...r.roundMs).toFixed(0)} ms)  peak RSS ${r.maxRssMiB.toFixed(0)} MiB`,
      );
    }
    const [a, b] = results as [(typeof results)[0], (typeof results)[0]];
    const differing = a.vectors.flatMap((v, r) =>
      v.flatMap((x, k) => (x === b.vectors[r]![k] ? [] : [`round ${r + 1} entry ${k}: ${x} vs ${b.vectors[r]![k]}`])),
    );
    const entries = a.vectors.reduce((n, v) => n + v.length, 0);
    console.log(
      `  entries differing between rows and engine: ${differing.length} of ${entries}${differing.length ? ` (${differing.slice(0, 5).join('; ')})` : ''}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
