import type { Database } from '../database';

/** One query's spending of privacy budget: ρ, charged to a project (or an organisation's evaluations) and a dataset. */
export interface LedgerDebit {
  queryId: string;
  projectId: string;
  dataset: string;
  analysis: string;
  rho: number;
  spentAtMs: number;
}

/** What the ledger holds for one project and dataset: ρ spent, by how many queries. */
export interface LedgerTotal {
  projectId: string;
  dataset: string;
  spent: number;
  queries: number;
}

/**
 * The node's privacy ledger (`fedlab_privacy_ledger`): the ρ every answered query spent, append-only, one
 * row per query id. The budget rules (what a project may spend, when a debit is refused) are the node
 * service's; this holds the rows and their sums.
 */
export class PrivacyLedgerRepository {
  readonly #spent;
  readonly #append;
  readonly #totals;
  readonly #hasSpent;

  constructor(db: Database) {
    this.#spent = db.prepare<[string, string], number>('SELECT COALESCE(SUM(rho), 0) FROM fedlab_privacy_ledger WHERE project_id = ? AND dataset = ?').pluck();
    this.#append = db.prepare<[string, string, string, string, number, number]>(
      'INSERT INTO fedlab_privacy_ledger (query_id, project_id, dataset, analysis, rho, spent_at_ms) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#totals = db.prepare<[], { project_id: string; dataset: string; spent: number; queries: number }>(
      'SELECT project_id, dataset, SUM(rho) AS spent, COUNT(*) AS queries FROM fedlab_privacy_ledger GROUP BY project_id, dataset ORDER BY project_id, dataset',
    );
    this.#hasSpent = db.prepare<[string]>('SELECT 1 FROM fedlab_privacy_ledger WHERE dataset = ? LIMIT 1').pluck();
  }

  /** ρ spent so far by `projectId` on `dataset` (0 when nothing was). */
  spent(projectId: string, dataset: string): number {
    return this.#spent.get(projectId, dataset)!;
  }

  /** Appends a debit. Throws (SQLite's constraint error) for a query id already debited or a ρ that is not positive. */
  append(debit: LedgerDebit): void {
    this.#append.run(debit.queryId, debit.projectId, debit.dataset, debit.analysis, debit.rho, debit.spentAtMs);
  }

  /** Spent ρ and the number of debited queries, by project and dataset (ordered by both). */
  totals(): LedgerTotal[] {
    return this.#totals.all().map((r) => ({ projectId: r.project_id, dataset: r.dataset, spent: r.spent, queries: r.queries }));
  }

  /** Whether any query has spent budget on `dataset`. */
  hasSpent(dataset: string): boolean {
    return this.#hasSpent.get(dataset) !== undefined;
  }
}
