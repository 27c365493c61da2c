import { PERSON_RANK_COLUMN, PERSON_ROWS_COLUMN, maxRecordsPerPerson, type CatalogDataset, type DatasetSchema } from '@fedlab/model';
import type { Database } from './database';

interface DatasetRow {
  schema_json: string;
  row_count: number;
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
  const rows = db.prepare('SELECT schema_json, row_count FROM fedlab_datasets ORDER BY name').all() as DatasetRow[];
  return rows.map((row) => {
    const schema = JSON.parse(row.schema_json) as DatasetSchema;
    return {
      dataset: schema.dataset,
      description: schema.description ?? '',
      approxRows: Math.round(row.row_count / 100) * 100,
      maxRecordsPerPerson: maxRecordsPerPerson(schema),
      columns: schema.columns.map(({ values, ...column }) =>
        values === undefined || column.role === 'identifier' ? column : { ...column, values: [...values] },
      ),
    };
  });
}

/** Whether a dataset's table has the person columns the import adds (datasets imported before them have not). */
export function hasPersonColumns(db: Database, name: string): boolean {
  return (
    (db.prepare('SELECT COUNT(*) AS n FROM pragma_table_info(?) WHERE name IN (?, ?)').get(name, PERSON_ROWS_COLUMN, PERSON_RANK_COLUMN) as { n: number }).n ===
    2
  );
}
