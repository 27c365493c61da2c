import { FedlabError } from '@fedlab/model';
import { blake2b, verifyDetached } from '@fedlab/crypto';
import { type Roster } from '@fedlab/governance';
import { decodeQuerySpec, encodePublicQuerySummary } from '@fedlab/wire';
import * as pb from '@fedlab/proto';
import { encodeTreeHead, leafHash, verifyConsistency, verifyInclusion } from '@fedlab/transparency';

/** A tree head this node has verified. */
export interface VerifiedTreeHead {
  size: number;
  rootHash: Uint8Array;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/**
 * Checks that a query is in the coordinator's public log before the node runs it (DESIGN.md §7.6):
 * the tree head is signed by the coordinator on the roster; the log leaf at the countersigned index
 * is this exact query's public summary (its hash and public fields, rebuilt here from the query); the inclusion proof places it in that tree; and the tree is
 * consistent with the last tree head this node verified, so the log cannot be rewritten behind the
 * node's back. Returns the new tree head to remember.
 */
export function verifyQueryInLog(
  work: pb.QueryWork,
  countersigned: pb.CountersignedQuery,
  roster: Roster,
  last: VerifiedTreeHead | undefined,
): VerifiedTreeHead {
  const head = work.treeHead;
  if (!head || work.logLeaf.length === 0) throw new FedlabError('INCLUSION_PROOF_INVALID', 'query: no signed tree head and log entry came with it');
  const coordinator = roster.get(head.signerId, 'coordinator');
  const size = Number(head.size);
  const timestampMs = Number(head.timestampMs);
  const wellFormed = head.rootHash.length === 32 && Number.isSafeInteger(size) && Number.isSafeInteger(timestampMs) && timestampMs >= 0;
  if (
    !coordinator ||
    !wellFormed ||
    !verifyDetached('sth', encodeTreeHead({ size, rootHash: head.rootHash, timestampMs }), head.signature, coordinator.signPublicKey)
  ) {
    throw new FedlabError('TREE_HEAD_INVALID', 'tree head: signature does not verify');
  }
  if (last) {
    if (size < last.size) throw new FedlabError('LOG_INCONSISTENT', `tree head: size ${size} is smaller than the size ${last.size} already verified`);
    if (Number(work.consistencyFrom) !== last.size)
      throw new FedlabError('LOG_INCONSISTENT', `tree head: no consistency proof from the tree of size ${last.size} already verified`);
    const consistent =
      size === last.size
        ? sameBytes(head.rootHash, last.rootHash) && work.consistencyProof.length === 0
        : verifyConsistency(last.size, size, last.rootHash, head.rootHash, work.consistencyProof);
    if (!consistent)
      throw new FedlabError('LOG_INCONSISTENT', `tree head: the log of size ${size} is not consistent with the tree of size ${last.size} already verified`);
  }
  let entry: pb.LogEntry;
  try {
    entry = pb.LogEntry.decode(work.logLeaf);
  } catch {
    throw new FedlabError('INCLUSION_PROOF_INVALID', 'query: the log entry is malformed');
  }
  const query = countersigned.query;
  if (!query) throw new FedlabError('INVALID_ARGUMENT', 'work item: the countersigned query is missing');
  // The entry is the query's public summary: rebuilt here from the query itself, it must match byte for byte.
  let expected: Uint8Array;
  try {
    expected = encodePublicQuerySummary(decodeQuerySpec(query.payload), blake2b(query.payload, 32));
  } catch {
    throw new FedlabError('INCLUSION_PROOF_INVALID', 'query: the log entry is not this query');
  }
  if (entry.kind !== 'query' || !sameBytes(entry.payload, expected)) throw new FedlabError('INCLUSION_PROOF_INVALID', 'query: the log entry is not this query');
  if (!verifyInclusion(leafHash(work.logLeaf), Number(countersigned.logIndex), size, work.inclusionProof, head.rootHash)) {
    throw new FedlabError('INCLUSION_PROOF_INVALID', 'query: the inclusion proof does not match the signed tree head');
  }
  return { size, rootHash: new Uint8Array(head.rootHash) };
}
