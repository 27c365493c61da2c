import Database from 'better-sqlite3';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { designRow, privateGlmPlan, privateRoundVector, type Covariate, type LocalRows, type PrivateCovariate, type PrivateGlmPlan } from '@fedlab/glm';
import type { DatasetSchema, Filter, GlmAnalysis } from '@fedlab/model';
import { compilePrivateModelRows, compilePrivateRoundSums, type PrivateCompileOptions } from '@fedlab/query';
import { startPostgres, type PostgresServer } from '@fedlab/testing';
import { test } from '@fedlab/test-kit';

/*
 * The round sums the engine computes (compilePrivateRoundSums) against the reference, privateRoundVector on
 * the rows compilePrivateModelRows returns: equal entry for entry on SQLite, DuckDB and PostgreSQL.
 */

const SCHEMA: DatasetSchema = {
  dataset: 'visits',
  person: 'person_id',
  maxRecordsPerPerson: 2,
  columns: [
    { name: 'seq', type: 'integer', role: 'attribute', nullable: false },
    { name: 'person_id', type: 'text', role: 'identifier', nullable: false },
    { name: 'age', type: 'integer', role: 'quasi_identifier', nullable: true, bounds: [18, 90] },
    { name: 'income', type: 'real', role: 'attribute', nullable: true, bounds: [0, 80_000] },
    { name: 'smoker', type: 'boolean', role: 'attribute', nullable: true },
    { name: 'region', type: 'text', role: 'quasi_identifier', nullable: true, values: ['North', 'South', 'West'] },
    { name: 'visit_date', type: 'date', role: 'date', nullable: false },
    { name: 'cost', type: 'real', role: 'attribute', nullable: true, bounds: [-50, 950] },
    { name: 'readmitted', type: 'boolean', role: 'attribute', nullable: true },
    { name: 'share', type: 'real', role: 'attribute', nullable: true, bounds: [0, 1] },
    { name: 'visits', type: 'integer', role: 'attribute', nullable: true, bounds: [0, 12] },
  ],
};

type Row = [number, string, number | null, number | null, boolean | null, string | null, string, number | null, boolean | null, number | null, number | null];

/** A deterministic generator (mulberry32), so every run compares the same rows. */
function generator(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// 400 rows of 150 persons (up to 5 rows each, 2 kept), values outside the bounds, and nulls in every column that may have them.
const random = generator(19);
const maybe = <T>(value: T): T | null => (random() < 0.06 ? null : value);
const ROWS: Row[] = Array.from({ length: 400 }, (_, seq) => {
  const age = Math.floor(10 + random() * 90);
  const smoker = random() < 0.3;
  const region = ['North', 'South', 'West'][Math.floor(random() * 3)]!;
  const eta = -1 + 0.02 * (age - 50) + (smoker ? 0.8 : 0) + (region === 'West' ? -0.5 : 0);
  return [
    seq,
    `p${Math.floor(random() * 150)}`,
    maybe(age),
    maybe(Math.round(random() * 100_000 * 100) / 100),
    maybe(smoker),
    maybe(region),
    `2024-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}-15`,
    maybe(Math.round((200 + 300 * eta + 400 * (random() - 0.5)) * 100) / 100),
    maybe(random() < 1 / (1 + Math.exp(-eta))),
    maybe(random() < 0.1 ? Math.round(random() * 1000) / 1000 : Number(random() < 0.4)),
    maybe(Math.min(15, Math.floor(-Math.log(random()) * Math.exp(eta + 1)))),
  ];
});

const FILTER: Filter = { kind: 'cmp', column: 'visit_date', op: 'ge', values: ['2024-03-01'] };
const ANALYSES: Array<{ name: string; analysis: GlmAnalysis }> = [
  {
    name: 'gaussian',
    analysis: { kind: 'glm', dataset: 'visits', groupBy: [], family: 'gaussian', response: 'cost', covariates: ['age', 'income', 'smoker', 'region'] },
  },
  {
    name: 'binomial',
    analysis: { kind: 'glm', dataset: 'visits', groupBy: [], family: 'binomial', response: 'readmitted', covariates: ['age', 'smoker', 'region'] },
  },
  {
    name: 'binomial, a fractional response, filtered',
    analysis: { kind: 'glm', dataset: 'visits', groupBy: [], family: 'binomial', response: 'share', covariates: ['income', 'region'], filter: FILTER },
  },
  {
    name: 'poisson, filtered',
    analysis: {
      kind: 'glm',
      dataset: 'visits',
      groupBy: [],
      family: 'poisson',
      response: 'visits',
      covariates: ['age', 'income', 'smoker', 'region'],
      filter: FILTER,
    },
  },
];

/** The plan prepareModel makes for the analysis. */
function planOf(analysis: GlmAnalysis): { plan: PrivateGlmPlan; covariates: Covariate[] } {
  const column = (name: string) => SCHEMA.columns.find((c) => c.name === name)!;
  const covariates: Covariate[] = [];
  const privateCovariates = analysis.covariates.map((name): PrivateCovariate => {
    const c = column(name);
    covariates.push(c.type === 'text' ? { name, kind: 'factor', levels: c.values! } : { name, kind: 'numeric' });
    if (c.type === 'text') return { name, kind: 'factor', levels: c.values! };
    if (c.type === 'boolean') return { name, kind: 'numeric', bounds: [0, 1], binary: true, binaryLabels: ['false', 'true'] };
    return { name, kind: 'numeric', bounds: c.bounds!, binary: false };
  });
  const plan = privateGlmPlan({
    family: analysis.family,
    response: analysis.response,
    responseBounds: column(analysis.response).bounds,
    covariates: privateCovariates,
    rho: 1,
    maxRecordsPerPerson: 2,
  });
  return { plan, covariates };
}

/** Coefficients of round `round` on the scaled columns: none in round 1, then steps large enough to move μ far from its start. */
function betaOf(plan: PrivateGlmPlan, round: number): number[] | null {
  if (round === 1) return null;
  return plan.names.map((_, j) => (round === 2 ? 0.25 : -1.5) * Math.sin(1.7 * j + round) + (j === 0 ? 0.3 : 0));
}

/** A round's statements on one engine. */
type Runner = (statement: { sql: string; params: Array<string | number | null> }) => Promise<Array<Record<string, unknown>>>;

async function engineVector(run: Runner, analysis: GlmAnalysis, plan: PrivateGlmPlan, round: number, beta: number[] | null, options: PrivateCompileOptions) {
  const compiled = compilePrivateRoundSums(analysis, SCHEMA, plan, round, beta, options);
  const results: Array<Array<Record<string, unknown>>> = [];
  for (const statement of compiled.statements) results.push(await run(statement));
  return compiled.decode(results);
}

/** Differences between two vectors: [entry, a, b]. */
const differences = (a: number[], b: number[]) => a.flatMap((v, k) => (v === b[k] ? [] : [[k, v, b[k]]]));

describe('round sums computed by the engine', () => {
  let sqlite: Database.Database;
  let duck: DuckDBConnection;
  let duckInstance: DuckDBInstance;
  let pgServer: PostgresServer;
  let pgClient: pg.Client;

  beforeAll(async () => {
    sqlite = new Database(':memory:');
    sqlite.exec(
      'CREATE TABLE visits (seq INTEGER NOT NULL, person_id TEXT NOT NULL, age INTEGER, income REAL, smoker INTEGER, region TEXT, visit_date TEXT NOT NULL, cost REAL, readmitted INTEGER, share REAL, visits INTEGER) STRICT',
    );
    const insert = sqlite.prepare('INSERT INTO visits VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for (const row of ROWS) insert.run(...row.map((v) => (typeof v === 'boolean' ? Number(v) : v)));

    duckInstance = await DuckDBInstance.create(':memory:');
    duck = await duckInstance.connect();
    await duck.run(
      'CREATE TABLE visits (seq BIGINT NOT NULL, person_id VARCHAR NOT NULL, age BIGINT, income DOUBLE, smoker BOOLEAN, region VARCHAR, visit_date DATE NOT NULL, cost DOUBLE, readmitted BOOLEAN, share DOUBLE, visits BIGINT)',
    );
    for (const row of ROWS) {
      await duck.run(
        'INSERT INTO visits VALUES (CAST(? AS BIGINT), ?, CAST(? AS BIGINT), CAST(? AS DOUBLE), CAST(? AS BOOLEAN), ?, CAST(? AS DATE), CAST(? AS DOUBLE), CAST(? AS BOOLEAN), CAST(? AS DOUBLE), CAST(? AS BIGINT))',
        row,
      );
    }
  });

  test.beforeAll(async ({ fileTempDir }) => {
    pgServer = await startPostgres({ dir: fileTempDir });
    pgClient = new pg.Client({ connectionString: pgServer.connectionString() });
    await pgClient.connect();
    await pgClient.query(
      'CREATE TABLE visits (seq bigint NOT NULL, person_id text NOT NULL, age bigint, income double precision, smoker boolean, region text, visit_date date NOT NULL, cost double precision, readmitted boolean, share double precision, visits bigint)',
    );
    // Inserted in reverse: PostgreSQL's import order is `seq`, never the physical order.
    for (const row of [...ROWS].reverse()) await pgClient.query('INSERT INTO visits VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)', row);
  });

  afterAll(async () => {
    sqlite?.close();
    duck?.closeSync();
    duckInstance?.closeSync();
    await pgClient?.end();
    await pgServer?.stop();
  });

  const sqliteRun: Runner = async ({ sql, params }) => sqlite.prepare(sql).all(...params) as Array<Record<string, unknown>>;
  const duckRun: Runner = async ({ sql, params }) => (await duck.runAndReadAll(sql, params)).getRowObjects();
  // pg returns BIGINT as text; the node's engine port hands numbers over.
  const pgRun: Runner = async ({ sql, params }) =>
    (await pgClient.query(sql, params)).rows.map((row: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'string' ? Number(v) : v])),
    );

  /** privateRoundVector on the rows prepareModel used to pull into memory (compilePrivateModelRows on SQLite). */
  function reference(analysis: GlmAnalysis, plan: PrivateGlmPlan, covariates: Covariate[], round: number, beta: number[] | null): number[] {
    const compiled = compilePrivateModelRows(analysis, SCHEMA);
    const y: number[] = [];
    const x: number[] = [];
    for (const [value, ...values] of compiled.decode(sqlite.prepare(compiled.sql).all(...compiled.params) as Array<Record<string, unknown>>)) {
      const row = designRow(covariates, values);
      if (row === null || value === null || typeof value !== 'number') continue;
      y.push(value);
      x.push(...row);
    }
    const rows: LocalRows = { y: Float64Array.from(y), x: Float64Array.from(x), p: plan.names.length };
    return privateRoundVector(plan, rows, round, beta);
  }

  for (const { name, analysis } of ANALYSES) {
    it(`gives privateRoundVector's vector exactly on SQLite, DuckDB and PostgreSQL for rounds 1 to 3 (${name})`, async () => {
      const { plan, covariates } = planOf(analysis);
      for (let round = 1; round <= Math.min(3, plan.rounds); round++) {
        const beta = betaOf(plan, round);
        const expected = reference(analysis, plan, covariates, round, beta);
        expect(expected[0]).toBeGreaterThan(50 * 2 ** 20);
        expect(differences(await engineVector(sqliteRun, analysis, plan, round, beta, {}), expected)).toEqual([]);
        expect(differences(await engineVector(duckRun, analysis, plan, round, beta, { dialect: 'duckdb' }), expected)).toEqual([]);
        expect(differences(await engineVector(pgRun, analysis, plan, round, beta, { dialect: 'postgres', importOrder: ['seq'] }), expected)).toEqual([]);
      }
    });
  }

  it('clamps η as the reference does where EXP would overflow, on every engine', async () => {
    const { analysis } = ANALYSES[3]!;
    const { plan, covariates } = planOf(analysis);
    const beta = plan.names.map((_, j) => (j % 2 === 0 ? 900 : -900));
    const expected = reference(analysis, plan, covariates, 2, beta);
    expect(differences(await engineVector(sqliteRun, analysis, plan, 2, beta, {}), expected)).toEqual([]);
    expect(differences(await engineVector(duckRun, analysis, plan, 2, beta, { dialect: 'duckdb' }), expected)).toEqual([]);
    expect(differences(await engineVector(pgRun, analysis, plan, 2, beta, { dialect: 'postgres', importOrder: ['seq'] }), expected)).toEqual([]);
  });
});

describe('round sums on SQLite beyond one statement and outside the levels', () => {
  // A 40-level factor and 3 numeric covariates: round 1 has 1,030 entries, more than one statement selects.
  const levels = Array.from({ length: 40 }, (_, i) => `L${String(i).padStart(2, '0')}`);
  const schema: DatasetSchema = {
    dataset: 'wide',
    person: 'person_id',
    maxRecordsPerPerson: 1,
    columns: [
      { name: 'person_id', type: 'text', role: 'identifier', nullable: false },
      { name: 'level', type: 'text', role: 'attribute', nullable: false, values: levels },
      { name: 'a', type: 'real', role: 'attribute', nullable: false, bounds: [0, 1] },
      { name: 'b', type: 'real', role: 'attribute', nullable: false, bounds: [0, 1] },
      { name: 'c', type: 'real', role: 'attribute', nullable: false, bounds: [0, 1] },
      { name: 'y', type: 'real', role: 'attribute', nullable: false, bounds: [0, 10] },
    ],
  };
  const analysis: GlmAnalysis = { kind: 'glm', dataset: 'wide', groupBy: [], family: 'gaussian', response: 'y', covariates: ['level', 'a', 'b', 'c'] };
  const plan = privateGlmPlan({
    family: 'gaussian',
    response: 'y',
    responseBounds: [0, 10],
    covariates: [
      { name: 'level', kind: 'factor', levels },
      { name: 'a', kind: 'numeric', bounds: [0, 1], binary: false },
      { name: 'b', kind: 'numeric', bounds: [0, 1], binary: false },
      { name: 'c', kind: 'numeric', bounds: [0, 1], binary: false },
    ],
    rho: 1,
    maxRecordsPerPerson: 1,
  });
  let db: Database.Database;
  beforeAll(() => {
    db = new Database(':memory:');
    db.exec('CREATE TABLE wide (person_id TEXT NOT NULL, level TEXT NOT NULL, a REAL NOT NULL, b REAL NOT NULL, c REAL NOT NULL, y REAL NOT NULL) STRICT');
    const insert = db.prepare('INSERT INTO wide VALUES (?, ?, ?, ?, ?, ?)');
    const r = generator(5);
    for (let i = 0; i < 300; i++) insert.run(`p${i}`, levels[i % 40]!, r(), r(), 2 * r() - 0.5, 10 * r());
  });
  afterAll(() => db.close());
  const run = () => {
    const compiled = compilePrivateRoundSums(analysis, schema, plan, 1, null);
    return { compiled, vector: compiled.decode(compiled.statements.map((s) => db.prepare(s.sql).all(...s.params) as Array<Record<string, unknown>>)) };
  };

  it('splits a vector of more than 1,000 entries over statements and still gives the reference', () => {
    const rows = db.prepare('SELECT level, a, b, c, y FROM wide ORDER BY rowid').all() as Array<{ level: string; a: number; b: number; c: number; y: number }>;
    const covariates: Covariate[] = [
      { name: 'level', kind: 'factor', levels },
      { name: 'a', kind: 'numeric' },
      { name: 'b', kind: 'numeric' },
      { name: 'c', kind: 'numeric' },
    ];
    const local: LocalRows = {
      y: Float64Array.from(rows.map((row) => row.y)),
      x: Float64Array.from(rows.flatMap((row) => designRow(covariates, [row.level, row.a, row.b, row.c])!)),
      p: plan.names.length,
    };
    const { compiled, vector } = run();
    expect(compiled.statements).toHaveLength(2);
    expect(vector).toHaveLength(1_030);
    expect(differences(vector, privateRoundVector(plan, local, 1, null))).toEqual([]);
  });

  it('leaves out a row whose factor value is none of the declared levels, as a null, instead of refusing for it', () => {
    // A refusal would tell the researcher, without noise, that such a row passed the query's filter.
    const before = run().vector;
    db.prepare('INSERT INTO wide VALUES (?, ?, ?, ?, ?, ?)').run('p999', 'L99', 0.5, 0.5, 0.5, 1);
    const after = run().vector;
    expect(after[0]).toBe(300 * 2 ** plan.scaleBits);
    expect(after).toEqual(before);
  });
});
