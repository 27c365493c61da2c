import { FedlabError } from '@fedlab/model';
import { assertCompleteSubtree, assertLeafHashes, closeSubtrees, type MerkleHashStore } from '@fedlab/transparency';
import type { Database } from './database';

/**
 * Creates the table of a {@link SqliteMerkleStore}: one row per leaf hash (level 0) and per complete subtree
 * hash. Callers include it in their own numbered migrations.
 */
export const MERKLE_MIGRATION_SQL = `CREATE TABLE merkle_nodes (
  level INTEGER NOT NULL CHECK (level >= 0),
  idx INTEGER NOT NULL CHECK (idx >= 0),
  hash BLOB NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;`;

/**
 * A {@link MerkleHashStore} in the `merkle_nodes` table of a SQLite database (see {@link MERKLE_MIGRATION_SQL}).
 * Each batch of leaves is appended in one immediate transaction together with the subtrees it closes, and the
 * size is read from the table, so several connections may share one log.
 */
export class SqliteMerkleStore implements MerkleHashStore {
  readonly #size;
  readonly #get;
  readonly #insert;
  readonly #append;

  constructor(db: Database) {
    this.#size = db.prepare<[], number>('SELECT coalesce(max(idx) + 1, 0) FROM merkle_nodes WHERE level = 0').pluck();
    this.#get = db.prepare<[number, number], Buffer>('SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?').pluck();
    this.#insert = db.prepare<[number, number, Uint8Array]>('INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)');
    this.#append = db.transaction((hashes: Uint8Array[]) => {
      let size = this.size();
      for (const hash of hashes) {
        closeSubtrees(
          size,
          hash,
          (level, index) => this.#stored(level, index),
          (level, index, node) => {
            this.#insert.run(level, index, node);
          },
        );
        size += 1;
      }
    });
  }

  size(): number {
    return this.#size.get()!;
  }

  appendLeafHashes(hashes: Uint8Array[]): void {
    assertLeafHashes(hashes);
    this.#append.immediate(hashes);
  }

  /** The table holds a subtree's row exactly when the subtree is complete: the size is read only to refuse one that is not. */
  subtreeHash(level: number, index: number): Uint8Array {
    if (!Number.isSafeInteger(level) || !Number.isSafeInteger(index) || level < 0 || index < 0) assertCompleteSubtree(level, index, this.size());
    const hash = this.#get.get(level, index);
    if (hash === undefined) assertCompleteSubtree(level, index, this.size());
    return this.#stored(level, index, hash);
  }

  #stored(level: number, index: number, hash = this.#get.get(level, index)): Uint8Array {
    if (hash === undefined) {
      throw new FedlabError('INTERNAL', `merkle_nodes has no subtree at level ${level}, index ${index}`);
    }
    return new Uint8Array(hash);
  }
}
