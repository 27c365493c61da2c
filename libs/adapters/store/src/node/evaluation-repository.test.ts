import { describe, expect } from 'vitest';
import type { Database } from '../database';
import { test } from '@fedlab/test-kit';
import { EvaluationRepository, type EvaluationClientRow } from './evaluation-repository';

const client = (line: number, justiceId: string | null = null): EvaluationClientRow => ({
  line,
  surname: `Surname${line}`,
  forename: 'Alex',
  dateOfBirth: '1990-01-01',
  sex: 'F',
  interventionStart: '2022-01-01',
  interventionEnd: '2022-06-30',
  justiceId,
});

const count = (db: Database, table: string, queryId: string) => db.prepare(`SELECT count(*) FROM ${table} WHERE query_id = ?`).pluck().get(queryId);

/** Starts evaluation `queryId` with three clients (two matched) and a cohort of two treated and three comparison persons. */
function runOne(evaluations: EvaluationRepository, queryId: string, nowMs: number): void {
  evaluations.start({ queryId, organisationId: 'org', receivedAtMs: nowMs, deleteAfterMs: nowMs, clients: [client(2), client(3, 'J-1'), client(4)] });
  evaluations.recordCohort(queryId, {
    matches: [
      { line: 2, personId: 'p1' },
      { line: 3, personId: 'p2' },
      { line: 4, personId: null },
    ],
    treated: ['p1', 'p2'],
    comparison: [
      { personId: 'c1', weight: 1 },
      { personId: 'c2', weight: 0.5 },
      { personId: 'c3', weight: 0.5 },
    ],
  });
}

describe('EvaluationRepository', () => {
  test('keeps a client list with its matches and cohort, and deleting it reports the rows it removed', ({ nodeDb: db }) => {
    const evaluations = new EvaluationRepository(db);
    expect(evaluations.exists('e1')).toBe(false);
    runOne(evaluations, 'e1', 1000);
    expect(evaluations.exists('e1')).toBe(true);
    expect(db.prepare('SELECT line, justice_id, matched_person FROM fedlab_evaluation_clients WHERE query_id = ? ORDER BY line').all('e1')).toEqual([
      { line: 2, justice_id: null, matched_person: 'p1' },
      { line: 3, justice_id: 'J-1', matched_person: 'p2' },
      { line: 4, justice_id: null, matched_person: null },
    ]);
    expect(
      db.prepare('SELECT grp, count(*) AS n, sum(weight) AS w FROM fedlab_evaluation_cohort WHERE query_id = ? GROUP BY grp ORDER BY grp').all('e1'),
    ).toEqual([
      { grp: 'comparison', n: 3, w: 2 },
      { grp: 'treatment', n: 2, w: 2 },
    ]);
    expect(evaluations.deleteData('e1', 2000)).toEqual({ clients: 3, cohort: 5 });
    expect([count(db, 'fedlab_evaluation_clients', 'e1'), count(db, 'fedlab_evaluation_cohort', 'e1')]).toEqual([0, 0]);
    expect(db.prepare('SELECT clients, deleted_at_ms, delete_after_ms FROM fedlab_evaluations WHERE query_id = ?').get('e1')).toEqual({
      clients: 3,
      deleted_at_ms: 2000,
      delete_after_ms: null,
    });
    expect(evaluations.deleteData('e1', 3000)).toEqual({ clients: 0, cohort: 0 });
    expect(evaluations.exists('e1')).toBe(true);
  });

  test('lists as due exactly the evaluations whose deletion time has come and whose data is not deleted yet', ({ nodeDb: db }) => {
    const evaluations = new EvaluationRepository(db);
    runOne(evaluations, 'e1', 1000);
    runOne(evaluations, 'e2', 1000);
    runOne(evaluations, 'e3', 1000);
    evaluations.keepUntil('e2', 5000);
    evaluations.deleteData('e3', 1000);
    expect(evaluations.due(999)).toEqual([]);
    expect(evaluations.due(1000)).toEqual(['e1']);
    expect(evaluations.due(4999).sort()).toEqual(['e1']);
    expect(evaluations.due(5000).sort()).toEqual(['e1', 'e2']);
  });

  test('forgets a deleted evaluation, so the same query can start again', ({ nodeDb: db }) => {
    const evaluations = new EvaluationRepository(db);
    runOne(evaluations, 'e1', 1000);
    evaluations.deleteData('e1', 1000);
    evaluations.forget('e1');
    expect(evaluations.exists('e1')).toBe(false);
    runOne(evaluations, 'e1', 2000);
    expect(count(db, 'fedlab_evaluation_clients', 'e1')).toBe(3);
  });

  test('stores nothing of a start that fails part-way, and a deletion rolled back with its caller deletes nothing', ({ nodeDb: db }) => {
    const evaluations = new EvaluationRepository(db);
    expect(() => evaluations.start({ queryId: 'e1', organisationId: 'org', receivedAtMs: 1, deleteAfterMs: 1, clients: [client(2), client(2)] })).toThrow(
      /UNIQUE constraint failed/,
    );
    expect(evaluations.exists('e1')).toBe(false);
    runOne(evaluations, 'e2', 1000);
    expect(() =>
      db.transaction(() => {
        evaluations.deleteData('e2', 2000);
        throw new Error('the audit entry failed');
      })(),
    ).toThrow('the audit entry failed');
    expect([count(db, 'fedlab_evaluation_clients', 'e2'), count(db, 'fedlab_evaluation_cohort', 'e2')]).toEqual([3, 5]);
    expect(evaluations.due(1000)).toEqual(['e2']);
  });
});
