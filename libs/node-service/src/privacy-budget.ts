import type { Database } from 'better-sqlite3';
import { FedlabError, maxRecordsPerPerson, type BudgetState, type DatasetSchema, type EvaluationPolicy, type PrivacyPolicy } from '@fedlab/model';
import { importCsv, type ImportCsvOptions, type ImportCsvResult } from '@fedlab/store';
import type { Approval } from '@fedlab/governance';
import { formatRho } from '@fedlab/sdc';

/** A project's budget for one dataset at this node, as it stands before a query. */
export interface ProjectBudget {
  projectId: string;
  dataset: string;
  total: number;
  spent: number;
  /** The most one query may spend: the approval's cap, or the policy's ceiling. */
  maxQueryRho: number;
}

/**
 * Comparisons of ρ allow one part in 10^9 of the total for floating-point sums (0.1 + 0.2 > 0.3):
 * a project can overspend by at most that fraction of its budget.
 */
const RELATIVE_TOLERANCE = 1e-9;

function spentRho(db: Database, projectId: string, dataset: string): number {
  const row = db.prepare('SELECT COALESCE(SUM(rho), 0) AS spent FROM fedlab_privacy_ledger WHERE project_id = ? AND dataset = ?').get(projectId, dataset) as {
    spent: number;
  };
  return row.spent;
}

/**
 * The budget of a project for a dataset: what the approval grants (or the policy's default) within
 * the policy's ceiling, and what the ledger says was spent.
 *
 * @throws FedlabError `BUDGET_INVALID` `the approval of project "p" grants rho 9 for dataset "d", above this node's ceiling 5`.
 */
export function projectBudget(db: Database, policy: PrivacyPolicy, approval: Approval, dataset: string): ProjectBudget {
  const grant = Object.hasOwn(approval.privacy, dataset) ? approval.privacy[dataset] : undefined;
  const total = grant?.rho ?? policy.defaultProjectRho;
  if (total > policy.maxProjectRho) {
    throw new FedlabError(
      'BUDGET_INVALID',
      `the approval of project "${approval.projectId}" grants rho ${formatRho(total)} for dataset "${dataset}", above this node's ceiling ${formatRho(policy.maxProjectRho)}`,
    );
  }
  return {
    projectId: approval.projectId,
    dataset,
    total,
    spent: spentRho(db, approval.projectId, dataset),
    maxQueryRho: Math.min(grant?.maxQueryRho ?? policy.maxQueryRho, policy.maxQueryRho),
  };
}

/** The budget with its spent total read again from the ledger. */
export function spentBudget(db: Database, budget: ProjectBudget): ProjectBudget {
  return { ...budget, spent: spentRho(db, budget.projectId, budget.dataset) };
}

/** What remains of a budget (never below 0). */
export function budgetState(budget: Pick<ProjectBudget, 'total' | 'spent'>): BudgetState {
  return { total: budget.total, spent: budget.spent, remaining: Math.max(0, budget.total - budget.spent) };
}

/**
 * Checks the ρ a query states against the budget, before anything runs. Throws, in this order:
 * - `BUDGET_INVALID` `query: rho is required: state the privacy budget the query spends (rho)`;
 * - `BUDGET_INVALID` `query: rho must be a positive finite number`;
 * - `BUDGET_INVALID` `query: rho 2 is above the per-query ceiling 1 for dataset "d" of project "p"`;
 * - `BUDGET_EXHAUSTED` `project "p" has rho 0.05 left of 1 for dataset "d" at this node; the query asks for 0.1`.
 */
export function checkQueryRho(rho: number | undefined, budget: ProjectBudget): number {
  if (rho === undefined) throw new FedlabError('BUDGET_INVALID', 'query: rho is required: state the privacy budget the query spends (rho)');
  if (!Number.isFinite(rho) || rho <= 0) throw new FedlabError('BUDGET_INVALID', 'query: rho must be a positive finite number');
  if (rho > budget.maxQueryRho) {
    throw new FedlabError(
      'BUDGET_INVALID',
      `query: rho ${formatRho(rho)} is above the per-query ceiling ${formatRho(budget.maxQueryRho)} for dataset "${budget.dataset}" of project "${budget.projectId}"`,
    );
  }
  if (budget.spent + rho > budget.total * (1 + RELATIVE_TOLERANCE)) {
    const left = formatRho(Math.max(0, budget.total - budget.spent));
    throw new FedlabError(
      'BUDGET_EXHAUSTED',
      `project "${budget.projectId}" has rho ${left} left of ${formatRho(budget.total)} for dataset "${budget.dataset}" at this node; the query asks for ${formatRho(rho)}`,
    );
  }
  return rho;
}

/**
 * Debits a query's ρ. Call inside the transaction that writes the audit entry and the answer: the
 * spent total is read again there, so queries that passed {@link checkQueryRho} together cannot
 * overspend. A query id is debited at most once (the ledger's primary key).
 *
 * @returns the budget after the debit.
 * @throws what {@link checkQueryRho} throws when the budget no longer allows the query.
 */
export function debitBudget(db: Database, budget: ProjectBudget, queryId: string, analysis: string, rho: number, nowMs: number): BudgetState {
  const current = spentBudget(db, budget);
  checkQueryRho(rho, current);
  db.prepare('INSERT INTO fedlab_privacy_ledger (query_id, project_id, dataset, analysis, rho, spent_at_ms) VALUES (?, ?, ?, ?, ?, ?)').run(
    queryId,
    budget.projectId,
    budget.dataset,
    analysis,
    rho,
    nowMs,
  );
  return budgetState({ total: budget.total, spent: current.spent + rho });
}

/** Spent ρ and the number of debited queries, by project and dataset, as the node's ledger holds them. */
export function ledgerSummary(db: Database): Array<{ projectId: string; dataset: string; spent: number; queries: number }> {
  const rows = db
    .prepare(
      'SELECT project_id, dataset, SUM(rho) AS spent, COUNT(*) AS queries FROM fedlab_privacy_ledger GROUP BY project_id, dataset ORDER BY project_id, dataset',
    )
    .all() as Array<{ project_id: string; dataset: string; spent: number; queries: number }>;
  return rows.map((r) => ({ projectId: r.project_id, dataset: r.dataset, spent: r.spent, queries: r.queries }));
}

/** Whether any query has spent budget on a dataset (its contribution bounds are then fixed). */
export function datasetHasSpentBudget(db: Database, dataset: string): boolean {
  return db.prepare('SELECT 1 FROM fedlab_privacy_ledger WHERE dataset = ? LIMIT 1').get(dataset) !== undefined;
}

/**
 * Refuses a new schema that would widen the contribution bounds of a dataset that already answered
 * queries under differential privacy: a larger `max_records_per_person`, or a column's bounds made
 * wider or removed. Such a change would re-scale the noise of every later answer from a bound the
 * steward may have chosen after seeing the data; narrowing (or first declaring) bounds is allowed.
 *
 * @throws FedlabError `SCHEMA_CHANGE_REFUSED`, e.g. `dataset "d" has answered queries under its contribution bounds; column "cost": bounds [0, 500] are wider than [0, 200]`.
 */
export function checkBoundsNotWidened(db: Database, previous: DatasetSchema | undefined, next: DatasetSchema): void {
  if (!previous || !datasetHasSpentBudget(db, next.dataset)) return;
  const refuse = (what: string) =>
    new FedlabError('SCHEMA_CHANGE_REFUSED', `dataset "${next.dataset}" has answered queries under its contribution bounds; ${what}`);
  const before = maxRecordsPerPerson(previous);
  const after = maxRecordsPerPerson(next);
  if (after > before) throw refuse(`max_records_per_person ${after} is above ${before}`);
  const columns = new Map(next.columns.map((c) => [c.name, c]));
  for (const old of previous.columns) {
    const column = columns.get(old.name);
    if (!old.bounds || !column) continue;
    if (!column.bounds) throw refuse(`column "${old.name}": its bounds [${old.bounds.join(', ')}] cannot be removed`);
    const [lo, hi] = column.bounds;
    if (lo < old.bounds[0] || hi > old.bounds[1]) throw refuse(`column "${old.name}": bounds [${lo}, ${hi}] are wider than [${old.bounds.join(', ')}]`);
  }
}

/** Imports a CSV into a node database, refusing a schema that widens bounds already relied on (see checkBoundsNotWidened). */
export function importNodeDataset(db: Database, options: Omit<ImportCsvOptions, 'checkSchemaChange'>): Promise<ImportCsvResult> {
  return importCsv(db, { ...options, checkSchemaChange: (previous, next) => checkBoundsNotWidened(db, previous, next) });
}

/** The ledger key of an organisation's evaluation budget at this node (its "project" in the ledger). */
export function evaluationBudgetKey(organisationId: string): string {
  return `evaluation:${organisationId}`;
}

/**
 * An organisation's evaluation budget on the evaluation dataset (the steward's `evaluation:` policy),
 * checked for one evaluation's ρ before the client list is opened. Throws `BUDGET_EXHAUSTED` saying
 * what is left.
 */
export function checkEvaluationBudget(db: Database, policy: EvaluationPolicy, organisationId: string): { budget: ProjectBudget; rho: number } {
  const projectId = evaluationBudgetKey(organisationId);
  const budget: ProjectBudget = {
    projectId,
    dataset: policy.dataset,
    total: policy.rhoPerOrganisation,
    spent: spentRho(db, projectId, policy.dataset),
    maxQueryRho: policy.rhoPerEvaluation,
  };
  const rho = policy.rhoPerEvaluation;
  if (budget.spent + rho > budget.total * (1 + RELATIVE_TOLERANCE)) {
    const left = formatRho(Math.max(0, budget.total - budget.spent));
    throw new FedlabError(
      'BUDGET_EXHAUSTED',
      `organisation "${organisationId}" has rho ${left} left of ${formatRho(budget.total)} for evaluations at this node; an evaluation spends ${formatRho(rho)}`,
    );
  }
  return { budget, rho };
}
