import type { Database } from '../database';

/** A transparency-log tree head as the node keeps it: the size and root of the last tree it verified. */
export interface StoredTreeHead {
  size: number;
  rootHash: Uint8Array;
}

/** The one row of `fedlab_tree_head`: the last tree head this node verified, which every later head must extend. */
export class TreeHeadRepository {
  readonly #get;
  readonly #set;

  constructor(db: Database) {
    this.#get = db.prepare<[], { size: number; root_hash: Buffer }>('SELECT size, root_hash FROM fedlab_tree_head WHERE id = 1');
    this.#set = db.prepare<[number, Buffer, number]>(
      'INSERT INTO fedlab_tree_head (id, size, root_hash, verified_at_ms) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET size = excluded.size, root_hash = excluded.root_hash, verified_at_ms = excluded.verified_at_ms',
    );
  }

  /** The last verified tree head, or undefined before the first. */
  get(): StoredTreeHead | undefined {
    const row = this.#get.get();
    return row && { size: row.size, rootHash: new Uint8Array(row.root_hash) };
  }

  /** Replaces the stored tree head with `head`, verified at `verifiedAtMs`. */
  set(head: StoredTreeHead, verifiedAtMs: number): void {
    this.#set.run(head.size, Buffer.from(head.rootHash), verifiedAtMs);
  }
}
