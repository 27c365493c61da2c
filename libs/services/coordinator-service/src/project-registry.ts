import { createHash } from 'node:crypto';
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
  checkProjectTargets,
  type SignedDocument,
  type Roster,
} from '@fedlab/governance';
import * as pb from '@fedlab/proto';
import type { CoordinatorStore } from '@fedlab/store';
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
    private readonly store: Pick<CoordinatorStore, 'governance' | 'queries' | 'budgets' | 'catalogs' | 'transaction'>,
    /** The roster in force (a published roster replaces it while the coordinator runs). */
    private readonly rosterNow: () => Roster,
    private readonly log: TransparencyLog,
    private readonly now: () => number,
  ) {}

  submitProject(document: pb.GovernanceDocument | undefined): number {
    const signed = this.document(document, 'project');
    const project = verifySignedProject(signed, this.rosterNow(), verifyGovernanceSignature);
    if (this.store.governance.hasProject(project.projectId)) {
      throw new FedlabError('INVALID_ARGUMENT', `project "${project.projectId}" was already submitted; use a new project id for a new version`);
    }
    // Before anything is logged: an unfilled template (unknown node, placeholder datasets) would stay in the public log for good.
    const catalogs = new Map(
      this.store.catalogs
        .all()
        .map(({ nodeId, catalog }) => [
          nodeId,
          pb.NodeCatalog.decode(catalog).datasets.map((d) => ({ dataset: d.dataset, columns: d.columns.map((c) => c.name) })),
        ]),
    );
    checkProjectTargets(project, this.rosterNow(), catalogs);
    return this.store.transaction(() => {
      const index = this.appendOnce('project', signed);
      this.store.governance.insertProject(project.projectId, signed, index);
      return index;
    });
  }

  submitApproval(document: pb.GovernanceDocument | undefined): number {
    const signed = this.document(document, 'approval');
    const approval = verifySignedApproval(signed, this.rosterNow(), verifyGovernanceSignature);
    const projectSigned = this.project(approval.projectId);
    checkApprovalProjectHash(approval, hashOf(projectSigned.payload));
    checkApprovalWithinRequest(parseProjectDocument(JSON.parse(projectSigned.payload), 'project'), approval);
    const current = this.store.governance.approval(approval.projectId, approval.nodeId);
    if (current) {
      const previous = JSON.parse(current.payload) as { approved_at: string };
      if (Date.parse(approval.approvedAt) <= Date.parse(previous.approved_at)) {
        throw new FedlabError(
          'APPROVAL_INVALID',
          `approval: not newer than the approval of "${approval.projectId}" at "${approval.nodeId}" already registered`,
        );
      }
    }
    return this.store.transaction(() => {
      const index = this.appendOnce('approval', signed);
      this.store.governance.saveApproval(approval.projectId, approval.nodeId, signed, index);
      return index;
    });
  }

  submitRevocation(document: pb.GovernanceDocument | undefined): number {
    const signed = this.document(document, 'revocation');
    const revocation = verifySignedRevocation(signed, this.rosterNow(), verifyGovernanceSignature);
    this.project(revocation.projectId);
    return this.store.transaction(() => {
      const index = this.appendOnce('revocation', signed);
      this.store.governance.insertRevocation(revocation.projectId, revocation.nodeId, signed, index);
      return index;
    });
  }

  record(projectId: string): pb.ProjectRecord {
    const project = this.store.governance.project(projectId);
    if (!project) throw new FedlabError('NOT_FOUND', `project "${projectId}" not found`);
    return {
      project: toPb(project.signed),
      logIndex: BigInt(project.logIndex),
      approvals: this.store.governance.approvals(projectId).map(toPb),
      revocations: this.store.governance.revocations(projectId).map(toPb),
      queriesPerNode: Object.fromEntries([...this.store.queries.queriesPerNode(projectId)].map(([nodeId, n]) => [nodeId, BigInt(n)])),
      budgets: this.store.budgets.list(projectId),
    };
  }

  records(): pb.ProjectRecord[] {
    return this.store.governance.projectIds().map((projectId) => this.record(projectId));
  }

  /** Appends a document to the log once: a replay of the same signed text is refused. */
  private appendOnce(kind: 'project' | 'approval' | 'revocation', signed: SignedDocument): number {
    const digest = hashOf(`${kind}\0${signed.payload}`);
    if (this.store.governance.hasDocument(digest)) {
      throw new FedlabError('REPLAYED_NONCE', `${kind}: this document is already registered`);
    }
    const { index } = this.log.append(kind, Buffer.from(JSON.stringify(signed)), this.now());
    this.store.governance.insertDocument(digest, index);
    return index;
  }

  private project(projectId: string): SignedDocument {
    const project = this.store.governance.project(projectId);
    if (!project) throw new FedlabError('NOT_FOUND', `project "${projectId}" not found`);
    return project.signed;
  }

  private document(document: pb.GovernanceDocument | undefined, what: string): SignedDocument {
    if (!document) throw new FedlabError('INVALID_ARGUMENT', `${what}: missing document`);
    return parseSignedDocument({ payload: document.payload, signer: document.signer, signature: document.signature }, what);
  }
}
