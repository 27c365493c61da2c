import type { SignedDocument } from '@fedlab/governance';
import type { Database } from '../database';

/** What the node holds about one project: the signed project, this node's signed approval, and whether it was revoked. */
export interface StoredProject {
  project: SignedDocument | undefined;
  approval: SignedDocument | undefined;
  revoked: boolean;
}

/** One approval this node holds, with the signed revocation that revoked it, if any. */
export interface StoredApproval {
  projectId: string;
  approval: SignedDocument;
  revoked: boolean;
  revocation: SignedDocument | undefined;
}

/**
 * Signed projects and this node's steward's signed approvals and revocations (`fedlab_projects`,
 * `fedlab_approvals`), stored as received. Verifying them and deciding what they allow is the node
 * service's (project-store.ts) and governance's.
 */
export class ProjectApprovalRepository {
  readonly #saveProject;
  readonly #saveApproval;
  readonly #save;
  readonly #revoke;
  readonly #project;
  readonly #approval;
  readonly #approvals;

  constructor(db: Database) {
    this.#saveProject = db.prepare<[string, string, string, number]>(
      `INSERT INTO fedlab_projects (project_id, signed, project_hash, stored_at_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (project_id) DO UPDATE SET signed = excluded.signed, project_hash = excluded.project_hash, stored_at_ms = excluded.stored_at_ms`,
    );
    this.#saveApproval = db.prepare<[string, string, number]>(
      `INSERT INTO fedlab_approvals (project_id, signed, revoked, updated_at_ms) VALUES (?, ?, 0, ?)
       ON CONFLICT (project_id) DO UPDATE SET signed = excluded.signed, revoked = 0, updated_at_ms = excluded.updated_at_ms`,
    );
    this.#save = db.transaction((entry: { projectId: string; project: SignedDocument; projectHash: string; approval: SignedDocument }, nowMs: number) => {
      this.#saveProject.run(entry.projectId, JSON.stringify(entry.project), entry.projectHash, nowMs);
      this.#saveApproval.run(entry.projectId, JSON.stringify(entry.approval), nowMs);
    });
    this.#revoke = db.prepare<[string, number, string]>('UPDATE fedlab_approvals SET revoked = 1, revocation = ?, updated_at_ms = ? WHERE project_id = ?');
    this.#project = db.prepare<[string], string>('SELECT signed FROM fedlab_projects WHERE project_id = ?').pluck();
    this.#approval = db.prepare<[string], { signed: string; revoked: number }>('SELECT signed, revoked FROM fedlab_approvals WHERE project_id = ?');
    this.#approvals = db.prepare<[], { project_id: string; signed: string; revoked: number; revocation: string | null }>(
      'SELECT project_id, signed, revoked, revocation FROM fedlab_approvals ORDER BY project_id',
    );
  }

  /**
   * Stores a project with this node's approval of it, in one transaction: a new approval replaces the
   * previous one and lifts a revocation.
   */
  saveApproval(entry: { projectId: string; project: SignedDocument; projectHash: string; approval: SignedDocument }, nowMs: number): void {
    this.#save(entry, nowMs);
  }

  /** Marks the approval of `projectId` revoked by `revocation`; false when this node holds no approval of it. */
  revoke(projectId: string, revocation: SignedDocument, nowMs: number): boolean {
    return this.#revoke.run(JSON.stringify(revocation), nowMs, projectId).changes > 0;
  }

  /** The signed project and approval of `projectId`, as stored. */
  find(projectId: string): StoredProject {
    const project = this.#project.get(projectId);
    const approval = this.#approval.get(projectId);
    return {
      project: project === undefined ? undefined : (JSON.parse(project) as SignedDocument),
      approval: approval && (JSON.parse(approval.signed) as SignedDocument),
      revoked: approval?.revoked === 1,
    };
  }

  /** Every approval this node holds, ordered by project id. */
  approvals(): StoredApproval[] {
    return this.#approvals.all().map((r) => ({
      projectId: r.project_id,
      approval: JSON.parse(r.signed) as SignedDocument,
      revoked: r.revoked === 1,
      revocation: r.revocation === null ? undefined : (JSON.parse(r.revocation) as SignedDocument),
    }));
  }
}
