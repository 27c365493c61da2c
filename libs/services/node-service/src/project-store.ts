import { createHash } from 'node:crypto';
import { FedlabError } from '@fedlab/model';
import { verifyGovernanceSignature } from '@fedlab/crypto';
import type { NodeStore } from '@fedlab/store';
import {
  checkApprovalProjectHash,
  checkApprovalWithinRequest,
  parseApproval,
  parseProjectDocument,
  parseRevocation,
  verifySignedApproval,
  verifySignedProject,
  verifySignedRevocation,
  type Approval,
  type ProjectDocument,
  type SignedDocument,
  type Roster,
} from '@fedlab/governance';

/** Hex SHA-256 of a signed project's payload bytes: what an approval binds to. */
export function projectHash(signed: SignedDocument): string {
  return createHash('sha256').update(Buffer.from(signed.payload, 'utf8')).digest('hex');
}

/** What the node holds about one project: the signed project, its approval here, and whether it was revoked. */
export interface ProjectState {
  project: ProjectDocument | undefined;
  approval: Approval | undefined;
  revoked: boolean;
}

/**
 * Records a project and this node's steward's approval of it, after verifying both signatures
 * against the roster, that the approval is for this node, binds to this exact project text, and
 * grants no more than the project asked for. A new approval replaces the previous one and lifts a
 * revocation.
 */
export function recordApproval(
  store: Pick<NodeStore, 'projects'>,
  nodeId: string,
  roster: Roster,
  signedProject: SignedDocument,
  signedApproval: SignedDocument,
  nowMs: number,
): Approval {
  const doc = roster;
  const project = verifySignedProject(signedProject, doc, verifyGovernanceSignature);
  const approval = verifySignedApproval(signedApproval, doc, verifyGovernanceSignature);
  if (approval.nodeId !== nodeId) throw new FedlabError('APPROVAL_INVALID', `approval: it is for node "${approval.nodeId}", not this node`);
  if (approval.projectId !== project.projectId) throw new FedlabError('APPROVAL_INVALID', 'approval: it names another project');
  checkApprovalProjectHash(approval, projectHash(signedProject));
  checkApprovalWithinRequest(project, approval);
  store.projects.saveApproval(
    { projectId: project.projectId, project: signedProject, projectHash: projectHash(signedProject), approval: signedApproval },
    nowMs,
  );
  return approval;
}

/** Records a steward's signed revocation; the next query of the project is refused. */
export function recordRevocation(store: Pick<NodeStore, 'projects'>, nodeId: string, roster: Roster, signedRevocation: SignedDocument, nowMs: number): void {
  const revocation = verifySignedRevocation(signedRevocation, roster, verifyGovernanceSignature);
  if (revocation.nodeId !== nodeId) throw new FedlabError('ROLE_NOT_ALLOWED', `revocation: it is for node "${revocation.nodeId}", not this node`);
  if (!store.projects.revoke(revocation.projectId, signedRevocation, nowMs))
    throw new FedlabError('NOT_FOUND', `project "${revocation.projectId}" has no approval at this node to revoke`);
}

/**
 * The node's view of a project, read from the store for every query (so a revocation or a new approval
 * applies to the next one). Parsing and validating the stored documents is the costly part, so each
 * document's parse is kept by its exact text (see {@link parsedOnce}); the caller must not modify it.
 */
export function projectState(store: Pick<NodeStore, 'projects'>, projectId: string): ProjectState {
  const stored = store.projects.find(projectId);
  return {
    project: stored.project && parsedOnce(parsedProjects, stored.project.payload, (text) => parseProjectDocument(JSON.parse(text), 'stored project')),
    approval: stored.approval && parsedOnce(parsedApprovals, stored.approval.payload, (text) => parseApproval(JSON.parse(text), 'stored approval')),
    revoked: stored.revoked,
  };
}

/** How many parsed documents of each kind are kept (a node holds a few projects; the oldest parse goes first). */
const PARSED_DOCUMENTS_KEPT = 64;
const parsedProjects = new Map<string, ProjectDocument>();
const parsedApprovals = new Map<string, Approval>();

/**
 * `parse(text)`, or its earlier result for the same text: parsing is a pure function of the text (a stored
 * document that fails to parse throws every time, as nothing is kept for it).
 */
function parsedOnce<T>(cache: Map<string, T>, text: string, parse: (text: string) => T): T {
  const kept = cache.get(text);
  if (kept !== undefined) return kept;
  const parsed = parse(text);
  if (cache.size >= PARSED_DOCUMENTS_KEPT) cache.delete(cache.keys().next().value!);
  cache.set(text, parsed);
  return parsed;
}

/** A stored signed document's payload, parsed (the caller validates it). */
function payloadOf(signed: SignedDocument): unknown {
  return JSON.parse(signed.payload);
}

/** Every approval this node holds, with its revocation if any (for `fedlab project list --config`). */
export function listApprovals(
  store: Pick<NodeStore, 'projects'>,
): Array<{ projectId: string; revoked: boolean; approval: Approval; revocationReason?: string }> {
  return store.projects.approvals().map((r) => ({
    projectId: r.projectId,
    revoked: r.revoked,
    approval: parseApproval(payloadOf(r.approval), 'stored approval'),
    ...(r.revocation ? { revocationReason: parseRevocation(payloadOf(r.revocation), 'stored revocation').reason } : {}),
  }));
}
