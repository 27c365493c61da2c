import { FedlabError } from '@fedlab/model';
import type { Database } from '../database';
import type { DatasetEngine } from './dataset-engine';
import { DuckDbDatasetEngine, type DuckDbEngineSettings } from './duckdb-dataset-engine';
import { PostgresDatasetEngine } from './postgres-dataset-engine';
import { loadPostgresDatasetsFile } from './postgres-datasets-file';
import { POSTGRES_IMPORT_URL_ENV } from './postgres-import';
import { SqliteDatasetEngine } from './sqlite-dataset-engine';

/** The dataset engines a node can run (node.yaml `engine:`, docs/engines.md, docs/engines-postgres.md). */
export const ENGINE_KINDS = ['sqlite', 'duckdb', 'postgres'] as const;
export type EngineKind = (typeof ENGINE_KINDS)[number];

/** Which engine holds a node's datasets, with its settings resolved (paths absolute). */
export type EngineSettings =
  | { kind: 'sqlite' }
  | DuckDbEngineSettings
  /**
   * A ministry's PostgreSQL server (docs/engines-postgres.md): the read-only role's connection string in the
   * environment variable `urlEnv`, the import role's (`fedlab node import` only) in `importUrlEnv`
   * (default FEDLAB_PG_IMPORT_URL).
   */
  | { kind: 'postgres'; urlEnv: string; datasetsFile: string; importUrlEnv?: string };

/**
 * Opens the engine of a node's datasets over the node database `db` (which keeps the catalog for every
 * engine). `env` holds the process environment an engine takes credentials from; only apps read it.
 *
 * @throws FedlabError CONFIG_INVALID for an engine this build does not know, or from the engine's own
 * checks (see {@link PostgresDatasetEngine.open}).
 */
export async function openDatasetEngine(
  settings: EngineSettings,
  db: Database,
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<DatasetEngine> {
  switch (settings.kind) {
    case 'sqlite':
      return new SqliteDatasetEngine(db);
    case 'duckdb':
      return DuckDbDatasetEngine.open(db, settings);
    case 'postgres': {
      const connectionString = env[settings.urlEnv];
      if (!connectionString)
        throw new FedlabError(
          'CONFIG_INVALID',
          `engine: the environment variable ${settings.urlEnv} is not set; it holds the connection string of the read-only PostgreSQL role`,
        );
      const datasets = loadPostgresDatasetsFile(settings.datasetsFile);
      const importUrlEnv = settings.importUrlEnv ?? POSTGRES_IMPORT_URL_ENV;
      return PostgresDatasetEngine.open({
        connectionString,
        credentialsSource: settings.urlEnv,
        datasets,
        db,
        ...(env[importUrlEnv] ? { importConnectionString: env[importUrlEnv] } : {}),
        importCredentialsSource: importUrlEnv,
      });
    }
    default:
      throw new FedlabError('CONFIG_INVALID', `engine: unknown engine "${(settings as { kind: string }).kind}"; use ${ENGINE_KINDS.join(', ')}`);
  }
}
