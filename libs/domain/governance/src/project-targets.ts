import { FedlabError } from '@fedlab/model';
import { quote } from './fields';
import type { ProjectDocument } from './project-document';
import type { RosterDocument } from './roster';

/** What a node published of one dataset: its name and its columns' names (metadata only). */
export interface PublishedDataset {
  dataset: string;
  columns: readonly string[];
}

/**
 * Checks what a project asks for against the network before it is registered (and so logged for
 * good): every node it names is a node on the roster, and at every node whose catalog is known, every
 * dataset it names is published there with every column it names. A node that has not attached yet has
 * no catalog to check against; its own steward's approval still checks the request against its data.
 *
 * @throws FedlabError INVALID_ARGUMENT naming the request field, the node and what is missing.
 */
export function checkProjectTargets(project: ProjectDocument, roster: RosterDocument, catalogs: ReadonlyMap<string, readonly PublishedDataset[]>): void {
  const fail = (field: string, reason: string) => new FedlabError('INVALID_ARGUMENT', `project ${quote(project.projectId)}: requests.${field}: ${reason}`);
  for (const [nodeId, request] of Object.entries(project.requests)) {
    if (!roster.participants.some((p) => p.id === nodeId && p.role === 'node')) throw fail(nodeId, `${quote(nodeId)} is not a node on the roster`);
    const published = catalogs.get(nodeId);
    if (!published) continue;
    for (const [dataset, access] of Object.entries(request.datasets)) {
      const found = published.find((d) => d.dataset === dataset);
      if (!found) {
        const names = published.map((d) => d.dataset).join(', ') || 'none';
        throw fail(`${nodeId}.datasets.${dataset}`, `node ${quote(nodeId)} publishes no dataset ${quote(dataset)} (its catalog lists: ${names})`);
      }
      const unknown = access.columns.find((c) => !found.columns.includes(c));
      if (unknown !== undefined)
        throw fail(`${nodeId}.datasets.${dataset}.columns`, `${quote(unknown)} is not a column of ${quote(dataset)} at node ${quote(nodeId)}`);
    }
  }
}
