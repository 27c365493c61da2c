import { FedlabError, maxRecordsPerPerson, type BudgetState, type DatasetSchema, type EvaluationPolicy, type PrivacyPolicy } from '@fedlab/model';
import type { ImportCsvOptions, ImportCsvResult, NodeStore } from '@fedlab/store';
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

/**
 * The budget of a project for a dataset: what the approval grants (or the policy's default) within
 * the policy's ceiling, and what the ledger says was spent.
 *
 * @throws FedlabError `BUDGET_INVALID` `the approval of project "p" grants rho 9 for dataset "d", above this node's ceiling 5`.
 */
export function projectBudget(store: Pick<NodeStore, 'ledger'>, policy: PrivacyPolicy, approval: Approval, dataset: string): ProjectBudget {
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
    spent: store.ledger.spent(approval.projectId, dataset),
    maxQueryRho: Math.min(grant?.maxQueryRho ?? policy.maxQueryRho, policy.maxQueryRho),
  };
}

/** The budget with its spent total read again from the ledger. */
export function spentBudget(store: Pick<NodeStore, 'ledger'>, budget: ProjectBudget): ProjectBudget {
  return { ...budget, spent: store.ledger.spent(budget.projectId, budget.dataset) };
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
export function debitBudget(
  store: Pick<NodeStore, 'ledger'>,
  budget: ProjectBudget,
  queryId: string,
  analysis: string,
  rho: number,
  nowMs: number,
): BudgetState {
  const current = spentBudget(store, budget);
  checkQueryRho(rho, current);
  store.ledger.append({ queryId, projectId: budget.projectId, dataset: budget.dataset, analysis, rho, spentAtMs: nowMs });
  return budgetState({ total: budget.total, spent: current.spent + rho });
}

/**
 * Refuses a new schema that would widen the contribution bounds of a dataset that already answered
 * queries under differential privacy: a larger `max_records_per_person`, or a column's bounds made
 * wider or removed. Such a change would re-scale the noise of every later answer from a bound the
 * steward may have chosen after seeing the data; narrowing (or first declaring) bounds is allowed.
 *
 * @throws FedlabError `SCHEMA_CHANGE_REFUSED`, e.g. `dataset "d" has answered queries under its contribution bounds; column "cost": bounds [0, 500] are wider than [0, 200]`.
 */
export function checkBoundsNotWidened(store: Pick<NodeStore, 'ledger'>, previous: DatasetSchema | undefined, next: DatasetSchema): void {
  // Once any query spent budget on the dataset, its contribution bounds are fixed.
  if (!previous || !store.ledger.hasSpent(next.dataset)) return;
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

/** Imports a CSV as a node's dataset, refusing a schema that widens bounds already relied on (see checkBoundsNotWidened). */
export function importNodeDataset(
  store: Pick<NodeStore, 'datasets' | 'ledger'>,
  options: Omit<ImportCsvOptions, 'checkSchemaChange'>,
): Promise<ImportCsvResult> {
  return store.datasets.import({ ...options, checkSchemaChange: (previous, next) => checkBoundsNotWidened(store, previous, next) });
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
export function checkEvaluationBudget(
  store: Pick<NodeStore, 'ledger'>,
  policy: EvaluationPolicy,
  organisationId: string,
): { budget: ProjectBudget; rho: number } {
  const projectId = evaluationBudgetKey(organisationId);
  const budget: ProjectBudget = {
    projectId,
    dataset: policy.dataset,
    total: policy.rhoPerOrganisation,
    spent: store.ledger.spent(projectId, policy.dataset),
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
