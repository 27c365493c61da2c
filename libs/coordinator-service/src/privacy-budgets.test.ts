import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CoordinatorStore } from './coordinator-store';

describe("the coordinator's record of privacy budgets", () => {
  let dir: string;
  let store: CoordinatorStore;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'fedlab-budgets-'));
    store = new CoordinatorStore(path.join(dir, 'coordinator.db'));
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps per project, node and dataset the state with the most spent, whatever order answers arrive in', () => {
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
