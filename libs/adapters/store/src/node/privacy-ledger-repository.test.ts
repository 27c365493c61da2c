import { describe, expect } from 'vitest';
import { test } from '@fedlab/test-kit';
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
