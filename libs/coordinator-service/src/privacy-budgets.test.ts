import { describe, expect } from 'vitest';
import { it } from '@fedlab/test-kit';

describe("the coordinator's record of privacy budgets", () => {
  it('keeps per project, node and dataset the state with the most spent, whatever order answers arrive in', ({ coordinatorStore: store }) => {
    store.recordBudget('p', 'health', { dataset: 'visits', total: 1, spent: 0.5, remaining: 0.5 });
    store.recordBudget('p', 'health', { dataset: 'visits', total: 1, spent: 0.25, remaining: 0.75 });
    store.recordBudget('p', 'health', { dataset: 'stays', total: 2, spent: 0.1, remaining: 1.9 });
    store.recordBudget('q', 'justice', { dataset: 'offences', total: 1, spent: 1, remaining: 0 });
    expect(store.budgets('p')).toEqual([
      { projectId: 'p', nodeId: 'health', dataset: 'stays', total: 2, spent: 0.1, remaining: 1.9 },
      { projectId: 'p', nodeId: 'health', dataset: 'visits', total: 1, spent: 0.5, remaining: 0.5 },
    ]);
    expect(store.budgets().map((b) => b.projectId)).toEqual(['p', 'p', 'q']);
  });
});
