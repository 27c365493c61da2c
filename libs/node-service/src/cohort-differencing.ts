import type { Database } from 'better-sqlite3';
import type { FedlabError } from '@fedlab/model';
import { blake2b } from '@fedlab/crypto';

const HASH_BYTES = 8;

/** Where a group of persons is checked and recorded: one scope per project (studies) or organisation (evaluations). */
export interface DifferencingScope {
  db: Database;
  /** Groups are compared only with earlier groups of the same scope. */
  scope: string;
  queryId: string;
  /** Secret of the keyed hashes, so the stored groups reveal no person id. */
  cohortKey: Uint8Array;
  nowMs: number;
}

/**
 * Refuses a group of persons that differs from an earlier group of the same scope by fewer than `min`
 * persons (but is not identical): results of two such groups could be subtracted to learn about the
 * few persons in the difference. Otherwise records the group, as sorted 8-byte keyed hashes of its
 * person ids, for later checks. Throws `refusal()` and records nothing when refused.
 */
export function checkAndRecordGroup(where: DifferencingScope, members: readonly string[], min: number, refusal: () => FedlabError): void {
  const { db, scope, queryId, cohortKey, nowMs } = where;
  const hashes = members.map((m) => Buffer.from(blake2b(Buffer.concat([cohortKey, Buffer.from(m, 'utf8')]), HASH_BYTES)).toString('hex')).sort();
  const current = new Set(hashes);
  const rows = db.prepare('SELECT members FROM fedlab_cohorts WHERE project_id = ? AND query_id <> ?').all(scope, queryId) as Array<{ members: Buffer }>;
  for (const row of rows) {
    const earlier = new Set<string>();
    for (let i = 0; i < row.members.length; i += HASH_BYTES) earlier.add(row.members.subarray(i, i + HASH_BYTES).toString('hex'));
    let difference = 0;
    for (const h of current) if (!earlier.has(h)) difference += 1;
    for (const h of earlier) if (!current.has(h)) difference += 1;
    if (difference > 0 && difference < min) throw refusal();
  }
  db.prepare('INSERT OR IGNORE INTO fedlab_cohorts (query_id, project_id, members, created_at_ms) VALUES (?, ?, ?, ?)').run(
    queryId,
    scope,
    Buffer.concat(hashes.map((h) => Buffer.from(h, 'hex'))),
    nowMs,
  );
}
