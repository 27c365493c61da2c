import type { FedlabError } from '@fedlab/model';
import { blake2b } from '@fedlab/crypto';
import type { CohortRepository } from '@fedlab/store';
import { tooCloseToEarlierGroup } from '@fedlab/sdc';

const HASH_BYTES = 8;

/** Where a group of persons is checked and recorded: one scope per project (studies) or organisation (evaluations). */
export interface DifferencingScope {
  cohorts: CohortRepository;
  /** Groups are compared only with earlier groups of the same scope. */
  scope: string;
  queryId: string;
  /** Secret of the keyed hashes, so the stored groups reveal no person id. */
  cohortKey: Uint8Array;
  nowMs: number;
}

/**
 * Applies the differencing rule (`tooCloseToEarlierGroup`, libs/domain/sdc) to a group of persons against the
 * earlier groups of the same scope stored at this node, and records the group, as sorted 8-byte keyed
 * hashes of its person ids, for later checks. Throws `refusal()` and records nothing when refused.
 */
export function checkAndRecordGroup(where: DifferencingScope, members: readonly string[], min: number, refusal: () => FedlabError): void {
  const { cohorts, scope, queryId, cohortKey, nowMs } = where;
  const hashes = members.map((m) => Buffer.from(blake2b(Buffer.concat([cohortKey, Buffer.from(m, 'utf8')]), HASH_BYTES)).toString('hex')).sort();
  const earlier = cohorts.earlier(scope, queryId).map((stored) => {
    const members = new Set<string>();
    for (let i = 0; i < stored.length; i += HASH_BYTES) members.add(stored.subarray(i, i + HASH_BYTES).toString('hex'));
    return members;
  });
  if (tooCloseToEarlierGroup(new Set(hashes), earlier, min) !== undefined) throw refusal();
  cohorts.record(queryId, scope, Buffer.concat(hashes.map((h) => Buffer.from(h, 'hex'))), nowMs);
}
