import path from 'node:path';
import { MemoryMerkleStore, MerkleTree, leafHash } from '@fedlab/transparency';
import { describe, expect } from 'vitest';
import { test as base } from '@fedlab/test-kit';
import { openDatabase, type Database } from './database';
import { MERKLE_MIGRATION_SQL, SqliteMerkleStore } from './merkle-store';

const MIGRATIONS = [{ version: 1, up: MERKLE_MIGRATION_SQL }];

/** Fixtures: `dbFile` in the test's temporary directory; `db`, that file opened and migrated. */
const test = base.extend<{ dbFile: string; db: Database }>({
  dbFile: async ({ tempDir }, use) => use(path.join(tempDir, 'log.db')),
  db: async ({ dbFile }, use) => {
    const db = openDatabase(dbFile, MIGRATIONS);
    await use(db);
    db.close();
  },
});

const entry = (i: number) => leafHash(new TextEncoder().encode(`entry ${i}`));

/** Appends entries [from, to) to both stores in batches of 1 to 7, so batch boundaries fall everywhere. */
function appendBoth(sqlite: SqliteMerkleStore, memory: MemoryMerkleStore, from: number, to: number): void {
  for (let i = from, batch = 1; i < to; i += batch, batch = (batch % 7) + 1) {
    const hashes = Array.from({ length: Math.min(batch, to - i) }, (_, j) => entry(i + j));
    sqlite.appendLeafHashes(hashes);
    memory.appendLeafHashes(hashes);
  }
}

function expectSameProofs(sqlite: MerkleTree, memory: MerkleTree, size: number, others: number[]): void {
  expect(sqlite.rootHash(size)).toEqual(memory.rootHash(size));
  for (const other of others) {
    expect(sqlite.inclusionProof(other, size)).toEqual(memory.inclusionProof(other, size));
    expect(sqlite.consistencyProof(other, size)).toEqual(memory.consistencyProof(other, size));
  }
}

describe('SqliteMerkleStore', () => {
  test('gives the same roots and proofs as MemoryMerkleStore for every size 0..70', ({ db }) => {
    const [sqliteStore, memoryStore] = [new SqliteMerkleStore(db), new MemoryMerkleStore()];
    appendBoth(sqliteStore, memoryStore, 0, 70);
    const [sqlite, memory] = [new MerkleTree(sqliteStore), new MerkleTree(memoryStore)];
    expect(sqlite.size).toBe(70);
    for (let size = 0; size <= 70; size++) {
      expectSameProofs(
        sqlite,
        memory,
        size,
        Array.from({ length: size }, (_, i) => i),
      );
    }
    // One row per leaf and per complete subtree: 70 + 35 + 17 + 8 + 4 + 2 + 1.
    expect(db.prepare('SELECT count(*) FROM merkle_nodes').pluck().get()).toBe(137);
  });

  test('gives the same roots and proofs for random larger sizes', ({ db }) => {
    const [sqliteStore, memoryStore] = [new SqliteMerkleStore(db), new MemoryMerkleStore()];
    appendBoth(sqliteStore, memoryStore, 0, 2049);
    const [sqlite, memory] = [new MerkleTree(sqliteStore), new MerkleTree(memoryStore)];
    let seed = 7;
    const random = (below: number) => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed % below;
    };
    for (const size of [127, 128, 129, 1000, 1024, 1025, 2047, 2048, 2049, 1 + random(2049), 1 + random(2049)]) {
      expectSameProofs(
        sqlite,
        memory,
        size,
        Array.from({ length: 12 }, () => random(size)),
      );
    }
  });

  test('keeps the log across closing and reopening the file', ({ db, dbFile }) => {
    const memoryStore = new MemoryMerkleStore();
    appendBoth(new SqliteMerkleStore(db), memoryStore, 0, 45);
    db.close();
    const reopened = openDatabase(dbFile, MIGRATIONS);
    try {
      const sqliteStore = new SqliteMerkleStore(reopened);
      expect(sqliteStore.size()).toBe(45);
      appendBoth(sqliteStore, memoryStore, 45, 100);
      const [sqlite, memory] = [new MerkleTree(sqliteStore), new MerkleTree(memoryStore)];
      expectSameProofs(sqlite, memory, 100, [0, 44, 45, 99]);
      expectSameProofs(sqlite, memory, 45, [0, 13, 44]);
    } finally {
      reopened.close();
    }
  });

  test('sees leaves appended through another connection to the same file', ({ db, dbFile }) => {
    const other = openDatabase(dbFile, MIGRATIONS);
    try {
      const [mine, theirs] = [new MerkleTree(new SqliteMerkleStore(db)), new MerkleTree(new SqliteMerkleStore(other))];
      mine.appendLeafHash(entry(0));
      theirs.appendLeafHash(entry(1));
      mine.appendLeafHash(entry(2));
      expect(theirs.size).toBe(3);
      expect(theirs.rootHash()).toEqual(mine.rootHash());
    } finally {
      other.close();
    }
  });

  test('refuses a batch containing a hash that is not 32 bytes and writes none of it', ({ db }) => {
    const store = new SqliteMerkleStore(db);
    expect(() => store.appendLeafHashes([entry(0), new Uint8Array(16)])).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'a leaf hash must be 32 bytes' }),
    );
    expect(store.size()).toBe(0);
    expect(db.prepare('SELECT count(*) FROM merkle_nodes').pluck().get()).toBe(0);
  });

  test('rolls back the whole batch when a write fails part-way', ({ db }) => {
    const store = new SqliteMerkleStore(db);
    store.appendLeafHashes([entry(0)]);
    // A stray row where the batch's second leaf will close a subtree makes that insert fail.
    db.prepare('INSERT INTO merkle_nodes (level, idx, hash) VALUES (1, 1, ?)').run(entry(99));
    expect(() => store.appendLeafHashes([entry(1), entry(2), entry(3)])).toThrow(/UNIQUE constraint failed/);
    expect(store.size()).toBe(1);
  });

  test('refuses subtrees outside the tree and reports a missing row as INTERNAL', ({ db }) => {
    const store = new SqliteMerkleStore(db);
    store.appendLeafHashes([entry(0), entry(1), entry(2)]);
    expect(() => store.subtreeHash(1, 1)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'no complete subtree at level 1, index 1 in a tree of size 3' }),
    );
    db.prepare('DELETE FROM merkle_nodes WHERE level = 1 AND idx = 0').run();
    expect(() => store.subtreeHash(1, 0)).toThrow(expect.objectContaining({ code: 'INTERNAL', message: 'merkle_nodes has no subtree at level 1, index 0' }));
  });
});
