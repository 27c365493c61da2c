import path from 'node:path';
import { FedlabError } from '@fedlab/model';
import { importCsv, type ImportCsvOptions, type ImportCsvResult } from '../csv-import';
import { iterateQuery, runQuery, type Database } from '../database';
import { CatalogBackedEngine } from './catalog-backed-engine';
import type { CompiledStatement, DatasetEngine, DatasetRow } from './dataset-engine';

/**
 * The {@link DatasetEngine} of the node database itself: each dataset a table of the SQLite file beside the
 * catalog (`fedlab_datasets`), imported by {@link importCsv}. The catalog is read and its schemas decoded
 * once, then again only after an import through this engine or when another connection committed to the
 * file (SQLite's `PRAGMA data_version`), such as `fedlab node import` while the daemon runs.
 */
export class SqliteDatasetEngine extends CatalogBackedEngine implements DatasetEngine {
  readonly dialect = 'sqlite';
  readonly #db: Database;

  constructor(db: Database) {
    super(db, 'sqlite');
    this.#db = db;
  }

  async check(): Promise<void> {}

  async query(statement: CompiledStatement): Promise<DatasetRow[]> {
    return runQuery(this.#db, statement.sql, [...statement.params]);
  }

  /**
   * Yields the rows of one SQLite statement. The statement keeps the connection busy until the loop ends,
   * so a consumer must not await other I/O between rows (the node's consumers do not).
   */
  async *iterate(statement: CompiledStatement): AsyncIterable<DatasetRow> {
    yield* iterateQuery(this.#db, statement.sql, [...statement.params]);
  }

  async close(): Promise<void> {}

  async import(options: ImportCsvOptions): Promise<ImportCsvResult> {
    if (options.inPlace || /\.parquet$/i.test(options.csvPath)) {
      const file = path.basename(options.csvPath);
      throw new FedlabError('INVALID_ARGUMENT', `${file}: the sqlite engine imports CSV files only; Parquet needs engine: duckdb`, { file });
    }
    try {
      return await importCsv(this.#db, options);
    } finally {
      this.catalogCache.invalidate();
    }
  }
}
