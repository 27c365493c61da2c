import { PERSON_RANK_COLUMN, PERSON_ROWS_COLUMN, maxRecordsPerPerson, type CatalogDataset, type DatasetSchema } from '@fedlab/model';
import type { Database } from './database';

interface DatasetRow {
  name: string;
  schema_json: string;
  row_count: number;
  imported_at: number;
  location: string | null;
  in_place: number;
}

/**
 * One imported dataset as the catalog records it: its schema (decoded), exact row count, whether its rows
 * have the person columns and, for an engine that keeps data outside the node database, where.
 */
export interface CatalogEntry {
  schema: DatasetSchema;
  rowCount: number;
  personColumns: boolean;
  /** When the dataset was last imported (ms since the epoch; strictly increasing per dataset, so it also names the import). */
  importedAt: number;
  /** Where the engine keeps the dataset's data outside the node database (a file path); undefined for SQLite tables. */
  location?: string;
  /** Whether the data is a steward's file registered in place rather than a copy the import wrote. */
  inPlace: boolean;
}

/**
 * Reads and decodes the catalog of one engine's datasets (migration 11: every earlier import is SQLite's),
 * ordered by name: one decoding of every schema.
 */
export function readCatalog(db: Database, engine = 'sqlite'): Map<string, CatalogEntry> {
  const rows = db
    .prepare('SELECT name, schema_json, row_count, imported_at, location, in_place FROM fedlab_datasets WHERE engine = ? ORDER BY name')
    .all(engine) as DatasetRow[];
  return new Map(
    rows.map((row) => [
      row.name,
      {
        schema: JSON.parse(row.schema_json) as DatasetSchema,
        rowCount: row.row_count,
        importedAt: row.imported_at,
        // Another engine's imports always fill the person columns, except into a file attached in place.
        personColumns: engine === 'sqlite' ? hasPersonColumns(db, row.name) : row.in_place === 0,
        ...(row.location === null ? {} : { location: row.location }),
        inPlace: row.in_place === 1,
      },
    ]),
  );
}

/** Returns the schemas of all imported datasets, ordered by name. */
export function listDatasets(db: Database): DatasetSchema[] {
  const rows = db.prepare('SELECT schema_json FROM fedlab_datasets ORDER BY name').all() as DatasetRow[];
  return rows.map((row) => JSON.parse(row.schema_json) as DatasetSchema);
}

/** Returns the schema of dataset `name`, or undefined when it has not been imported. */
export function getDatasetSchema(db: Database, name: string): DatasetSchema | undefined {
  const row = db.prepare('SELECT schema_json FROM fedlab_datasets WHERE name = ?').get(name) as DatasetRow | undefined;
  return row === undefined ? undefined : (JSON.parse(row.schema_json) as DatasetSchema);
}

/**
 * The catalog a node publishes: per dataset its description, its row count rounded to the nearest 100 and
 * its columns with type, role and declared value sets. Identifier columns are listed with their role but
 * never with values.
 */
export function catalog(db: Database): CatalogDataset[] {
  return publishedCatalog(readCatalog(db).values());
}

/** The published catalog ({@link catalog}) of catalog entries already read. */
export function publishedCatalog(entries: Iterable<Pick<CatalogEntry, 'schema' | 'rowCount'>>): CatalogDataset[] {
  return [...entries].map(({ schema, rowCount }) => ({
    dataset: schema.dataset,
    description: schema.description ?? '',
    approxRows: Math.round(rowCount / 100) * 100,
    maxRecordsPerPerson: maxRecordsPerPerson(schema),
    columns: schema.columns.map(({ values, ...column }) =>
      values === undefined || column.role === 'identifier' ? column : { ...column, values: [...values] },
    ),
  }));
}

/** Whether a dataset's table has the person columns the import adds (datasets imported before them have not). */
export function hasPersonColumns(db: Database, name: string): boolean {
  return (
    (db.prepare('SELECT COUNT(*) AS n FROM pragma_table_info(?) WHERE name IN (?, ?)').get(name, PERSON_ROWS_COLUMN, PERSON_RANK_COLUMN) as { n: number }).n ===
    2
  );
}

/**
 * One engine's catalog entries read from the node database, decoded once and read again only after an
 * import through the engine ({@link invalidate}) or when another connection committed to the file (SQLite's
 * `PRAGMA data_version`), such as `fedlab node import` while the daemon runs.
 */
export class CatalogCache {
  readonly #db: Database;
  readonly #engine: string;
  readonly #dataVersion;
  #entries: Map<string, CatalogEntry> | undefined;
  #version = 0;

  constructor(db: Database, engine: string) {
    this.#db = db;
    this.#engine = engine;
    this.#dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
  }

  /** The entries in force, by dataset name. */
  entries(): Map<string, CatalogEntry> {
    const version = this.#dataVersion.get()!;
    if (this.#entries === undefined || version !== this.#version) {
      this.#entries = readCatalog(this.#db, this.#engine);
      this.#version = version;
    }
    return this.#entries;
  }

  /** Drops the decoded entries, so the next read sees this connection's own import. */
  invalidate(): void {
    this.#entries = undefined;
  }

  schema(dataset: string): DatasetSchema | undefined {
    return this.entries().get(dataset)?.schema;
  }

  published(): CatalogDataset[] {
    return publishedCatalog(this.entries().values());
  }

  generation(dataset: string): string | undefined {
    const entry = this.entries().get(dataset);
    return entry === undefined ? undefined : String(entry.importedAt);
  }

  personColumns(dataset: string): boolean {
    return this.entries().get(dataset)?.personColumns ?? false;
  }
}
