import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect } from 'vitest';
import { AuditLog, GENESIS_HASH, hashAuditEntry, verifyAuditDatabase, type AuditEntry } from './audit-log';
import type { Database } from './database';
import { test } from '@fedlab/test-kit';

function appendFive(log: AuditLog): AuditEntry[] {
  return [1, 2, 3, 4, 5].map((i) =>
    log.append({
      kind: 'query',
      queryId: `q${i}`,
      decision: i % 2 ? 'answered' : 'refused',
      reason: i % 2 ? '' : 'PURPOSE_NOT_PERMITTED',
      digest: i % 2 ? new Uint8Array(32).fill(i) : null,
      timeMs: 1_700_000_000_000 + i,
    }),
  );
}

/** Tampers the way a steward with file access could: through another connection, triggers dropped. */
function tamper(dbFile: string, sql: string, ...params: unknown[]): void {
  const raw = new BetterSqlite3(dbFile);
  raw.exec('DROP TRIGGER fedlab_audit_no_update; DROP TRIGGER fedlab_audit_no_delete;');
  raw.prepare(sql).run(...params);
  raw.close();
}

function count(db: Database): number {
  return db.prepare('SELECT count(*) FROM fedlab_audit').pluck().get() as number;
}

describe('AuditLog', () => {
  test('an empty log has the genesis head and verifies', ({ nodeDb: db }) => {
    const log = new AuditLog(db);
    expect(log.head()).toEqual({ seq: 0, hash: GENESIS_HASH });
    expect(log.verify()).toEqual({ ok: true, entries: 0 });
  });

  test('appends entries chained by hash from the genesis value', ({ nodeDb: db }) => {
    const log = new AuditLog(db);
    const [first, second] = appendFive(log);
    expect(first).toMatchObject({ seq: 1, timeMs: 1_700_000_000_001, kind: 'query', queryId: 'q1', decision: 'answered', reason: '' });
    expect(first.prevHash).toEqual(new Uint8Array(64));
    expect(first.hash).toHaveLength(64);
    expect(first.hash).toEqual(hashAuditEntry(first));
    expect(second.prevHash).toEqual(first.hash);
    expect(second.digest).toBeNull();
    expect(log.head()).toEqual({ seq: 5, hash: log.entries(5)[0].hash });
    expect(log.verify()).toEqual({ ok: true, entries: 5 });
  });

  test('reads back entries exactly as appended', ({ nodeDb: db }) => {
    const log = new AuditLog(db);
    const appended = appendFive(log);
    expect(log.entries()).toEqual(appended);
    expect(log.entries(4)).toEqual(appended.slice(3));
    expect(log.entries(2, 2)).toEqual(appended.slice(1, 3));
  });

  test('defaults the optional fields', ({ nodeDb: db }) => {
    const entry = new AuditLog(db).append({ kind: 'import', decision: 'done' });
    expect(entry).toMatchObject({ seq: 1, queryId: null, reason: '', digest: null });
    expect(Math.abs(entry.timeMs - Date.now())).toBeLessThan(60_000);
  });

  test('the hash covers every field with unambiguous boundaries', () => {
    const base = { seq: 1, timeMs: 5, kind: 'ab', queryId: null, decision: 'c', reason: '', digest: null, prevHash: GENESIS_HASH };
    const hash = Buffer.from(hashAuditEntry(base)).toString('hex');
    const variants = [
      { ...base, seq: 2 },
      { ...base, timeMs: 6 },
      { ...base, kind: 'a', decision: 'bc' },
      { ...base, queryId: '' },
      { ...base, reason: ' ' },
      { ...base, digest: new Uint8Array(0) },
      { ...base, prevHash: new Uint8Array(64).fill(1) },
    ];
    for (const variant of variants) expect(Buffer.from(hashAuditEntry(variant)).toString('hex')).not.toBe(hash);
  });

  test('triggers refuse UPDATE and DELETE', ({ nodeDb: db }) => {
    appendFive(new AuditLog(db));
    expect(() => db.prepare("UPDATE fedlab_audit SET decision = 'answered' WHERE seq = 2").run()).toThrow('fedlab_audit is append-only');
    expect(() => db.prepare('DELETE FROM fedlab_audit WHERE seq = 5').run()).toThrow('fedlab_audit is append-only');
    expect(count(db)).toBe(5);
  });

  test('detects an edited entry', ({ nodeDb: db, nodeDbFile: dbFile }) => {
    appendFive(new AuditLog(db));
    tamper(dbFile, "UPDATE fedlab_audit SET decision = 'answered' WHERE seq = 2");
    expect(new AuditLog(db).verify()).toEqual({ ok: false, firstBrokenSeq: 2, reason: 'entry 2: hash does not match its contents' });
  });

  test('detects an edited entry whose hash was recomputed', ({ nodeDb: db, nodeDbFile: dbFile }) => {
    const log = new AuditLog(db);
    const [, second] = appendFive(log);
    const forged = { ...second, decision: 'answered' };
    tamper(dbFile, 'UPDATE fedlab_audit SET decision = ?, hash = ? WHERE seq = 2', forged.decision, hashAuditEntry(forged));
    expect(log.verify()).toEqual({ ok: false, firstBrokenSeq: 3, reason: 'entry 3: prev_hash does not match entry 2' });
  });

  test('detects a deleted entry', ({ nodeDb: db, nodeDbFile: dbFile }) => {
    appendFive(new AuditLog(db));
    tamper(dbFile, 'DELETE FROM fedlab_audit WHERE seq = 4');
    expect(new AuditLog(db).verify()).toEqual({ ok: false, firstBrokenSeq: 4, reason: 'entry 4 is missing (sequence jumps from 3 to 5)' });
  });

  test('detects a deleted first entry', ({ nodeDb: db, nodeDbFile: dbFile }) => {
    appendFive(new AuditLog(db));
    tamper(dbFile, 'DELETE FROM fedlab_audit WHERE seq = 1');
    expect(new AuditLog(db).verify()).toEqual({ ok: false, firstBrokenSeq: 1, reason: 'entry 1 is missing (sequence starts at 2)' });
  });

  test('detects a forged genesis link', ({ nodeDb: db, nodeDbFile: dbFile }) => {
    appendFive(new AuditLog(db));
    tamper(dbFile, 'UPDATE fedlab_audit SET prev_hash = ? WHERE seq = 1', Buffer.alloc(64, 1));
    expect(new AuditLog(db).verify()).toEqual({ ok: false, firstBrokenSeq: 1, reason: 'entry 1: prev_hash is not the genesis value' });
  });

  test('detects truncation against a checkpoint', ({ nodeDb: db, nodeDbFile: dbFile }) => {
    const log = new AuditLog(db);
    appendFive(log);
    const checkpoint = log.head();
    expect(log.verify(checkpoint)).toEqual({ ok: true, entries: 5 });
    tamper(dbFile, 'DELETE FROM fedlab_audit WHERE seq >= 4');
    expect(log.verify()).toEqual({ ok: true, entries: 3 });
    expect(log.verify(checkpoint)).toEqual({
      ok: false,
      firstBrokenSeq: 4,
      reason: 'entry 4 is missing (the log ends at 3, the checkpoint is at 5)',
    });
  });

  test('detects a rewritten tail against a checkpoint', ({ nodeDb: db, nodeDbFile: dbFile }) => {
    const log = new AuditLog(db);
    appendFive(log);
    const checkpoint = log.head();
    tamper(dbFile, 'DELETE FROM fedlab_audit WHERE seq = 5');
    log.append({ kind: 'query', decision: 'answered' });
    expect(log.verify(checkpoint)).toEqual({ ok: false, firstBrokenSeq: 5, reason: 'entry 5: hash does not match the checkpoint' });
  });
});

describe('verifyAuditDatabase', () => {
  test('verifies a node database opened read-only', ({ nodeDb: db, nodeDbFile: dbFile }) => {
    appendFive(new AuditLog(db));
    expect(verifyAuditDatabase(dbFile)).toEqual({ ok: true, entries: 5 });
    tamper(dbFile, 'DELETE FROM fedlab_audit WHERE seq = 2');
    expect(verifyAuditDatabase(dbFile)).toEqual({ ok: false, firstBrokenSeq: 2, reason: 'entry 2 is missing (sequence jumps from 1 to 3)' });
    expect(count(db)).toBe(4);
  });

  test('refuses a missing file and a file without an audit log', ({ tempDir: dir }) => {
    expect(() => verifyAuditDatabase(path.join(dir, 'none.db'))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'none.db: no such file' }),
    );
    const other = path.join(dir, 'other.db');
    const plain = new BetterSqlite3(other);
    plain.exec('CREATE TABLE t (a)');
    plain.close();
    expect(() => verifyAuditDatabase(other)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'other.db: no audit log in this file' }));
  });
});
