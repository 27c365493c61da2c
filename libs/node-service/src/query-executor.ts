import type { Database } from 'better-sqlite3';
import { randomInt } from 'node:crypto';
import { FedlabError, IDENTIFIER_NAME, type Analysis, type NodePolicy, type QuerySpec, type ResultTable } from '@fedlab/model';
import { compileAnalysis, validateAnalysis } from '@fedlab/query';
import { applyDisclosureControl } from '@fedlab/sdc';
import { getDatasetSchema, runQuery } from '@fedlab/store';

/** Released statistic names per analysis kind, in display order. */
export const STATISTICS_BY_KIND: Record<Analysis['kind'], string[]> = {
  count: ['count'],
  sum: ['sum', 'count'],
  mean: ['mean', 'count'],
  variance: ['variance', 'sd', 'mean', 'count'],
  proportion: ['proportion', 'ci_lower', 'ci_upper', 'numerator', 'denominator'],
  histogram: ['count'],
};

/**
 * Applies the node's policy to an authenticated query (default deny, DESIGN.md §2.3–2.4): researcher,
 * project, analysis kind, dataset and purpose. Throws the refusal.
 */
export function authorise(spec: QuerySpec, policy: NodePolicy | null, db: Database): void {
  if (!policy) throw new FedlabError('NO_POLICY', 'this node has no policy and answers nothing');
  if (!policy.researchers.includes(spec.researcherId)) {
    throw new FedlabError('RESEARCHER_NOT_ALLOWED', `researcher "${spec.researcherId}" is not allowed by this node's policy`);
  }
  if (policy.projects.length > 0 && !policy.projects.includes(spec.projectId)) {
    throw new FedlabError('PROJECT_NOT_ALLOWED', `project "${spec.projectId}" is not allowed by this node's policy`);
  }
  if (!policy.analyses.includes(spec.analysis.kind)) {
    throw new FedlabError('ANALYSIS_NOT_ALLOWED', `analysis "${spec.analysis.kind}" is not allowed by this node's policy`);
  }
  const dataset = spec.analysis.dataset;
  if (!IDENTIFIER_NAME.test(dataset)) throw new FedlabError('UNKNOWN_DATASET', 'invalid dataset name');
  if (!getDatasetSchema(db, dataset)) throw new FedlabError('UNKNOWN_DATASET', `dataset "${dataset}" does not exist at this node`);
  const purposes = policy.datasets[dataset]?.purposes ?? [];
  if (!purposes.includes(spec.purpose)) {
    throw new FedlabError('PURPOSE_NOT_PERMITTED', `purpose "${spec.purpose}" is not permitted for dataset "${dataset}"`);
  }
}

/** Runs an authorised analysis and applies disclosure control before anything leaves this function. */
export function executeAnalysis(analysis: Analysis, policy: NodePolicy, db: Database): ResultTable {
  const schema = getDatasetSchema(db, analysis.dataset);
  if (!schema) throw new FedlabError('UNKNOWN_DATASET', `dataset "${analysis.dataset}" does not exist at this node`);
  validateAnalysis(analysis, schema);
  const compiled = compileAnalysis(analysis, schema);
  const raw = compiled.decode(runQuery(db, compiled.sql, compiled.params));
  const dimensions = analysis.kind === 'histogram' ? [...analysis.groupBy, 'bin'] : [...analysis.groupBy];
  const released = applyDisclosureControl({
    kind: analysis.kind,
    dimensions,
    cells: raw,
    policy: policy.sdc,
    random: () => randomInt(0, 2 ** 48 - 1) / 2 ** 48,
  });
  if (released.report.releasedCells === 0) {
    throw new FedlabError('ALL_CELLS_SUPPRESSED', 'disclosure control released no cells; widen the groups or the filter');
  }
  return {
    kind: analysis.kind,
    dataset: analysis.dataset,
    dimensions,
    statistics: STATISTICS_BY_KIND[analysis.kind],
    cells: released.cells,
    report: released.report,
  };
}
