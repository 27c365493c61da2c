import { FedlabError, MAX_EVALUATION_ATTACHMENT_BYTES, type QuerySpec } from '@fedlab/model';

/** The longest validity a researcher may give a query by default: 7 days. */
export const DEFAULT_MAX_QUERY_LIFETIME_MS = 7 * 24 * 3600_000;

/** What the coordinator knows when it admits a query. */
export interface AdmissionContext {
  nowMs: number;
  /** Roster ids of the nodes a query may target. */
  isNode: (id: string) => boolean;
  /** Bytes of the sealed client list that came with the query (0 when none). */
  attachmentBytes: number;
  /** Longest validity a query may have (default {@link DEFAULT_MAX_QUERY_LIFETIME_MS}). */
  maxLifetimeMs?: number;
}

/**
 * The coordinator's admission rules for a researcher-signed query, before anything is logged
 * (docs/protocol.md "A query's life", step 2): an evaluation names one node, is not pooled and carries
 * its list (at most 3 MiB); any other query carries none; it has not expired and is valid for at most
 * the maximum lifetime; every target is a node on the roster; a pooled query has two targets or more;
 * a linkage study names exactly its cohort and outcome nodes and is not pooled; a model is pooled.
 *
 * @throws FedlabError INVALID_QUERY, INVALID_ARGUMENT, MESSAGE_TOO_LARGE or QUERY_EXPIRED naming the rule.
 */
export function checkAdmission(spec: QuerySpec, context: AdmissionContext): void {
  const { analysis } = spec;
  if (analysis.kind === 'evaluation') {
    if (spec.targetNodes.length !== 1 || spec.pooled)
      throw new FedlabError('INVALID_QUERY', 'target_nodes: an evaluation names exactly one node and is not pooled');
    if (context.attachmentBytes === 0) throw new FedlabError('INVALID_ARGUMENT', 'attachment: an evaluation carries its sealed client list');
    if (context.attachmentBytes > MAX_EVALUATION_ATTACHMENT_BYTES)
      throw new FedlabError('MESSAGE_TOO_LARGE', `attachment: the sealed client list is larger than ${MAX_EVALUATION_ATTACHMENT_BYTES / 1_048_576} MiB`);
  } else if (context.attachmentBytes > 0) {
    throw new FedlabError('INVALID_ARGUMENT', 'attachment: only an evaluation carries one');
  }
  if (spec.expiresAtMs <= context.nowMs) throw new FedlabError('QUERY_EXPIRED', `query ${spec.queryId} expired before it was submitted`);
  if (spec.expiresAtMs - spec.issuedAtMs > (context.maxLifetimeMs ?? DEFAULT_MAX_QUERY_LIFETIME_MS)) {
    throw new FedlabError('INVALID_QUERY', 'expires_at_ms: a query may be valid for at most 7 days');
  }
  for (const nodeId of spec.targetNodes) {
    if (!context.isNode(nodeId)) throw new FedlabError('INVALID_QUERY', `target_nodes: "${nodeId}" is not a node on the roster`);
  }
  if (spec.pooled && spec.targetNodes.length < 2) throw new FedlabError('INVALID_QUERY', 'target_nodes: a pooled query needs at least 2 nodes');
  if (analysis.kind === 'linkage') {
    const expected = new Set([analysis.cohortNode, ...analysis.outcomes.map((o) => o.node)]);
    if (spec.pooled) throw new FedlabError('INVALID_QUERY', 'pooled: a linkage study is composed by the coordinator; do not set pooled');
    if (expected.size !== spec.targetNodes.length || spec.targetNodes.some((n) => !expected.has(n))) {
      throw new FedlabError('INVALID_QUERY', 'target_nodes: a linkage study names exactly its cohort node and its outcome nodes');
    }
  }
  if (!spec.pooled && analysis.kind === 'glm') throw new FedlabError('INVALID_QUERY', 'pooled: a glm is fitted over the pooled rows of its nodes; set pooled');
}
