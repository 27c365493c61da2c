import type { SignedDocument } from '@fedlab/governance';
import type { Database } from '../database';

/** Documents stored per project and node: approvals (the latest per node) and revocations (every one). */
type NodeDocumentTable = 'approvals' | 'revocations';

const parse = (signed: string) => JSON.parse(signed) as SignedDocument;

/**
 * The coordinator's register of signed governance documents (DESIGN.md §7.6): projects, approvals and
 * revocations as the roster members signed them (stored as JSON text), each with the index of its public
 * log entry, and the digests of every document ever logged (`governance_documents`). Verification stays
 * in coordinator-service; this module only stores and reads.
 */
export class GovernanceRepository {
  constructor(private readonly db: Database) {}

  /** A project's signed document and its log index. */
  project(projectId: string): { signed: SignedDocument; logIndex: number } | undefined {
    const row = this.db.prepare('SELECT signed, log_index FROM projects WHERE project_id = ?').get(projectId) as
      { signed: string; log_index: number } | undefined;
    return row && { signed: parse(row.signed), logIndex: row.log_index };
  }

  hasProject(projectId: string): boolean {
    return this.db.prepare('SELECT 1 FROM projects WHERE project_id = ?').get(projectId) !== undefined;
  }

  /** Every project id, in log order. */
  projectIds(): string[] {
    return (this.db.prepare('SELECT project_id FROM projects ORDER BY log_index').all() as Array<{ project_id: string }>).map((r) => r.project_id);
  }

  insertProject(projectId: string, signed: SignedDocument, logIndex: number): void {
    this.db.prepare('INSERT INTO projects (project_id, signed, log_index) VALUES (?, ?, ?)').run(projectId, JSON.stringify(signed), logIndex);
  }

  /** The approval of a project registered for a node, if any. */
  approval(projectId: string, nodeId: string): SignedDocument | undefined {
    const row = this.db.prepare('SELECT signed FROM approvals WHERE project_id = ? AND node_id = ?').get(projectId, nodeId) as { signed: string } | undefined;
    return row && parse(row.signed);
  }

  /** Stores a node's approval of a project, replacing the one registered before. */
  saveApproval(projectId: string, nodeId: string, signed: SignedDocument, logIndex: number): void {
    this.db
      .prepare(
        'INSERT INTO approvals (project_id, node_id, signed, log_index) VALUES (?, ?, ?, ?) ON CONFLICT (project_id, node_id) DO UPDATE SET signed = excluded.signed, log_index = excluded.log_index',
      )
      .run(projectId, nodeId, JSON.stringify(signed), logIndex);
  }

  insertRevocation(projectId: string, nodeId: string, signed: SignedDocument, logIndex: number): void {
    this.db
      .prepare('INSERT INTO revocations (project_id, node_id, signed, log_index) VALUES (?, ?, ?, ?)')
      .run(projectId, nodeId, JSON.stringify(signed), logIndex);
  }

  /** A project's current approvals, in log order. */
  approvals(projectId: string): SignedDocument[] {
    return this.documents('approvals', projectId);
  }

  /** A project's revocations, in log order. */
  revocations(projectId: string): SignedDocument[] {
    return this.documents('revocations', projectId);
  }

  /** Whether a document with this digest was already logged. */
  hasDocument(digest: string): boolean {
    return this.db.prepare('SELECT 1 FROM governance_documents WHERE payload_sha256 = ?').get(digest) !== undefined;
  }

  insertDocument(digest: string, logIndex: number): void {
    this.db.prepare('INSERT INTO governance_documents (payload_sha256, log_index) VALUES (?, ?)').run(digest, logIndex);
  }

  private documents(table: NodeDocumentTable, projectId: string): SignedDocument[] {
    return (this.db.prepare(`SELECT signed FROM ${table} WHERE project_id = ? ORDER BY log_index`).all(projectId) as Array<{ signed: string }>).map((r) =>
      parse(r.signed),
    );
  }
}
