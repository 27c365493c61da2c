import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { FedlabError } from '@fedlab/model';
import { verifyGovernanceSignature } from '@fedlab/crypto';
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
  db: Database,
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
  db.transaction(() => {
    db.prepare(
      `INSERT INTO fedlab_projects (project_id, signed, project_hash, stored_at_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (project_id) DO UPDATE SET signed = excluded.signed, project_hash = excluded.project_hash, stored_at_ms = excluded.stored_at_ms`,
    ).run(project.projectId, JSON.stringify(signedProject), projectHash(signedProject), nowMs);
    db.prepare(
      `INSERT INTO fedlab_approvals (project_id, signed, revoked, updated_at_ms) VALUES (?, ?, 0, ?)
       ON CONFLICT (project_id) DO UPDATE SET signed = excluded.signed, revoked = 0, updated_at_ms = excluded.updated_at_ms`,
    ).run(project.projectId, JSON.stringify(signedApproval), nowMs);
  })();
  return approval;
}

/** Records a steward's signed revocation; the next query of the project is refused. */
export function recordRevocation(db: Database, nodeId: string, roster: Roster, signedRevocation: SignedDocument, nowMs: number): void {
  const revocation = verifySignedRevocation(signedRevocation, roster, verifyGovernanceSignature);
  if (revocation.nodeId !== nodeId) throw new FedlabError('ROLE_NOT_ALLOWED', `revocation: it is for node "${revocation.nodeId}", not this node`);
  const changed = db
    .prepare('UPDATE fedlab_approvals SET revoked = 1, revocation = ?, updated_at_ms = ? WHERE project_id = ?')
    .run(JSON.stringify(signedRevocation), nowMs, revocation.projectId).changes;
  if (changed === 0) throw new FedlabError('NOT_FOUND', `project "${revocation.projectId}" has no approval at this node to revoke`);
}

/** The node's view of a project, read for every query (so a revocation applies to the next one). */
export function projectState(db: Database, projectId: string): ProjectState {
  const project = db.prepare('SELECT signed FROM fedlab_projects WHERE project_id = ?').get(projectId) as { signed: string } | undefined;
  const approval = db.prepare('SELECT signed, revoked FROM fedlab_approvals WHERE project_id = ?').get(projectId) as
    { signed: string; revoked: number } | undefined;
  const payloadOf = (stored: string) => JSON.parse((JSON.parse(stored) as SignedDocument).payload) as unknown;
  return {
    project: project && parseProjectDocument(payloadOf(project.signed), 'stored project'),
    approval: approval && parseApproval(payloadOf(approval.signed), 'stored approval'),
    revoked: approval?.revoked === 1,
  };
}

/** Every approval this node holds, with its revocation if any (for `fedlab project list --config`). */
export function listApprovals(db: Database): Array<{ projectId: string; revoked: boolean; approval: Approval; revocationReason?: string }> {
  const rows = db.prepare('SELECT project_id, signed, revoked, revocation FROM fedlab_approvals ORDER BY project_id').all() as Array<{
    project_id: string;
    signed: string;
    revoked: number;
    revocation: string | null;
  }>;
  return rows.map((r) => ({
    projectId: r.project_id,
    revoked: r.revoked === 1,
    approval: parseApproval(JSON.parse((JSON.parse(r.signed) as SignedDocument).payload), 'stored approval'),
    ...(r.revocation
      ? { revocationReason: parseRevocation(JSON.parse((JSON.parse(r.revocation) as SignedDocument).payload), 'stored revocation').reason }
      : {}),
  }));
}
