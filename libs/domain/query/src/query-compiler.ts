import { FedlabError, type AggregateAnalysis, type CellKey, type ColumnSchema, type DatasetSchema, type Filter, type RawCell } from '@fedlab/model';
import { columnValue, dialectRules, importOrder, orderKey, orderList, type DialectOptions, type DialectRules, type SortKey } from './dialect';
import { bind, ident, join, raw, render, sql, type Sql, type SqlParam } from './sql';
import { validateAnalysis } from './validate-analysis';

export { bind, ident, join, raw, sql, type Sql, type SqlParam } from './sql';

/** A model row value: numbers (booleans as 0/1), categorical text, or null. */
export type ModelRowValue = number | string | null;

/** Parameterised SQL selecting a model's rows, and their decoder: `[response, ...covariates]` per row. */
export interface CompiledRows {
  sql: string;
  params: SqlParam[];
  decode(rows: Array<Record<string, unknown>>): ModelRowValue[][];
}

/** Parameterised SQL for one analysis, and the decoder of its result rows. */
export interface CompiledQuery {
  sql: string;
  params: SqlParam[];
  /** Turns the rows the SQL returned into cells (one row per cell). */
  decode(rows: Array<Record<string, unknown>>): RawCell[];
}

const CMP_OPERATORS = { eq: '=', ne: '<>', lt: '<', le: '<=', gt: '>', ge: '>=' } as const;

const ORDERED_OPS = new Set(['lt', 'le', 'gt', 'ge', 'between']);

/**
 * Compiles a validated filter tree to a parenthesised SQL condition in the dialect of `rules` (SQLite's by
 * default): booleans compared as 0/1, dates with 'YYYY-MM-DD' parameters, text ordered by its bytes.
 */
export function compileFilter(filter: Filter, column: (name: string) => ColumnSchema, rules: DialectRules = dialectRules()): Sql {
  if (filter.kind !== 'cmp') {
    return sql`(${join(
      filter.items.map((item) => compileFilter(item, column, rules)),
      filter.kind === 'and' ? ' AND ' : ' OR ',
    )})`;
  }
  const schema = column(filter.column);
  const value = columnValue(schema, rules);
  const c = schema.type === 'text' && ORDERED_OPS.has(filter.op) ? sql`${value}${raw(rules.binaryText)}` : value;
  const values = filter.values.map((v) => (schema.type === 'date' ? rules.dateParam(bind(v)) : bind(v)));
  switch (filter.op) {
    case 'in':
      return sql`${c} IN (${join(values, ', ')})`;
    case 'between':
      return sql`${c} BETWEEN ${values[0]!} AND ${values[1]!}`;
    case 'is_null':
      return sql`${c} IS NULL`;
    case 'not_null':
      return sql`${c} IS NOT NULL`;
    default:
      return sql`${c} ${raw(CMP_OPERATORS[filter.op])} ${values[0]!}`;
  }
}

export const toNumber = (value: unknown): number => {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  throw new FedlabError('INTERNAL', 'unexpected value in a query result');
};

/** A group value as a cell key: booleans as 'true'/'false', NULL as null. */
export function decodeKey(value: unknown, column: ColumnSchema): string | number | null {
  if (value === null || value === undefined) return null;
  if (column.type === 'boolean') return toNumber(value) === 0 ? 'false' : 'true';
  if (typeof value === 'string' || typeof value === 'number') return value;
  return toNumber(value);
}

/**
 * The `GROUP BY … ORDER BY …` of a statement's `keys` (its first selected items), in SQLite's order on
 * every engine; nothing without keys.
 */
export function groupTail(keys: readonly SortKey[], rules: DialectRules): Sql {
  if (keys.length === 0) return raw('');
  return sql` GROUP BY ${raw(keys.map((_, i) => i + 1).join(', '))} ORDER BY ${orderList(keys, rules)}`;
}

/** A measured column as SQLite holds it (64-bit integers, doubles), whatever the engine's narrower types. */
const measureValue = (column: ColumnSchema): Sql => sql`CAST(${ident(column.name)} AS ${raw(column.type === 'integer' ? 'BIGINT' : 'DOUBLE PRECISION')})`;

/**
 * Compiles a validated analysis to one statement over the table `schema.dataset`, in the dialect of
 * `options` (SQLite's by default; see {@link SqlDialect}). Calls {@link validateAnalysis} first and throws
 * what it throws. Table and column names come only from `schema` and are double-quoted; every value is a
 * bound parameter.
 *
 * The statement returns one row per non-empty cell, ordered by its key (NULL first, text by its bytes):
 * group values as `g0`..`g2` (NULL forms its own group; booleans as 0/1), for histograms the bin index as
 * `bin`, `persons` (distinct non-null person ids) and `records` (rows), plus per kind:
 * - sum, mean, variance: `total` Σ value, `total_squares` Σ value², `value_count` non-null values,
 *   `top1`/`top2` the two largest |per-person sum| in the cell (0 when missing) — variance carries
 *   them too because a released variance comes with its mean and count, which give the sum;
 * - proportion: `total` rows meeting the condition (a condition that is NULL counts as not met),
 *   `persons_with` persons in the cell with at least one such row, `persons_without` persons in the
 *   cell with none (`persons_with + persons_without = persons`);
 * - histogram: rows whose value lies in no bin (or is NULL) are excluded; bins are `[e0, e1)`, …,
 *   `[e(k-1), ek]`.
 * Without group-by, count, sum, mean, variance and proportion always return exactly one cell with key `[]`.
 * `decode` maps rows to {@link RawCell}s: NULL aggregates become 0, boolean keys `'true'`/`'false'`,
 * and the bin index the bin's lower edge.
 */
export function compileAnalysis(analysis: AggregateAnalysis, schema: DatasetSchema, options: DialectOptions = {}): CompiledQuery {
  validateAnalysis(analysis, schema);
  const rules = dialectRules(options.dialect);
  const columns = new Map(schema.columns.map((c) => [c.name, c]));
  const column = (name: string): ColumnSchema => columns.get(name)!;
  const groups = analysis.groupBy.map(column);
  const table = ident(schema.dataset);
  const person = ident(schema.person);
  const filter = analysis.filter && compileFilter(analysis.filter, column, rules);
  const where = filter ? sql` WHERE ${filter}` : raw('');
  const ordinals = (n: number): string => Array.from({ length: n }, (_, i) => i + 1).join(', ');
  const tableGroups = (alias: string): Sql[] => groups.map((g, i) => sql`${columnValue(g, rules)} AS ${raw(`${alias}${i}`)}`);
  const innerGroups = groups.map((_, i) => raw(`_g${i} AS g${i}`));
  const innerKeys = groups.map((g, i): SortKey => [raw(`_g${i}`), g.type]);
  const k = groups.length;

  let query: Sql;
  switch (analysis.kind) {
    case 'count': {
      const keys = groups.map((g): SortKey => [columnValue(g, rules), g.type]);
      query = sql`SELECT ${join([...tableGroups('g'), sql`COUNT(DISTINCT ${person}) AS persons`, raw('COUNT(*) AS records')], ', ')} FROM ${table}${where}${groupTail(keys, rules)}`;
      break;
    }
    case 'sum':
    case 'mean':
    case 'variance': {
      const v = measureValue(column(analysis.column));
      const squares = analysis.kind === 'variance';
      const perPersonSquares = squares ? sql`, SUM(${v} * ${v}) AS _ss` : raw('');
      const perPerson = sql`SELECT ${join([...tableGroups('_g'), sql`${person} AS _pid, COUNT(*) AS _n, COUNT(${v}) AS _vc, SUM(${v}) AS _s${perPersonSquares}`], ', ')} FROM ${table}${where} GROUP BY ${raw(ordinals(k + 1))}`;
      const partition = raw(k === 0 ? '' : `PARTITION BY ${groups.map((_, i) => `_g${i}`).join(', ')} `);
      const ranked = sql`SELECT *, ROW_NUMBER() OVER (${partition}ORDER BY ABS(_s) DESC NULLS LAST) AS _rn FROM (${perPerson}) AS _persons`;
      const aggregates = raw(
        `COUNT(_pid) AS persons, SUM(_n) AS records, SUM(_s) AS total, ${squares ? 'SUM(_ss) AS total_squares, ' : ''}SUM(_vc) AS value_count, ` +
          'MAX(CASE WHEN _rn = 1 THEN ABS(_s) END) AS top1, MAX(CASE WHEN _rn = 2 THEN ABS(_s) END) AS top2',
      );
      query = sql`SELECT ${join([...innerGroups, aggregates], ', ')} FROM (${ranked}) AS _ranked${groupTail(innerKeys, rules)}`;
      break;
    }
    case 'proportion': {
      const met = compileFilter(analysis.condition, column, rules);
      const perPerson = sql`SELECT ${join([...tableGroups('_g'), sql`${person} AS _pid, COUNT(*) AS _n, SUM(CASE WHEN ${met} THEN 1 ELSE 0 END) AS _m`], ', ')} FROM ${table}${where} GROUP BY ${raw(ordinals(k + 1))}`;
      const aggregates = raw(
        'COUNT(_pid) AS persons, SUM(_n) AS records, SUM(_m) AS total, ' +
          'COUNT(CASE WHEN _m > 0 THEN _pid END) AS persons_with, COUNT(CASE WHEN _m = 0 THEN _pid END) AS persons_without',
      );
      query = sql`SELECT ${join([...innerGroups, aggregates], ', ')} FROM (${perPerson}) AS _persons${groupTail(innerKeys, rules)}`;
      break;
    }
    case 'histogram': {
      const v = ident(column(analysis.column).name);
      const edges = analysis.bins;
      const last = edges.length - 2;
      const whens = edges.slice(1, -1).map((edge, i) => sql`WHEN ${v} < ${bind(edge)} THEN ${raw(String(i))}`);
      const bin = whens.length === 0 ? raw('0') : sql`CASE ${join(whens, ' ')} ELSE ${raw(String(last))} END`;
      const inRange = sql`${v} >= ${bind(edges[0]!)} AND ${v} <= ${bind(edges[edges.length - 1]!)}`;
      const binned = sql`SELECT ${join([...tableGroups('_g'), sql`${person} AS _pid, ${bin} AS _bin`], ', ')} FROM ${table} WHERE ${filter ? sql`${filter} AND ${inRange}` : inRange}`;
      const aggregates = raw('_bin AS bin, COUNT(DISTINCT _pid) AS persons, COUNT(*) AS records');
      query = sql`SELECT ${join([...innerGroups, aggregates], ', ')} FROM (${binned}) AS _binned${groupTail([...innerKeys, [raw('_bin'), 'integer']], rules)}`;
      break;
    }
  }

  const decode = (rows: Array<Record<string, unknown>>): RawCell[] =>
    rows.map((row) => {
      const key: CellKey = groups.map((g, i) => decodeKey(row[`g${i}`], g));
      if (analysis.kind === 'histogram') {
        const index = toNumber(row.bin);
        const edge = index < analysis.bins.length - 1 ? analysis.bins[index] : undefined;
        if (edge === undefined) throw new FedlabError('INTERNAL', 'unexpected bin index in a query result');
        key.push(edge);
      }
      const cell: RawCell = { key, persons: toNumber(row.persons), records: toNumber(row.records) };
      switch (analysis.kind) {
        case 'sum':
        case 'mean':
          return { ...cell, total: toNumber(row.total), valueCount: toNumber(row.value_count), top1: toNumber(row.top1), top2: toNumber(row.top2) };
        case 'variance':
          return {
            ...cell,
            total: toNumber(row.total),
            totalSquares: toNumber(row.total_squares),
            valueCount: toNumber(row.value_count),
            top1: toNumber(row.top1),
            top2: toNumber(row.top2),
          };
        case 'proportion':
          return { ...cell, total: toNumber(row.total), personsWith: toNumber(row.persons_with), personsWithout: toNumber(row.persons_without) };
        default:
          return cell;
      }
    });
  return { ...render(query, rules.placeholder), decode };
}

/** Parameterised SQL selecting each row's person, some columns, and 0/1 indicators of filters. */
export interface CompiledPersonRows {
  sql: string;
  params: SqlParam[];
}

/**
 * Compiles `SELECT person AS p, <columns> AS c0…, CASE WHEN <filter> THEN 1 ELSE 0 END AS f0… FROM
 * <dataset> [WHERE <where>] ORDER BY <import order>` for a linkage study (DESIGN.md §7.4), in the dialect
 * of `options` (booleans as 0/1). The caller has validated the filters (see validateLinkage); identifier
 * columns may be selected here because their values are turned into linkage keys inside the node and
 * never leave it.
 *
 * @throws FedlabError `UNKNOWN_COLUMN`, and what {@link importOrder} throws.
 */
export function compilePersonRows(
  schema: DatasetSchema,
  columns: readonly string[],
  indicators: ReadonlyArray<Filter | undefined>,
  where?: Filter,
  options: DialectOptions = {},
): CompiledPersonRows {
  const rules = dialectRules(options.dialect);
  const byName = new Map(schema.columns.map((c) => [c.name, c]));
  const column = (name: string): ColumnSchema => {
    const found = byName.get(name);
    if (!found) throw new FedlabError('UNKNOWN_COLUMN', `unknown column "${name}" in dataset "${schema.dataset}"`);
    return found;
  };
  const items = [
    sql`${columnValue(column(schema.person), rules)} AS p`,
    ...columns.map((name, i) => sql`${columnValue(column(name), rules)} AS ${raw(`c${i}`)}`),
    ...indicators.map((filter, i) =>
      filter ? sql`CASE WHEN ${compileFilter(filter, column, rules)} THEN 1 ELSE 0 END AS ${raw(`f${i}`)}` : sql`1 AS ${raw(`f${i}`)}`,
    ),
  ];
  const filter = where && compileFilter(where, column, rules);
  const query = sql`SELECT ${join(items, ', ')} FROM ${ident(schema.dataset)}${filter ? sql` WHERE ${filter}` : raw('')} ORDER BY ${importOrder(schema, options)}`;
  return render(query, rules.placeholder);
}

/**
 * Compiles `SELECT <column> AS <alias>, … FROM <dataset> ORDER BY <orderBy>, <import order>`: named columns
 * of every row of a dataset (booleans as 0/1), for code that reads rows inside the node and releases only
 * what it computes from them (an evaluation's offence histories), in the dialect of `options`. The order is
 * SQLite's on every engine (NULL first, text by its bytes), ties in import order. Aliases are the caller's
 * own names, not the query's.
 *
 * @throws FedlabError UNKNOWN_COLUMN `unknown column "x" in dataset "d"` for a column `schema` does not have, and what {@link importOrder} throws.
 */
export function compileColumnRows(
  schema: DatasetSchema,
  select: ReadonlyArray<readonly [alias: string, column: string]>,
  orderBy: readonly string[],
  options: DialectOptions = {},
): CompiledPersonRows {
  const rules = dialectRules(options.dialect);
  const byName = new Map(schema.columns.map((c) => [c.name, c]));
  const column = (name: string): ColumnSchema => {
    const found = byName.get(name);
    if (!found) throw new FedlabError('UNKNOWN_COLUMN', `unknown column "${name}" in dataset "${schema.dataset}"`);
    return found;
  };
  const items = select.map(([alias, name]) => sql`${columnValue(column(name), rules)} AS ${ident(alias)}`);
  const keys = orderBy.map((name) => orderKey(columnValue(column(name), rules), column(name).type, rules));
  const query = sql`SELECT ${join(items, ', ')} FROM ${ident(schema.dataset)} ORDER BY ${join([...keys, importOrder(schema, options)], ', ')}`;
  return render(query, rules.placeholder);
}
