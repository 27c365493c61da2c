import BetterSqlite3 from 'better-sqlite3';
import { statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { databaseSizeBytes, openDatabase, runQuery, schemaVersion, type Database } from './database';
import { NODE_MIGRATIONS } from './node-schema';
import { test } from '@fedlab/test-kit';

function tables(db: Database): string[] {
  return db
    .prepare("SELECT name FROM sqlite_schema WHERE type IN ('table', 'trigger', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .pluck()
    .all() as string[];
}

function columns(db: Database, table: string): string[] {
  return (db.pragma(`table_info(${table})`) as Array<{ name: string }>).map((column) => column.name);
}

describe('openDatabase', () => {
  test('migrates a fresh file to the latest version with WAL, foreign keys and a busy timeout', ({ nodeDb: db }) => {
    expect(schemaVersion(db)).toBe(NODE_MIGRATIONS.length);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
  });

  test('reopening a migrated file is a no-op that keeps its data', ({ nodeDb: db, nodeDbFile: dbFile }) => {
    db.prepare('INSERT INTO fedlab_nonces VALUES (?, ?)').run('aa', 1);
    db.close();
    const again = openDatabase(dbFile, NODE_MIGRATIONS);
    expect(schemaVersion(again)).toBe(NODE_MIGRATIONS.length);
    expect(again.prepare('SELECT nonce_hex FROM fedlab_nonces').pluck().all()).toEqual(['aa']);
    again.close();
  });

  test('migration 1 creates the dataset catalog', ({ tempDir: dir }) => {
    const db = openDatabase(path.join(dir, 'v1.db'), NODE_MIGRATIONS.slice(0, 1));
    expect(schemaVersion(db)).toBe(1);
    expect(tables(db)).toEqual(['fedlab_datasets']);
    expect(columns(db, 'fedlab_datasets')).toEqual(['name', 'schema_json', 'row_count', 'imported_at']);
    db.close();
  });

  test('migration 2 adds the audit table and its append-only triggers to a version-1 file', ({ tempDir: dir }) => {
    const file = path.join(dir, 'v2.db');
    openDatabase(file, NODE_MIGRATIONS.slice(0, 1)).close();
    const db = openDatabase(file, NODE_MIGRATIONS.slice(0, 2));
    expect(schemaVersion(db)).toBe(2);
    expect(tables(db)).toEqual(['fedlab_audit', 'fedlab_audit_no_delete', 'fedlab_audit_no_update', 'fedlab_datasets']);
    expect(columns(db, 'fedlab_audit')).toEqual(['seq', 'time_ms', 'kind', 'query_id', 'decision', 'reason', 'digest', 'prev_hash', 'hash']);
    db.close();
  });

  test('migration 3 adds the nonce store to a version-2 file', ({ tempDir: dir }) => {
    const file = path.join(dir, 'v3.db');
    openDatabase(file, NODE_MIGRATIONS.slice(0, 2)).close();
    const db = openDatabase(file, NODE_MIGRATIONS.slice(0, 3));
    expect(schemaVersion(db)).toBe(3);
    expect(tables(db)).toContain('fedlab_nonces');
    expect(tables(db)).toContain('fedlab_nonces_expiry');
    expect(columns(db, 'fedlab_nonces')).toEqual(['nonce_hex', 'expires_at_ms']);
    db.close();
  });

  test('migration 11 records every dataset of a version-10 file as a SQLite table, neither elsewhere nor in place', ({ tempDir: dir }) => {
    const file = path.join(dir, 'v11.db');
    const v10 = openDatabase(file, NODE_MIGRATIONS.slice(0, 10));
    v10.prepare("INSERT INTO fedlab_datasets VALUES ('visits', '{}', 3, 0)").run();
    v10.close();
    const db = openDatabase(file, NODE_MIGRATIONS.slice(0, 11));
    expect(schemaVersion(db)).toBe(11);
    expect(columns(db, 'fedlab_datasets')).toEqual(['name', 'schema_json', 'row_count', 'imported_at', 'engine', 'location', 'in_place']);
    expect(db.prepare('SELECT name, engine, location, in_place FROM fedlab_datasets').all()).toEqual([
      { name: 'visits', engine: 'sqlite', location: null, in_place: 0 },
    ]);
    db.close();
  });

  test('a failing migration rolls back and leaves the file at the previous version', ({ tempDir: dir }) => {
    const file = path.join(dir, 'bad.db');
    const bad = [NODE_MIGRATIONS[0], { version: 2, up: 'CREATE TABLE half_done (a); SELEC 1;' }];
    expect(() => openDatabase(file, bad)).toThrow(/syntax error/);
    const db = new BetterSqlite3(file);
    expect(schemaVersion(db)).toBe(1);
    expect(tables(db)).toEqual(['fedlab_datasets']);
    db.close();
  });

  test('refuses migrations that are not numbered 1, 2, 3 …', ({ tempDir: dir }) => {
    expect(() => openDatabase(path.join(dir, 'x.db'), [{ version: 2, up: '' }])).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'migration 1 has version 2' }),
    );
  });

  test('refuses a file written by a newer version', ({ tempDir: dir }) => {
    const file = path.join(dir, 'new.db');
    openDatabase(file, NODE_MIGRATIONS).close();
    expect(() => openDatabase(file, NODE_MIGRATIONS.slice(0, 1))).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: `${file}: database schema version ${NODE_MIGRATIONS.length} is newer than this fedlab supports (1)`,
      }),
    );
  });
});

describe('runQuery', () => {
  test('binds every parameter and returns the rows', ({ nodeDb: db }) => {
    db.prepare('INSERT INTO fedlab_nonces VALUES (?, ?), (?, ?)').run('aa', 1, 'bb', 2);
    expect(runQuery(db, 'SELECT nonce_hex FROM fedlab_nonces WHERE expires_at_ms > ?', [1])).toEqual([{ nonce_hex: 'bb' }]);
    expect(runQuery(db, 'SELECT count(*) AS n FROM fedlab_nonces WHERE nonce_hex = :nonce', { nonce: "aa' OR 1=1 --" })).toEqual([{ n: 0 }]);
  });

  test('fails when a parameter is missing', ({ nodeDb: db }) => {
    expect(() => runQuery(db, 'SELECT * FROM fedlab_nonces WHERE nonce_hex = ?', [])).toThrow(RangeError);
  });

  test('refuses statements that write', ({ nodeDb: db }) => {
    expect(() => runQuery(db, 'DELETE FROM fedlab_nonces RETURNING nonce_hex')).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: 'runQuery only runs read-only statements that return rows',
      }),
    );
  });
});

describe('databaseSizeBytes', () => {
  test('is the size of the main database file after a checkpoint', ({ nodeDb: db, nodeDbFile: dbFile }) => {
    db.pragma('wal_checkpoint(TRUNCATE)');
    expect(databaseSizeBytes(db)).toBe(statSync(dbFile).size);
    expect(databaseSizeBytes(db) % (db.pragma('page_size', { simple: true }) as number)).toBe(0);
  });
});
