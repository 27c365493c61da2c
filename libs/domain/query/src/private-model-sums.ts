import { FedlabError, maxRecordsPerPerson, type ColumnSchema, type DatasetSchema, type GlmAnalysis } from '@fedlab/model';
import { PRIVATE_GLM_EXP_LIMIT, privateRoundLength, privateRowWeights, type ColumnScaling, type PrivateGlmPlan } from '@fedlab/glm';
import { columnValue, dialectRules, type DialectRules } from './dialect';
import { compileFilter, toNumber, type SqlParam } from './query-compiler';
import { boundedRows, type PrivateCompileOptions } from './private-analysis';
import { bind, join, raw, render, sql, type Sql } from './sql';
import { validateAnalysis } from './validate-analysis';

/** The most sums one statement selects: PostgreSQL allows 1,664 result columns, SQLite 2,000; a longer vector takes several statements. */
export const MAX_SUMS_PER_STATEMENT = 1_000;

/** A model round's sums as statements for the node's engine, and the decoder of their rows into the round's vector. */
export interface CompiledRoundSums {
  /** Each returns one row: `s0`, `s1` … (its slice of the vector). */
  statements: Array<{ sql: string; params: SqlParam[] }>;
  /** The round's vector from each statement's rows, in order. */
  decode(results: ReadonlyArray<ReadonlyArray<Record<string, unknown>>>): number[];
}

/** A number bound as a double on every engine (DuckDB would type an integral JavaScript number INTEGER). */
const num = (value: number): Sql => sql`CAST(${bind(value)} AS DOUBLE PRECISION)`;

/** min(hi, max(lo, x)) as Math.min/Math.max give it for numbers that are not NaN. */
const clamp = (x: Sql, lo: Sql, hi: Sql): Sql => sql`CASE WHEN ${x} < ${lo} THEN ${lo} WHEN ${x} > ${hi} THEN ${hi} ELSE ${x} END`;

/** (clamp(x, lo, hi) − centre) / halfRange in doubles, as @fedlab/glm's scale() computes it. */
const scaled = (x: Sql, s: ColumnScaling): Sql =>
  sql`(${clamp(sql`CAST(${x} AS DOUBLE PRECISION)`, num(s.lo), num(s.hi))} - ${num(s.centre)}) / ${num(s.halfRange)}`;

/**
 * JavaScript's Math.round (the nearest integer, ties towards +∞) on every engine, as V8 computes it:
 * r = ⌈x⌉, less 1 when r − ½ > x. Exact in doubles below 2^52; SQL's ROUND rounds ties away from zero
 * (SQLite, DuckDB) or to even (PostgreSQL), and FLOOR(x + ½) is 1 at 0.49999999999999994.
 */
const jsRound = (x: Sql): Sql => sql`CASE WHEN CEIL(${x}) - ${num(0.5)} > ${x} THEN CEIL(${x}) - ${num(1)} ELSE CEIL(${x}) END`;

/**
 * Compiles round `round` (1-based) of a private model fit at coefficients `beta` (on the scaled columns,
 * null in round 1) to statements the dataset engine runs, in the dialect of `options`, that return the
 * node's exact integer round vector — what `privateRoundVector` (@fedlab/glm) computes from the rows of
 * {@link compilePrivateModelRows}, entry for entry, without a row leaving the engine:
 * - the same rows: those passing the filter, at most `max_records_per_person` per person (first in import
 *   order), then those with a null response or covariate skipped;
 * - each model column clamped to its bounds and scaled to [−1, 1] in doubles, factor levels as 0/1
 *   indicators, booleans 0/1; the row's weight and working value as `privateRowWeights`, with β and every
 *   constant bound as a double and EXP's argument clamped as there;
 * - each row's entry times 2^scaleBits rounded as Math.round, then summed as 64-bit integers (exact).
 * Intermediate values are computed in fenced subqueries (see {@link DialectRules.subqueryFence}) so no
 * engine evaluates an expression once per use.
 * The libm EXP and LN of the engine may differ from V8's in the last bit (glibc's and V8's do for about
 * 1 argument in 10), which changes a rounded entry only when its scaled value lies within about 10^-10
 * of a half-integer: the sums then differ by one unit, within the rounding the sensitivity already allows.
 *
 * @throws what {@link validateAnalysis} and the import order throw; INTERNAL when `plan` does not fit the analysis.
 */
export function compilePrivateRoundSums(
  analysis: GlmAnalysis,
  schema: DatasetSchema,
  plan: PrivateGlmPlan,
  round: number,
  beta: readonly number[] | null,
  options: PrivateCompileOptions = {},
): CompiledRoundSums {
  validateAnalysis(analysis, schema);
  const rules = dialectRules(options.dialect);
  const p = plan.names.length;
  if ((round === 1) !== (beta === null)) throw new FedlabError('INTERNAL', 'round 1 has no coefficients; every later round has');
  if (beta !== null && beta.length !== p) throw new FedlabError('INTERNAL', `the coefficient vector has ${beta.length} entries for ${p} parameters`);
  const columns = new Map(schema.columns.map((c) => [c.name, c]));
  const column = (name: string): ColumnSchema => columns.get(name)!;
  const covariates = analysis.covariates.map(column);
  const fence = raw(subqueryFence(rules));

  // Bounded rows (before nulls are skipped, as compilePrivateModelRows): `y`, `c0` ….
  const conditions = analysis.filter ? [compileFilter(analysis.filter, column, rules)] : [];
  const bounded = boundedRows(
    schema,
    [[columnValue(column(analysis.response), rules), 'y'], ...covariates.map((c, i): [Sql, string] => [columnValue(c, rules), `c${i}`])],
    conditions,
    maxRecordsPerPerson(schema),
    options,
  );

  // The design: `_y` and `_x1` … `_x{p-1}` scaled (the intercept `_x0` is 1). A row whose factor value is
  // none of the declared levels (possible in a mapped table or a Parquet file read in place) is left out
  // like a row with a null: refusing the query for it would say, unnoised, that such a row passed the filter.
  const design: Sql[] = [sql`${scaled(raw('y'), plan.response)} AS _y`];
  const known: Sql[] = [];
  let j = 1;
  covariates.forEach((c, i) => {
    const value = raw(`c${i}`);
    if (c.type === 'text') {
      const levels = c.values ?? [];
      levels.slice(1).forEach((level) => {
        design.push(sql`CAST(CASE WHEN ${value} = ${bind(level)} THEN 1 ELSE 0 END AS DOUBLE PRECISION) AS ${raw(`_x${j}`)}`);
        j += 1;
      });
      known.push(
        sql`${value} IN (${join(
          levels.map((level) => bind(level)),
          ', ',
        )})`,
      );
      return;
    }
    design.push(sql`${scaled(value, plan.scaling[j]!)} AS ${raw(`_x${j}`)}`);
    j += 1;
  });
  if (j !== p) throw new FedlabError('INTERNAL', `the analysis has ${j} model columns, the plan ${p}`);
  const usable = join([...['y', ...covariates.map((_, i) => `c${i}`)].map((alias) => sql`${raw(alias)} IS NOT NULL`), ...known], ' AND ');
  const designRows = sql`SELECT ${join(design, ', ')} FROM (${bounded}) AS _bounded WHERE ${usable}${fence}`;

  const x = (k: number): Sql => (k === 0 ? raw('1') : raw(`_x${k}`));
  const carriedNames = Array.from({ length: p - 1 }, (_, k) => `_x${k + 1}`);
  const carried = (...extra: string[]) => raw([...carriedNames, ...extra].join(', '));
  /** The next layer: `items` over `from`, in a fenced subquery. */
  let layers = 0;
  const layer = (items: Sql, from: Sql): Sql => sql`SELECT ${items} FROM (${from}) AS ${raw(`_layer${++layers}`)}${fence}`;
  const { weightBound: W, workingBound: U } = plan;
  const minWeight = (w: Sql): Sql => sql`CASE WHEN ${w} > ${num(W)} THEN ${num(W)} ELSE ${w} END`;
  const clipWorking = (v: Sql): Sql => clamp(v, num(-U), num(U));
  const one = num(1);

  // The weight `_w` and working value `_u` of each row, as privateRowWeights gives them, layer by layer.
  let weighted: Sql;
  if (plan.family === 'gaussian') {
    weighted = layer(sql`${carried('_y')}, ${one} AS _w, _y AS _u`, designRows);
  } else if (beta === null) {
    // Round 1 depends on y alone: JavaScript's values for y = 0 and y = 1, else the same formulas in SQL.
    const [zero, unit] = [privateRowWeights(plan, 0, null), privateRowWeights(plan, 1, null)];
    const pick = (which: 'weight' | 'working', otherwise: Sql) =>
      sql`CASE WHEN _y = ${num(0)} THEN ${num(zero[which])} WHEN _y = ${num(1)} THEN ${num(unit[which])} ELSE ${otherwise} END`;
    if (plan.family === 'poisson') {
      // η = 0: μ = 1.
      weighted = layer(sql`${carried('_y')}, ${pick('weight', minWeight(one))} AS _w, ${pick('working', clipWorking(sql`_y - ${one}`))} AS _u`, designRows);
    } else {
      // fitRow at R's starting η: μ₀ = (y + ½)/2, η = ln(μ₀/(1 − μ₀)), μ = eᶯ/(1 + eᶯ), dμ/dη = eᶯ/(1 + eᶯ)², w = (dμ/dη)²/(μ(1 − μ)), z = η + (y − μ)/(dμ/dη).
      const mu0 = sql`(_y + ${num(0.5)}) / ${num(2)}`;
      const withEta = layer(sql`${carried('_y')}, LN(${mu0} / (${one} - ${mu0})) AS _eta`, designRows);
      const withExp = layer(sql`${carried('_y', '_eta')}, EXP(_eta) AS _exp`, withEta);
      const withMu = layer(sql`${carried('_y', '_eta')}, _exp / (${one} + _exp) AS _mu, _exp / ((${one} + _exp) * (${one} + _exp)) AS _mueta`, withExp);
      const withFit = layer(sql`${carried('_y')}, (_mueta * _mueta) / (_mu * (${one} - _mu)) AS _fw, _eta + (_y - _mu) / _mueta AS _fz`, withMu);
      weighted = layer(sql`${carried('_y')}, ${pick('weight', minWeight(raw('_fw')))} AS _w, ${pick('working', clipWorking(sql`_fw * _fz`))} AS _u`, withFit);
    }
  } else {
    // η summed left to right from the intercept, as privateRoundVector's loop (0 + 1·β₀ is β₀).
    const eta = join(
      beta.map((b, k) => (k === 0 ? num(b) : sql`${x(k)} * ${num(b)}`)),
      ' + ',
    );
    const exp = (v: Sql) => sql`EXP(${clamp(v, num(-PRIVATE_GLM_EXP_LIMIT), num(PRIVATE_GLM_EXP_LIMIT))})`;
    const mu = plan.family === 'binomial' ? sql`${one} / (${one} + ${exp(sql`-_eta`)})` : exp(raw('_eta'));
    const withMu = layer(sql`${carried('_y')}, ${mu} AS _mu`, layer(sql`${carried('_y')}, ${eta} AS _eta`, designRows));
    const weight = plan.family === 'binomial' ? sql`_mu * (${one} - _mu)` : raw('_mu');
    weighted = layer(sql`${carried('_y')}, ${minWeight(weight)} AS _w, ${clipWorking(sql`_y - _mu`)} AS _u`, withMu);
  }

  // Every entry of a row, in the vector's order: counts, u = working·x, packed upper H = (weight·xᵢ)·xⱼ, yᵀy.
  const entries: Sql[] = [raw('1')];
  if (round === 1) plan.countedColumns.forEach((k) => entries.push(x(k)));
  for (let i = 0; i < p; i++) entries.push(sql`_u * ${x(i)}`);
  for (let i = 0; i < p; i++) for (let k = i; k < p; k++) entries.push(sql`_w * ${x(i)} * ${x(k)}`);
  if (plan.family === 'gaussian') entries.push(raw('_y * _y'));
  const length = privateRoundLength(plan, round);
  if (entries.length !== length) throw new FedlabError('INTERNAL', `the round has ${entries.length} entries, the plan ${length}`);
  const factor = num(2 ** plan.scaleBits);

  const statements: Array<{ sql: string; params: SqlParam[] }> = [];
  for (let from = 0; from < length; from += MAX_SUMS_PER_STATEMENT) {
    const slice = entries.slice(from, from + MAX_SUMS_PER_STATEMENT);
    const products = join(
      slice.map((e, k) => sql`(${e}) * ${factor} AS ${raw(`_e${k}`)}`),
      ', ',
    );
    const sums = slice.map((_, k) => sql`CAST(COALESCE(SUM(CAST(${jsRound(raw(`_e${k}`))} AS BIGINT)), 0) AS BIGINT) AS ${raw(`s${k}`)}`);
    const statement = sql`SELECT ${join(sums, ', ')} FROM (${layer(products, weighted)}) AS _entries`;
    statements.push(render(statement, rules.placeholder));
  }

  const decode = (results: ReadonlyArray<ReadonlyArray<Record<string, unknown>>>): number[] => {
    if (results.length !== statements.length) throw new FedlabError('INTERNAL', `${results.length} results for ${statements.length} statements`);
    return results.flatMap((rows, s) => {
      const row = rows[0] ?? {};
      return Array.from({ length: Math.min(MAX_SUMS_PER_STATEMENT, length - s * MAX_SUMS_PER_STATEMENT) }, (_, k) => toNumber(row[`s${k}`]));
    });
  };
  return { statements, decode };
}

/**
 * What keeps a subquery from being merged into the query around it, which would copy its expressions into
 * every use: SQLite and PostgreSQL do not flatten a subquery with an OFFSET; DuckDB computes a subquery's
 * projection once as it is.
 */
function subqueryFence(rules: DialectRules): string {
  return rules.name === 'sqlite' ? ' LIMIT -1 OFFSET 0' : rules.name === 'postgres' ? ' OFFSET 0' : '';
}
