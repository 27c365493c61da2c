import { FedlabError } from '@fedlab/model';
import { existsSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { syncDatabaseFiles } from './durability-gate';

/** A better-sqlite3 connection. */
export type Database = BetterSqlite3.Database;

/** One numbered schema change. Versions start at 1 and increase by one; `up` is plain SQL. */
export interface Migration {
  version: number;
  up: string;
}

/**
 * A per-connection cache of prepared statements: the function returns the statement of `sql`, preparing it
 * the first time. For statements run with get/all/run in the default mode (not one iterated while another
 * call could run it, nor switched to pluck/raw by one caller only).
 */
export function statementCache(db: Database): (sql: string) => BetterSqlite3.Statement {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return (sql) => {
    let statement = cache.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  };
}

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** How long a statement waits for another connection's write lock (default 5000 ms). */
  busyTimeoutMs?: number;
}

const DEFAULT_OPEN_OPTIONS: Required<OpenDatabaseOptions> = { busyTimeoutMs: 5000 };

/**
 * Opens (creating if needed) the SQLite database at `file` in WAL mode with foreign keys on, then applies
 * every migration newer than the file's `PRAGMA user_version`, each in its own transaction together with
 * the version bump, so a failing migration leaves the file at the previous version.
 *
 * Throws INVALID_ARGUMENT when the migrations are not numbered 1, 2, 3 … or when the file was written by a
 * newer fedlab (its version is above the last migration).
 */
export function openDatabase(file: string, migrations: Migration[], options: OpenDatabaseOptions = {}): Database {
  const { busyTimeoutMs } = { ...DEFAULT_OPEN_OPTIONS, ...options };
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new FedlabError('INVALID_ARGUMENT', `migration ${index + 1} has version ${migration.version}`);
    }
  });
  const db = new BetterSqlite3(file);
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
    db.pragma('journal_mode = WAL');
    // Every commit reaches the disk before the call returns (the write-ahead log is synced at each commit):
    // a node sends an answer only after its budget debit and audit entry are committed, and a coordinator
    // signs tree heads over entries it committed, so neither may lose a commit to a power loss. Set
    // explicitly: better-sqlite3's build makes WAL connections NORMAL (synced only at checkpoints), though
    // PRAGMA synchronous reads 2 either way.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, file, migrations);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function migrate(db: Database, file: string, migrations: Migration[]): void {
  const current = schemaVersion(db);
  if (current > migrations.length) {
    throw new FedlabError('INVALID_ARGUMENT', `${file}: database schema version ${current} is newer than this fedlab supports (${migrations.length})`, {
      file,
      version: current,
      supported: migrations.length,
    });
  }
  for (const migration of migrations.slice(current)) {
    db.transaction(() => {
      db.exec(migration.up);
      // PRAGMA takes no bound parameters; the version is a checked integer.
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
}

/** Returns the file's `PRAGMA user_version`: the number of the last migration applied. */
export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Writes a consistent copy of the database at `file` to `out` with SQLite's online backup API, safe while
 * the owning daemon keeps writing (WAL mode), then checks the copy's integrity. Refuses to overwrite `out`.
 *
 * @throws FedlabError INVALID_ARGUMENT when `out` exists or the copy fails its integrity check.
 */
export async function backupDatabase(file: string, out: string): Promise<Database> {
  const source = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    if (existsSync(out)) throw new FedlabError('INVALID_ARGUMENT', `${out} already exists; refusing to overwrite a backup`);
    await source.backup(out);
    // The daemon's commits do not wait for the disk (group commit): what the copy holds is synced in the
    // live file too, so a power loss cannot take back there what a backup already kept.
    syncDatabaseFiles(file);
  } finally {
    source.close();
  }
  const copy = new BetterSqlite3(out, { readonly: true, fileMustExist: true });
  const integrity = (copy.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; ');
  if (integrity !== 'ok') {
    copy.close();
    throw new FedlabError('INVALID_ARGUMENT', `${out}: the backup failed its integrity check (${integrity})`);
  }
  return copy;
}

/** Size of the main database file in bytes (`page_count × page_size`; the WAL file is not counted). */
export function databaseSizeBytes(db: Database): number {
  return (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
}

/**
 * Runs one read-only statement with every parameter bound (never interpolated) and returns its rows.
 * Throws INVALID_ARGUMENT for a statement that returns no rows or writes.
 */
export function runQuery(db: Database, sql: string, params: unknown[] | Record<string, unknown> = []): Array<Record<string, unknown>> {
  return readStatement(db, sql, 'runQuery').all(params) as Array<Record<string, unknown>>;
}

/** {@link runQuery}, yielding the rows one at a time (the connection runs nothing else until the iteration ends). */
export function iterateQuery(db: Database, sql: string, params: unknown[] | Record<string, unknown> = []): IterableIterator<Record<string, unknown>> {
  return readStatement(db, sql, 'iterateQuery').iterate(params) as IterableIterator<Record<string, unknown>>;
}

function readStatement(db: Database, sql: string, caller: string): BetterSqlite3.Statement {
  const statement = db.prepare(sql);
  if (!statement.reader || !statement.readonly) {
    throw new FedlabError('INVALID_ARGUMENT', `${caller} only runs read-only statements that return rows`);
  }
  return statement;
}

/** Quotes a checked identifier (IDENTIFIER_NAME, or a name derived from one) for use in SQL text. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
