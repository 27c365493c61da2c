import type { PrivateCompileOptions } from '@fedlab/query';
import type { DatasetEngine } from '@fedlab/store';

/**
 * How the node's engine wants a dataset's statements compiled: its dialect, import order and person columns.
 * An engine that gives no import-order columns keeps a `rowid` (a PostgreSQL dataset fedlab imported too).
 */
export function compileOptions(engine: Pick<DatasetEngine, 'dialect' | 'hasPersonColumns' | 'importOrder'>, dataset: string): PrivateCompileOptions {
  const importOrder = engine.importOrder(dataset);
  return { dialect: engine.dialect, personColumns: engine.hasPersonColumns(dataset), ...(importOrder ? { importOrder } : { rowid: true }) };
}
