import type { Database } from 'better-sqlite3';
import { FedlabError, IDENTIFIER_NAME, type AggregateAnalysis, type NodePolicy, type QuerySpec, type ResultTable } from '@fedlab/model';
import { authoriseQuery, localDataset } from '@fedlab/governance';
import { compilePrivateAnalysis, privacyPlan, publicDomains, validateAnalysis, validateCohortSide, validateOutcomeSide } from '@fedlab/query';
import { projectState } from './project-store';
import { PRIVATE_STATISTICS_BY_KIND, releaseWithPrivacy, type NoiseSource } from '@fedlab/sdc';
import { getDatasetSchema, hasPersonColumns, runQuery } from '@fedlab/store';

/**
 * Applies the node's rules to an authenticated query (default deny, DESIGN.md §2.3–2.4, §7.6): the
 * steward's policy (analysis kinds, dataset purposes), the analysis against the dataset schema, then
 * the project: approved here by the node's steward, not revoked or expired, the researcher a member,
 * the purpose the project's, and every dataset, column and analysis within the approval. Throws the
 * refusal.
 */
export function authorise(spec: QuerySpec, policy: NodePolicy | null, db: Database, nodeId: string, nowMs: number): void {
  if (!policy) throw new FedlabError('NO_POLICY', 'this node has no policy and answers nothing');
  if (!policy.analyses.includes(spec.analysis.kind)) {
    throw new FedlabError('ANALYSIS_NOT_ALLOWED', `analysis "${spec.analysis.kind}" is not allowed by this node's policy`);
  }
  const dataset = localDataset(spec.analysis, nodeId);
  if (!IDENTIFIER_NAME.test(dataset)) throw new FedlabError('UNKNOWN_DATASET', 'invalid dataset name');
  if (!getDatasetSchema(db, dataset)) throw new FedlabError('UNKNOWN_DATASET', `dataset "${dataset}" does not exist at this node`);
  const purposes = policy.datasets[dataset]?.purposes ?? [];
  if (!purposes.includes(spec.purpose)) {
    throw new FedlabError('PURPOSE_NOT_PERMITTED', `purpose "${spec.purpose}" is not permitted for dataset "${dataset}"`);
  }
  const schema = getDatasetSchema(db, dataset)!;
  if (spec.analysis.kind !== 'linkage') validateAnalysis(spec.analysis, schema);
  else if (spec.analysis.cohortNode === nodeId) validateCohortSide(spec.analysis, schema);
  else
    validateOutcomeSide(
      spec.analysis.outcomes.find((o) => o.node === nodeId)!,
      schema,
    );
  authoriseQuery({
    nodeId,
    researcherId: spec.researcherId,
    projectId: spec.projectId,
    purpose: spec.purpose,
    analysis: spec.analysis,
    nowMs,
    ...projectState(db, spec.projectId),
  });
}

/**
 * Runs an authorised aggregate analysis under differential privacy (DESIGN.md §5 "Privacy model"):
 * bounded contributions, discrete Gaussian noise spending `rho`, then disclosure control on the
 * noisy figures. Nothing exact leaves this function. The caller has checked `rho` against the budget;
 * the table is returned even when every cell is suppressed (the noise was drawn: the budget is spent).
 */
export function executePrivateAnalysis(analysis: AggregateAnalysis, policy: NodePolicy, db: Database, rho: number, noise?: NoiseSource): ResultTable {
  const schema = getDatasetSchema(db, analysis.dataset);
  if (!schema) throw new FedlabError('UNKNOWN_DATASET', `dataset "${analysis.dataset}" does not exist at this node`);
  const compiled = compilePrivateAnalysis(analysis, schema, { personColumns: hasPersonColumns(db, analysis.dataset) });
  const domains = publicDomains(analysis, schema);
  const cells = compiled.decode(runQuery(db, compiled.sql, compiled.params));
  const dimensions = analysis.kind === 'histogram' ? [...analysis.groupBy, 'bin'] : [...analysis.groupBy];
  const released = releaseWithPrivacy({
    kind: analysis.kind,
    dimensions,
    domains,
    cells,
    plan: privacyPlan(analysis.kind, compiled.maxRecordsPerPerson, compiled.grid, rho),
    policy: policy.sdc,
    reportDelta: policy.privacy.reportDelta,
    ...(noise ? { noise } : {}),
  });
  return {
    kind: analysis.kind,
    dataset: analysis.dataset,
    dimensions,
    statistics: PRIVATE_STATISTICS_BY_KIND[analysis.kind],
    cells: released.cells,
    report: released.report,
    privacy: released.privacy,
  };
}
