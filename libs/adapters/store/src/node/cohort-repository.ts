import type { Database } from '../database';

/**
 * The groups of persons the differencing check compares (`fedlab_cohorts`): each study cohort or
 * evaluation list, by query id and scope (a project, or all evaluations), as the concatenated keyed
 * hashes of its members. Hashing and the differencing rule are the node service's and libs/domain/sdc's.
 */
export class CohortRepository {
  readonly #earlier;
  readonly #record;

  constructor(db: Database) {
    this.#earlier = db.prepare<[string, string], Buffer>('SELECT members FROM fedlab_cohorts WHERE project_id = ? AND query_id <> ?').pluck();
    this.#record = db.prepare<[string, string, Buffer, number]>(
      'INSERT OR IGNORE INTO fedlab_cohorts (query_id, project_id, members, created_at_ms) VALUES (?, ?, ?, ?)',
    );
  }

  /** The members of every group recorded in `scope` by a query other than `queryId`. */
  earlier(scope: string, queryId: string): Buffer[] {
    return this.#earlier.all(scope, queryId);
  }

  /** Records the members of `queryId`'s group in `scope`; a query's first recording stays. */
  record(queryId: string, scope: string, members: Uint8Array, createdAtMs: number): void {
    this.#record.run(queryId, scope, Buffer.from(members.buffer, members.byteOffset, members.byteLength), createdAtMs);
  }
}
