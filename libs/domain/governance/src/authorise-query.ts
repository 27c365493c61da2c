import { ENFORCEMENT_PURPOSES, FedlabError, type Analysis, type Filter, type Purpose } from '@fedlab/model';
import type { Approval } from './approval';
import { quote } from './fields';
import type { ProjectDocument } from './project-document';

/** What a node knows when it decides whether a query may run under a project. */
export interface AuthoriseQueryInput {
  /** This node's id. */
  nodeId: string;
  researcherId: string;
  projectId: string;
  purpose: Purpose;
  analysis: Analysis;
  nowMs: number;
  /** The verified project with this id, if the node holds one. */
  project: ProjectDocument | undefined;
  /** This node's verified approval of the project, if any. */
  approval: Approval | undefined;
  /** Whether this node's steward revoked the project's approval. */
  revoked: boolean;
}

const DAY_MS = 86_400_000;

/**
 * Decides whether a query may run under its project at this node (DESIGN.md §2.3–2.4, §7.6).
 * Returns normally when it may; otherwise throws the first refusal, in this order:
 *
 * 1. approval revoked — PROJECT_REVOKED `the approval of project "p" at this node was revoked`
 * 2. no project or no approval for it at this node — PROJECT_NOT_ALLOWED `project "p" is not approved at this node`
 * 3. past the approval's or the ethics approval's expiry (whichever is earlier; a date is valid
 *    through its last UTC millisecond) — PROJECT_EXPIRED `project "p" expired on 2026-01-31`
 * 4. researcher not a member — RESEARCHER_NOT_ALLOWED `researcher "r" is not a member of project "p"`
 * 5. purpose other than the project's — PURPOSE_NOT_PERMITTED `purpose "x" is not the purpose of project "p"`
 * 6. an enforcement purpose the approval does not list — PURPOSE_NOT_PERMITTED
 *    `purpose "x" is not explicitly approved for project "p" at this node`
 * 7. dataset not approved — DATASET_NOT_APPROVED `dataset "d" is not approved for project "p"`
 * 8. a column the analysis reads (measure, group-by, filter, condition) not approved —
 *    COLUMN_NOT_APPROVED `column "x" of dataset "d" is not approved for project "p"`
 * 9. analysis kind not approved — ANALYSIS_NOT_ALLOWED `analysis "k" is not approved for dataset "d" of project "p"`
 *
 * Messages name only what the query itself named. The project and approval must already have
 * been verified and checked against each other (see `checkApprovalWithinRequest`).
 */
export function authoriseQuery(input: AuthoriseQueryInput): void {
  const { nodeId, researcherId, projectId, purpose, analysis, nowMs, project, approval } = input;
  const p = quote(projectId);
  if (input.revoked) throw new FedlabError('PROJECT_REVOKED', `the approval of project ${p} at this node was revoked`);
  if (project === undefined || approval === undefined || project.projectId !== projectId || approval.projectId !== projectId || approval.nodeId !== nodeId) {
    throw new FedlabError('PROJECT_NOT_ALLOWED', `project ${p} is not approved at this node`);
  }
  const expiresOn = approval.expiresOn < project.ethicsApproval.expiresOn ? approval.expiresOn : project.ethicsApproval.expiresOn;
  if (nowMs >= Date.parse(`${expiresOn}T00:00:00Z`) + DAY_MS) {
    throw new FedlabError('PROJECT_EXPIRED', `project ${p} expired on ${expiresOn}`);
  }
  if (!project.members.includes(researcherId)) {
    throw new FedlabError('RESEARCHER_NOT_ALLOWED', `researcher ${quote(researcherId)} is not a member of project ${p}`);
  }
  if (purpose !== project.purpose) {
    throw new FedlabError('PURPOSE_NOT_PERMITTED', `purpose ${quote(purpose)} is not the purpose of project ${p}`);
  }
  // Principle 2.4: an enforcement purpose is never implied by approving the project; the steward
  // must have written it into this node's approval.
  if (ENFORCEMENT_PURPOSES.includes(purpose) && !approval.purposes.includes(purpose)) {
    throw new FedlabError('PURPOSE_NOT_PERMITTED', `purpose ${quote(purpose)} is not explicitly approved for project ${p} at this node`);
  }
  const dataset = localDataset(analysis, nodeId);
  const d = quote(dataset);
  const granted = Object.hasOwn(approval.datasets, dataset) ? approval.datasets[dataset] : undefined;
  if (granted === undefined) throw new FedlabError('DATASET_NOT_APPROVED', `dataset ${d} is not approved for project ${p}`);
  for (const column of columnsRead(analysis, nodeId)) {
    if (!granted.columns.includes(column)) {
      throw new FedlabError('COLUMN_NOT_APPROVED', `column ${quote(column)} of dataset ${d} is not approved for project ${p}`);
    }
  }
  if (!granted.analyses.includes(analysis.kind)) {
    throw new FedlabError('ANALYSIS_NOT_ALLOWED', `analysis ${quote(analysis.kind)} is not approved for dataset ${d} of project ${p}`);
  }
}

/**
 * The dataset an analysis reads at this node: its dataset, or for a linkage study at an outcome
 * node, that node's outcome dataset.
 */
export function localDataset(analysis: Analysis, nodeId: string): string {
  if (analysis.kind !== 'linkage' || analysis.cohortNode === nodeId) return analysis.dataset;
  return analysis.outcomes.find((o) => o.node === nodeId)?.dataset ?? analysis.dataset;
}

/**
 * Every column an analysis reads (at this node, for a linkage study), in order and without repeats:
 * the measure column, the group-by columns, then the columns of the filter and of a proportion's
 * condition; for a study, the cohort filter, comparison columns and pool at the cohort node, and the
 * measure columns and filters at an outcome node. Identifier columns used by the dataset's key
 * recipes are not listed: the steward declared them for linkage in the schema.
 */
export function columnsRead(analysis: Analysis, nodeId = ''): string[] {
  const columns: string[] = [];
  const pending: Filter[] = [];
  if (analysis.kind === 'linkage' && analysis.cohortNode !== nodeId) {
    for (const m of analysis.outcomes.find((o) => o.node === nodeId)?.measures ?? []) {
      if (m.column !== undefined) columns.push(m.column);
      if (m.filter !== undefined) pending.push(m.filter);
    }
  } else if (analysis.kind === 'linkage') {
    columns.push(...(analysis.comparison?.columns ?? []));
    if (analysis.filter !== undefined) pending.push(analysis.filter);
    if (analysis.comparison?.pool !== undefined) pending.push(analysis.comparison.pool);
  }
  if ('column' in analysis) columns.push(analysis.column);
  columns.push(...analysis.groupBy);
  if (analysis.kind !== 'linkage' && analysis.filter !== undefined) pending.push(analysis.filter);
  if (analysis.kind === 'proportion') pending.push(analysis.condition);
  // Walk with an explicit stack in document order: the tree arrives before query validation bounds its depth.
  for (let filter = pending.shift(); filter !== undefined; filter = pending.shift()) {
    if (filter.kind === 'cmp') columns.push(filter.column);
    else pending.unshift(...filter.items);
  }
  return [...new Set(columns)];
}
