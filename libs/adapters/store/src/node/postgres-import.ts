import { once } from 'node:events';
import { createReadStream, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { finished } from 'node:stream/promises';
import { FedlabError, PERSON_RANK_COLUMN, PERSON_ROWS_COLUMN, type ColumnSchema, type DatasetSchema } from '@fedlab/model';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { converterFor, readCsvRows, readSimpleCsvRows, type CsvRowsSource, type SqlValue } from '../csv-import';
import { PersonCounts } from '../person-counts';
import { quoteIdentifier as q } from '../database';

/** The PostgreSQL schema that holds the tables `fedlab node import` writes (created by the steward, owned by the import role). */
export const POSTGRES_IMPORT_SCHEMA = 'fedlab_import';

/** The environment variable that holds the import role's connection string, unless node.yaml names another (`engine.import_url_env`). */
export const POSTGRES_IMPORT_URL_ENV = 'FEDLAB_PG_IMPORT_URL';

/** The column of an imported table that keeps each row's place in the CSV file (its import order); queries see it as `rowid`. */
export const POSTGRES_ORDER_COLUMN = 'fedlab_row';

/** The PostgreSQL types an import stores each schema type as. */
export const POSTGRES_TYPES: Record<ColumnSchema['type'], string> = {
  text: 'text',
  integer: 'bigint',
  real: 'double precision',
  date: 'date',
  boolean: 'boolean',
};

/**
 * Bytes of COPY data the import may have encoded ahead of the server: enough that reading and checking the
 * next rows overlaps the server's writing of the last ones, instead of waiting for each batch to drain.
 */
const COPY_BUFFER_BYTES = 4 * 1024 * 1024;

/** Memory for the sort of the person columns (the import's own transaction only). */
const IMPORT_WORK_MEM = '256MB';

/** What {@link writePostgresDataset} reads. */
export interface PostgresImportSource {
  csvPath: string;
  /** The file's name as messages give it. */
  file: string;
  /** The dataset's schema, already validated. */
  schema: DatasetSchema;
  /** The file's size (progress is reported against it). */
  totalBytes: number;
  onProgress?: (rowsDone: number, bytesDone: number) => void;
}

/**
 * Writes a CSV file's rows, read and checked as the SQLite importer checks them (its exact errors), into a
 * new table `fedlab_import.<table>` in one transaction of `client`, a connection of the import role, with
 * the person columns (rows per person, rank in import order) and the import-order column
 * {@link POSTGRES_ORDER_COLUMN}. The typed rows are streamed through `COPY … FROM STDIN` (text format).
 *
 * A file the simple reader takes ({@link readSimpleCsvRows}: most files) is read twice in JavaScript: once
 * to count each person's rows, then again to copy every row straight into the table with both person
 * columns, so PostgreSQL writes the rows once and sorts nothing. Any other file, or one with more than
 * `maxPersons` persons (the counts are kept in memory), is copied into an unlogged staging table with the
 * full reader ({@link readCsvRows}, which reports the exact error of a refused file), and the person
 * columns are computed by window functions while the rows are copied into the table.
 *
 * On any failure the transaction is rolled back (the connection is left to the caller to end), so nothing
 * is left on the server. Returns the number of rows.
 */
export async function writePostgresDataset(client: pg.Client, table: string, source: PostgresImportSource, maxPersons = MAX_COUNTED_PERSONS): Promise<number> {
  const { schema } = source;
  const target = `${q(POSTGRES_IMPORT_SCHEMA)}.${q(table)}`;
  const order = q(POSTGRES_ORDER_COLUMN);
  const definitions = schema.columns.map((c) => `${q(c.name)} ${POSTGRES_TYPES[c.type]}${c.nullable ? '' : ' NOT NULL'}`);
  await client.query('BEGIN READ WRITE');
  // Created in this transaction: never visible to another session, gone with a rollback or a lost connection.
  await client.query(
    `CREATE TABLE ${target} (${definitions.join(', ')}, ${order} bigint NOT NULL, ${q(PERSON_ROWS_COLUMN)} bigint NOT NULL, ${q(PERSON_RANK_COLUMN)} bigint NOT NULL)`,
  );
  const half = (rowsDone: number, bytesDone: number, second: boolean) =>
    source.onProgress?.(rowsDone, Math.round(bytesDone / 2) + (second ? source.totalBytes - Math.round(source.totalBytes / 2) : 0));
  const before = fileVersion(source.csvPath);
  const counts = await countPersons(source, maxPersons, (bytesDone) => half(0, bytesDone, false));
  let rows: number | undefined;
  if (counts !== undefined) {
    const columns = personColumns(counts, source);
    rows = await copyRows(client, target, source, readSimpleCsvRows, columns.extra, (rowsDone, bytesDone) => half(rowsDone, bytesDone, true));
    // The counts hold for the rows only if both readings read the same file.
    if (fileVersion(source.csvPath) !== before || (rows !== undefined && !columns.complete())) throw fileChanged(source.file);
    // The second reading gave up on what the first, which reads only the person's field, let pass (another
    // field's bad value, a stray carriage return, invalid UTF-8 …): the rows copied so far are emptied
    // out, and the file is read again as any other, by the full reader, which refuses it exactly or reads it.
    if (rows === undefined) await client.query(`TRUNCATE ${target}`);
  }
  if (rows === undefined) rows = await copyWithWindows(client, table, target, source);
  await client.query(`COMMENT ON TABLE ${target} IS ${literal(`fedlab dataset ${schema.dataset}`)}`);
  await client.query(`ANALYZE ${target}`);
  await client.query('COMMIT');
  return rows;
}

/** A file's size and modification time, to tell that it did not change between two readings. */
function fileVersion(file: string): string {
  const { size, mtimeMs } = statSync(file);
  return `${size}:${mtimeMs}`;
}

/** Persons whose rows the import counts in memory at most (beyond, PostgreSQL computes the person columns). */
const MAX_COUNTED_PERSONS = 2_000_000;

/** The staged path: the full reader's rows into an unlogged staging table, then into `target` with the person columns from window functions. */
async function copyWithWindows(client: pg.Client, table: string, target: string, source: PostgresImportSource): Promise<number> {
  const { schema } = source;
  const staging = `${q(POSTGRES_IMPORT_SCHEMA)}.${q(`${table}_staging`)}`;
  const order = q(POSTGRES_ORDER_COLUMN);
  const columns = schema.columns.map((c) => q(c.name)).join(', ');
  const definitions = schema.columns.map((c) => `${q(c.name)} ${POSTGRES_TYPES[c.type]}`);
  await client.query(`SET LOCAL work_mem = '${IMPORT_WORK_MEM}'`);
  await client.query(`CREATE UNLOGGED TABLE ${staging} (${definitions.join(', ')}, ${order} bigint NOT NULL)`);
  const rows = (await copyRows(client, staging, source, readCsvRows, undefined, source.onProgress))!;
  const p = q(schema.person);
  await client.query(
    `INSERT INTO ${target} SELECT ${columns}, ${order}, count(*) OVER (PARTITION BY ${p}), row_number() OVER (PARTITION BY ${p} ORDER BY ${order}) FROM ${staging}`,
  );
  await client.query(`DROP TABLE ${staging}`);
  return rows;
}

/**
 * The first reading: each person's number of rows, by the person's typed value (PostgreSQL's PARTITION BY
 * groups by the same equality). Only the person's field of each line is read and typed: the second
 * reading checks everything, and its rows are exactly these lines when it completes (the simple reader
 * takes every line after the header as one record, a trailing carriage return cut off). Undefined when the
 * file has a quote (the simple reader would give up), a person value the column refuses, or more than
 * `maxPersons` persons.
 */
async function countPersons(source: PostgresImportSource, maxPersons: number, progress: (bytesDone: number) => void): Promise<PersonCounts | undefined> {
  const { schema } = source;
  // A one-column file is for the full reader (its blank lines are values).
  if (schema.columns.length < 2) return undefined;
  const index = schema.columns.findIndex((c) => c.name === schema.person);
  const typed = converterFor(schema.columns[index]!);
  const counts = new PersonCounts();
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let header = true;
  let bytes = 0;
  const count = (line: string): boolean => {
    // A blank line is skipped by the readers, so it is no row to count: such a file takes the staged path.
    if (line.length === 0) return false;
    if (header) {
      header = false;
      return true;
    }
    const raw = fieldOf(line, index);
    if (raw === undefined) return false;
    let key: SqlValue;
    try {
      key = typed(raw);
    } catch {
      return false;
    }
    counts.count(key);
    return true;
  };
  for await (const chunk of createReadStream(source.csvPath, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    if (chunk.includes(0x22)) return undefined;
    bytes += chunk.length;
    const lines = (pending + decoder.write(chunk)).split('\n');
    pending = lines.pop()!;
    for (const line of lines) if (!count(line.endsWith('\r') ? line.slice(0, -1) : line)) return undefined;
    if (counts.size > maxPersons) return undefined;
    progress(bytes);
  }
  pending += decoder.end();
  if (pending.length > 0 && !count(pending)) return undefined;
  return counts;
}

/** The `index`-th comma-separated field of a line without quotes, or undefined when it has fewer fields. */
function fieldOf(line: string, index: number): string | undefined {
  let start = 0;
  for (let i = 0; i < index; i++) {
    const comma = line.indexOf(',', start);
    if (comma < 0) return undefined;
    start = comma + 1;
  }
  const end = line.indexOf(',', start);
  return end < 0 ? line.slice(start) : line.slice(start, end);
}

/**
 * The person columns of each row in file order, from the counts of the first reading: its person's rows, and
 * its rank among them; `complete` tells whether the second reading gave every person exactly the rows the
 * first counted. The columns bound each person's contribution, so a row beyond its person's count (a file
 * that changed between the readings without changing its size or time) refuses the import.
 */
function personColumns(counts: PersonCounts, source: PostgresImportSource): { extra: (row: SqlValue[]) => string; complete: () => boolean } {
  const { schema } = source;
  const person = schema.columns.findIndex((c) => c.name === schema.person);
  const extra = (row: SqlValue[]) => {
    counts.next(row[person]!);
    const { rows, rank } = counts;
    if (rows > 0 && rank > rows) throw fileChanged(source.file);
    // A person the first reading did not count (the file changed in between): the COPY fails on the NULL.
    return rows > 0 ? `\t${rows}\t${rank}` : '\t\\N\t0';
  };
  return { extra, complete: () => counts.complete() };
}

function fileChanged(file: string): FedlabError {
  return new FedlabError('INVALID_ARGUMENT', `${file}: the file changed while it was imported; nothing was changed`, { file });
}

type CsvReader = (
  source: CsvRowsSource,
  onBatch: (rows: SqlValue[][], rowsDone: number, bytesDone: number | undefined, fields?: string[][]) => Promise<void>,
) => Promise<number | undefined>;

/**
 * Streams the rows `read` checks into `COPY … FROM STDIN` of `table`, numbering them in file order, with
 * what `extra` appends to each (the person columns); returns the number of rows, or undefined (the COPY
 * completed with part of the rows) when the reader gave up on the file.
 */
async function copyRows(
  client: pg.Client,
  table: string,
  source: PostgresImportSource,
  read: CsvReader,
  extra: ((row: SqlValue[]) => string) | undefined,
  progress: ((rowsDone: number, bytesDone: number) => void) | undefined,
): Promise<number | undefined> {
  const { schema } = source;
  const encoders = schema.columns.map(copyEncoder);
  const fromText = schema.columns.map(copyEncoderOfText);
  const copy = client.query(copyFrom(`COPY ${table} FROM STDIN`, { highWaterMark: COPY_BUFFER_BYTES }));
  // An error of the server ends the stream; `once` below rejects with it, and so does `finished`.
  copy.on('error', () => undefined);
  try {
    const rows = await read({ csvPath: source.csvPath, schema, file: source.file }, async (batch, rowsDone, bytesDone, fields) => {
      const text =
        fields === undefined
          ? encodeRows(batch, rowsDone - batch.length, encoders, extra)
          : encodeFields(batch, fields, rowsDone - batch.length, fromText, extra);
      if (batch.length > 0 && !copy.write(text)) await once(copy, 'drain');
      if (bytesDone !== undefined) progress?.(rowsDone, bytesDone);
    });
    copy.end();
    await finished(copy);
    return rows;
  } catch (error) {
    copy.destroy();
    throw error;
  }
}

/** The rows of a batch as COPY's text format: tab-separated, `\N` for NULL, each followed by its place in the file (1-based). */
function encodeRows(
  rows: SqlValue[][],
  before: number,
  encoders: Array<(value: string | number) => string>,
  extra: ((row: SqlValue[]) => string) | undefined,
): string {
  let out = '';
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (let i = 0; i < row.length; i++) {
      const value = row[i]!;
      out += value === null ? '\\N\t' : `${encoders[i]!(value)}\t`;
    }
    out += extra === undefined ? `${before + r + 1}\n` : `${before + r + 1}${extra(row)}\n`;
  }
  return out;
}

/**
 * The rows of a batch as {@link encodeRows} writes them, from each checked value's text as the file has it
 * (`fields`, from the simple reader), which PostgreSQL reads as the same value: an integer's digits, a
 * real's decimal text (PostgreSQL's `strtod` and JavaScript's `Number` both round it correctly to the
 * same double), a date; only booleans, text escapes, NULLs and a real that is zero (PostgreSQL refuses a
 * nonzero text that underflows to 0, such as 1e-400, which JavaScript reads as 0) are written from the
 * typed value. Saves formatting every number again.
 */
function encodeFields(
  rows: SqlValue[][],
  fields: string[][],
  before: number,
  encoders: Array<(value: string | number, text: string) => string>,
  extra: ((row: SqlValue[]) => string) | undefined,
): string {
  let out = '';
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    const texts = fields[r]!;
    for (let i = 0; i < row.length; i++) {
      const value = row[i]!;
      out += value === null ? '\\N\t' : `${encoders[i]!(value, texts[i]!)}\t`;
    }
    out += extra === undefined ? `${before + r + 1}\n` : `${before + r + 1}${extra(row)}\n`;
  }
  return out;
}

/** How a column's value (never null) is written in COPY's text format from its text in the file ({@link encodeFields}). */
function copyEncoderOfText(column: ColumnSchema): (value: string | number, text: string) => string {
  switch (column.type) {
    case 'integer':
    case 'date':
      return (_value, text) => text;
    case 'real':
      return (value, text) => (value === 0 ? '0' : text);
    case 'boolean':
    case 'text': {
      const encode = copyEncoder(column);
      return (value) => encode(value);
    }
  }
}

const TEXT_SPECIAL = /[\\\n\r\t]/;
const TEXT_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** How a column's typed value (never null) is written in COPY's text format. */
function copyEncoder(column: ColumnSchema): (value: string | number) => string {
  switch (column.type) {
    case 'boolean':
      return (value) => (value === 1 ? 't' : 'f');
    case 'integer':
    case 'real':
      // The shortest text that reads back as the same double; PostgreSQL 12+ parses it exactly.
      return (value) => String(value);
    case 'date':
      return (value) => value as string;
    case 'text':
      return (value) => {
        const text = value as string;
        return TEXT_SPECIAL.test(text) ? text.replace(/[\\\n\r\t]/g, (c) => TEXT_ESCAPES[c]!) : text;
      };
  }
}

/** A string as a SQL literal (COMMENT takes no parameter). */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
