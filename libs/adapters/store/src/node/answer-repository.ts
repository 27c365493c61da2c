import type { Database } from '../database';

/** A signed answer (or refusal) as kept for its query id: the hash of the query it answers and the encoded envelope. */
export interface StoredAnswer {
  queryHash: Uint8Array;
  envelope: Uint8Array;
}

/**
 * Every signed answer or refusal by query id (`fedlab_answers`), so a re-delivered query gets exactly the
 * answer already given and is not executed again.
 */
export class AnswerRepository {
  readonly #find;
  readonly #save;

  constructor(db: Database) {
    this.#find = db.prepare<[string], { query_hash: Buffer; envelope: Buffer }>('SELECT query_hash, envelope FROM fedlab_answers WHERE query_id = ?');
    this.#save = db.prepare<[string, Buffer, Buffer, number]>(
      'INSERT OR IGNORE INTO fedlab_answers (query_id, query_hash, envelope, created_at_ms) VALUES (?, ?, ?, ?)',
    );
  }

  /** The answer kept for `queryId`, or undefined. */
  find(queryId: string): StoredAnswer | undefined {
    const row = this.#find.get(queryId);
    return row && { queryHash: row.query_hash, envelope: row.envelope };
  }

  /** Keeps the answer of `queryId`; the first answer kept for an id stays (a later one is ignored). */
  save(queryId: string, answer: StoredAnswer, createdAtMs: number): void {
    this.#save.run(queryId, Buffer.from(answer.queryHash), Buffer.from(answer.envelope), createdAtMs);
  }
}
