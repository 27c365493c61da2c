import { existsSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { test } from '@fedlab/test-kit';
import { openDatabase, type Database } from './database';
import { NODE_MIGRATIONS } from './node-schema';
import { DurabilityGate, startGroupCommit, type SyncFile } from './durability-gate';

/** A sync the test completes by hand: each call is kept with its descriptor until `finish` is called. */
function manualSync() {
  const pending: Array<(error: Error | null) => void> = [];
  const sync: SyncFile = (_fd, done) => pending.push(done);
  return {
    sync,
    get started() {
      return pending.length;
    },
    finish(error: Error | null = null) {
      const done = pending.shift();
      if (!done) throw new Error('no sync is running');
      done(error);
    },
  };
}

const insert = (db: Database, nonce: string) => db.prepare('INSERT INTO fedlab_nonces VALUES (?, ?)').run(nonce, 1);

describe('DurabilityGate', () => {
  test('an output with no commit since the last sync runs at once, without a sync', ({ nodeDb: db, nodeDbFile: file }) => {
    const syncs = manualSync();
    const gate = new DurabilityGate(db, file, { onFailure: () => {}, sync: syncs.sync });
    const sent: string[] = [];
    gate.after(() => sent.push('a'));
    expect(sent).toEqual(['a']);
    expect(syncs.started).toBe(0);
    gate.close();
  });

  test('an output after a commit waits for the sync; outputs during a sync wait for the next, in order', ({ nodeDb: db, nodeDbFile: file }) => {
    const syncs = manualSync();
    const gate = new DurabilityGate(db, file, { onFailure: () => {}, sync: syncs.sync });
    const sent: string[] = [];
    insert(db, 'aa');
    gate.after(() => sent.push('after aa'));
    expect(sent).toEqual([]);
    expect(syncs.started).toBe(1);
    // Committed while the first sync runs, which may have started before it: this one waits for the next.
    insert(db, 'bb');
    gate.after(() => sent.push('after bb'));
    // Nothing new was committed, but it keeps its place behind the outputs waiting.
    gate.after(() => sent.push('no commit'));
    expect(syncs.started).toBe(1);
    syncs.finish();
    expect(sent).toEqual(['after aa']);
    expect(syncs.started).toBe(1);
    syncs.finish();
    expect(sent).toEqual(['after aa', 'after bb', 'no commit']);
    expect(syncs.started).toBe(0);
    // Everything is on the disk again: the next output goes at once.
    gate.after(() => sent.push('later'));
    expect(sent.at(-1)).toBe('later');
    gate.close();
  });

  test('an output that shows no commit keeps its place but starts no sync of its own', ({ nodeDb: db, nodeDbFile: file }) => {
    const syncs = manualSync();
    const gate = new DurabilityGate(db, file, { onFailure: () => {}, sync: syncs.sync });
    const sent: string[] = [];
    // Nothing waits: at once, although a commit is not synced yet.
    insert(db, 'aa');
    gate.inOrder(() => sent.push('receipt 1'));
    expect(sent).toEqual(['receipt 1']);
    expect(syncs.started).toBe(0);
    gate.after(() => sent.push('after aa'));
    // Behind the output of the sync under way, and sent with it.
    gate.inOrder(() => sent.push('receipt 2'));
    insert(db, 'bb');
    gate.after(() => sent.push('after bb'));
    // Behind the output waiting for the next sync.
    gate.inOrder(() => sent.push('receipt 3'));
    expect(sent).toEqual(['receipt 1']);
    syncs.finish();
    expect(sent).toEqual(['receipt 1', 'after aa', 'receipt 2']);
    syncs.finish();
    expect(sent).toEqual(['receipt 1', 'after aa', 'receipt 2', 'after bb', 'receipt 3']);
    expect(syncs.started).toBe(0);
    gate.close();
  });

  test('an output given while a synced batch is sent goes after the rest of the batch', ({ nodeDb: db, nodeDbFile: file }) => {
    const syncs = manualSync();
    const gate = new DurabilityGate(db, file, { onFailure: () => {}, sync: syncs.sync });
    const sent: string[] = [];
    insert(db, 'aa');
    gate.after(() => {
      sent.push('first');
      gate.after(() => sent.push('given by first'));
      gate.inOrder(() => sent.push('receipt given by first'));
    });
    gate.after(() => sent.push('second'));
    syncs.finish();
    // Nothing was committed since: no second sync, only the order kept.
    expect(syncs.started).toBe(0);
    expect(sent).toEqual(['first', 'second', 'given by first', 'receipt given by first']);
    gate.close();
  });

  test('an output given inside a transaction waits for it to end, then for the sync of its commit', async ({ nodeDb: db, nodeDbFile: file }) => {
    const syncs = manualSync();
    const gate = new DurabilityGate(db, file, { onFailure: () => {}, sync: syncs.sync });
    const sent: string[] = [];
    db.transaction(() => {
      insert(db, 'aa');
      gate.after(() => sent.push('after aa'));
      gate.after(() => sent.push('after aa, second'));
    })();
    // The sync is decided once the transaction ended, never before its commit.
    expect(syncs.started).toBe(0);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(syncs.started).toBe(1);
    expect(sent).toEqual([]);
    syncs.finish();
    expect(sent).toEqual(['after aa', 'after aa, second']);
    gate.close();
  });

  test('a database opened through a symbolic link: its log is synced where SQLite keeps it', async ({ tempDir }) => {
    const real = path.join(tempDir, 'real.db');
    const link = path.join(tempDir, 'link.db');
    openDatabase(real, NODE_MIGRATIONS).close();
    symlinkSync(real, link);
    const db = openDatabase(link, NODE_MIGRATIONS);
    try {
      const failures: Error[] = [];
      const gate = startGroupCommit(db, link, { onFailure: (error) => failures.push(error) });
      insert(db, 'aa');
      await new Promise<void>((resolve) => gate.after(resolve));
      expect(failures).toEqual([]);
      expect(existsSync(`${real}-wal`)).toBe(true);
      expect(existsSync(`${link}-wal`)).toBe(false);
      gate.close();
    } finally {
      db.close();
    }
  });

  test('says how long each sync took and how many outputs it served', ({ nodeDb: db, nodeDbFile: file }) => {
    const syncs = manualSync();
    const reported: Array<[number, number]> = [];
    const gate = new DurabilityGate(db, file, { onFailure: () => {}, onSynced: (seconds, outputs) => reported.push([seconds, outputs]), sync: syncs.sync });
    const sent: string[] = [];
    insert(db, 'aa');
    gate.after(() => sent.push('a'));
    // Joins the batch of the sync under way.
    gate.inOrder(() => sent.push('b'));
    // Waits for the next sync, which finds nothing new committed: sent without one, and not reported.
    gate.after(() => sent.push('c'));
    syncs.finish();
    expect(sent).toEqual(['a', 'b', 'c']);
    expect(syncs.started).toBe(0);
    expect(reported).toHaveLength(1);
    expect(reported[0]![1]).toBe(2);
    expect(reported[0]![0]).toBeGreaterThanOrEqual(0);
    gate.close();
  });

  test('a failed sync sends nothing more and says why, once', ({ nodeDb: db, nodeDbFile: file }) => {
    const syncs = manualSync();
    const failures: string[] = [];
    const gate = new DurabilityGate(db, file, { onFailure: (error) => failures.push(error.message), sync: syncs.sync });
    const sent: string[] = [];
    insert(db, 'aa');
    gate.after(() => sent.push('after aa'));
    insert(db, 'bb');
    gate.after(() => sent.push('after bb'));
    syncs.finish(new Error('EIO: i/o error, fsync'));
    gate.after(() => sent.push('later'));
    expect(sent).toEqual([]);
    expect(failures).toEqual(['EIO: i/o error, fsync']);
    expect(syncs.started).toBe(0);
    gate.close();
  });

  test('with the real fsync: the connection stops waiting for the disk, and outputs are sent once the log is synced', async ({
    nodeDb: db,
    nodeDbFile: file,
  }) => {
    const gate = startGroupCommit(db, file, {
      onFailure: (error) => {
        throw error;
      },
    });
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
    expect(existsSync(`${file}-wal`)).toBe(true);
    insert(db, 'aa');
    const sent = await new Promise<string[]>((resolve) => {
      const order: string[] = [];
      gate.after(() => order.push('first'));
      gate.after(() => {
        order.push('second');
        resolve(order);
      });
      // Both wait for the sync of the commit above: nothing was sent yet.
      expect(order).toEqual([]);
    });
    expect(sent).toEqual(['first', 'second']);
    expect(db.prepare('SELECT nonce_hex FROM fedlab_nonces').pluck().all()).toEqual(['aa']);
    gate.close();
  });

  test('closed while a sync runs: the outputs waiting are dropped and no failure is reported', ({ nodeDb: db, nodeDbFile: file }) => {
    const syncs = manualSync();
    const failures: Error[] = [];
    const gate = new DurabilityGate(db, file, { onFailure: (error) => failures.push(error), sync: syncs.sync });
    const sent: string[] = [];
    insert(db, 'aa');
    gate.after(() => sent.push('after aa'));
    gate.close();
    syncs.finish(new Error('EBADF: bad file descriptor, fsync'));
    gate.after(() => sent.push('later'));
    expect(sent).toEqual([]);
    expect(failures).toEqual([]);
  });
});
