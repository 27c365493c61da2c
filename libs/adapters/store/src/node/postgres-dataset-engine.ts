import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { FedlabError, PERSON_RANK_COLUMN, PERSON_ROWS_COLUMN, type CatalogDataset, type ColumnType, type DatasetSchema } from '@fedlab/model';
import pg from 'pg';
import { importFileSize, type ImportCsvOptions, type ImportCsvResult } from '../csv-import';
import { CatalogCache, getDatasetSchema, publishedCatalog } from '../dataset-catalog';
import { parseDatasetSchema } from '../dataset-schema';
import type { Database } from '../database';
import type { CompiledStatement, DatasetEngine, DatasetRow } from './dataset-engine';
import type { PostgresDatasetMapping } from './postgres-datasets-file';
import { POSTGRES_IMPORT_SCHEMA, POSTGRES_IMPORT_URL_ENV, POSTGRES_ORDER_COLUMN, writePostgresDataset } from './postgres-import';

/** Options of {@link PostgresDatasetEngine.open}. */
export interface PostgresEngineOptions {
  /** A libpq connection string (`postgresql://role:password@host:port/database`) of a role that may only read. */
  connectionString: string;
  /** Where the connection string came from, for messages (`FEDLAB_POSTGRES_URL`); never the string itself. */
  credentialsSource: string;
  /** The datasets, each mapped onto a table or view (datasets.yaml). */
  datasets: readonly PostgresDatasetMapping[];
  /**
   * The node database, whose catalog (`fedlab_datasets`, engine 'postgres') records the datasets
   * `fedlab node import` wrote into {@link POSTGRES_IMPORT_SCHEMA}; they are served beside the mapped ones.
   */
  db: Database;
  /** The connection string of the role imports write with (docs/engines-postgres.md "Import"); imports are refused without it. */
  importConnectionString?: string;
  /** Where the import connection string came from (default `FEDLAB_PG_IMPORT_URL`), for messages; never the string itself. */
  importCredentialsSource?: string;
  /** Connections the engine keeps at most (default 4). */
  maxConnections?: number;
  /** How long one statement may run before the server cancels it (default 10 minutes). */
  statementTimeoutMs?: number;
  /** How long a new connection may take (default 10 s). */
  connectTimeoutMs?: number;
  /** How often the row counts of the published catalog are counted again, by the check before a query (default 10 minutes). */
  rowCountRefreshMs?: number;
}

/** PostgreSQL's types (the base type of a domain) that hold each schema type's values exactly. */
const LIVE_TYPES: Record<ColumnType, readonly string[]> = {
  integer: ['smallint', 'integer', 'bigint'],
  real: ['real', 'double precision', 'numeric'],
  text: ['text', 'character varying', 'character'],
  boolean: ['boolean'],
  date: ['date'],
};

/** Relation kinds a dataset may be mapped onto: table, view, materialized view, partitioned table, foreign table. */
const READABLE_KINDS = new Set(['r', 'v', 'm', 'p', 'f']);
const VIEW_KINDS = new Set(['v', 'f']);

const TYPE_OID = { bool: 16, int8: 20, numeric: 1700, date: 1082 } as const;

/** Node errors and SQLSTATEs of a server that cannot be reached, with the reason a message gives. */
const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection lost',
  EPIPE: 'connection lost',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'host unreachable',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'unknown host',
  '57P01': 'connection lost',
  '57P02': 'connection lost',
  '57P03': 'the server is starting or shutting down',
};

const FETCH_ROWS = 1000;

/** An integer beyond 2^53 would be rounded by a JavaScript number: refused, never rounded (see {@link DatasetEngine}). */
function parseExactNumber(text: string): number {
  const value = Number(text);
  if (/^-?\d+$/.test(text) && !Number.isSafeInteger(value))
    throw new FedlabError('INTERNAL', 'an integer result of the PostgreSQL engine is beyond 2^53 and cannot be returned exactly');
  return value;
}

/** The parsers of this engine's connections only (pg's global parsers stay as they are). */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    switch (oid) {
      case TYPE_OID.int8:
      case TYPE_OID.numeric:
        return parseExactNumber;
      case TYPE_OID.date:
        return (text: string) => text;
      case TYPE_OID.bool:
        return (text: string) => (text === 't' ? 1 : 0);
      default:
        return pg.types.getTypeParser(oid, format);
    }
  }) as pg.CustomTypesConfig['getTypeParser'],
};

interface LiveColumn {
  kind: string | null;
  name: string | null;
  live_type: string | null;
  base_type: string | null;
  not_null: boolean | null;
  readable: boolean | null;
}

interface Mapped extends PostgresDatasetMapping {
  /** Whether `fedlab node import` wrote the table (with the person columns and an import-order column, read as `rowid`). */
  imported: boolean;
  /** The statement prefix that names the relation as the dataset (`"visits" AS NOT MATERIALIZED (SELECT … FROM …)`). */
  cte: string;
  /** Whether the relation is a view (PostgreSQL does not record its columns' nullability). */
  view: boolean;
  rowCount: number;
  /** What the last background count found wrong (a NULL in a view's not-nullable column), refused by {@link PostgresDatasetEngine.check}. */
  problem?: FedlabError;
}

/**
 * The {@link DatasetEngine} of a ministry's own PostgreSQL server (issue 19): each dataset a table or view
 * the steward mapped in datasets.yaml, read through a role that may only read. Compiled statements name a
 * dataset (`FROM "visits"`); each is run with a common table expression of that name over the mapped
 * relation's schema columns only, so nothing is created on the server and no other column is read.
 *
 * At open the engine refuses a role that can write (CONFIG_INVALID) and a relation that does not match its
 * schema (SCHEMA_MISMATCH); {@link check} compares the live columns again before every query. Every
 * statement runs in a READ ONLY transaction. A server that cannot be reached is ENGINE_UNAVAILABLE, at open
 * and for a query; the engine answers again once it is back.
 *
 * `fedlab node import` writes a CSV into a new table of the schema {@link POSTGRES_IMPORT_SCHEMA} with a
 * separate role that may write (its connection string from the environment, never node.yaml), then records
 * it in the node database's catalog, where the daemon finds it before its next query (as the SQLite and
 * DuckDB engines find theirs); the daemon keeps reading through its read-only role.
 */
export class PostgresDatasetEngine implements DatasetEngine {
  readonly dialect = 'postgres';
  readonly #pool: pg.Pool;
  readonly #datasets: Map<string, Mapped>;
  readonly #db: Database;
  readonly #catalog: CatalogCache;
  /** The imported datasets as last read from the catalog, by name (rebuilt when an entry's table changes). */
  #imported = new Map<string, Mapped>();
  #importedFrom: Map<string, unknown> | undefined;
  readonly #importing = new Set<string>();
  readonly #importConnectionString: string | undefined;
  readonly #importCredentialsSource: string;
  readonly #credentialsSource: string;
  readonly #rowCountRefreshMs: number;
  readonly #statementTimeoutMs: number;
  #recount: NodeJS.Timeout | undefined;

  private constructor(options: PostgresEngineOptions) {
    this.#credentialsSource = options.credentialsSource;
    this.#db = options.db;
    this.#catalog = new CatalogCache(options.db, 'postgres');
    this.#importConnectionString = options.importConnectionString;
    this.#importCredentialsSource = options.importCredentialsSource ?? POSTGRES_IMPORT_URL_ENV;
    this.#rowCountRefreshMs = options.rowCountRefreshMs ?? 10 * 60_000;
    this.#statementTimeoutMs = options.statementTimeoutMs ?? 10 * 60_000;
    this.#pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      statement_timeout: this.#statementTimeoutMs,
      application_name: 'fedlab-node',
      keepAlive: true,
      types: TYPES,
    });
    // An idle connection the server ends (a restart) is dropped from the pool; without a listener it would crash the node.
    this.#pool.on('error', () => {});
    this.#datasets = new Map(
      options.datasets.map((m) => {
        const columns = m.schema.columns.map((c) => `"${c.name}"`).join(', ');
        const cte = `"${m.schema.dataset}" AS NOT MATERIALIZED (SELECT ${columns} FROM ${m.relation})`;
        return [m.schema.dataset, { ...m, cte, imported: false, view: false, rowCount: 0 }];
      }),
    );
  }

  /**
   * Connects, refuses a role that can write, checks every mapped relation against its schema and counts
   * its rows.
   *
   * @throws FedlabError ENGINE_UNAVAILABLE when the server cannot be reached; CONFIG_INVALID for refused
   * credentials, a missing database or a role that can write; SCHEMA_MISMATCH for a relation that does not
   * match its schema.
   */
  static async open(options: PostgresEngineOptions): Promise<PostgresDatasetEngine> {
    const engine = new PostgresDatasetEngine(options);
    try {
      const both = [...engine.#importedDatasets().keys()].find((name) => engine.#datasets.has(name));
      if (both !== undefined)
        throw new FedlabError(
          'CONFIG_INVALID',
          `engine: dataset "${both}" is both mapped in datasets.yaml and imported into ${POSTGRES_IMPORT_SCHEMA} (fedlab node import); remove its datasets.yaml entry or use another dataset name`,
        );
      await engine.#refuseWriters([...engine.#datasets.values(), ...engine.#importedDatasets().values()]);
      for (const dataset of engine.#datasets.keys()) await engine.#checkAndCount(dataset);
      for (const mapped of engine.#importedDatasets().values()) await engine.#readOnly((client) => engine.#checkColumns(client, mapped));
      // The counts (and a view's NULL check, both full scans) are refreshed in the background, never on a query's path.
      engine.#recount = setInterval(() => void engine.#recountAll(), engine.#rowCountRefreshMs);
      engine.#recount.unref();
      return engine;
    } catch (error) {
      await engine.close();
      throw error;
    }
  }

  schema(dataset: string): DatasetSchema | undefined {
    return this.#dataset(dataset)?.schema;
  }

  /**
   * An imported dataset's generation (its import time in the catalog, strictly increasing per dataset); none
   * for a mapped table, which the ministry's systems change at will and whose changes are not tracked.
   */
  generation(dataset: string): string | undefined {
    return this.#datasets.has(dataset) ? undefined : this.#catalog.generation(dataset);
  }

  catalog(): CatalogDataset[] {
    return publishedCatalog([...this.#all()].sort((a, b) => (a.schema.dataset < b.schema.dataset ? -1 : 1)));
  }

  /** Only an imported table has the person columns; a mapped one is the ministry's own. */
  hasPersonColumns(dataset: string): boolean {
    return this.#dataset(dataset)?.imported ?? false;
  }

  /** A mapped dataset's import_order columns; undefined for an imported one, whose import order is its `rowid`. */
  importOrder(dataset: string): readonly string[] | undefined {
    const mapped = this.#dataset(dataset);
    return mapped?.imported ? undefined : mapped?.importOrder;
  }

  /**
   * Compares the relation's live columns with the schema (one catalog query, no table scan), and refuses
   * what the last background count found (a NULL in a view's not-nullable column; the rows are counted
   * again every `rowCountRefreshMs`, off the queries' path).
   *
   * @throws FedlabError SCHEMA_MISMATCH, CONFIG_INVALID (the role may no longer read it) or ENGINE_UNAVAILABLE.
   */
  async check(dataset: string): Promise<void> {
    const mapped = this.#dataset(dataset);
    if (mapped === undefined) return;
    if (mapped.problem) throw mapped.problem;
    await this.#readOnly((client) => this.#checkColumns(client, mapped));
  }

  async query(statement: CompiledStatement): Promise<DatasetRow[]> {
    return this.#readOnly(async (client) => {
      const result = await client.query(this.#extended(this.#withDatasets(statement.sql), statement.params));
      if (result.fields.length === 0) throw notReadOnly();
      return result.rows as DatasetRow[];
    });
  }

  /** Yields the rows of a statement through a cursor, {@link FETCH_ROWS} at a time, in one READ ONLY transaction. */
  async *iterate(statement: CompiledStatement): AsyncIterable<DatasetRow> {
    const client = await this.#beginReadOnly();
    let done = false;
    let failed = false;
    try {
      await client.query(this.#extended(`DECLARE fedlab_rows NO SCROLL CURSOR FOR ${this.#withDatasets(statement.sql)}`, statement.params));
      for (;;) {
        const { rows } = await client.query(`FETCH ${FETCH_ROWS} FROM fedlab_rows`);
        if (rows.length === 0) break;
        yield* rows as DatasetRow[];
      }
      await client.query('COMMIT');
      done = true;
    } catch (error) {
      throw this.#translate(error);
    } finally {
      if (!done) failed = await rollback(client);
      client.release(failed);
    }
  }

  /**
   * Imports a CSV file into a new table of {@link POSTGRES_IMPORT_SCHEMA} through the import role (see
   * {@link writePostgresDataset}: every value checked as the SQLite importer checks it, the rows streamed
   * through COPY, the person columns computed, all in one PostgreSQL transaction), checks that the
   * engine's read-only role may read the new table and not write it, then publishes it in one transaction
   * of the node database's catalog (where `checkSchemaChange` runs) and drops the table of the dataset's
   * previous import. On any failure the new table is dropped (or was never committed), and the previous
   * table and catalog entry are untouched.
   *
   * @throws FedlabError CONFIG_INVALID without an import connection string, for refused credentials, a
   * missing import schema, an import role that may not create tables in it, or a read-only role that may
   * not read (or may write) the new table; INVALID_ARGUMENT for a Parquet file, a dataset mapped in
   * datasets.yaml or already being imported; the CSV errors of importCsv; ENGINE_UNAVAILABLE.
   */
  async import(options: ImportCsvOptions): Promise<ImportCsvResult> {
    const file = path.basename(options.csvPath);
    if (options.inPlace || /\.parquet$/i.test(file)) {
      throw new FedlabError('INVALID_ARGUMENT', `${file}: the postgres engine imports CSV files only; Parquet needs engine: duckdb`, { file });
    }
    const schema = parseDatasetSchema(options.schema, `${file}: schema`);
    const totalBytes = importFileSize(options.csvPath, file);
    const name = schema.dataset;
    const mapped = this.#datasets.get(name);
    if (mapped !== undefined) {
      throw new FedlabError(
        'INVALID_ARGUMENT',
        `${file}: dataset "${name}" is mapped in datasets.yaml onto ${mapped.table}; the node does not import over a mapped table`,
        { file },
      );
    }
    if (this.#importConnectionString === undefined) {
      throw new FedlabError(
        'CONFIG_INVALID',
        `engine: the environment variable ${this.#importCredentialsSource} is not set; it holds the connection string of the PostgreSQL role that imports (docs/engines-postgres.md)`,
      );
    }
    if (this.#importing.has(name)) {
      throw new FedlabError('INVALID_ARGUMENT', `${file}: dataset "${name}" is already being imported`, { file });
    }
    this.#importing.add(name);
    // A new table for every import, so the previous one stays as it is until the catalog points at the new one.
    const table = `${name.slice(0, 44)}_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
    const location = `${POSTGRES_IMPORT_SCHEMA}.${table}`;
    const client = new pg.Client({
      connectionString: this.#importConnectionString,
      application_name: 'fedlab-import',
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
    });
    client.on('error', () => undefined);
    let committed = false;
    try {
      await client.connect();
      await this.#checkImportRole(client);
      options.onProgress?.(0, 0, totalBytes);
      const rows = await writePostgresDataset(client, table, {
        csvPath: options.csvPath,
        file,
        schema,
        totalBytes,
        onProgress: (rowsDone, bytesDone) => options.onProgress?.(rowsDone, bytesDone, totalBytes),
      });
      committed = true;
      await this.#checkServable(this.#importedMapping(schema, location, rows));
      const previous = this.#publish(schema, rows, location, options);
      if (previous !== undefined) await dropTable(client, previous);
      options.onProgress?.(rows, totalBytes, totalBytes);
      return { rows };
    } catch (error) {
      if (committed) await dropTable(client, location);
      throw this.#translateImport(error, file);
    } finally {
      this.#importing.delete(name);
      this.#catalog.invalidate();
      await client.end().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#recount);
    if (!this.#pool.ended) await this.#pool.end();
  }

  /** The mapped and the imported datasets. */
  #all(): Mapped[] {
    return [...this.#datasets.values(), ...[...this.#importedDatasets().values()].filter((m) => !this.#datasets.has(m.schema.dataset))];
  }

  #dataset(name: string): Mapped | undefined {
    return this.#datasets.get(name) ?? this.#importedDatasets().get(name);
  }

  /** The imported datasets as the node database's catalog has them now (another process's import included). */
  #importedDatasets(): Map<string, Mapped> {
    // The cache gives the same map until the catalog changes.
    const entries = this.#catalog.entries();
    if (entries !== this.#importedFrom) {
      this.#imported = new Map([...entries].map(([name, entry]) => [name, this.#importedMapping(entry.schema, entry.location!, entry.rowCount)]));
      this.#importedFrom = entries;
    }
    return this.#imported;
  }

  /** An imported table as a dataset: its schema columns, the person columns, and its import-order column as `rowid`. */
  #importedMapping(schema: DatasetSchema, location: string, rowCount: number): Mapped {
    const relation = location
      .split('.')
      .map((part) => `"${part}"`)
      .join('.');
    const columns = [...schema.columns.map((c) => c.name), PERSON_ROWS_COLUMN, PERSON_RANK_COLUMN].map((c) => `"${c}"`).join(', ');
    const cte = `"${schema.dataset}" AS NOT MATERIALIZED (SELECT ${columns}, "${POSTGRES_ORDER_COLUMN}" AS rowid FROM ${relation})`;
    return { schema, table: location, relation, importOrder: [], cte, imported: true, view: false, rowCount };
  }

  /**
   * Checks before reading the file that the import role can do what an import needs: the schema
   * {@link POSTGRES_IMPORT_SCHEMA} exists and the role may create tables in it.
   */
  async #checkImportRole(client: pg.Client): Promise<void> {
    const { rows } = await client.query<{ role: string; exists: boolean; can_create: boolean | null }>(
      `SELECT current_user AS role, n.oid IS NOT NULL AS exists, has_schema_privilege(n.oid, 'CREATE') AS can_create
       FROM (SELECT 1) AS one LEFT JOIN pg_namespace n ON n.nspname = $1`,
      [POSTGRES_IMPORT_SCHEMA],
    );
    const { role, exists, can_create } = rows[0]!;
    if (!exists)
      throw new FedlabError(
        'CONFIG_INVALID',
        `engine: the PostgreSQL schema ${POSTGRES_IMPORT_SCHEMA} does not exist; the steward creates it for imports (docs/engines-postgres.md)`,
      );
    if (!can_create)
      throw new FedlabError(
        'CONFIG_INVALID',
        `engine: the PostgreSQL role "${role}" in ${this.#importCredentialsSource} may not create tables in schema ${POSTGRES_IMPORT_SCHEMA}; imports need the role that owns it (docs/engines-postgres.md)`,
      );
  }

  /**
   * Checks that the engine's read-only role may read an imported table (granted by the steward's default
   * privileges, docs/engines-postgres.md) and may not write it, before the catalog points at it.
   */
  async #checkServable(fresh: Mapped): Promise<void> {
    const readable = await this.#readOnly(async (client) => {
      const { rows } = await client.query<{ ok: boolean }>(
        this.#extended(`SELECT CASE WHEN has_schema_privilege($1, 'USAGE') THEN has_table_privilege($2, 'SELECT') ELSE false END AS ok`, [
          POSTGRES_IMPORT_SCHEMA,
          fresh.relation,
        ]),
      );
      return rows[0]!.ok;
    });
    if (!readable)
      throw new FedlabError(
        'CONFIG_INVALID',
        `engine: the read-only PostgreSQL role in ${this.#credentialsSource} may not read the tables the import role writes into ${POSTGRES_IMPORT_SCHEMA}; the steward grants it USAGE on the schema and SELECT on the import role's tables (ALTER DEFAULT PRIVILEGES, docs/engines-postgres.md)`,
      );
    await this.#refuseWriters([fresh]);
    await this.#readOnly((client) => this.#checkColumns(client, fresh));
  }

  /** Points the catalog at the new table in one transaction of the node database; returns the table of the import it replaces. */
  #publish(schema: DatasetSchema, rows: number, location: string, options: ImportCsvOptions): string | undefined {
    const name = schema.dataset;
    return this.#db
      .transaction(() => {
        options.checkSchemaChange?.(getDatasetSchema(this.#db, name), schema);
        const previous = this.#db.prepare('SELECT location FROM fedlab_datasets WHERE name = ? AND engine = ?').get(name, 'postgres') as
          { location: string | null } | undefined;
        this.#db
          .prepare(
            `INSERT INTO fedlab_datasets (name, schema_json, row_count, imported_at, engine, location, in_place) VALUES (?, ?, ?, ?, 'postgres', ?, 0)
             ON CONFLICT (name) DO UPDATE SET schema_json = excluded.schema_json, row_count = excluded.row_count, imported_at = MAX(excluded.imported_at, fedlab_datasets.imported_at + 1),
               engine = excluded.engine, location = excluded.location, in_place = 0`,
          )
          .run(name, JSON.stringify(schema), rows, Date.now(), location);
        return previous?.location ?? undefined;
      })
      .immediate();
  }

  /** An import's failure as the node reports it: the engine's translation, and a server error that is none of its own as INTERNAL, without its message (it may quote a value). */
  #translateImport(error: unknown, file: string): unknown {
    const translated = this.#translate(error, this.#importCredentialsSource);
    if (translated instanceof FedlabError) return translated;
    const code = (translated as { code?: string }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code))
      return new FedlabError('INTERNAL', `${file}: import failed, nothing was changed (PostgreSQL error ${code})`, { file, sqlState: code });
    return translated;
  }

  /** The background refresh: counts every dataset's rows again and keeps what the count found wrong for {@link check}. */
  async #recountAll(): Promise<void> {
    for (const mapped of this.#datasets.values()) {
      try {
        mapped.problem = await this.#readOnly((client) => this.#count(client, mapped));
      } catch {
        // An unreachable server is found again, and said, by the next query's check; the last count stays.
      }
    }
  }

  /**
   * Refuses a role that can change the ministry's data or the objects it reads: a superuser, a role that may
   * create roles (it could grant itself any other), INSERT/UPDATE/DELETE/TRUNCATE on a mapped relation, or
   * CREATE on the database or a mapped relation's schema, held by the role or any role it is a member of
   * (whether it inherits or can only SET ROLE to it; predefined roles such as pg_write_all_data included).
   */
  async #refuseWriters(relations: readonly Mapped[]): Promise<void> {
    const { role, reasons } = await this.#readOnly(async (client) => {
      const { rows } = await client.query<{ role: string; reason: string }>(
        this.#extended(
          `WITH member AS (SELECT oid, rolsuper, rolcreaterole FROM pg_roles WHERE pg_has_role(current_user, oid, 'MEMBER')),
           rel AS (SELECT t.label, t.i, c.oid, c.relnamespace FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(name, label, i) JOIN pg_class c ON c.oid = to_regclass(t.name))
           SELECT current_user AS role, reason FROM (
             SELECT 0 AS o, 0 AS i, 'is a superuser' AS reason FROM member WHERE rolsuper
             UNION SELECT 1, 0, 'may create roles (CREATEROLE)' FROM member WHERE rolcreaterole
             UNION SELECT 2, 0, 'CREATE on database ' || current_database() FROM member WHERE has_database_privilege(member.oid, current_database(), 'CREATE')
             UNION SELECT 3, rel.i, concat_ws(', ', p.ins, p.upd, p.del, p.tru) || ' on ' || rel.label FROM rel CROSS JOIN LATERAL (
               SELECT
                 CASE WHEN bool_or(has_table_privilege(m.oid, rel.oid, 'INSERT')) THEN 'INSERT' END AS ins,
                 CASE WHEN bool_or(has_table_privilege(m.oid, rel.oid, 'UPDATE')) THEN 'UPDATE' END AS upd,
                 CASE WHEN bool_or(has_table_privilege(m.oid, rel.oid, 'DELETE')) THEN 'DELETE' END AS del,
                 CASE WHEN bool_or(has_table_privilege(m.oid, rel.oid, 'TRUNCATE')) THEN 'TRUNCATE' END AS tru
               FROM member m) p WHERE concat_ws(', ', p.ins, p.upd, p.del, p.tru) <> ''
             UNION SELECT 4, min(rel.i), 'CREATE on schema ' || n.nspname FROM rel JOIN pg_namespace n ON n.oid = rel.relnamespace
               WHERE EXISTS (SELECT 1 FROM member m WHERE has_schema_privilege(m.oid, n.oid, 'CREATE')) GROUP BY n.nspname
           ) r ORDER BY o, i, reason`,
          [relations.map((m) => m.relation), relations.map((m) => m.table)],
        ),
      );
      const { rows: me } = await client.query<{ role: string }>('SELECT current_user AS role');
      return { role: me[0]!.role, reasons: rows.map((r) => r.reason) };
    });
    if (reasons.length > 0)
      throw new FedlabError(
        'CONFIG_INVALID',
        `engine: the PostgreSQL role "${role}" can write (${reasons.join('; ')}); connect with a role that may only read (docs/engines-postgres.md)`,
      );
  }

  async #checkAndCount(dataset: string): Promise<void> {
    const mapped = this.#datasets.get(dataset)!;
    await this.#readOnly(async (client) => {
      await this.#checkColumns(client, mapped);
      const problem = await this.#count(client, mapped);
      if (problem) throw problem;
    });
  }

  /** Counts the relation's rows (and, for a view, the NULLs in its not-nullable columns); returns the SCHEMA_MISMATCH such a NULL is. */
  async #count(client: pg.PoolClient, mapped: Mapped): Promise<FedlabError | undefined> {
    // PostgreSQL does not record whether a view's column may be NULL: its rows are read to find out.
    const required = mapped.view ? mapped.schema.columns.filter((c) => !c.nullable) : [];
    const nullChecks = required.map((c, i) => `, count(*) FILTER (WHERE "${c.name}" IS NULL) AS n${i}`).join('');
    const { rows } = await client.query(`SELECT count(*) AS rows${nullChecks} FROM ${mapped.relation}`);
    mapped.rowCount = rows[0].rows as number;
    const withNull = required.find((_, i) => rows[0][`n${i}`] > 0);
    return withNull
      ? new FedlabError(
          'SCHEMA_MISMATCH',
          `dataset "${mapped.schema.dataset}": view ${mapped.table} has NULL in column "${withNull.name}", which the schema declares not nullable`,
        )
      : undefined;
  }

  /** One catalog query: the relation's kind and, per column, its type (a domain's base type) and nullability. */
  async #checkColumns(client: pg.PoolClient, mapped: Mapped): Promise<void> {
    const dataset = mapped.schema.dataset;
    const mismatch = (message: string) => new FedlabError('SCHEMA_MISMATCH', `dataset "${dataset}": ${message}`);
    const { rows } = await client.query<LiveColumn>(
      this.#extended(
        `SELECT c.relkind AS kind, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS live_type,
                format_type(CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END, NULL) AS base_type,
                a.attnotnull OR t.typnotnull AS not_null, has_column_privilege(c.oid, a.attnum, 'SELECT') AS readable
         FROM pg_class c
         LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attname = ANY($2::text[])
         LEFT JOIN pg_type t ON t.oid = a.atttypid
         WHERE c.oid = to_regclass($1)`,
        [mapped.relation, mapped.schema.columns.map((c) => c.name)],
      ),
    );
    if (rows.length === 0)
      throw mismatch(
        `the PostgreSQL relation ${mapped.table} does not exist (${mapped.imported ? 'written by fedlab node import: import the file again' : 'datasets.yaml table'})`,
      );
    if (!READABLE_KINDS.has(rows[0]!.kind!)) throw mismatch(`${mapped.table} is not a table or view`);
    mapped.view = VIEW_KINDS.has(rows[0]!.kind!);
    const live = new Map(rows.filter((r) => r.name !== null).map((r) => [r.name!, r]));
    for (const column of mapped.schema.columns) {
      const found = live.get(column.name);
      if (found === undefined) throw mismatch(`column "${column.name}" is missing from ${mapped.table}`);
      if (!LIVE_TYPES[column.type].includes(found.base_type!))
        throw mismatch(
          `column "${column.name}" of ${mapped.table} is ${found.live_type} in PostgreSQL but ${column.type} in the schema (${column.type} takes ${LIVE_TYPES[column.type].join(', ')})`,
        );
      if (!column.nullable && !mapped.view && !found.not_null)
        throw mismatch(
          `column "${column.name}" of ${mapped.table} may be NULL in PostgreSQL but the schema declares it not nullable (add NOT NULL, or nullable: true)`,
        );
      if (!found.readable)
        throw new FedlabError(
          'CONFIG_INVALID',
          `dataset "${dataset}": the PostgreSQL role may not read column "${column.name}" of ${mapped.table} (GRANT SELECT)`,
        );
    }
  }

  /** The statement with each dataset it names bound to its mapped relation (a CTE of the dataset's name). */
  #withDatasets(sql: string): string {
    const ctes = this.#all()
      .filter((m) => sql.includes(`"${m.schema.dataset}"`))
      .map((m) => m.cte);
    if (ctes.length === 0) return sql;
    const leadingWith = /^\s*WITH\s+(RECURSIVE\s+)?/i.exec(sql);
    return leadingWith ? `WITH ${leadingWith[1] ?? ''}${ctes.join(', ')}, ${sql.slice(leadingWith[0].length)}` : `WITH ${ctes.join(', ')} ${sql}`;
  }

  /** A query in the extended protocol, so that the SQL text is one statement whatever its parameters. */
  #extended(text: string, params: readonly unknown[]): pg.QueryConfig {
    return { text, values: [...params], queryMode: 'extended' } as pg.QueryConfig;
  }

  /** Runs `fn` in a READ ONLY transaction of a pooled connection, committed when it returns. */
  async #readOnly<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#beginReadOnly();
    try {
      const result = await fn(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (error) {
      client.release(await rollback(client));
      throw this.#translate(error);
    }
  }

  /**
   * A pooled connection in a READ ONLY transaction. A connection the server ended while it was idle (a
   * restart) fails at BEGIN: it is dropped and one fresh connection tried, before anything ran.
   */
  async #beginReadOnly(): Promise<pg.PoolClient> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.#connect();
      try {
        await client.query('BEGIN READ ONLY');
        return client;
      } catch (error) {
        client.release(true);
        if (attempt === 1 && isUnreachable(error)) continue;
        throw this.#translate(error);
      }
    }
  }

  async #connect(): Promise<pg.PoolClient> {
    try {
      return await this.#pool.connect();
    } catch (error) {
      throw this.#translate(error);
    }
  }

  /** A failure as the node reports it: a stable code and a message without data values or credentials. */
  #translate(error: unknown, credentialsSource = this.#credentialsSource): unknown {
    if (error instanceof FedlabError) return error;
    const code = (error as { code?: string }).code;
    if (isUnreachable(error))
      return new FedlabError('ENGINE_UNAVAILABLE', `the PostgreSQL server of the node's datasets cannot be reached (${unreachableReason(error)})`);
    switch (code) {
      case '28P01':
      case '28000':
        return new FedlabError('CONFIG_INVALID', `engine: the PostgreSQL server refused the credentials in ${credentialsSource}`);
      case '3D000':
        return new FedlabError('CONFIG_INVALID', `engine: the database in ${credentialsSource} does not exist on the PostgreSQL server`);
      case '25006':
        return notReadOnly();
      case '57014':
        return new FedlabError('DEADLINE_EXCEEDED', `the PostgreSQL statement ran longer than ${this.#statementTimeoutMs} ms and was cancelled`);
      case '42P01':
      case '42703':
        return new FedlabError('SCHEMA_MISMATCH', 'a mapped PostgreSQL relation changed while the query ran');
      case '42501':
        return new FedlabError('CONFIG_INVALID', 'the PostgreSQL role may not read a mapped relation (permission denied)');
      default:
        return error;
    }
  }
}

function notReadOnly(): FedlabError {
  return new FedlabError('INVALID_ARGUMENT', 'the postgres engine only runs read-only statements that return rows');
}

/** Whether `error` says the server cannot be reached or ended the connection (not that it refused the statement). */
function isUnreachable(error: unknown): boolean {
  const { code, message } = error as { code?: string; message?: string };
  if (code !== undefined && (code in UNREACHABLE || code.startsWith('08'))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/.test(message ?? '');
}

function unreachableReason(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  if (code !== undefined && code in UNREACHABLE) return UNREACHABLE[code]!;
  if (/timeout exceeded/.test(message ?? '')) return 'timed out';
  if (/Connection terminated|not queryable/.test(message ?? '')) return 'connection lost';
  return 'connection failed';
}

/** Rolls back what a connection began; true when the connection is broken and must be dropped. */
async function rollback(client: pg.PoolClient): Promise<boolean> {
  try {
    await client.query('ROLLBACK');
    return false;
  } catch {
    return true;
  }
}

/** Drops a table an import wrote (`schema.table`), quietly: one left by a failure here is not in the catalog and never read. */
async function dropTable(client: pg.Client, location: string): Promise<void> {
  const relation = location
    .split('.')
    .map((part) => `"${part}"`)
    .join('.');
  try {
    await client.query(`DROP TABLE IF EXISTS ${relation}`);
  } catch {
    // The connection is lost: the table stays, unused, until a steward drops it (its comment names the dataset).
  }
}
