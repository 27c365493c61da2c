import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DuckDBDateValue, DuckDBDecimalValue, DuckDBInstance, type DuckDBConnection, type DuckDBPreparedStatement, type DuckDBValue } from '@duckdb/node-api';
import { FedlabError, type DatasetSchema } from '@fedlab/model';
import { importFileSize, type ImportCsvOptions, type ImportCsvResult } from '../csv-import';
import { type CatalogCache, getDatasetSchema } from '../dataset-catalog';
import { parseDatasetSchema } from '../dataset-schema';
import { quoteIdentifier as q, type Database } from '../database';
import { CatalogBackedEngine } from './catalog-backed-engine';
import type { CompiledStatement, DatasetEngine, DatasetRow } from './dataset-engine';
import {
  DUCKDB_DATA_TABLE,
  DUCKDB_ORDER_COLUMN,
  checkParquetColumns,
  checkParquetValues,
  duckDbConfig,
  parquetRows,
  rmDatabaseFile,
  sqlLiteral,
  writeDuckDbDataset,
} from './duckdb-import';

/** node.yaml `engine: { kind: duckdb, … }`, resolved (docs/engines.md). */
export interface DuckDbEngineSettings {
  kind: 'duckdb';
  /** The folder of the dataset files (absolute); created if missing. */
  folder: string;
  /** DuckDB's worker threads (its default: one per core). */
  threads?: number;
  /** DuckDB's memory limit, e.g. `1GB` (its default: 80 % of RAM); beyond it DuckDB spills to `<folder>/.tmp`. */
  memoryLimit?: string;
}

/** Extensions every DuckDB build the engine runs has statically linked; none is ever installed or loaded on demand. */
export const DUCKDB_STATIC_EXTENSIONS = ['core_functions', 'parquet', 'json', 'icu'] as const;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Idle connections an engine keeps for its next statements (more are opened while more statements run at once). */
const MAX_IDLE_CONNECTIONS = 4;

/** Prepared statements a connection keeps (the node's analyses compile to a few dozen texts per dataset). */
const MAX_PREPARED_STATEMENTS = 64;

/**
 * The {@link DatasetEngine} over DuckDB (issue 19): each dataset one DuckDB file of the engine's folder
 * (`<dataset>-<generation>.duckdb`, table `data`, person columns filled) written completely by its import,
 * or a steward's Parquet file attached in place. The catalog stays in the node database
 * (`fedlab_datasets`, engine 'duckdb', `location` the file). Queries run in an in-memory DuckDB instance
 * where every dataset is a view of its name over the file attached READ_ONLY (`rowid` its import order;
 * a Parquet file's row number), so the compiled SQL runs unchanged. Since no process ever opens a dataset
 * file for writing once it is published, the daemon and `fedlab node import` in another process never
 * contend for DuckDB's one-writer lock: an import writes a new file, then commits the catalog row in one
 * SQLite transaction, and the daemon re-points its view when it sees the catalog change
 * (`PRAGMA data_version`), before its next query.
 */
export class DuckDbDatasetEngine extends CatalogBackedEngine implements DatasetEngine {
  readonly dialect = 'duckdb';
  readonly #db: Database;
  readonly #settings: DuckDbEngineSettings;
  readonly #config: Record<string, string>;
  readonly #instance: DuckDBInstance;
  readonly #importing = new Set<string>();
  /** The file each dataset's view reads now, and the name it is attached under. */
  readonly #views = new Map<string, { location: string; alias: string | undefined }>();
  #aliases = 0;
  #syncing: Promise<void> = Promise.resolve();
  /** The catalog entries the views were last brought in line with (the cache returns the same map until the catalog changes). */
  #synced: ReturnType<CatalogCache['entries']> | undefined;
  /** Connections no statement is using, kept for the next one: opening a connection costs more than a small query. */
  readonly #idle: DuckDBConnection[] = [];
  /** Each connection's prepared statements by SQL text, and the generation of the views they were prepared against. */
  readonly #statements = new WeakMap<DuckDBConnection, { generation: number; statements: Map<string, DuckDBPreparedStatement> }>();
  /** Counts the changes of the views: a statement prepared before one is not run again. */
  #generation = 0;
  #closed = false;

  private constructor(db: Database, settings: DuckDbEngineSettings, config: Record<string, string>, instance: DuckDBInstance) {
    super(db, 'duckdb');
    this.#db = db;
    this.#settings = settings;
    this.#config = config;
    this.#instance = instance;
  }

  /** Opens the engine's in-memory DuckDB instance over the dataset files of `settings.folder`. */
  static async open(db: Database, settings: DuckDbEngineSettings): Promise<DuckDbDatasetEngine> {
    const tempDirectory = path.join(settings.folder, '.tmp');
    mkdirSync(settings.folder, { recursive: true });
    const config = duckDbConfig({ ...settings, tempDirectory });
    return new DuckDbDatasetEngine(db, settings, config, await DuckDBInstance.create(':memory:', config));
  }

  /**
   * Checks that a Parquet file attached in place still has the schema's columns and types.
   *
   * @throws FedlabError SCHEMA_MISMATCH naming the dataset, the column and both types.
   */
  async check(dataset: string): Promise<void> {
    const entry = this.catalogCache.entries().get(dataset);
    if (entry === undefined || !entry.inPlace || entry.location === undefined) return;
    await this.#withConnection(async (connection) => {
      try {
        await checkParquetColumns(connection, entry.location!, `dataset "${dataset}" (${path.basename(entry.location!)})`, entry.schema);
      } catch (error) {
        if (error instanceof FedlabError && error.code === 'INVALID_ARGUMENT') {
          throw new FedlabError('SCHEMA_MISMATCH', `dataset "${dataset}": its Parquet file ${path.basename(entry.location!)} cannot be read`, { dataset });
        }
        throw error;
      }
    });
  }

  async query(statement: CompiledStatement): Promise<DatasetRow[]> {
    await this.#syncViews();
    return this.#withConnection(async (connection) => {
      const prepared = await this.#prepared(connection, statement.sql);
      prepared.bind([...statement.params]);
      const reader = await prepared.runAndReadAll();
      return reader.getRowObjects().map(plainRow);
    });
  }

  /**
   * The connection's prepared statement of `sql`, prepared on first use: a query of the node runs one of a
   * few statement texts with new parameters, and parsing and planning it again costs more than a small
   * query's run. Statements prepared before the views last changed are dropped first.
   */
  async #prepared(connection: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
    let cache = this.#statements.get(connection);
    if (cache === undefined || cache.generation !== this.#generation) {
      for (const stale of cache?.statements.values() ?? []) stale.destroySync();
      cache = { generation: this.#generation, statements: new Map() };
      this.#statements.set(connection, cache);
    }
    let prepared = cache.statements.get(sql);
    if (prepared === undefined) {
      if (cache.statements.size >= MAX_PREPARED_STATEMENTS) {
        for (const old of cache.statements.values()) old.destroySync();
        cache.statements.clear();
      }
      prepared = await connection.prepare(sql);
      cache.statements.set(sql, prepared);
    }
    return prepared;
  }

  /** Yields a statement's rows as DuckDB streams them, chunk by chunk, on a connection of its own. */
  async *iterate(statement: CompiledStatement): AsyncIterable<DatasetRow> {
    await this.#syncViews();
    const connection = await this.#instance.connect();
    try {
      const result = await connection.stream(statement.sql, [...statement.params]);
      for await (const rows of result.yieldRowObjects()) {
        for (const row of rows) yield plainRow(row);
      }
    } finally {
      connection.closeSync();
    }
  }

  /**
   * Imports a CSV or Parquet file (by its extension) into a new dataset file, or with `inPlace` registers a
   * Parquet file where it is; then publishes it in one transaction of the node database, replacing any
   * earlier import (whose file is removed). On failure no file is left and the catalog is unchanged.
   */
  async import(options: ImportCsvOptions): Promise<ImportCsvResult> {
    const file = path.basename(options.csvPath);
    const schema = parseDatasetSchema(options.schema, `${file}: schema`);
    const totalBytes = importFileSize(options.csvPath, file);
    const format = /\.parquet$/i.test(file) ? 'parquet' : 'csv';
    if (options.inPlace && format !== 'parquet') {
      throw new FedlabError('INVALID_ARGUMENT', `${file}: only a Parquet file (.parquet) can be attached in place`, { file });
    }
    if (this.#importing.has(schema.dataset)) {
      throw new FedlabError('INVALID_ARGUMENT', `${file}: dataset "${schema.dataset}" is already being imported`, { file });
    }
    this.#importing.add(schema.dataset);
    const source = path.resolve(options.csvPath);
    const target = options.inPlace ? source : path.join(this.#settings.folder, `${schema.dataset}-${Date.now()}-${randomUUID().slice(0, 8)}.duckdb`);
    try {
      options.onProgress?.(0, 0, totalBytes);
      let rows: number;
      if (options.inPlace) {
        rows = await this.#withConnection(async (connection) => {
          await checkParquetColumns(connection, source, file, schema);
          await checkParquetValues(connection, source, file, schema);
          const reader = await connection.runAndReadAll(`SELECT COUNT(*) FROM read_parquet(${sqlLiteral(source)})`);
          return Number(reader.getRows()[0][0]);
        });
      } else {
        rows = await writeDuckDbDataset(target, {
          path: source,
          file,
          format,
          schema,
          config: this.#config,
          onProgress: (rowsDone, bytesDone) => options.onProgress?.(rowsDone, bytesDone, totalBytes),
        });
      }
      const previous = this.#publish(schema, rows, target, options);
      if (previous !== undefined && !previous.inPlace && previous.location !== target) rmDatabaseFile(previous.location);
      options.onProgress?.(rows, totalBytes, totalBytes);
      return { rows };
    } catch (error) {
      if (!options.inPlace) rmDatabaseFile(target);
      throw error;
    } finally {
      this.#importing.delete(schema.dataset);
      this.catalogCache.invalidate();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#syncing.catch(() => undefined);
    for (const connection of this.#idle.splice(0)) this.#close(connection);
    this.#instance.closeSync();
  }

  #publish(schema: DatasetSchema, rows: number, location: string, options: ImportCsvOptions): { location: string; inPlace: boolean } | undefined {
    const name = schema.dataset;
    return this.#db
      .transaction(() => {
        options.checkSchemaChange?.(getDatasetSchema(this.#db, name), schema);
        const previous = this.#db.prepare('SELECT location, in_place FROM fedlab_datasets WHERE name = ? AND engine = ?').get(name, 'duckdb') as
          { location: string | null; in_place: number } | undefined;
        this.#db
          .prepare(
            `INSERT INTO fedlab_datasets (name, schema_json, row_count, imported_at, engine, location, in_place) VALUES (?, ?, ?, ?, 'duckdb', ?, ?)
             ON CONFLICT (name) DO UPDATE SET schema_json = excluded.schema_json, row_count = excluded.row_count, imported_at = MAX(excluded.imported_at, fedlab_datasets.imported_at + 1),
               engine = excluded.engine, location = excluded.location, in_place = excluded.in_place`,
          )
          .run(name, JSON.stringify(schema), rows, Date.now(), location, options.inPlace ? 1 : 0);
        return previous?.location == null ? undefined : { location: previous.location, inPlace: previous.in_place === 1 };
      })
      .immediate();
  }

  /** Brings every dataset's view in line with the catalog (one at a time: views are replaced in order). */
  #syncViews(): Promise<void> {
    // Nothing changed since the last sync, and none is under way: the views are current.
    if (this.catalogCache.entries() === this.#synced) return this.#syncing;
    const next = this.#syncing.catch(() => undefined).then(() => this.#withConnection((connection) => this.#replaceViews(connection)));
    this.#syncing = next;
    return next;
  }

  async #replaceViews(connection: DuckDBConnection): Promise<void> {
    const entries = this.catalogCache.entries();
    this.#synced = undefined;
    for (const [name, view] of this.#views) {
      if (entries.has(name)) continue;
      this.#generation++;
      await connection.run(`DROP VIEW IF EXISTS main.${q(name)}`);
      await this.#detach(connection, view.alias);
      this.#views.delete(name);
    }
    for (const [name, entry] of entries) {
      const location = entry.location!;
      const current = this.#views.get(name);
      if (current?.location === location) continue;
      let alias: string | undefined;
      let rows: string;
      if (entry.inPlace) {
        rows = parquetRows(location, entry.schema, 'rowid');
      } else {
        alias = `fedlab_${++this.#aliases}`;
        await connection.run(`ATTACH ${sqlLiteral(location)} AS ${alias} (READ_ONLY)`);
        rows = `SELECT ${q(DUCKDB_ORDER_COLUMN)} AS rowid, * EXCLUDE (${q(DUCKDB_ORDER_COLUMN)}) FROM ${alias}.${DUCKDB_DATA_TABLE}`;
      }
      this.#generation++;
      await connection.run(`CREATE OR REPLACE VIEW main.${q(name)} AS ${rows}`);
      await this.#detach(connection, current?.alias);
      this.#views.set(name, { location, alias });
    }
    this.#synced = entries;
  }

  async #detach(connection: DuckDBConnection, alias: string | undefined): Promise<void> {
    if (alias === undefined) return;
    try {
      await connection.run(`DETACH ${alias}`);
    } catch {
      // Still read by a running statement: the file stays attached (read-only, unlinked) until the engine closes.
    }
  }

  #close(connection: DuckDBConnection): void {
    for (const prepared of this.#statements.get(connection)?.statements.values() ?? []) prepared.destroySync();
    this.#statements.delete(connection);
    connection.closeSync();
  }

  /**
   * Runs `use` on a connection of its own: an idle one when there is one, else a new one. The connection is
   * kept for the next statement (at most {@link MAX_IDLE_CONNECTIONS} are kept) unless `use` failed; these
   * statements run in auto-commit mode, so a connection carries nothing from one statement to the next.
   */
  async #withConnection<T>(use: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const connection = this.#idle.pop() ?? (await this.#instance.connect());
    let ok = false;
    try {
      const result = await use(connection);
      ok = true;
      return result;
    } finally {
      if (ok && !this.#closed && this.#idle.length < MAX_IDLE_CONNECTIONS) this.#idle.push(connection);
      else this.#close(connection);
    }
  }
}

/** A DuckDB row as plain JavaScript (see {@link DatasetEngine}): exact integers as numbers, dates as text, booleans as 0/1. */
function plainRow(row: Record<string, DuckDBValue>): DatasetRow {
  const plain: DatasetRow = {};
  for (const [name, value] of Object.entries(row)) plain[name] = plainValue(value, name);
  return plain;
}

function plainValue(value: DuckDBValue, column: string): unknown {
  if (value === null || typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'bigint') {
    if (value > MAX_SAFE || value < -MAX_SAFE) {
      throw new FedlabError('INTERNAL', `column "${column}": an integer beyond ±(2^53 − 1) cannot be returned exactly`, { column });
    }
    return Number(value);
  }
  if (value instanceof DuckDBDateValue) return value.toString();
  if (value instanceof DuckDBDecimalValue) return value.toDouble();
  throw new FedlabError('INTERNAL', `column "${column}": a value of a type the engine does not return`, { column });
}
