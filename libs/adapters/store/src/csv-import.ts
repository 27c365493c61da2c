import { statSync } from 'node:fs';
import path from 'node:path';
import { FedlabError, PERSON_RANK_COLUMN, PERSON_ROWS_COLUMN, type ColumnSchema, type DatasetSchema } from '@fedlab/model';
import BetterSqlite3 from 'better-sqlite3';
import { csvRecords } from './csv-records';
import { quoteIdentifier as q, type Database } from './database';
import { getDatasetSchema } from './dataset-catalog';
import { parseDatasetSchema } from './dataset-schema';
import { PersonCounts } from './person-counts';

/** Options of {@link importCsv}. */
export interface ImportCsvOptions {
  /** The file to import: a CSV, or for the DuckDB engine also a Parquet file (`.parquet`). */
  csvPath: string;
  /**
   * DuckDB engine only: register the Parquet file `csvPath` where it is instead of copying it (its columns
   * are checked at registration and before every query; it gets no person columns).
   */
  inPlace?: boolean;
  schema: DatasetSchema;
  /** Called after every batch of staged rows and once at the end (then `bytesDone === totalBytes`). */
  onProgress?: (rowsDone: number, bytesDone: number, totalBytes: number) => void;
  /**
   * Called in the publishing transaction with the schema being replaced (if any); throwing refuses
   * the import and leaves the previous table and schema as they were.
   */
  checkSchemaChange?: (previous: DatasetSchema | undefined, next: DatasetSchema) => void;
}

export interface ImportCsvResult {
  rows: number;
}

/** Prefix of the table a running import stages its rows in (`fedlab_import_<dataset>`). */
export const STAGING_TABLE_PREFIX = 'fedlab_import_';

const BATCH_ROWS = 5000;
const SQL_TYPES: Record<ColumnSchema['type'], string> = {
  text: 'TEXT',
  integer: 'INTEGER',
  real: 'REAL',
  date: 'TEXT',
  boolean: 'INTEGER',
};
const running = new WeakMap<Database, Set<string>>();

/** A typed CSV value: a number, text (dates as `YYYY-MM-DD`), 0/1 for a boolean, or null when empty. */
export type SqlValue = string | number | null;

/** Thrown by a value converter; carries the reason only, never the value. */
class ValueRejected extends Error {}

/**
 * Imports a CSV file (RFC 4180, UTF-8, optional BOM, header row equal to the schema's column names) into
 * the table named after the dataset, replacing any previous import of that dataset atomically.
 *
 * Rows are typed per column and staged in `fedlab_import_<dataset>` in batches; one final transaction
 * drops the old table, renames the staging table, creates an index on every quasi-identifier and date
 * column and records the schema and row count in `fedlab_datasets`. On any failure the staging table is
 * dropped and the previous table and catalog entry are untouched. (No single transaction spans the whole
 * read: better-sqlite3 is synchronous, so a transaction held across `await`s would swallow statements other
 * code runs on the same connection meanwhile, such as audit entries, and roll them back with a failed import.)
 *
 * Throws FedlabError with `details {file, line, column?}` and 1-based physical line numbers (the header is
 * line 1): CSV_HEADER_MISMATCH, CSV_COLUMN_COUNT, CSV_BAD_VALUE (the value itself is never echoed),
 * CSV_BAD_ENCODING, INVALID_ARGUMENT (unreadable file, broken quoting); INTERNAL when SQLite fails.
 */
export async function importCsv(db: Database, options: ImportCsvOptions): Promise<ImportCsvResult> {
  const { csvPath, onProgress } = options;
  const file = path.basename(csvPath);
  const schema = parseDatasetSchema(options.schema, `${file}: schema`);
  const totalBytes = importFileSize(csvPath, file);
  const datasets = running.get(db) ?? new Set<string>();
  running.set(db, datasets);
  if (datasets.has(schema.dataset)) {
    throw new FedlabError('INVALID_ARGUMENT', `${file}: dataset "${schema.dataset}" is already being imported`, {
      file,
    });
  }
  datasets.add(schema.dataset);
  const staging = `${STAGING_TABLE_PREFIX}${schema.dataset}`;
  try {
    db.exec(`DROP TABLE IF EXISTS ${q(staging)}`);
    db.exec(createTableSql(staging, schema));
    const persons = await countPersons(csvPath, schema, file);
    const rows = await stageRows(db, staging, schema, { csvPath, file, persons }, (rowsDone, bytesDone) => onProgress?.(rowsDone, bytesDone, totalBytes));
    if (persons === undefined || !persons.complete()) countPersonRows(db, staging, schema.person);
    publish(db, schema, staging, rows, options.checkSchemaChange);
    onProgress?.(rows, totalBytes, totalBytes);
    return { rows };
  } catch (error) {
    dropQuietly(db, staging);
    throw asImportError(error, file);
  } finally {
    datasets.delete(schema.dataset);
  }
}

/** The size of the file to import, refusing what cannot be read or is not a file (INVALID_ARGUMENT). */
export function importFileSize(csvPath: string, file: string): number {
  try {
    const stats = statSync(csvPath);
    if (stats.isFile()) return stats.size;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new FedlabError('INVALID_ARGUMENT', `${file}: cannot read the CSV file (${code})`, { file });
  }
  throw new FedlabError('INVALID_ARGUMENT', `${file}: not a file`, { file });
}

function createTableSql(table: string, schema: DatasetSchema): string {
  const columns = schema.columns.map((column) => `${q(column.name)} ${SQL_TYPES[column.type]}${column.nullable ? '' : ' NOT NULL'}`);
  columns.push(`${q(PERSON_ROWS_COLUMN)} INTEGER`, `${q(PERSON_RANK_COLUMN)} INTEGER`);
  return `CREATE TABLE ${q(table)} (${columns.join(', ')}) STRICT`;
}

/** More persons than this in one file are counted by SQLite (a window over the staged rows), not in memory. */
const MAX_COUNTED_PERSONS = 4_000_000;

/**
 * The first pass of an import: each person's number of rows, or undefined when the file needs csv-parse
 * (quotes, carriage returns), has an error (the second pass reports it), or holds too many persons.
 */
async function countPersons(csvPath: string, schema: DatasetSchema, file: string): Promise<PersonCounts | undefined> {
  const index = schema.columns.findIndex((column) => column.name === schema.person);
  const convert = converterFor(schema.columns[index]);
  const persons = new PersonCounts();
  const { records, reading } = csvRecords(csvPath, { file, multiColumn: schema.columns.length > 1, plainOnly: true });
  let header = true;
  try {
    for await (const group of records) {
      for (const { record } of group) {
        if (header) {
          header = false;
          continue;
        }
        if (record.length !== schema.columns.length) return undefined;
        persons.count(convert(record[index]));
      }
      if (persons.size > MAX_COUNTED_PERSONS) return undefined;
    }
  } catch {
    return undefined;
  }
  return reading.plain && reading.encodingError === undefined ? persons : undefined;
}

/** Rows per INSERT statement when staging (SQLite's limit of 32,766 parameters allows 100 rows of 300 columns). */
const INSERT_ROWS = 100;

/**
 * The second pass: stages the typed rows, with their person columns when the first pass counted them
 * (otherwise NULL, filled by {@link countPersonRows} afterwards).
 */
async function stageRows(
  db: Database,
  staging: string,
  schema: DatasetSchema,
  source: { csvPath: string; file: string; persons: PersonCounts | undefined },
  progress: (rowsDone: number, bytesDone: number) => void,
): Promise<number> {
  const { csvPath, file, persons } = source;
  const width = schema.columns.length + 2;
  const person = schema.columns.findIndex((column) => column.name === schema.person);
  const values = (rows: number) => Array.from({ length: rows }, () => `(${Array(width).fill('?').join(', ')})`).join(', ');
  const insertMany = db.prepare(`INSERT INTO ${q(staging)} VALUES ${values(INSERT_ROWS)}`);
  const insertOne = db.prepare(`INSERT INTO ${q(staging)} VALUES ${values(1)}`);
  const parameters: SqlValue[] = new Array<SqlValue>(width * INSERT_ROWS);
  const insertBatch = db.transaction((batch: SqlValue[][]) => {
    let filled = 0;
    for (const row of batch) {
      const offset = filled * width;
      for (let i = 0; i < row.length; i++) parameters[offset + i] = row[i];
      if (persons === undefined) {
        parameters[offset + width - 2] = null;
        parameters[offset + width - 1] = null;
      } else {
        persons.next(row[person]);
        parameters[offset + width - 2] = persons.rows;
        parameters[offset + width - 1] = persons.rank;
      }
      if (++filled === INSERT_ROWS) {
        insertMany.run(parameters);
        filled = 0;
      }
    }
    for (let k = 0; k < filled; k++) insertOne.run(parameters.slice(k * width, (k + 1) * width));
  });
  return readCsvRows({ csvPath, schema, file }, (batch, rowsDone, bytesDone) => {
    insertBatch(batch);
    if (bytesDone !== undefined) progress(rowsDone, bytesDone);
  });
}

/** A CSV file to read as a dataset's rows ({@link readCsvRows}). */
export interface CsvRowsSource {
  csvPath: string;
  /** The dataset's schema, already validated ({@link parseDatasetSchema}). */
  schema: DatasetSchema;
  /** The file's name as error messages give it. */
  file: string;
  /** Stop after checking the header row (no row is read or passed on). */
  headerOnly?: boolean;
}

/**
 * Reads, checks and types the rows of a CSV file exactly as {@link importCsv} imports them, without any
 * database: every engine's import reports the same errors (codes, messages, line numbers) through it.
 * `onBatch` gets the typed rows in batches in file order (integers and reals as numbers, dates as
 * `YYYY-MM-DD`, booleans as 0/1, empty as null) with the rows passed so far and, except for the last
 * batch, the bytes read so far; it is awaited. Returns the number of rows (header not counted).
 *
 * @throws FedlabError CSV_HEADER_MISMATCH, CSV_COLUMN_COUNT, CSV_BAD_VALUE, CSV_BAD_ENCODING or
 * INVALID_ARGUMENT as {@link importCsv} documents.
 */
export async function readCsvRows(
  source: CsvRowsSource,
  onBatch: (rows: SqlValue[][], rowsDone: number, bytesDone: number | undefined) => void | Promise<void>,
): Promise<number> {
  const { csvPath, schema, file } = source;
  const converters = schema.columns.map(converterFor);
  const { records, reading } = csvRecords(csvPath, { file, multiColumn: schema.columns.length > 1 });
  let headerSeen = false;
  let rows = 0;
  let batch: SqlValue[][] = [];
  for await (const group of records) {
    for (const { record, line, bytes } of group) {
      if (!headerSeen) {
        checkHeader(record, schema, file);
        headerSeen = true;
        if (source.headerOnly) return 0;
        continue;
      }
      batch.push(typeRecord(record, schema.columns, converters, file, line));
      if (batch.length === BATCH_ROWS) {
        rows += batch.length;
        await onBatch(batch, rows, bytes);
        batch = [];
      }
    }
  }
  if (reading.encodingError !== undefined) {
    const { line } = reading.encodingError;
    throw new FedlabError('CSV_BAD_ENCODING', `${file} line ${line}: invalid UTF-8`, { file, line });
  }
  if (!headerSeen) {
    throw new FedlabError('CSV_HEADER_MISMATCH', `${file}: the file is empty, the schema expects a header row`, {
      file,
      line: 1,
    });
  }
  rows += batch.length;
  await onBatch(batch, rows, undefined);
  return rows;
}

/**
 * Reads the rows of a CSV file as {@link readCsvRows} does when the file is in the shape most files have:
 * valid UTF-8 (a BOM allowed), no double quote anywhere, no carriage return except before a newline, no line
 * near the row size limit (the quote-free stretches of {@link csvRecords}), no blank line, every row of the schema's column
 * count (two or more) with values the schema accepts. `onBatch` also gets each row's fields as written. On
 * anything else — including any error the full reader would report — it stops and returns undefined: the
 * caller discards the rows it was given and reads the file with {@link readCsvRows}, which reports the exact
 * error (code, message, line) or reads the file.
 */
export async function readSimpleCsvRows(
  source: CsvRowsSource,
  onBatch: (rows: SqlValue[][], rowsDone: number, bytesDone: number | undefined, fields: string[][]) => void | Promise<void>,
): Promise<number | undefined> {
  const { csvPath, schema, file } = source;
  const width = schema.columns.length;
  if (width < 2) return undefined;
  const names = schema.columns.map((column) => column.name).join(',');
  const converters = schema.columns.map(converterFor);
  const { records, reading } = csvRecords(csvPath, { file, multiColumn: true, plainOnly: true });
  let headerSeen = false;
  let line = 0;
  let rows = 0;
  let batch: SqlValue[][] = [];
  let batchFields: string[][] = [];
  try {
    for await (const group of records) {
      for (const { record, bytes, line: at } of group) {
        // A blank line (skipped, so a line number left out) is the full reader's, as the callers' counting expects.
        if (at !== ++line) return undefined;
        if (!headerSeen) {
          if (record.join(',') !== names) return undefined;
          headerSeen = true;
          continue;
        }
        if (record.length !== width) return undefined;
        const row: SqlValue[] = new Array<SqlValue>(width);
        for (let i = 0; i < width; i++) row[i] = converters[i]!(record[i]!);
        batch.push(row);
        batchFields.push(record);
        if (batch.length >= BATCH_ROWS) {
          rows += batch.length;
          await onBatch(batch, rows, bytes, batchFields);
          batch = [];
          batchFields = [];
        }
      }
    }
  } catch (error) {
    if (error instanceof ValueRejected) return undefined;
    throw error;
  }
  if (!reading.plain || reading.encodingError !== undefined || !headerSeen) return undefined;
  rows += batch.length;
  await onBatch(batch, rows, undefined, batchFields);
  return rows;
}

function checkHeader(header: string[], schema: DatasetSchema, file: string): void {
  const expected = schema.columns.map((column) => column.name);
  const fail = (column: number, message: string): never => {
    throw new FedlabError('CSV_HEADER_MISMATCH', `${file}: ${message}`, { file, line: 1, column });
  };
  // Header cells are never echoed: in a file that lacks its header row they are data values.
  for (let i = 0; i < Math.min(header.length, expected.length); i++) {
    if (header[i] !== expected[i]) {
      fail(i + 1, `header column ${i + 1} is not "${expected[i]}" as the schema expects`);
    }
  }
  const counts = `header has ${header.length} columns, schema expects ${expected.length}`;
  if (header.length < expected.length) fail(header.length + 1, `${counts} (missing "${expected[header.length]}")`);
  if (header.length > expected.length) fail(expected.length + 1, `${counts} (column ${expected.length + 1} is extra)`);
}

function typeRecord(record: string[], columns: ColumnSchema[], converters: Array<(raw: string) => SqlValue>, file: string, line: number): SqlValue[] {
  if (record.length !== columns.length) {
    throw new FedlabError('CSV_COLUMN_COUNT', `${file} line ${line}: expected ${columns.length} columns, found ${record.length}`, {
      file,
      line,
      expected: columns.length,
      found: record.length,
    });
  }
  return record.map((raw, i) => {
    try {
      return converters[i](raw);
    } catch (error) {
      if (!(error instanceof ValueRejected)) throw error;
      const column = columns[i].name;
      throw new FedlabError('CSV_BAD_VALUE', `${file} line ${line}, column "${column}": ${error.message}`, {
        file,
        line,
        column,
      });
    }
  });
}

const INTEGER = /^-?\d+$/;
const REAL = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The value of `length` ASCII digits of `raw` from `at`, or -1 when one is not a digit 0-9. */
function digits(raw: string, at: number, length: number): number {
  let value = 0;
  for (let i = at; i < at + length; i++) {
    const digit = raw.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** `YYYY-MM-DD` (ASCII digits 0-9) naming a day of the proleptic Gregorian calendar; read without allocating. */
function isValidDate(raw: string): boolean {
  if (raw.length !== 10 || raw.charCodeAt(4) !== 45 || raw.charCodeAt(7) !== 45) return false;
  const year = digits(raw, 0, 4);
  const month = digits(raw, 5, 2);
  const day = digits(raw, 8, 2);
  // Year 0000 is refused: PostgreSQL has no year 0, and every engine must take the same dates.
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!);
}

/**
 * Builds the parser of one column: a CSV value as the column's typed value, exactly as the readers type it.
 * Text is kept exactly as written (no trimming); empty means NULL. Throws (the reason only, never the
 * value) on a value the column refuses.
 */
export function converterFor(column: ColumnSchema): (raw: string) => SqlValue {
  const allowed = column.values === undefined ? undefined : new Set(column.values);
  const convert = (raw: string): SqlValue => {
    switch (column.type) {
      case 'integer': {
        const value = Number(raw);
        if (!INTEGER.test(raw)) throw new ValueRejected('not an integer');
        if (!Number.isSafeInteger(value)) throw new ValueRejected('integer out of range (beyond ±(2^53 − 1))');
        return value;
      }
      case 'real': {
        const value = Number(raw);
        if (!REAL.test(raw) || !Number.isFinite(value)) throw new ValueRejected('not a finite number');
        return value;
      }
      case 'date':
        if (!isValidDate(raw)) throw new ValueRejected('not a valid date (expected YYYY-MM-DD)');
        return raw;
      case 'boolean': {
        const lower = raw.toLowerCase();
        if (lower === 'true' || lower === '1') return 1;
        if (lower === 'false' || lower === '0') return 0;
        throw new ValueRejected('not a boolean (expected true, false, 1 or 0)');
      }
      case 'text':
        if (allowed !== undefined && !allowed.has(raw)) {
          throw new ValueRejected('not one of the values the schema lists');
        }
        // PostgreSQL cannot store a NUL character in text, and every engine must take the same values.
        if (raw.includes('\0')) throw new ValueRejected('contains a NUL character');
        return raw;
    }
  };
  return (raw) => {
    if (raw !== '') return convert(raw);
    if (column.nullable) return null;
    throw new ValueRejected('empty, but the column is not nullable');
  };
}

/** Fills the node's person columns of the staged rows: the person's number of rows in the file, and the row's rank among them by rowid. */
function countPersonRows(db: Database, staging: string, person: string): void {
  const t = q(staging);
  const [rows, rank] = [q(PERSON_ROWS_COLUMN), q(PERSON_RANK_COLUMN)];
  const p = q(person);
  db.exec(
    `UPDATE ${t} SET ${rows} = w.n, ${rank} = w.r FROM (SELECT rowid AS id, COUNT(*) OVER (PARTITION BY ${p}) AS n, ROW_NUMBER() OVER (PARTITION BY ${p} ORDER BY rowid) AS r FROM ${t}) AS w WHERE ${t}.rowid = w.id`,
  );
}

function publish(db: Database, schema: DatasetSchema, staging: string, rows: number, check?: ImportCsvOptions['checkSchemaChange']): void {
  const name = schema.dataset;
  const upsert = db.prepare(
    `INSERT INTO fedlab_datasets (name, schema_json, row_count, imported_at, engine, location, in_place) VALUES (?, ?, ?, ?, 'sqlite', NULL, 0)
     ON CONFLICT (name) DO UPDATE SET schema_json = excluded.schema_json, row_count = excluded.row_count,
       imported_at = MAX(excluded.imported_at, fedlab_datasets.imported_at + 1), engine = excluded.engine, location = NULL, in_place = 0`,
  );
  db.transaction(() => {
    check?.(getDatasetSchema(db, name), schema);
    db.exec(`DROP TABLE IF EXISTS ${q(name)}`);
    db.exec(`ALTER TABLE ${q(staging)} RENAME TO ${q(name)}`);
    for (const column of schema.columns) {
      if (column.role !== 'quasi_identifier' && column.role !== 'date') continue;
      // ':' cannot occur in a dataset or column name, so index names never collide.
      db.exec(`CREATE INDEX ${q(`${name}:${column.name}`)} ON ${q(name)} (${q(column.name)})`);
    }
    upsert.run(name, JSON.stringify(schema), rows, Date.now());
  }).immediate();
}

function dropQuietly(db: Database, table: string): void {
  try {
    db.exec(`DROP TABLE IF EXISTS ${q(table)}`);
  } catch {
    // A staging table that cannot be dropped now (e.g. disk full) is dropped by the next import of the dataset.
  }
}

function asImportError(error: unknown, file: string): unknown {
  const { syscall, code } = error as NodeJS.ErrnoException;
  if (typeof syscall === 'string') {
    return new FedlabError('INVALID_ARGUMENT', `${file}: cannot read the CSV file (${code ?? syscall})`, { file });
  }
  if (!(error instanceof BetterSqlite3.SqliteError)) return error;
  return new FedlabError('INTERNAL', `${file}: import failed, nothing was changed (${error.code}: ${error.message})`, {
    file,
    sqliteCode: error.code,
  });
}
