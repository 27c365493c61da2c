import { ANALYSIS_KINDS, type DatasetSchema } from '@fedlab/model';
import { FedlabError, ENFORCEMENT_PURPOSES } from '@fedlab/model';
import type { Approval } from './approval';
import type { DatasetAccess, ProjectDocument } from './project-document';

/** What an approval grants by default: exactly what the project requested from this node. */
export function approvalForRequest(project: ProjectDocument, nodeId: string, projectHash: string, expiresOn: string, approvedAt: string): Approval {
  return {
    projectId: project.projectId,
    projectHash,
    nodeId,
    datasets: project.requests[nodeId]?.datasets ?? {},
    purposes: [project.purpose],
    expiresOn: expiresOn < project.ethicsApproval.expiresOn ? expiresOn : project.ethicsApproval.expiresOn,
    approvedAt,
    privacy: {},
  };
}

/** Every non-identifier column of a dataset, with every analysis kind: the widest sensible request. */
export function fullAccess(schema: DatasetSchema): DatasetAccess {
  return {
    columns: schema.columns.filter((c) => c.role !== 'identifier' && c.name !== schema.person).map((c) => c.name),
    analyses: [...ANALYSIS_KINDS],
  };
}

/** How a node's steward narrows an approval below what the project requested. */
export interface Narrowing {
  /** Approve only these datasets (default: every requested one). */
  datasets?: readonly string[];
  /** Withhold these columns from every approved dataset. */
  excludeColumns?: readonly string[];
}

/** The approval with only the kept datasets and without the withheld columns (never wider than given). */
export function narrowApproval(approval: Approval, narrowing: Narrowing): Approval {
  const keep = narrowing.datasets;
  const withheld = new Set(narrowing.excludeColumns ?? []);
  return {
    ...approval,
    datasets: Object.fromEntries(
      Object.entries(approval.datasets)
        .filter(([name]) => !keep || keep.includes(name))
        .map(([name, access]) => [name, { ...access, columns: access.columns.filter((c) => !withheld.has(c)) }]),
    ),
  };
}

/**
 * A steward's checks before approving: the project text is the one reviewed (its SHA-256, when given),
 * and an enforcement purpose is approved only deliberately.
 *
 * @throws FedlabError APPROVAL_INVALID for another project text; PURPOSE_NOT_PERMITTED for an enforcement
 *   purpose without `allowEnforcement`.
 */
export function checkApprovable(project: ProjectDocument, hash: string, options: { reviewedHash?: string; allowEnforcement?: boolean }): void {
  if (options.reviewedHash && options.reviewedHash !== hash)
    throw new FedlabError('APPROVAL_INVALID', `project "${project.projectId}" has SHA-256 ${hash}, not the ${options.reviewedHash} you reviewed`);
  if (ENFORCEMENT_PURPOSES.includes(project.purpose) && !options.allowEnforcement) {
    throw new FedlabError(
      'PURPOSE_NOT_PERMITTED',
      `project "${project.projectId}" is for ${project.purpose}, an enforcement purpose: approve it only deliberately, with --allow-enforcement`,
    );
  }
}
