import { ANALYSIS_KINDS, type DatasetSchema } from '@fedlab/model';
import { type Approval, type DatasetAccess, type ProjectDocument } from '@fedlab/governance';

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

