import { statementCache, type Database } from '../database';

/** A node's privacy budget for one project and dataset, as its latest signed answer stated it (ρ, zCDP). */
export interface RecordedBudget {
  projectId: string;
  nodeId: string;
  dataset: string;
  total: number;
  spent: number;
  remaining: number;
}

/** The privacy budgets the nodes' verified answers state (`privacy_budgets`; public: the register shows them). */
export class PrivacyBudgetRepository {
  /** This repository's statements, prepared once. */
  private readonly statement: ReturnType<typeof statementCache>;

  constructor(private readonly db: Database) {
    this.statement = statementCache(db);
  }

  /**
   * Records the budget a node's verified answer states for a project and dataset. A node's ledger only
   * grows, so the state with the most spent is the latest, whatever order answers arrive in.
   */
  record(projectId: string, nodeId: string, budget: { dataset: string; total: number; spent: number; remaining: number }): void {
    this.statement(
      `INSERT INTO privacy_budgets (project_id, node_id, dataset, total, spent, remaining) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (project_id, node_id, dataset) DO UPDATE SET total = excluded.total, spent = excluded.spent, remaining = excluded.remaining
         WHERE excluded.spent >= privacy_budgets.spent`,
    ).run(projectId, nodeId, budget.dataset, budget.total, budget.spent, budget.remaining);
  }

  /** Recorded budgets, of one project or of all, ordered by project, node and dataset. */
  list(projectId?: string): RecordedBudget[] {
    const rows = this.statement(
      `SELECT project_id, node_id, dataset, total, spent, remaining FROM privacy_budgets${projectId === undefined ? '' : ' WHERE project_id = ?'} ORDER BY project_id, node_id, dataset`,
    ).all(...(projectId === undefined ? [] : [projectId])) as Array<{
      project_id: string;
      node_id: string;
      dataset: string;
      total: number;
      spent: number;
      remaining: number;
    }>;
    return rows.map((r) => ({ projectId: r.project_id, nodeId: r.node_id, dataset: r.dataset, total: r.total, spent: r.spent, remaining: r.remaining }));
  }
}
