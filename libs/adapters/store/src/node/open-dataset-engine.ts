import { FedlabError } from '@fedlab/model';
import type { Database } from '../database';
import type { DatasetEngine } from './dataset-engine';
import { DuckDbDatasetEngine, type DuckDbEngineSettings } from './duckdb-dataset-engine';
import { SqliteDatasetEngine } from './sqlite-dataset-engine';

/** The dataset engines a node can run (node.yaml `engine:`, docs/engines.md). */
export const ENGINE_KINDS = ['sqlite', 'duckdb'] as const;
export type EngineKind = (typeof ENGINE_KINDS)[number];

/** Which engine holds a node's datasets, with its settings resolved (paths absolute). */
export type EngineSettings = { kind: 'sqlite' } | DuckDbEngineSettings;

/**
 * Opens the engine of a node's datasets over the node database `db` (which keeps the catalog for every
 * engine). `env` holds the process environment an engine takes credentials from; only apps read it.
 *
 * @throws FedlabError CONFIG_INVALID for an engine this build does not know.
 */
export async function openDatasetEngine(
  settings: EngineSettings,
  db: Database,
  _env: Readonly<Record<string, string | undefined>> = {},
): Promise<DatasetEngine> {
  switch (settings.kind) {
    case 'sqlite':
      return new SqliteDatasetEngine(db);
    case 'duckdb':
      return DuckDbDatasetEngine.open(db, settings);
    default:
      throw new FedlabError('CONFIG_INVALID', `engine: unknown engine "${(settings as { kind: string }).kind}"; use ${ENGINE_KINDS.join(', ')}`);
  }
}
