import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { PERSON_RANK_COLUMN, PERSON_ROWS_COLUMN, type ColumnSchema, type DatasetSchema } from '@fedlab/model';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { readCsvRows, readSimpleCsvRows, type CsvRowsSource, type SqlValue } from '../csv-import';
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

/** Memory for the sort of the person columns (the import's own transaction only). */
const IMPORT_WORK_MEM = '256MB';

/** What {@link writePostgresDataset} reads. */
export interface PostgresImportSource {
  csvPath: string;
  /** The file's name as messages give it. */
  file: string;
  /** The dataset's schema, already validated. */
  schema: DatasetSchema;
  onProgress?: (rowsDone: number, bytesDone: number) => void;
}

/**
 * Writes a CSV file's rows, read and checked by {@link readCsvRows} (the SQLite importer's exact errors),
 * into a new table `fedlab_import.<table>` in one transaction of `client`, a connection of the import role:
 * the typed rows are streamed through `COPY … FROM STDIN` (text format) into an unlogged staging table,
 * then copied into the table with the person columns (rows per person, rank in import order) and the
 * import-order column {@link POSTGRES_ORDER_COLUMN}, and the staging table dropped, before the commit. On
 * any failure the transaction is rolled back (the connection is left to the caller to end), so nothing is
 * left on the server. Returns the number of rows.
 */
export async function writePostgresDataset(client: pg.Client, table: string, source: PostgresImportSource): Promise<number> {
  const { schema } = source;
  const target = `${q(POSTGRES_IMPORT_SCHEMA)}.${q(table)}`;
  const staging = `${q(POSTGRES_IMPORT_SCHEMA)}.${q(`${table}_staging`)}`;
  const order = q(POSTGRES_ORDER_COLUMN);
  const columns = schema.columns.map((c) => q(c.name)).join(', ');
  const definitions = schema.columns.map((c) => `${q(c.name)} ${POSTGRES_TYPES[c.type]}${c.nullable ? '' : ' NOT NULL'}`);
  await client.query('BEGIN READ WRITE');
  await client.query(`SET LOCAL work_mem = '${IMPORT_WORK_MEM}'`);
  // Created in this transaction: never visible to another session, gone with a rollback or a lost connection.
  await client.query(`CREATE UNLOGGED TABLE ${staging} (${definitions.join(', ')}, ${order} bigint NOT NULL)`);
  // Most files take the simple reader; any other (or any refusal) is read again by the full one, which
  // reports the exact error, or reads it: the first COPY's rows are emptied out of the staging table first.
  let rows = await copyRows(client, staging, source, readSimpleCsvRows);
  if (rows === undefined) {
    await client.query(`TRUNCATE ${staging}`);
    rows = (await copyRows(client, staging, source, readCsvRows))!;
  }
  const p = q(schema.person);
  await client.query(
    `CREATE TABLE ${target} (${definitions.join(', ')}, ${order} bigint NOT NULL, ${q(PERSON_ROWS_COLUMN)} bigint NOT NULL, ${q(PERSON_RANK_COLUMN)} bigint NOT NULL)`,
  );
  await client.query(
    `INSERT INTO ${target} SELECT ${columns}, ${order}, count(*) OVER (PARTITION BY ${p}), row_number() OVER (PARTITION BY ${p} ORDER BY ${order}) FROM ${staging}`,
  );
  await client.query(`DROP TABLE ${staging}`);
  await client.query(`COMMENT ON TABLE ${target} IS ${literal(`fedlab dataset ${schema.dataset}`)}`);
  await client.query(`ANALYZE ${target}`);
  await client.query('COMMIT');
  return rows;
}

type CsvReader = (
  source: CsvRowsSource,
  onBatch: (rows: SqlValue[][], rowsDone: number, bytesDone: number | undefined) => Promise<void>,
) => Promise<number | undefined>;

/**
 * Streams the rows `read` checks into `COPY … FROM STDIN`, numbering them in file order; returns the number
 * of rows, or undefined (the COPY completed with part of the rows) when the reader gave up on the file.
 */
async function copyRows(client: pg.Client, staging: string, source: PostgresImportSource, read: CsvReader): Promise<number | undefined> {
  const { schema } = source;
  const encoders = schema.columns.map(copyEncoder);
  const copy = client.query(copyFrom(`COPY ${staging} FROM STDIN`));
  // An error of the server ends the stream; `once` below rejects with it, and so does `finished`.
  copy.on('error', () => undefined);
  try {
    const rows = await read({ csvPath: source.csvPath, schema, file: source.file }, async (batch, rowsDone, bytesDone) => {
      if (batch.length > 0 && !copy.write(encodeRows(batch, rowsDone - batch.length, encoders))) await once(copy, 'drain');
      if (bytesDone !== undefined) source.onProgress?.(rowsDone, bytesDone);
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
function encodeRows(rows: SqlValue[][], before: number, encoders: Array<(value: string | number) => string>): string {
  let out = '';
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (let i = 0; i < row.length; i++) {
      const value = row[i]!;
      out += value === null ? '\\N\t' : `${encoders[i]!(value)}\t`;
    }
    out += `${before + r + 1}\n`;
  }
  return out;
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
