import { namedColumns, type QuerySpec } from '@fedlab/model';
import * as pb from '@fedlab/proto';

/**
 * The public log's description of a query (proto PublicQuerySummary): its hash and the fields anyone
 * may read, never a value the researcher typed. The coordinator logs it; every target node rebuilds it
 * from the query it received and refuses a work item whose log entry is not exactly these bytes.
 *
 * @param queryHash BLAKE2b-256 of the researcher-signed QuerySpec bytes.
 */
export function publicQuerySummary(spec: QuerySpec, queryHash: Uint8Array): pb.PublicQuerySummary {
  const { datasets, columns } = namedColumns(spec.analysis);
  return {
    queryHash: Buffer.from(queryHash),
    queryId: spec.queryId,
    researcherId: spec.researcherId,
    projectId: spec.projectId,
    purpose: spec.purpose,
    targetNodes: [...spec.targetNodes],
    analysis: spec.analysis.kind,
    pooled: spec.pooled,
    datasets,
    columns,
    issuedAtMs: BigInt(spec.issuedAtMs),
    expiresAtMs: BigInt(spec.expiresAtMs),
  };
}

/** The encoded summary, as it stands in the log entry's payload. */
export function encodePublicQuerySummary(spec: QuerySpec, queryHash: Uint8Array): Uint8Array {
  return pb.PublicQuerySummary.encode(publicQuerySummary(spec, queryHash)).finish();
}
