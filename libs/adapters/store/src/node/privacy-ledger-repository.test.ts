import { describe, expect } from 'vitest';
import { test } from '@fedlab/test-kit';
import { openDatabase } from '../database';
import { NODE_MIGRATIONS } from '../node-schema';
import { PrivacyLedgerRepository, type LedgerDebit } from './privacy-ledger-repository';

const debit = (queryId: string, projectId: string, dataset: string, rho: number): LedgerDebit => ({
  queryId,
  projectId,
  dataset,
  analysis: 'count',
  rho,
  spentAtMs: 1000,
});

describe('PrivacyLedgerRepository', () => {
  test('sums ρ by project and dataset, 0 before anything was spent', ({ nodeDb: db }) => {
    const ledger = new PrivacyLedgerRepository(db);
    expect(ledger.spent('p', 'visits')).toBe(0);
    ledger.append(debit('q1', 'p', 'visits', 0.25));
    ledger.append(debit('q2', 'p', 'visits', 0.5));
    ledger.append(debit('q3', 'p', 'offences', 1));
    ledger.append(debit('q4', 'other', 'visits', 2));
    expect(ledger.spent('p', 'visits')).toBe(0.75);
    expect(ledger.spent('p', 'offences')).toBe(1);
    expect(ledger.spent('other', 'visits')).toBe(2);
    expect(ledger.spent('other', 'offences')).toBe(0);
  });

  test('keeps SQLite SUM()’s exact value as debits accumulate, across projects, transactions and rollbacks', ({ nodeDb: db }) => {
    const ledger = new PrivacyLedgerRepository(db);
    const sql = db.prepare<[string, string], number>('SELECT COALESCE(SUM(rho), 0) FROM fedlab_privacy_ledger WHERE project_id = ? AND dataset = ?').pluck();
    // Values whose naive running sum differs from SUM()'s compensated one (0.1 ten times is 1 only compensated).
    const rhos = [0.1, 1e-9, 0.3, 1e6, 0.7, 1 / 3, 2 ** -40, 123.456, 0.015, 5e-324, 7];
    let n = 0;
    const pairs: Array<[string, string]> = [
      ['p', 'visits'],
      ['p', 'offences'],
      ['q', 'visits'],
    ];
    for (let round = 0; round < 60; round++) {
      const [project, dataset] = pairs[round % 3]!;
      const rho = rhos[(round * 7) % rhos.length]!;
      if (round % 5 === 4) {
        // A debit inside a transaction that is then rolled back: seen inside, gone after.
        expect(() =>
          db.transaction(() => {
            ledger.append(debit(`r${n++}`, project, dataset, rho));
            expect(ledger.spent(project, dataset)).toBe(sql.get(project, dataset));
            throw new Error('rolled back');
          })(),
        ).toThrow('rolled back');
      } else if (round % 5 === 3) {
        db.transaction(() => {
          ledger.append(debit(`t${n++}`, project, dataset, rho));
          ledger.append(debit(`t${n++}`, project, dataset, 0.1));
          expect(ledger.spent(project, dataset)).toBe(sql.get(project, dataset));
        })();
      } else {
        ledger.append(debit(`a${n++}`, project, dataset, rho));
      }
      for (const [p, d] of pairs) expect(ledger.spent(p, d)).toBe(sql.get(p, d));
    }
    // Ten debits of 0.1: SUM() says 1, a naive running sum 0.9999999999999999.
    for (let i = 0; i < 10; i++) ledger.append(debit(`tenth${i}`, 'tenths', 'visits', 0.1));
    expect(ledger.spent('tenths', 'visits')).toBe(1);
    expect(sql.get('tenths', 'visits')).toBe(1);
  });

  test('sees debits another connection committed after its sum was kept', ({ nodeDb: db, nodeDbFile: file }) => {
    const ledger = new PrivacyLedgerRepository(db);
    ledger.append(debit('q1', 'p', 'visits', 0.25));
    expect(ledger.spent('p', 'visits')).toBe(0.25);
    const other = openDatabase(file, NODE_MIGRATIONS);
    try {
      new PrivacyLedgerRepository(other).append(debit('q2', 'p', 'visits', 0.5));
    } finally {
      other.close();
    }
    expect(ledger.spent('p', 'visits')).toBe(0.75);
  });

  test('totals every project and dataset with its number of queries, ordered by both', ({ nodeDb: db }) => {
    const ledger = new PrivacyLedgerRepository(db);
    expect(ledger.totals()).toEqual([]);
    ledger.append(debit('q1', 'p', 'visits', 0.25));
    ledger.append(debit('q2', 'evaluation:org', 'offences', 1));
    ledger.append(debit('q3', 'p', 'visits', 0.5));
    ledger.append(debit('q4', 'p', 'offences', 0.1));
    expect(ledger.totals()).toEqual([
      { projectId: 'evaluation:org', dataset: 'offences', spent: 1, queries: 1 },
      { projectId: 'p', dataset: 'offences', spent: 0.1, queries: 1 },
      { projectId: 'p', dataset: 'visits', spent: 0.75, queries: 2 },
    ]);
  });

  test('says whether a dataset has spent budget, whichever project spent it', ({ nodeDb: db }) => {
    const ledger = new PrivacyLedgerRepository(db);
    expect(ledger.hasSpent('visits')).toBe(false);
    ledger.append(debit('q1', 'p', 'visits', 0.25));
    expect(ledger.hasSpent('visits')).toBe(true);
    expect(ledger.hasSpent('offences')).toBe(false);
  });

  test('debits a query id once and refuses a ρ that is not positive, recording nothing for either', ({ nodeDb: db }) => {
    const ledger = new PrivacyLedgerRepository(db);
    ledger.append(debit('q1', 'p', 'visits', 0.25));
    expect(() => ledger.append(debit('q1', 'p', 'visits', 0.25))).toThrow(/UNIQUE constraint failed/);
    expect(() => ledger.append(debit('q2', 'p', 'visits', 0))).toThrow(/CHECK constraint failed/);
    expect(ledger.totals()).toEqual([{ projectId: 'p', dataset: 'visits', spent: 0.25, queries: 1 }]);
  });
});
