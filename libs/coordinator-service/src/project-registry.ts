import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { FedlabError } from '@fedlab/model';
import { verifyGovernanceSignature } from '@fedlab/crypto';
import {
  checkApprovalProjectHash,
  checkApprovalWithinRequest,
  parseProjectDocument,
  parseSignedDocument,
  verifySignedApproval,
  verifySignedProject,
  verifySignedRevocation,
  type SignedDocument,
  type Roster,
} from '@fedlab/governance';
import * as pb from '@fedlab/proto';
import type { TransparencyLog } from './transparency-log';

const hashOf = (payload: string) => createHash('sha256').update(Buffer.from(payload, 'utf8')).digest('hex');
const toPb = (d: SignedDocument): pb.GovernanceDocument => ({ payload: d.payload, signer: d.signer, signature: d.signature });

/**
 * The coordinator's register of projects, approvals and revocations (DESIGN.md §7.6). It verifies
 * each document against the roster, stores it and appends it to the public log; enforcement stays
 * with each node, which holds its own steward's approvals.
 */
export class ProjectRegistry {
  constructor(
    private readonly db: Database,
    private readonly roster: Roster,
    private readonly log: TransparencyLog,
    private readonly now: () => number,
    /** A project's privacy budgets as the nodes' answers stated them (CoordinatorStore.budgets). */
    private readonly budgets: (projectId: string) => pb.NodeBudget[],
  ) {}

  submitProject(document: pb.GovernanceDocument | undefined): number {
    const signed = this.document(document, 'project');
    const project = verifySignedProject(signed, this.roster, verifyGovernanceSignature);
    if (this.db.prepare('SELECT 1 FROM projects WHERE project_id = ?').get(project.projectId)) {
      throw new FedlabError('INVALID_ARGUMENT', `project "${project.projectId}" was already submitted; use a new project id for a new version`);
    }
    return this.db.transaction(() => {
      const index = this.appendOnce('project', signed);
      this.db.prepare('INSERT INTO projects (project_id, signed, log_index) VALUES (?, ?, ?)').run(project.projectId, JSON.stringify(signed), index);
      return index;
    })();
  }

  submitApproval(document: pb.GovernanceDocument | undefined): number {
    const signed = this.document(document, 'approval');
    const approval = verifySignedApproval(signed, this.roster, verifyGovernanceSignature);
    const projectSigned = this.project(approval.projectId);
    checkApprovalProjectHash(approval, hashOf(projectSigned.payload));
    checkApprovalWithinRequest(parseProjectDocument(JSON.parse(projectSigned.payload), 'project'), approval);
    const current = this.db.prepare('SELECT signed FROM approvals WHERE project_id = ? AND node_id = ?').get(approval.projectId, approval.nodeId) as
      { signed: string } | undefined;
    if (current) {
      const previous = JSON.parse((JSON.parse(current.signed) as SignedDocument).payload) as { approved_at: string };
      if (Date.parse(approval.approvedAt) <= Date.parse(previous.approved_at)) {
        throw new FedlabError(
          'APPROVAL_INVALID',
          `approval: not newer than the approval of "${approval.projectId}" at "${approval.nodeId}" already registered`,
        );
      }
    }
    return this.db.transaction(() => {
      const index = this.appendOnce('approval', signed);
      this.db
        .prepare(
          'INSERT INTO approvals (project_id, node_id, signed, log_index) VALUES (?, ?, ?, ?) ON CONFLICT (project_id, node_id) DO UPDATE SET signed = excluded.signed, log_index = excluded.log_index',
        )
        .run(approval.projectId, approval.nodeId, JSON.stringify(signed), index);
      return index;
    })();
  }

  submitRevocation(document: pb.GovernanceDocument | undefined): number {
    const signed = this.document(document, 'revocation');
    const revocation = verifySignedRevocation(signed, this.roster, verifyGovernanceSignature);
    this.project(revocation.projectId);
    return this.db.transaction(() => {
      const index = this.appendOnce('revocation', signed);
      this.db
        .prepare('INSERT INTO revocations (project_id, node_id, signed, log_index) VALUES (?, ?, ?, ?)')
        .run(revocation.projectId, revocation.nodeId, JSON.stringify(signed), index);
      return index;
    })();
  }

  record(projectId: string): pb.ProjectRecord {
    const row = this.db.prepare('SELECT signed, log_index FROM projects WHERE project_id = ?').get(projectId) as
      { signed: string; log_index: number } | undefined;
    if (!row) throw new FedlabError('NOT_FOUND', `project "${projectId}" not found`);
    const docs = (table: 'approvals' | 'revocations') =>
      (this.db.prepare(`SELECT signed FROM ${table} WHERE project_id = ? ORDER BY log_index`).all(projectId) as Array<{ signed: string }>).map((r) =>
        toPb(JSON.parse(r.signed) as SignedDocument),
      );
    const counts = this.db
      .prepare(
        'SELECT n.node_id AS node_id, COUNT(*) AS n FROM query_nodes n JOIN queries q ON q.query_id = n.query_id WHERE q.project_id = ? GROUP BY n.node_id',
      )
      .all(projectId) as Array<{ node_id: string; n: number }>;
    return {
      project: toPb(JSON.parse(row.signed) as SignedDocument),
      logIndex: BigInt(row.log_index),
      approvals: docs('approvals'),
      revocations: docs('revocations'),
      queriesPerNode: Object.fromEntries(counts.map((c) => [c.node_id, BigInt(c.n)])),
      budgets: this.budgets(projectId),
    };
  }

  records(): pb.ProjectRecord[] {
    return (this.db.prepare('SELECT project_id FROM projects ORDER BY log_index').all() as Array<{ project_id: string }>).map((r) => this.record(r.project_id));
  }

  /** Appends a document to the log once: a replay of the same signed text is refused. */
  private appendOnce(kind: 'project' | 'approval' | 'revocation', signed: SignedDocument): number {
    const digest = hashOf(`${kind}\0${signed.payload}`);
    if (this.db.prepare('SELECT 1 FROM governance_documents WHERE payload_sha256 = ?').get(digest)) {
      throw new FedlabError('REPLAYED_NONCE', `${kind}: this document is already registered`);
    }
    const { index } = this.log.append(kind, Buffer.from(JSON.stringify(signed)), this.now());
    this.db.prepare('INSERT INTO governance_documents (payload_sha256, log_index) VALUES (?, ?)').run(digest, index);
    return index;
  }

  private project(projectId: string): SignedDocument {
    const row = this.db.prepare('SELECT signed FROM projects WHERE project_id = ?').get(projectId) as { signed: string } | undefined;
    if (!row) throw new FedlabError('NOT_FOUND', `project "${projectId}" not found`);
    return JSON.parse(row.signed) as SignedDocument;
  }

  private document(document: pb.GovernanceDocument | undefined, what: string): SignedDocument {
    if (!document) throw new FedlabError('INVALID_ARGUMENT', `${what}: missing document`);
    return parseSignedDocument({ payload: document.payload, signer: document.signer, signature: document.signature }, what);
  }
}
