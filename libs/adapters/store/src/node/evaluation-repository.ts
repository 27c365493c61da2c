import type { Database } from '../database';

/** A line of an organisation's client list, as kept while its evaluation runs. */
export interface EvaluationClientRow {
  line: number;
  surname: string;
  forename: string;
  dateOfBirth: string;
  sex: string;
  interventionStart: string;
  interventionEnd: string;
  justiceId: string | null;
}

/** What one deletion of an evaluation's data removed. */
export interface EvaluationDeletion {
  clients: number;
  cohort: number;
}

/** What {@link EvaluationRepository.start} records. */
export interface EvaluationStart {
  queryId: string;
  organisationId: string;
  receivedAtMs: number;
  deleteAfterMs: number;
  clients: readonly EvaluationClientRow[];
}

/** What {@link EvaluationRepository.recordCohort} records. */
export interface EvaluationCohort {
  matches: ReadonlyArray<{ line: number; personId: string | null }>;
  treated: readonly string[];
  comparison: ReadonlyArray<{ personId: string; weight: number }>;
}

/**
 * An evaluation's uploaded client list and matched cohort (`fedlab_evaluations`,
 * `fedlab_evaluation_clients`, `fedlab_evaluation_cohort`), kept only until the node service deletes
 * them: when the report is produced, when the evaluation is refused, or when the retention period the
 * service set ends. The retention decisions and the audit entries of deletions are the service's.
 */
export class EvaluationRepository {
  readonly #exists;
  readonly #forget;
  readonly #start;
  readonly #recordCohort;
  readonly #keepUntil;
  readonly #deleteData;
  readonly #due;

  constructor(db: Database) {
    this.#exists = db.prepare<[string]>('SELECT 1 FROM fedlab_evaluations WHERE query_id = ?').pluck();
    this.#forget = db.prepare<[string]>('DELETE FROM fedlab_evaluations WHERE query_id = ?');
    const insertEvaluation = db.prepare<[string, string, number, number, number]>(
      'INSERT INTO fedlab_evaluations (query_id, organisation_id, received_at_ms, clients, delete_after_ms) VALUES (?, ?, ?, ?, ?)',
    );
    const insertClient = db.prepare<[string, number, string, string, string, string, string, string, string | null]>(
      'INSERT INTO fedlab_evaluation_clients (query_id, line, surname, forename, date_of_birth, sex, intervention_start, intervention_end, justice_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#start = db.transaction((evaluation: EvaluationStart) => {
      const { queryId, clients } = evaluation;
      insertEvaluation.run(queryId, evaluation.organisationId, evaluation.receivedAtMs, clients.length, evaluation.deleteAfterMs);
      for (const c of clients)
        insertClient.run(queryId, c.line, c.surname, c.forename, c.dateOfBirth, c.sex, c.interventionStart, c.interventionEnd, c.justiceId);
    });
    const setMatch = db.prepare<[string, string, number]>('UPDATE fedlab_evaluation_clients SET matched_person = ? WHERE query_id = ? AND line = ?');
    const insertMember = db.prepare<[string, string, string, number]>(
      'INSERT INTO fedlab_evaluation_cohort (query_id, person_id, grp, weight) VALUES (?, ?, ?, ?)',
    );
    this.#recordCohort = db.transaction((queryId: string, cohort: EvaluationCohort) => {
      for (const m of cohort.matches) if (m.personId !== null) setMatch.run(m.personId, queryId, m.line);
      for (const personId of cohort.treated) insertMember.run(queryId, personId, 'treatment', 1);
      for (const c of cohort.comparison) insertMember.run(queryId, c.personId, 'comparison', c.weight);
    });
    this.#keepUntil = db.prepare<[number, string]>('UPDATE fedlab_evaluations SET delete_after_ms = ? WHERE query_id = ?');
    const deleteClients = db.prepare<[string]>('DELETE FROM fedlab_evaluation_clients WHERE query_id = ?');
    const deleteCohort = db.prepare<[string]>('DELETE FROM fedlab_evaluation_cohort WHERE query_id = ?');
    const markDeleted = db.prepare<[number, string]>('UPDATE fedlab_evaluations SET deleted_at_ms = ?, delete_after_ms = NULL WHERE query_id = ?');
    this.#deleteData = db.transaction((queryId: string, nowMs: number): EvaluationDeletion => {
      const clients = deleteClients.run(queryId).changes;
      const cohort = deleteCohort.run(queryId).changes;
      markDeleted.run(nowMs, queryId);
      return { clients, cohort };
    });
    this.#due = db
      .prepare<[number], string>('SELECT query_id FROM fedlab_evaluations WHERE deleted_at_ms IS NULL AND delete_after_ms IS NOT NULL AND delete_after_ms <= ?')
      .pluck();
  }

  /** Whether an evaluation of `queryId` is recorded (deleted data or not). */
  exists(queryId: string): boolean {
    return this.#exists.get(queryId) !== undefined;
  }

  /** Deletes the record of an evaluation whose data was deleted ({@link deleteData}), so it can start again. */
  forget(queryId: string): void {
    this.#forget.run(queryId);
  }

  /** Records an evaluation and its client list, due for deletion at `deleteAfterMs`, in one transaction. */
  start(evaluation: EvaluationStart): void {
    this.#start(evaluation);
  }

  /** Records, in one transaction, whom each client line matched and the treatment and comparison groups. */
  recordCohort(queryId: string, cohort: EvaluationCohort): void {
    this.#recordCohort(queryId, cohort);
  }

  /** Sets when the evaluation's data is due for deletion. */
  keepUntil(queryId: string, deleteAfterMs: number): void {
    this.#keepUntil.run(deleteAfterMs, queryId);
  }

  /**
   * Deletes the evaluation's client list and cohort and marks it deleted at `nowMs` (no longer due), in one
   * transaction (part of the caller's, when it runs in one); returns how many rows of each were deleted.
   */
  deleteData(queryId: string, nowMs: number): EvaluationDeletion {
    return this.#deleteData(queryId, nowMs);
  }

  /** The query ids of evaluations whose data is due for deletion at `nowMs`, not yet deleted. */
  due(nowMs: number): string[] {
    return this.#due.all(nowMs);
  }
}
