import { rmSync, statSync } from 'node:fs';
import { DuckDBInstance, dateValue, listValue, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { FedlabError, PERSON_RANK_COLUMN, PERSON_ROWS_COLUMN, type ColumnSchema, type DatasetSchema } from '@fedlab/model';
import { readCsvRows, type SqlValue } from '../csv-import';
import { quoteIdentifier as q } from '../database';

/** The table of a DuckDB dataset file that an import writes (one per file: `<folder>/<dataset>-<generation>.duckdb`). */
export const DUCKDB_DATA_TABLE = 'data';

/** The DuckDB types the engine stores each schema type as. */
export const DUCKDB_TYPES: Record<ColumnSchema['type'], string> = {
  text: 'VARCHAR',
  integer: 'BIGINT',
  real: 'DOUBLE',
  date: 'DATE',
  boolean: 'BOOLEAN',
};

/** The Parquet column types (as DuckDB reads them) a schema type accepts; each is read as its {@link DUCKDB_TYPES} type. */
const PARQUET_TYPES: Record<ColumnSchema['type'], { accepts: (type: string) => boolean; names: string }> = {
  text: { accepts: (t) => t === 'VARCHAR', names: 'VARCHAR' },
  integer: {
    accepts: (t) => ['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT'].includes(t),
    names: 'an integer type',
  },
  real: { accepts: (t) => t === 'DOUBLE' || t === 'FLOAT' || t.startsWith('DECIMAL'), names: 'DOUBLE, FLOAT or DECIMAL' },
  date: { accepts: (t) => t === 'DATE', names: 'DATE' },
  boolean: { accepts: (t) => t === 'BOOLEAN', names: 'BOOLEAN' },
};

const MAX_SAFE = '9007199254740991';
const MAX_LINE_BYTES = 1 << 20;
const PROGRESS_INTERVAL_MS = 250;

/** DuckDB settings of every instance the engine opens: nothing is ever downloaded or loaded on demand (air-gapped nodes). */
export function duckDbConfig(settings: { threads?: number; memoryLimit?: string; tempDirectory: string }): Record<string, string> {
  return {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    allow_community_extensions: 'false',
    temp_directory: settings.tempDirectory,
    ...(settings.threads === undefined ? {} : { threads: String(settings.threads) }),
    ...(settings.memoryLimit === undefined ? {} : { memory_limit: settings.memoryLimit }),
  };
}

/** A string as a SQL literal (DuckDB takes no parameter for a file path in ATTACH or a table function's path in a view). */
export function sqlLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** What {@link writeDuckDbDataset} reads. */
export interface DuckDbImportSource {
  path: string;
  /** The file's name as messages give it. */
  file: string;
  format: 'csv' | 'parquet';
  schema: DatasetSchema;
  config: Record<string, string>;
  onProgress?: (rowsDone: number, bytesDone: number) => void;
}

/**
 * Writes a dataset's rows, typed and checked, with the person columns (rows per person, rank by import
 * order) into a new DuckDB file `target`, whose table {@link DUCKDB_DATA_TABLE} keeps the file's order as
 * its rowid. Returns the number of rows. On failure `target` is removed and the error is the one
 * {@link readCsvRows} reports for the file, so the DuckDB engine refuses a CSV exactly as SQLite does.
 *
 * A CSV is parsed by DuckDB's own reader (`read_csv`, every value as text, then checked by SQL that
 * replicates csv-import's rules), so a good file imports at DuckDB's speed. The SQL check is never more
 * lenient than csv-import; on any failure the file is read again by csv-import's reader: it reports the
 * exact error, or, where DuckDB refused what csv-import accepts (e.g. a stray carriage return), its rows
 * are appended instead.
 */
export async function writeDuckDbDataset(target: string, source: DuckDbImportSource): Promise<number> {
  const instance = await DuckDBInstance.create(':memory:', source.config);
  const connection = await instance.connect();
  let rows: number;
  try {
    if (source.format === 'parquet') {
      await checkParquetColumns(connection, source.path, source.file, source.schema);
      await checkParquetValues(connection, source.path, source.file, source.schema);
      await attachTarget(connection, target);
      await connection.run(personColumnsTable(parquetRows(source.path, source.schema), source.schema.person, 'file_row_number'));
    } else {
      await readCsvRows({ csvPath: source.path, schema: source.schema, file: source.file, headerOnly: true }, () => undefined);
      await attachTarget(connection, target);
      try {
        await withProgress(connection, source, () => runFastCsv(connection, source));
      } catch {
        await connection.run('DETACH fedlab_out');
        rmDatabaseFile(target);
        await appendCsv(connection, source);
        await attachTarget(connection, target);
        await connection.run(personColumnsTable('SELECT *, rowid AS fedlab_line FROM fedlab_staging', source.schema.person, 'fedlab_line'));
      }
    }
    const reader = await connection.runAndReadAll(`SELECT COUNT(*) FROM fedlab_out.${DUCKDB_DATA_TABLE}`);
    rows = Number(reader.getRows()[0][0]);
    await connection.run('DETACH fedlab_out');
  } catch (error) {
    // Closed before the file is removed: closing checkpoints an attached file, which would write it again.
    connection.closeSync();
    instance.closeSync();
    rmDatabaseFile(target);
    throw error;
  }
  connection.closeSync();
  instance.closeSync();
  return rows;
}

/** Removes a DuckDB file and its write-ahead log, if any. */
export function rmDatabaseFile(file: string): void {
  rmSync(file, { force: true });
  rmSync(`${file}.wal`, { force: true });
}

async function attachTarget(connection: DuckDBConnection, target: string): Promise<void> {
  rmDatabaseFile(target);
  await connection.run(`ATTACH ${sqlLiteral(target)} AS fedlab_out`);
}

/**
 * The column of a dataset file that keeps each row's place in the imported file (its import order): the
 * engine's view presents it as `rowid`. Stored rather than implied by the table's own order, so the
 * person columns are computed without sorting the rows back into file order.
 */
export const DUCKDB_ORDER_COLUMN = 'fedlab_row';

/** The CREATE TABLE of the dataset file from `rows` (the schema's columns and an order column `order`), adding the person columns. */
function personColumnsTable(rows: string, person: string, order: string): string {
  const p = q(person);
  return `CREATE TABLE fedlab_out.${DUCKDB_DATA_TABLE} AS
    SELECT * EXCLUDE (${q(order)}), ${q(order)} AS ${q(DUCKDB_ORDER_COLUMN)}, COUNT(*) OVER (PARTITION BY ${p}) AS ${q(PERSON_ROWS_COLUMN)},
      ROW_NUMBER() OVER (PARTITION BY ${p} ORDER BY ${q(order)}) AS ${q(PERSON_RANK_COLUMN)}
    FROM (${rows})`;
}

/** Reports progress from DuckDB's own query progress while `run` runs (start and end at least). */
async function withProgress(connection: DuckDBConnection, source: DuckDbImportSource, run: () => Promise<void>): Promise<void> {
  const { onProgress } = source;
  if (onProgress === undefined) return run();
  const { size } = statSync(source.path);
  onProgress(0, 0);
  const timer = setInterval(() => {
    const { percentage, rows_processed } = connection.progress;
    if (percentage > 0) onProgress(Number(rows_processed), Math.min(size, Math.round((size * percentage) / 100)));
  }, PROGRESS_INTERVAL_MS);
  try {
    await run();
  } finally {
    clearInterval(timer);
  }
}

/** The fast path: DuckDB reads the CSV, SQL checks every value as csv-import would and `error()`s on the first it refuses. */
async function runFastCsv(connection: DuckDBConnection, source: DuckDbImportSource): Promise<void> {
  const { schema } = source;
  if (schema.columns.length === 1) throw new Error('a one-column CSV (empty lines are values) is read by csv-import');
  const params: DuckDBValue[] = [];
  const columns = schema.columns.map((column) => `${checkedValue(column, params)} AS ${q(column.name)}`);
  const text = schema.columns.map((column) => `${sqlLiteral(column.name)}: 'VARCHAR'`).join(', ');
  const read = `read_csv(${sqlLiteral(source.path)}, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"',
    strict_mode = true, null_padding = false, max_line_size = ${MAX_LINE_BYTES}, all_varchar = true, columns = {${text}})`;
  // Checked rows first, in file order (DuckDB keeps insertion order, so rowid is the line's place): a
  // numbering window over the read would run on one thread.
  await connection.run(`CREATE OR REPLACE TEMP TABLE fedlab_checked AS SELECT ${columns.join(', ')} FROM ${read}`, params);
  await connection.run(personColumnsTable('SELECT *, rowid AS fedlab_line FROM fedlab_checked', schema.person, 'fedlab_line'));
}

/** One column of the fast path: its typed value, or `error()` for a value csv-import refuses (empty is NULL). */
function checkedValue(column: ColumnSchema, params: DuckDBValue[]): string {
  const c = q(column.name);
  const refuse = `error('fedlab: value refused')`;
  let typed: string;
  switch (column.type) {
    case 'integer':
      typed = `CASE WHEN regexp_full_match(${c}, '-?[0-9]+') AND abs(TRY_CAST(${c} AS HUGEINT)) <= ${MAX_SAFE} THEN CAST(${c} AS BIGINT) ELSE ${refuse} END`;
      break;
    case 'real':
      typed = `CASE WHEN regexp_full_match(${c}, '[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?') AND isfinite(TRY_CAST(${c} AS DOUBLE)) THEN CAST(${c} AS DOUBLE) ELSE ${refuse} END`;
      break;
    case 'date':
      typed = `CASE WHEN regexp_full_match(${c}, '[0-9]{4}-[0-9]{2}-[0-9]{2}') AND NOT starts_with(${c}, '0000') AND TRY_CAST(${c} AS DATE) IS NOT NULL THEN CAST(${c} AS DATE) ELSE ${refuse} END`;
      break;
    case 'boolean':
      typed = `CASE lower(${c}) WHEN 'true' THEN true WHEN '1' THEN true WHEN 'false' THEN false WHEN '0' THEN false ELSE ${refuse} END`;
      break;
    case 'text': {
      // A carriage return or a quote in a value is left to csv-import: its line endings are \n and \r\n only,
      // and it refuses a quote inside an unquoted field, which DuckDB's reader keeps as text.
      let allowed = `NOT contains(${c}, chr(13)) AND NOT contains(${c}, '"') AND NOT contains(${c}, chr(0))`;
      if (column.values !== undefined) {
        params.push(listValue(column.values));
        allowed += ` AND list_contains($${params.length}::VARCHAR[], ${c})`;
      }
      typed = `CASE WHEN ${allowed} THEN ${c} ELSE ${refuse} END`;
      break;
    }
  }
  return `CASE WHEN ${c} IS NULL OR ${c} = '' THEN ${column.nullable ? 'NULL' : refuse} ELSE ${typed} END`;
}

/** The slow path: csv-import's reader types every row (and throws its exact error); rows are appended to an in-memory table. */
async function appendCsv(connection: DuckDBConnection, source: DuckDbImportSource): Promise<void> {
  const { schema } = source;
  const definition = schema.columns.map((column) => `${q(column.name)} ${DUCKDB_TYPES[column.type]}`).join(', ');
  await connection.run(`CREATE OR REPLACE TABLE fedlab_staging (${definition})`);
  const appender = await connection.createAppender('fedlab_staging');
  const append = schema.columns.map((column) => appendValue(column));
  await readCsvRows({ csvPath: source.path, schema, file: source.file }, (rows, rowsDone, bytesDone) => {
    for (const row of rows) {
      for (let i = 0; i < row.length; i++) {
        if (row[i] === null) appender.appendNull();
        else append[i](appender, row[i]!);
      }
      appender.endRow();
    }
    appender.flushSync();
    if (bytesDone !== undefined) source.onProgress?.(rowsDone, bytesDone);
  });
  appender.closeSync();
}

type Appender = Awaited<ReturnType<DuckDBConnection['createAppender']>>;

function appendValue(column: ColumnSchema): (appender: Appender, value: Exclude<SqlValue, null>) => void {
  switch (column.type) {
    case 'integer':
      return (a, v) => a.appendBigInt(BigInt(v));
    case 'real':
      return (a, v) => a.appendDouble(v as number);
    case 'boolean':
      return (a, v) => a.appendBoolean(v === 1);
    case 'date':
      return (a, v) => {
        const [year, month, day] = (v as string).split('-').map(Number);
        a.appendDate(dateValue({ year, month, day }));
      };
    case 'text':
      return (a, v) => a.appendVarchar(v as string);
  }
}

/** The rows of a Parquet file as the schema's columns in their engine types, with the file's row number named `order`. */
export function parquetRows(path: string, schema: DatasetSchema, order = 'file_row_number'): string {
  const columns = schema.columns.map((column) => `CAST(${q(column.name)} AS ${DUCKDB_TYPES[column.type]}) AS ${q(column.name)}`);
  return `SELECT file_row_number AS ${q(order)}, ${columns.join(', ')} FROM read_parquet(${sqlLiteral(path)}, file_row_number = true)`;
}

/**
 * Checks that a Parquet file has exactly the schema's columns, each of a type its schema type accepts.
 *
 * @throws FedlabError SCHEMA_MISMATCH naming the column and both types; INVALID_ARGUMENT when the file
 * cannot be read as Parquet.
 */
export async function checkParquetColumns(connection: DuckDBConnection, path: string, file: string, schema: DatasetSchema): Promise<void> {
  let found: Map<string, string>;
  try {
    const reader = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlLiteral(path)})`);
    found = new Map(reader.getRowObjectsJS().map((row) => [String(row.column_name), String(row.column_type)]));
  } catch {
    throw new FedlabError('INVALID_ARGUMENT', `${file}: cannot read the Parquet file`, { file });
  }
  const mismatch = (column: string, message: string) => new FedlabError('SCHEMA_MISMATCH', `${file}: column "${column}" ${message}`, { file, column });
  for (const column of schema.columns) {
    const type = found.get(column.name);
    if (type === undefined) throw mismatch(column.name, `of the schema is not in the Parquet file`);
    const expected = PARQUET_TYPES[column.type];
    if (!expected.accepts(type)) throw mismatch(column.name, `is ${type} in the Parquet file, the schema's ${column.type} needs ${expected.names}`);
  }
  const names = new Set(schema.columns.map((column) => column.name));
  for (const name of found.keys()) if (!names.has(name)) throw mismatch(name, 'of the Parquet file is not in the schema');
}

/**
 * Checks every value of a Parquet file against the schema as csv-import checks a CSV's (null where not
 * nullable, integers beyond ±(2^53 − 1), reals not finite, text outside the listed values).
 *
 * @throws FedlabError CSV_BAD_VALUE at the first refused row (1-based) and column.
 */
export async function checkParquetValues(connection: DuckDBConnection, path: string, file: string, schema: DatasetSchema): Promise<void> {
  const params: DuckDBValue[] = [];
  const problems = schema.columns.map((column) => {
    const c = q(column.name);
    const conditions: Array<[string, string]> = [];
    if (!column.nullable) conditions.push([`${c} IS NULL`, 'null, but the column is not nullable']);
    if (column.type === 'integer') conditions.push([`abs(CAST(${c} AS HUGEINT)) > ${MAX_SAFE}`, 'integer out of range (beyond ±(2^53 − 1))']);
    if (column.type === 'real') conditions.push([`NOT isfinite(CAST(${c} AS DOUBLE))`, 'not a finite number']);
    if (column.type === 'date') conditions.push([`year(CAST(${c} AS DATE)) < 1`, 'not a valid date (expected YYYY-MM-DD)']);
    if (column.type === 'text') conditions.push([`contains(CAST(${c} AS VARCHAR), chr(0))`, 'contains a NUL character']);
    if (column.type === 'text' && column.values !== undefined) {
      params.push(listValue(column.values));
      conditions.push([`NOT list_contains($${params.length}::VARCHAR[], ${c})`, 'not one of the values the schema lists']);
    }
    return conditions;
  });
  const cases = problems.flatMap((conditions, i) => conditions.map(([condition], k) => `WHEN ${condition} THEN ${i * 100 + k}`));
  if (cases.length === 0) return;
  const reader = await connection.runAndReadAll(
    `SELECT file_row_number + 1 AS row, problem FROM (SELECT file_row_number, CASE ${cases.join(' ')} END AS problem
      FROM read_parquet(${sqlLiteral(path)}, file_row_number = true)) WHERE problem IS NOT NULL ORDER BY file_row_number LIMIT 1`,
    params,
  );
  const first = reader.getRowObjectsJS()[0];
  if (first === undefined) return;
  const problem = Number(first.problem);
  const column = schema.columns[Math.floor(problem / 100)].name;
  const reason = problems[Math.floor(problem / 100)][problem % 100][1];
  const row = Number(first.row);
  throw new FedlabError('CSV_BAD_VALUE', `${file} row ${row}, column "${column}": ${reason}`, { file, row, column });
}
