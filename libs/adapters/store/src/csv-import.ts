import { createReadStream, statSync } from 'node:fs';
import path from 'node:path';
import { Readable, pipeline } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { FedlabError, PERSON_RANK_COLUMN, PERSON_ROWS_COLUMN, type ColumnSchema, type DatasetSchema } from '@fedlab/model';
import BetterSqlite3 from 'better-sqlite3';
import { CsvError, parse, type CsvErrorCode, type InfoRecord, type Options } from 'csv-parse';
import { quoteIdentifier as q, type Database } from './database';
import { getDatasetSchema } from './dataset-catalog';
import { parseDatasetSchema } from './dataset-schema';
import { Utf8Validator, type Utf8Error } from './utf8-validator';

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
const MAX_RECORD_BYTES = 1 << 20;
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

interface ParsedRecord {
  record: string[];
  /** The physical line the record starts on. */
  line: number;
  /** Bytes of the file parsed up to the end of the record. */
  bytes: number;
}

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
    const rows = await stageRows(db, staging, schema, csvPath, file, (rowsDone, bytesDone) => onProgress?.(rowsDone, bytesDone, totalBytes));
    countPersonRows(db, staging, schema.person);
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
  return `CREATE TABLE ${q(table)} (${columns.join(', ')}) STRICT`;
}

async function stageRows(
  db: Database,
  staging: string,
  schema: DatasetSchema,
  csvPath: string,
  file: string,
  progress: (rowsDone: number, bytesDone: number) => void,
): Promise<number> {
  const insert = db.prepare(`INSERT INTO ${q(staging)} VALUES (${schema.columns.map(() => '?').join(', ')})`);
  const insertBatch = db.transaction((batch: SqlValue[][]) => {
    for (const row of batch) insert.run(row);
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
  const reading: { encodingError?: Utf8Error } = {};
  // Tracked as the parser emits records (it runs ahead of this loop), so errors get the right line too.
  let previousEndLine = 0;
  let previousEmptyLines = 0;
  const startLine = (emptyLines: number) => previousEndLine + 1 + emptyLines - previousEmptyLines;
  const options: Options<ParsedRecord, string[]> = {
    bom: true,
    relax_column_count: true,
    record_delimiter: ['\r\n', '\n'],
    // With a single column an empty line is an empty value, not a blank line to skip.
    skip_empty_lines: schema.columns.length > 1,
    max_record_size: MAX_RECORD_BYTES,
    on_record: (record, context: InfoRecord) => {
      const line = startLine(context.empty_lines);
      previousEndLine = context.lines;
      previousEmptyLines = context.empty_lines;
      return { record, line, bytes: context.bytes };
    },
  };
  // csv-parse's overloads only accept a generic on_record together with the `columns` option.
  const parser = parse(options as unknown as Options);
  pipeline(Readable.from(validatedLines(csvPath, reading), { objectMode: false }), parser, () => undefined);

  let headerSeen = false;
  let rows = 0;
  let batch: SqlValue[][] = [];
  try {
    for await (const { record, line, bytes } of parser as AsyncIterable<ParsedRecord>) {
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
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    // Reading stops at the line with invalid UTF-8, so the parser may fail on the cut-off text before it.
    if (reading.encodingError === undefined) {
      const emptyLines = typeof error.empty_lines === 'number' ? error.empty_lines : previousEmptyLines;
      throw syntaxError(error, file, startLine(emptyLines));
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
 * Reads the rows of a CSV file as {@link readCsvRows} does, faster, when the file is in the shape most
 * files have: valid UTF-8 (a BOM allowed), no double quote anywhere, no blank line before the end, no
 * carriage return except before a newline, every row of the schema's column count (two or more) with
 * values the schema accepts, and no line near the row size limit. In such a file every line is one record
 * and every comma a separator, so splitting lines on commas gives exactly the full reader's records, and
 * every value goes through the same converters; `onBatch` also gets each row's fields as written. On anything else — including any error the full reader
 * would report — it stops and returns undefined: the caller discards the rows it was given and reads the
 * file with {@link readCsvRows}, which reports the exact error (code, message, line) or reads the file.
 */
export async function readSimpleCsvRows(
  source: CsvRowsSource,
  onBatch: (rows: SqlValue[][], rowsDone: number, bytesDone: number | undefined, fields: string[][]) => void | Promise<void>,
): Promise<number | undefined> {
  const { csvPath, schema } = source;
  const width = schema.columns.length;
  if (width < 2) return undefined;
  const names = schema.columns.map((column) => column.name).join(',');
  const converters = schema.columns.map(converterFor);
  const validator = new Utf8Validator();
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let start = true;
  let headerSeen = false;
  let rows = 0;
  let bytes = 0;
  let batch: SqlValue[][] = [];
  let batchFields: string[][] = [];
  /** One line without its newline; false when it is anything the full reader must read. */
  const take = (line: string): boolean => {
    if (line.length === 0 || line.length > MAX_SIMPLE_LINE || line.includes('\r')) return false;
    if (!headerSeen) {
      headerSeen = line === names;
      return headerSeen;
    }
    const fields = line.split(',');
    if (fields.length !== width) return false;
    try {
      const row: SqlValue[] = new Array<SqlValue>(width);
      for (let i = 0; i < width; i++) row[i] = converters[i]!(fields[i]!);
      batch.push(row);
      batchFields.push(fields);
      return true;
    } catch (error) {
      if (error instanceof ValueRejected) return false;
      throw error;
    }
  };
  for await (const chunk of createReadStream(csvPath, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    if (validator.push(chunk) !== undefined || chunk.includes(0x22)) return undefined;
    bytes += chunk.length;
    let text = decoder.write(chunk);
    if (start && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      start = false;
    }
    const lines = (pending + text).split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (!take(line.endsWith('\r') ? line.slice(0, -1) : line)) return undefined;
    }
    if (pending.length > MAX_SIMPLE_LINE) return undefined;
    if (batch.length >= BATCH_ROWS) {
      rows += batch.length;
      await onBatch(batch, rows, bytes - Buffer.byteLength(pending), batchFields);
      batch = [];
      batchFields = [];
    }
  }
  if (validator.end() !== undefined) return undefined;
  pending += decoder.end();
  if (pending.length > 0 && !take(pending)) return undefined;
  if (!headerSeen) return undefined;
  rows += batch.length;
  await onBatch(batch, rows, undefined, batchFields);
  return rows;
}

/** The longest line {@link readSimpleCsvRows} reads (characters): far below the row size limit in bytes. */
const MAX_SIMPLE_LINE = MAX_RECORD_BYTES / 4;

/**
 * Yields the file's bytes in whole lines (up to the row size limit) after checking they are valid UTF-8.
 * At invalid UTF-8 it yields the lines before the offending one, records the error and stops, so earlier
 * rows are checked (and their errors reported) first.
 */
async function* validatedLines(csvPath: string, reading: { encodingError?: Utf8Error }): AsyncGenerator<Buffer> {
  const validator = new Utf8Validator();
  let pending: Buffer = Buffer.alloc(0);
  let pendingStart = 0;
  for await (const chunk of createReadStream(csvPath) as AsyncIterable<Buffer>) {
    const error = validator.push(chunk);
    const data = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    if (error !== undefined) {
      reading.encodingError = error;
      if (error.lineStart > pendingStart) yield data.subarray(0, error.lineStart - pendingStart);
      return;
    }
    // A line longer than any valid row is passed on whole, for the parser to reject.
    const cut = data.length > MAX_RECORD_BYTES ? data.length : data.lastIndexOf(0x0a) + 1;
    if (cut > 0) yield data.subarray(0, cut);
    pending = data.subarray(cut);
    pendingStart += cut;
  }
  reading.encodingError = validator.end();
  if (reading.encodingError === undefined && pending.length > 0) yield pending;
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
  if (year < 0 || month < 1 || month > 12 || day < 1) return false;
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
  db.exec(`ALTER TABLE ${t} ADD COLUMN ${rows} INTEGER; ALTER TABLE ${t} ADD COLUMN ${rank} INTEGER`);
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
       imported_at = excluded.imported_at, engine = excluded.engine, location = NULL, in_place = 0`,
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

const SYNTAX_PROBLEMS: Partial<Record<CsvErrorCode, string>> = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is not closed before the end of the file',
  CSV_INVALID_CLOSING_QUOTE: 'a closing quote is not followed by a comma or the end of the line',
  INVALID_OPENING_QUOTE: 'a quote appears inside an unquoted field',
  CSV_MAX_RECORD_SIZE: `a row is longer than ${MAX_RECORD_BYTES} bytes (is a quote not closed?)`,
};

/**
 * Maps csv-parse errors to messages of our own (theirs can quote characters of the data), reported at the
 * line where the offending row starts.
 */
function syntaxError(error: CsvError, file: string, line: number): FedlabError {
  const problem = SYNTAX_PROBLEMS[error.code] ?? `not valid CSV (${error.code})`;
  return new FedlabError('INVALID_ARGUMENT', `${file} line ${line}: ${problem}`, { file, line });
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
