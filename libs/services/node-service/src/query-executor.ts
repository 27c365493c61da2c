import { FedlabError, IDENTIFIER_NAME, type AggregateAnalysis, type DatasetSchema, type NodePolicy, type QuerySpec, type ResultTable } from '@fedlab/model';
import { authoriseQuery, localDataset, type Approval } from '@fedlab/governance';
import { privacyPlan, publicDomains, validateAnalysis, validateCohortSide, validateOutcomeSide } from '@fedlab/query';
import { compileOptions, compilePrivateAnalysisOnce } from './compile-options';
import { projectState } from './project-store';
import { PRIVATE_STATISTICS_BY_KIND, releaseWithPrivacy, type NoiseSource } from '@fedlab/sdc';
import type { NodeStore } from '@fedlab/store';

/** What {@link authorise} decoded on its way: the rest of the query's path uses these instead of reading them again. */
export interface AuthorisedQuery {
  /** The schema of the node's dataset of the query (for a study, this node's side), the analysis validated against it. */
  schema: DatasetSchema;
  /** This node's approval of the query's project. */
  approval: Approval;
}

/**
 * Applies the node's rules to an authenticated query (default deny, DESIGN.md §2.3–2.4, §7.6): the
 * steward's policy (analysis kinds, dataset purposes), the analysis against the dataset schema, then
 * the project: approved here by the node's steward, not revoked or expired, the researcher a member,
 * the purpose the project's, and every dataset, column and analysis within the approval. Throws the
 * refusal; returns the dataset's schema and the approval it checked.
 */
export function authorise(
  spec: QuerySpec,
  policy: NodePolicy | null,
  store: Pick<NodeStore, 'datasets' | 'projects'>,
  nodeId: string,
  nowMs: number,
): AuthorisedQuery {
  if (!policy) throw new FedlabError('NO_POLICY', 'this node has no policy and answers nothing');
  if (!policy.analyses.includes(spec.analysis.kind)) {
    throw new FedlabError('ANALYSIS_NOT_ALLOWED', `analysis "${spec.analysis.kind}" is not allowed by this node's policy`);
  }
  const dataset = localDataset(spec.analysis, nodeId);
  if (!IDENTIFIER_NAME.test(dataset)) throw new FedlabError('UNKNOWN_DATASET', 'invalid dataset name');
  const schema = store.datasets.schema(dataset);
  if (!schema) throw new FedlabError('UNKNOWN_DATASET', `dataset "${dataset}" does not exist at this node`);
  const purposes = policy.datasets[dataset]?.purposes ?? [];
  if (!purposes.includes(spec.purpose)) {
    throw new FedlabError('PURPOSE_NOT_PERMITTED', `purpose "${spec.purpose}" is not permitted for dataset "${dataset}"`);
  }
  if (spec.analysis.kind !== 'linkage') validateAnalysis(spec.analysis, schema);
  else if (spec.analysis.cohortNode === nodeId) validateCohortSide(spec.analysis, schema);
  else
    validateOutcomeSide(
      spec.analysis.outcomes.find((o) => o.node === nodeId)!,
      schema,
    );
  const project = projectState(store, spec.projectId);
  authoriseQuery({
    nodeId,
    researcherId: spec.researcherId,
    projectId: spec.projectId,
    purpose: spec.purpose,
    analysis: spec.analysis,
    nowMs,
    ...project,
  });
  // authoriseQuery refuses a query whose project has no approval here.
  return { schema, approval: project.approval! };
}

/**
 * Runs an authorised aggregate analysis under differential privacy (DESIGN.md §5 "Privacy model"):
 * bounded contributions, discrete Gaussian noise spending `rho`, then disclosure control on the
 * noisy figures. Nothing exact leaves this function. The caller has checked `rho` against the budget;
 * the table is returned even when every cell is suppressed (the noise was drawn: the budget is spent).
 * `schema` is the dataset's, as {@link authorise} returned it.
 */
export async function executePrivateAnalysis(
  analysis: AggregateAnalysis,
  schema: DatasetSchema,
  policy: NodePolicy,
  store: Pick<NodeStore, 'datasets'>,
  rho: number,
  noise?: NoiseSource,
): Promise<ResultTable> {
  const compiled = compilePrivateAnalysisOnce(analysis, schema, compileOptions(store.datasets, analysis.dataset));
  const domains = publicDomains(analysis, schema);
  await store.datasets.check(analysis.dataset);
  const cells = compiled.decode(await store.datasets.query(compiled));
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
