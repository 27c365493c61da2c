import { FedlabError, type ColumnSchema, type ColumnType, type DatasetSchema } from '@fedlab/model';
import { ident, join, raw, sql, type Sql, type SqlParam } from './sql';

/** The SQL dialect of a dataset engine: the compilers emit statements that give identical results on each. */
export type SqlDialect = 'sqlite' | 'duckdb' | 'postgres';

/** How a compiled statement addresses its engine: the dialect and, where the engine has no `rowid`, the import order. */
export interface DialectOptions {
  /** The engine's dialect; 'sqlite' when omitted. */
  dialect?: SqlDialect;
  /**
   * Columns of the dataset (in its schema) whose ascending order is the order of import, used wherever
   * the first rows of a person are meant (the contribution bound, a linkage study's rows). They must order
   * the rows totally, e.g. a visit id. Required for 'postgres', which has no `rowid`; when omitted, SQLite's
   * and DuckDB's `rowid` is the import order.
   */
  importOrder?: readonly string[];
  /**
   * The table has a `rowid` column that is its import order although the dialect has none: a dataset
   * fedlab imported into PostgreSQL, whose engine presents its import-order column as `rowid`.
   */
  rowid?: boolean;
}

/**
 * Everything the dialects differ in, and nothing else: the compilers write the same SQL for all three
 * and ask here only for these pieces. Verified on SQLite 3.53, DuckDB 1.5 and PostgreSQL 15.
 */
export interface DialectRules {
  readonly name: SqlDialect;
  /** The placeholder of the `n`-th parameter (1-based, text order), bound to `value`. */
  placeholder(n: number, value: SqlParam): string;
  /** The implicit import order of a table's rows, or null when the engine has none and it must be given. */
  readonly rowOrder: string | null;
  /** A boolean column read as INTEGER 0/1 (NULL kept): SQLite stores it so; DuckDB and PostgreSQL have BOOLEAN. */
  booleanValue(column: Sql): Sql;
  /** A 'YYYY-MM-DD' parameter compared with a date column (a DATE in DuckDB and PostgreSQL). */
  dateParam(param: Sql): Sql;
  /** Appended to text compared or ordered, so it goes by bytes as in SQLite (PostgreSQL would use the database's collation). */
  readonly binaryText: string;
  /** A DOUBLE PRECISION rounded half away from zero, exactly as SQLite's ROUND rounds it (see {@link sqliteRound}). */
  roundHalfAway(x: Sql): Sql;
}

/**
 * SQLite's ROUND(x) computes trunc(x + 0.5) in doubles (−trunc(0.5 − x) below 0) and returns x itself from
 * 2^52 on, so ROUND(0.49999999999999994) is 1. DuckDB's ROUND is C's round() (0 there); PostgreSQL's
 * ROUND(double precision) rounds half to even, and ROUND(numeric) sees a double to 15 digits only
 * (2.4999999999999996 becomes 2.5, then 3). FLOOR of a double is exact on every engine, so this is
 * SQLite's ROUND bit for bit.
 */
const sqliteRound = (x: Sql): Sql =>
  sql`CASE WHEN ${x} >= 4503599627370496 OR ${x} <= -4503599627370496 THEN ${x} WHEN ${x} < 0 THEN -FLOOR(0.5 - ${x}) ELSE FLOOR(${x} + 0.5) END`;

const castAs = (type: string) => (x: Sql) => sql`CAST(${x} AS ${raw(type)})`;

const DIALECTS: Record<SqlDialect, DialectRules> = {
  sqlite: {
    name: 'sqlite',
    placeholder: () => '?',
    rowOrder: 'rowid',
    booleanValue: (column) => column,
    dateParam: (param) => param,
    binaryText: '',
    roundHalfAway: (x) => sql`ROUND(${x})`,
  },
  duckdb: {
    name: 'duckdb',
    placeholder: () => '?',
    rowOrder: 'rowid',
    booleanValue: castAs('INTEGER'),
    dateParam: castAs('DATE'),
    binaryText: '',
    roundHalfAway: sqliteRound,
  },
  postgres: {
    name: 'postgres',
    // An untyped parameter takes the type of the column it meets, where 1.5 against an integer or 100000
    // against a smallint does not parse; numbers are compared as doubles, as SQLite compares INTEGER with REAL.
    placeholder: (n, value) => (typeof value === 'number' ? `CAST($${n} AS DOUBLE PRECISION)` : `$${n}`),
    rowOrder: null,
    booleanValue: castAs('INTEGER'),
    dateParam: castAs('DATE'),
    binaryText: ' COLLATE "C"',
    roundHalfAway: sqliteRound,
  },
};

/** The rules of a dialect. */
export function dialectRules(dialect: SqlDialect = 'sqlite'): DialectRules {
  return DIALECTS[dialect];
}

/** A column's value as the compilers compare, group and return it: booleans as 0/1 on every engine. */
export function columnValue(column: ColumnSchema, rules: DialectRules): Sql {
  return column.type === 'boolean' ? rules.booleanValue(ident(column.name)) : ident(column.name);
}

/** An ascending ORDER BY key in SQLite's order on every engine: NULL first, text by its bytes. */
export function orderKey(expr: Sql, type: ColumnType, rules: DialectRules): Sql {
  return sql`${expr}${raw(type === 'text' ? rules.binaryText : '')} NULLS FIRST`;
}

/** An ORDER BY key before {@link orderKey}: the expression and the type of its values. */
export type SortKey = readonly [expr: Sql, type: ColumnType];

/**
 * The sort keys of the import order for `options`: the `importOrder` columns when given, else `rowid` (the
 * dialect's own, or the one `options.rowid` says the table has).
 *
 * @throws FedlabError `UNKNOWN_COLUMN` for an import-order column the schema does not have; `CONFIG_INVALID`
 * `dataset "d" has no import order: a postgres dataset needs the columns that order its rows` when there is none.
 */
export function importOrderKeys(schema: DatasetSchema, options: DialectOptions): SortKey[] {
  const rules = dialectRules(options.dialect);
  if (options.importOrder?.length) {
    return options.importOrder.map((name): SortKey => {
      const column = schema.columns.find((c) => c.name === name);
      if (!column) throw new FedlabError('UNKNOWN_COLUMN', `unknown column "${name}" in dataset "${schema.dataset}"`);
      return [columnValue(column, rules), column.type];
    });
  }
  if (options.rowid) return [[raw('rowid'), 'integer']];
  if (rules.rowOrder === null) {
    throw new FedlabError('CONFIG_INVALID', `dataset "${schema.dataset}" has no import order: a ${rules.name} dataset needs the columns that order its rows`);
  }
  return [[raw(rules.rowOrder), 'integer']];
}

/** An ORDER BY list of `keys` in SQLite's order on every engine (see {@link orderKey}). */
export function orderList(keys: readonly SortKey[], rules: DialectRules): Sql {
  return join(
    keys.map(([expr, type]) => orderKey(expr, type, rules)),
    ', ',
  );
}

/** The ORDER BY list of the import order (see {@link importOrderKeys}, which says what it throws). */
export function importOrder(schema: DatasetSchema, options: DialectOptions): Sql {
  return orderList(importOrderKeys(schema, options), dialectRules(options.dialect));
}
