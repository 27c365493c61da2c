import type { CatalogDataset, DatasetSchema } from '@fedlab/model';
import { CatalogCache } from '../dataset-catalog';
import type { Database } from '../database';

/**
 * The catalog half of an engine that imports its own datasets (SQLite, DuckDB): schemas, the published
 * catalog, each import's generation and the person columns all come from the node database's catalog
 * (`fedlab_datasets`, read through {@link CatalogCache}), and the rows keep their import order themselves.
 */
export abstract class CatalogBackedEngine {
  protected readonly catalogCache: CatalogCache;

  protected constructor(db: Database, engine: 'sqlite' | 'duckdb') {
    this.catalogCache = new CatalogCache(db, engine);
  }

  schema(dataset: string): DatasetSchema | undefined {
    return this.catalogCache.schema(dataset);
  }

  catalog(): CatalogDataset[] {
    return this.catalogCache.published();
  }

  generation(dataset: string): string | undefined {
    return this.catalogCache.generation(dataset);
  }

  hasPersonColumns(dataset: string): boolean {
    return this.catalogCache.personColumns(dataset);
  }

  importOrder(): undefined {
    return undefined;
  }
}
