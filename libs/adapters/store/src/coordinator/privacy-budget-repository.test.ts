import { describe, expect } from 'vitest';
import { coordinatorStoreTest as test } from './coordinator-store-fixtures';

describe("the coordinator's record of privacy budgets", () => {
  test('keeps per project, node and dataset the state with the most spent, whatever order answers arrive in', ({ store }) => {
    store.budgets.record('p', 'health', { dataset: 'visits', total: 1, spent: 0.5, remaining: 0.5 });
    store.budgets.record('p', 'health', { dataset: 'visits', total: 1, spent: 0.25, remaining: 0.75 });
    store.budgets.record('p', 'health', { dataset: 'stays', total: 2, spent: 0.1, remaining: 1.9 });
    store.budgets.record('q', 'justice', { dataset: 'offences', total: 1, spent: 1, remaining: 0 });
    expect(store.budgets.list('p')).toEqual([
      { projectId: 'p', nodeId: 'health', dataset: 'stays', total: 2, spent: 0.1, remaining: 1.9 },
      { projectId: 'p', nodeId: 'health', dataset: 'visits', total: 1, spent: 0.5, remaining: 0.5 },
    ]);
    expect(store.budgets.list().map((b) => b.projectId)).toEqual(['p', 'p', 'q']);
  });
});
