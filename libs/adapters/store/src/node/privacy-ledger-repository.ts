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
 * A running sum of ρ exactly as SQLite's SUM() computes it over the same rows in the same (rowid) order:
 * Kahan–Babuška–Neumaier compensated summation, the compensation added at the end unless it overflowed
 * (sqlite3.c `kahanBabuskaNeumaierStep`, `sumFinalize`). ρ is REAL and positive, so SUM never takes its
 * integer path.
 */
class CompensatedSum {
  sum = 0;
  err = 0;
  rows = 0;
  /** The rowid of the last row added. */
  lastRowid = 0;

  add(rho: number, rowid: number): void {
    const s = this.sum;
    const t = s + rho;
    if (Math.abs(s) > Math.abs(rho)) this.err += s - t + rho;
    else this.err += rho - t + s;
    this.sum = t;
    this.rows += 1;
    this.lastRowid = rowid;
  }

  get value(): number {
    if (this.rows === 0) return 0;
    return Number.isFinite(this.err) ? this.sum + this.err : this.sum;
  }

  copy(): CompensatedSum {
    return Object.assign(new CompensatedSum(), this);
  }
}

/**
 * The node's privacy ledger (`fedlab_privacy_ledger`): the ρ every answered query spent, append-only, one
 * row per query id. The budget rules (what a project may spend, when a debit is refused) are the node
 * service's; this holds the rows and their sums.
 *
 * {@link spent} is asked for every query, and a node's ledger only grows: it keeps each project's and
 * dataset's sum of the committed rows (read outside a transaction, so no rollback can take a row back) and
 * adds only the rows after them, the same value SUM() gives, bit for bit, without reading every row again.
 * "After" is by rowid: a new row's rowid is the table's largest plus one, and no committed row is ever
 * deleted (the table's triggers refuse it), so committed rowids are never reused or renumbered and every
 * row added since the kept sum has a larger rowid than the rows it covers.
 */
export class PrivacyLedgerRepository {
  readonly #db: Database;
  readonly #rowsAfter;
  /** Sums of committed rows, by project and dataset. */
  readonly #committed = new Map<string, CompensatedSum>();
  readonly #append;
  readonly #totals;
  readonly #hasSpent;

  constructor(db: Database) {
    this.#db = db;
    this.#rowsAfter = db.prepare<[string, string, number], { rowid: number; rho: number }>(
      'SELECT rowid, rho FROM fedlab_privacy_ledger WHERE project_id = ? AND dataset = ? AND rowid > ? ORDER BY rowid',
    );
    this.#append = db.prepare<[string, string, string, string, number, number]>(
      'INSERT INTO fedlab_privacy_ledger (query_id, project_id, dataset, analysis, rho, spent_at_ms) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#totals = db.prepare<[], { project_id: string; dataset: string; spent: number; queries: number }>(
      'SELECT project_id, dataset, SUM(rho) AS spent, COUNT(*) AS queries FROM fedlab_privacy_ledger GROUP BY project_id, dataset ORDER BY project_id, dataset',
    );
    this.#hasSpent = db.prepare<[string]>('SELECT 1 FROM fedlab_privacy_ledger WHERE dataset = ? LIMIT 1').pluck();
  }

  /** ρ spent so far by `projectId` on `dataset` (0 when nothing was): `SUM(rho)` over its rows, exactly. */
  spent(projectId: string, dataset: string): number {
    const key = JSON.stringify([projectId, dataset]);
    // Inside a transaction the rows after the committed ones may still be rolled back: added to a copy.
    const inTransaction = this.#db.inTransaction;
    const committed = this.#committed.get(key);
    const sum = committed === undefined ? new CompensatedSum() : inTransaction ? committed.copy() : committed;
    for (const row of this.#rowsAfter.iterate(projectId, dataset, sum.lastRowid)) sum.add(row.rho, row.rowid);
    if (!inTransaction && committed === undefined) this.#committed.set(key, sum);
    return sum.value;
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
