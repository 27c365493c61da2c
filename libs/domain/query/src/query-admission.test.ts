import { describe, expect, it } from 'vitest';
import type { Analysis, QuerySpec } from '@fedlab/model';
import { checkAdmission } from './query-admission';

const NOW = 1_765_000_000_000;
const NODES = new Set(['health', 'justice', 'education']);

function spec(analysis: Analysis, overrides: Partial<QuerySpec> = {}): QuerySpec {
  return {
    queryId: 'q-00000001',
    projectId: 'p',
    purpose: 'research',
    researcherId: 'alice',
    targetNodes: ['health'],
    analysis,
    pooled: false,
    issuedAtMs: NOW,
    expiresAtMs: NOW + 60_000,
    nonce: new Uint8Array(24),
    ...overrides,
  };
}
const admit =
  (s: QuerySpec, attachmentBytes = 0) =>
  () =>
    checkAdmission(s, { nowMs: NOW, isNode: (id) => NODES.has(id), attachmentBytes });
const count: Analysis = { kind: 'count', dataset: 'd', groupBy: [] };
const evaluation: Analysis = { kind: 'evaluation', dataset: '', groupBy: [], programme: 'x', attachmentDigest: new Uint8Array(32) };
const linkage: Analysis = {
  kind: 'linkage',
  dataset: 'd',
  groupBy: [],
  cohortNode: 'health',
  keys: ['k'],
  outcomes: [{ node: 'justice', dataset: 'o', coverage: 'events', measures: [] }],
};
const glm: Analysis = { kind: 'glm', dataset: 'd', groupBy: [], family: 'gaussian', response: 'y', covariates: ['x'] };

describe('checkAdmission: the coordinator admits a query before anything is logged', () => {
  it('admits a well-formed query, evaluation, study and pooled model', () => {
    expect(admit(spec(count))).not.toThrow();
    expect(admit(spec(evaluation, { projectId: '' }), 1000)).not.toThrow();
    expect(admit(spec(linkage, { targetNodes: ['justice', 'health'] }))).not.toThrow();
    expect(admit(spec(glm, { pooled: true, targetNodes: ['health', 'education'] }))).not.toThrow();
  });

  it('refuses an evaluation to several nodes, pooled, without its list, or with a list over 3 MiB', () => {
    const one = 'target_nodes: an evaluation names exactly one node and is not pooled';
    expect(admit(spec(evaluation, { targetNodes: ['health', 'justice'] }), 10)).toThrowFedlabError('INVALID_QUERY', one);
    expect(admit(spec(evaluation, { pooled: true }), 10)).toThrowFedlabError('INVALID_QUERY', one);
    expect(admit(spec(evaluation))).toThrowFedlabError('INVALID_ARGUMENT', 'attachment: an evaluation carries its sealed client list');
    expect(admit(spec(evaluation), 3 * 1_048_576 + 1)).toThrowFedlabError('MESSAGE_TOO_LARGE', 'attachment: the sealed client list is larger than 3 MiB');
  });

  it('refuses a list with any other query', () => {
    expect(admit(spec(count), 1)).toThrowFedlabError('INVALID_ARGUMENT', 'attachment: only an evaluation carries one');
  });

  it('refuses an expired query and one valid for more than 7 days', () => {
    expect(admit(spec(count, { expiresAtMs: NOW }))).toThrowFedlabError('QUERY_EXPIRED', 'query q-00000001 expired before it was submitted');
    expect(admit(spec(count, { expiresAtMs: NOW + 7 * 24 * 3600_000 + 1 }))).toThrowFedlabError(
      'INVALID_QUERY',
      'expires_at_ms: a query may be valid for at most 7 days',
    );
  });

  it('refuses a target that is not a node, a pooled query over one node, and a model that is not pooled', () => {
    expect(admit(spec(count, { targetNodes: ['ghost'] }))).toThrowFedlabError('INVALID_QUERY', 'target_nodes: "ghost" is not a node on the roster');
    expect(admit(spec(count, { pooled: true }))).toThrowFedlabError('INVALID_QUERY', 'target_nodes: a pooled query needs at least 2 nodes');
    expect(admit(spec(glm, { targetNodes: ['health', 'education'] }))).toThrowFedlabError(
      'INVALID_QUERY',
      'pooled: a glm is fitted over the pooled rows of its nodes; set pooled',
    );
  });

  it('refuses a study that is pooled or names other nodes than its cohort and outcome nodes', () => {
    expect(admit(spec(linkage, { targetNodes: ['justice', 'health'], pooled: true }))).toThrowFedlabError(
      'INVALID_QUERY',
      'pooled: a linkage study is composed by the coordinator; do not set pooled',
    );
    expect(admit(spec(linkage, { targetNodes: ['justice', 'health', 'education'] }))).toThrowFedlabError(
      'INVALID_QUERY',
      'target_nodes: a linkage study names exactly its cohort node and its outcome nodes',
    );
  });
});
