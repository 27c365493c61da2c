import {
  FedlabError,
  PERSON_RANK_COLUMN,
  PERSON_ROWS_COLUMN,
  maxRecordsPerPerson,
  type AggregateAnalysis,
  type CellKey,
  type ColumnSchema,
  type DatasetSchema,
  type GlmAnalysis,
} from '@fedlab/model';
import { columnValue, dialectRules, importOrder, importOrderKeys, orderList, type DialectOptions, type SortKey } from './dialect';
import { compileFilter, decodeKey, groupTail, toNumber, type CompiledRows, type ModelRowValue } from './query-compiler';
import { bind, ident, join, raw, render, sql, type Sql, type SqlParam } from './sql';
import { validateAnalysis } from './validate-analysis';

/**
 * The integer grid a bounded numeric column is measured on before it is summed (DESIGN.md §5
 * "Privacy model"): every value is clamped to the column's public bounds, then divided by `step`, a
 * power of two, in doubles and rounded half away from zero (as SQLite's ROUND, on every engine). Sums
 * of grid integers are exact in 64-bit arithmetic, so no floating-point summation error can change a
 * sensitivity (Casacuberta et al. 2022, "Widespread Underestimation of Sensitivity in Differentially
 * Private Libraries"). All fields but `step` are in grid units.
 */
export interface ValueGrid {
  /** The grid step: 1 for integer columns whose half-range fits in 2^16 steps, else a power of two. */
  step: number;
  lo: number;
  hi: number;
  /** The grid point values are centred on for means and variances: ⌊(lo + hi) / 2⌋. */
  centre: number;
  /** The largest |value − centre| on the grid. */
  halfRange: number;
  /** The largest |value| on the grid. */
  maxAbs: number;
}

/** Grid steps per half-range: keeps every centred square below 2^34, so a sum of squares fits in 64 bits. */
const HALF_RANGE_STEPS_LOG2 = 16;

/** Rounds half away from zero, as SQLite's ROUND does. */
function roundHalfAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

/**
 * The grid of a column with bounds.
 *
 * @throws FedlabError `BOUNDS_MISSING` `column "c" of dataset "d" has no bounds: a sum, mean or variance needs bounds: [lo, hi] in the dataset schema`.
 */
export function valueGrid(column: ColumnSchema, dataset: string): ValueGrid {
  if (!column.bounds) {
    throw new FedlabError(
      'BOUNDS_MISSING',
      `column "${column.name}" of dataset "${dataset}" has no bounds: a sum, mean or variance needs bounds: [lo, hi] in the dataset schema`,
    );
  }
  const [loValue, hiValue] = column.bounds;
  const half = (hiValue - loValue) / 2;
  let exponent = half > 0 ? Math.ceil(Math.log2(half)) - HALF_RANGE_STEPS_LOG2 : 0;
  if (column.type === 'integer') exponent = Math.max(exponent, 0);
  const step = 2 ** exponent;
  const lo = roundHalfAway(loValue / step);
  const hi = roundHalfAway(hiValue / step);
  const centre = Math.floor((lo + hi) / 2);
  return { step, lo, hi, centre, halfRange: Math.max(hi - centre, centre - lo), maxAbs: Math.max(Math.abs(lo), Math.abs(hi)) };
}

/** One cell of a bounded query: exact, on the grid, and never leaves the node. */
export interface PrivateCell {
  key: CellKey;
  /** Rows (at most max_records_per_person per person). */
  records: number;
  /** sum/mean/variance: rows with a non-null value. */
  valueCount: number;
  /** sum: Σ value on the grid. */
  total: number;
  /** mean/variance: Σ (value − centre) on the grid. */
  centredTotal: number;
  /** variance: Σ (value − centre)² on the grid. */
  centredSquares: number;
  /** proportion: rows meeting the condition. */
  meeting: number;
}

/** Parameterised SQL for a bounded analysis and the decoder of its rows. */
export interface CompiledPrivateQuery {
  sql: string;
  params: SqlParam[];
  /** The measured column's grid (sum, mean, variance). */
  grid: ValueGrid | null;
  /** The contribution bound the SQL applies. */
  maxRecordsPerPerson: number;
  decode(rows: Array<Record<string, unknown>>): PrivateCell[];
}

/** Options of the compilers of differentially private statements. */
export interface PrivateCompileOptions extends DialectOptions {
  /** Whether the table has the node's person columns (PERSON_ROWS_COLUMN, PERSON_RANK_COLUMN); never in 'postgres'. */
  personColumns?: boolean;
}

/**
 * The rows passing `conditions`, at most `m` per person (the first in import order), as `selected`.
 * Ranking needs a sort of the filtered rows by person. With the person columns stored at import: no
 * condition means the stored rank applies as it is; otherwise persons with at most `m` rows in the
 * table cannot exceed the bound and only the others are ranked.
 */
export function boundedRows(schema: DatasetSchema, selected: Array<[Sql, string]>, conditions: Sql[], m: number, options: PrivateCompileOptions): Sql {
  const table = ident(schema.dataset);
  const items = join(
    selected.map(([expr, alias]) => sql`${expr} AS ${raw(alias)}`),
    ', ',
  );
  const aliases = raw(selected.map(([, alias]) => alias).join(', '));
  const rank = sql`ROW_NUMBER() OVER (PARTITION BY ${ident(schema.person)} ORDER BY ${importOrder(schema, options)}) AS _r`;
  const where = (extra: Sql[]) => (conditions.length + extra.length === 0 ? raw('') : sql` WHERE ${join([...conditions, ...extra], ' AND ')}`);
  const ranked = (extra: Sql[]) => sql`SELECT ${aliases} FROM (SELECT ${items}, ${rank} FROM ${table}${where(extra)}) AS _ranked WHERE _r <= ${bind(m)}`;
  if (!options.personColumns) return ranked([]);
  if (conditions.length === 0) return sql`SELECT ${items} FROM ${table} WHERE ${ident(PERSON_RANK_COLUMN)} <= ${bind(m)}`;
  const rows = ident(PERSON_ROWS_COLUMN);
  return sql`SELECT ${items} FROM ${table}${where([sql`${rows} <= ${bind(m)}`])} UNION ALL ${ranked([sql`${rows} > ${bind(m)}`])}`;
}

/** The largest integer range a group-by column may span to serve as its own public value set. */
export const MAX_INTEGER_DOMAIN = 1_000;

/** A dimension's public value set: what every cell key may take, known without looking at the data. */
export type PublicDomain = Array<string | number | null>;

/**
 * The public value set of every dimension of a differentially private table: a categorical column's
 * declared values, false/true, an integer column's bounds lo..hi (at most {@link MAX_INTEGER_DOMAIN}
 * values), plus null for a nullable column; a histogram's bin lower edges last. Every cell of the cross
 * product is released or suppressed, each with its own noise, so which keys occur in the data is never
 * shown; rows whose group value lies outside the set are not counted.
 *
 * @throws FedlabError `INVALID_QUERY` `analysis.group_by[i]: column "c" has no public value set; declare values (text) or bounds (integer) in the dataset schema`.
 */
export function publicDomains(analysis: AggregateAnalysis, schema: DatasetSchema): PublicDomain[] {
  const columns = new Map(schema.columns.map((c) => [c.name, c]));
  const domains = analysis.groupBy.map((name, i): PublicDomain => {
    const column = columns.get(name)!;
    const nulls: PublicDomain = column.nullable ? [null] : [];
    if (column.type === 'boolean') return [...nulls, 'false', 'true'];
    if (column.type === 'text' && column.values?.length) return [...nulls, ...column.values];
    if (column.type === 'integer' && column.bounds && column.bounds[1] - column.bounds[0] < MAX_INTEGER_DOMAIN) {
      const [lo, hi] = column.bounds;
      return [...nulls, ...Array.from({ length: hi - lo + 1 }, (_, k) => lo + k)];
    }
    const hint = column.type === 'integer' ? `bounds spanning fewer than ${MAX_INTEGER_DOMAIN} values` : 'values';
    throw new FedlabError('INVALID_QUERY', `analysis.group_by[${i}]: column "${name}" has no public value set; declare ${hint} in the dataset schema`);
  });
  if (analysis.kind === 'histogram') domains.push(analysis.bins.slice(0, -1));
  return domains;
}

/**
 * Compiles a validated aggregate analysis to one statement, in the dialect of `options` (SQLite's by
 * default), that bounds every person's contribution before anything is aggregated (DESIGN.md §5
 * "Privacy model"):
 * - of the rows that pass the filter (and, for a histogram, lie in a bin), each person keeps at most
 *   `max_records_per_person`, first in import order (see {@link DialectOptions}); the rest are dropped;
 * - a measured column is clamped to its schema bounds and put on its {@link ValueGrid}.
 * When the table has the node's person columns (`personColumns`, see PERSON_RANK_COLUMN), nothing is
 * ranked at query time without a filter, and with one only the rows of persons with more than
 * `max_records_per_person` rows in the table are.
 * It returns one row per non-empty cell, ordered by key (NULL first, text by its bytes): `g0`..`g2`
 * (booleans as 0/1), `bin` for histograms, `records`, `value_count`, `total`, `centred_total`,
 * `centred_squares`, `meeting`.
 *
 * @throws what {@link validateAnalysis} and {@link importOrder} throw, and `BOUNDS_MISSING` for a sum, mean or variance on a column without bounds.
 */
export function compilePrivateAnalysis(analysis: AggregateAnalysis, schema: DatasetSchema, options: PrivateCompileOptions = {}): CompiledPrivateQuery {
  validateAnalysis(analysis, schema);
  const rules = dialectRules(options.dialect);
  const columns = new Map(schema.columns.map((c) => [c.name, c]));
  const column = (name: string): ColumnSchema => columns.get(name)!;
  const groups = analysis.groupBy.map(column);
  const m = maxRecordsPerPerson(schema);
  const conditions: Sql[] = [];
  if (analysis.filter) conditions.push(compileFilter(analysis.filter, column, rules));
  // Each selected expression with its alias: `_g0`…, then `_x` (measure), `_m` (condition) or `_bin`.
  const selected: Array<[Sql, string]> = groups.map((g, i) => [columnValue(g, rules), `_g${i}`]);
  let grid: ValueGrid | null = null;
  switch (analysis.kind) {
    case 'sum':
    case 'mean':
    case 'variance': {
      grid = valueGrid(column(analysis.column), schema.dataset);
      const v = ident(analysis.column);
      const [lo, hi] = column(analysis.column).bounds!.map(bind) as [Sql, Sql];
      // A CASE keeps NULL where GREATEST/LEAST would skip it; the division is in doubles on every engine.
      const clamped = sql`CASE WHEN ${v} < ${lo} THEN ${lo} WHEN ${v} > ${hi} THEN ${hi} ELSE ${v} END`;
      selected.push([sql`CAST(${clamped} AS DOUBLE PRECISION) / ${bind(grid.step)}`, '_x']);
      break;
    }
    case 'proportion':
      selected.push([sql`CASE WHEN ${compileFilter(analysis.condition, column, rules)} THEN 1 ELSE 0 END`, '_m']);
      break;
    case 'histogram': {
      const v = ident(analysis.column);
      const edges = analysis.bins;
      const whens = edges.slice(1, -1).map((edge, i) => sql`WHEN ${v} < ${bind(edge)} THEN ${raw(String(i))}`);
      selected.push([whens.length === 0 ? raw('0') : sql`CASE ${join(whens, ' ')} ELSE ${raw(String(edges.length - 2))} END`, '_bin']);
      conditions.push(sql`${v} >= ${bind(edges[0]!)} AND ${v} <= ${bind(edges[edges.length - 1]!)}`);
      break;
    }
  }
  if (selected.length === 0) selected.push([raw('1'), '_one']);
  const bounded = boundedRows(schema, selected, conditions, m, options);
  const groupAliases = groups.map((_, i) => raw(`_g${i}`));
  const rows = grid
    ? sql`SELECT ${join([...groupAliases, sql`CAST(${rules.roundHalfAway(raw('_x'))} AS BIGINT) AS _v`], ', ')} FROM (${bounded}) AS _bounded`
    : bounded;
  const keys = groups.map((_, i) => raw(`_g${i} AS g${i}`));
  if (analysis.kind === 'histogram') keys.push(raw('_bin AS bin'));
  const order = groups.map((g, i): SortKey => [raw(`_g${i}`), g.type]);
  if (analysis.kind === 'histogram') order.push([raw('_bin'), 'integer']);
  const c = grid ? String(grid.centre) : '0';
  const aggregates = raw(
    [
      'COUNT(*) AS records',
      grid ? 'COUNT(_v) AS value_count' : '0 AS value_count',
      grid ? 'SUM(_v) AS total' : '0 AS total',
      grid ? `SUM(_v - ${c}) AS centred_total` : '0 AS centred_total',
      analysis.kind === 'variance' ? `SUM((_v - ${c}) * (_v - ${c})) AS centred_squares` : '0 AS centred_squares',
      analysis.kind === 'proportion' ? 'SUM(_m) AS meeting' : '0 AS meeting',
    ].join(', '),
  );
  const query = sql`SELECT ${join([...keys, aggregates], ', ')} FROM (${rows}) AS _rows${groupTail(order, rules)}`;

  const decode = (rows: Array<Record<string, unknown>>): PrivateCell[] =>
    rows.map((row) => {
      const key: CellKey = groups.map((g, i) => decodeKey(row[`g${i}`], g));
      if (analysis.kind === 'histogram') key.push(analysis.bins[toNumber(row.bin)]!);
      return {
        key,
        records: toNumber(row.records),
        valueCount: toNumber(row.value_count),
        total: toNumber(row.total),
        centredTotal: toNumber(row.centred_total),
        centredSquares: toNumber(row.centred_squares),
        meeting: toNumber(row.meeting),
      };
    });
  return { ...render(query, rules.placeholder), grid, maxRecordsPerPerson: m, decode };
}

/**
 * Compiles the rows of a validated model for a differentially private fit, in the dialect of `options`:
 * the response as `y` and each covariate as `c0`, `c1` … from the rows that pass the filter, at most
 * `max_records_per_person` per person (the first in import order, as for tables), so one person's rows
 * bound their effect on every round's sums. Row values stay inside the node. Booleans decode to 0/1.
 */
export function compilePrivateModelRows(analysis: GlmAnalysis, schema: DatasetSchema, options: PrivateCompileOptions = {}): CompiledRows {
  validateAnalysis(analysis, schema);
  const rules = dialectRules(options.dialect);
  const columns = new Map(schema.columns.map((c) => [c.name, c]));
  const column = (name: string): ColumnSchema => columns.get(name)!;
  const used = [analysis.response, ...analysis.covariates].map(column);
  const aliases = used.map((_, i) => (i === 0 ? 'y' : `c${i - 1}`));
  const conditions = analysis.filter ? [compileFilter(analysis.filter, column, rules)] : [];
  // Rows in import order, so that a fit sums its doubles in the same order on every engine.
  const order = importOrderKeys(schema, options);
  const bounded = boundedRows(
    schema,
    [...used.map((c, i): [Sql, string] => [columnValue(c, rules), aliases[i]!]), ...order.map(([expr], i): [Sql, string] => [expr, `_o${i}`])],
    conditions,
    maxRecordsPerPerson(schema),
    options,
  );
  const sortKeys = order.map(([, type], i): SortKey => [raw(`_o${i}`), type]);
  const query = sql`SELECT ${raw(aliases.join(', '))} FROM (${bounded}) AS _bounded ORDER BY ${orderList(sortKeys, rules)}`;
  const decode = (rows: Array<Record<string, unknown>>): ModelRowValue[][] =>
    rows.map((row) =>
      used.map((c, i) => {
        const value = row[aliases[i]!];
        if (value === null || value === undefined) return null;
        return c.type === 'text' ? String(value) : toNumber(value);
      }),
    );
  return { ...render(query, rules.placeholder), decode };
}
