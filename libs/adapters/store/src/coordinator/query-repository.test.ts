import { describe, expect } from 'vitest';
import { coordinatorStoreTest as test } from './coordinator-store-fixtures';
import type { CoordinatorStore } from './coordinator-store';
import type { NewQuery } from './query-repository';

const T0 = Date.parse('2026-11-25T09:00:00.000Z');
const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));

const newQuery = (queryId: string, overrides: Partial<NewQuery> = {}): NewQuery => ({
  queryId,
  projectId: 'readmissions-2026',
  researcherId: 'alice',
  envelope: bytes(`researcher-signed ${queryId}`),
  submittedAtMs: T0,
  deadlineAtMs: T0 + 60_000,
  pooled: false,
  ...overrides,
});

/** Stores a query the way the coordinator does: its log leaf written in the same transaction. */
function admit(store: CoordinatorStore, q: NewQuery, nodeIds: string[], attachment: Uint8Array | null = null) {
  return store.queries.insert(
    q,
    nodeIds,
    () => {
      const index = store.logLeaves.count();
      store.logLeaves.insert(index, 'query', bytes(`summary of ${q.queryId}`), q.submittedAtMs);
      return index;
    },
    (logIndex) => bytes(`countersigned ${q.queryId} at ${logIndex}`),
    attachment,
  );
}

describe('QueryRepository', () => {
  test('stores a query with its log index, countersignature and a pending row per target node', ({ store }) => {
    admit(store, newQuery('q-first-0001'), ['health']);
    const stored = admit(store, newQuery('q-second-002', { pooled: true }), ['justice', 'health']);
    expect(stored).toMatchObject({ queryId: 'q-second-002', logIndex: 1, state: 'running', code: '', message: '', pooledResult: null });
    expect(store.queries.has('q-second-002')).toBe(true);
    expect(store.queries.has('q-unknown-003')).toBe(false);
    expect(store.queries.get('q-unknown-003')).toBeUndefined();
    const read = store.queries.get('q-second-002')!;
    expect({ ...read, envelope: Buffer.from(read.envelope).toString(), countersigned: Buffer.from(read.countersigned).toString() }).toEqual({
      queryId: 'q-second-002',
      projectId: 'readmissions-2026',
      researcherId: 'alice',
      envelope: 'researcher-signed q-second-002',
      countersigned: 'countersigned q-second-002 at 1',
      logIndex: 1,
      submittedAtMs: T0,
      deadlineAtMs: T0 + 60_000,
      state: 'running',
      code: '',
      message: '',
      pooled: true,
      pooledResult: null,
    });
    expect(store.queries.nodes('q-second-002')).toEqual([
      { nodeId: 'health', state: 'pending', code: '', message: '', updatedAtMs: T0, dispatched: false, answer: null },
      { nodeId: 'justice', state: 'pending', code: '', message: '', updatedAtMs: T0, dispatched: false, answer: null },
    ]);
  });

  test('stores nothing of a query, its node rows or its log leaf when the countersignature fails', ({ store }) => {
    const failing = () =>
      store.queries.insert(
        newQuery('q-failing-001'),
        ['health', 'justice'],
        () => {
          store.logLeaves.insert(0, 'query', bytes('summary'), T0);
          return 0;
        },
        () => {
          throw new Error('the signing key is gone');
        },
      );
    expect(failing).toThrow('the signing key is gone');
    expect(store.queries.has('q-failing-001')).toBe(false);
    expect(store.queries.nodes('q-failing-001')).toEqual([]);
    expect(store.logLeaves.count()).toBe(0);
  });

  test('never overwrites a final node state, keeps a stored answer and only ever sets the dispatched flag', ({ store }) => {
    admit(store, newQuery('q-progress-01'), ['health']);
    expect(store.queries.setNodeState('q-progress-01', 'health', 'pending', T0 + 1, { dispatched: true })).toBe(true);
    expect(store.queries.setNodeState('q-progress-01', 'health', 'running', T0 + 2)).toBe(true);
    expect(store.queries.nodes('q-progress-01')[0]).toMatchObject({ state: 'running', dispatched: true, updatedAtMs: T0 + 2 });
    expect(store.queries.setNodeState('q-progress-01', 'health', 'done', T0 + 3, { answer: bytes('signed answer') })).toBe(true);
    expect(store.queries.setNodeState('q-progress-01', 'health', 'failed', T0 + 4, { code: 'DEADLINE_EXCEEDED', message: 'late' })).toBe(false);
    const [health] = store.queries.nodes('q-progress-01');
    expect(health).toMatchObject({ state: 'done', code: '', message: '', updatedAtMs: T0 + 3, dispatched: true });
    expect(Buffer.from(health!.answer!).toString()).toBe('signed answer');
    expect(store.queries.setNodeState('q-progress-01', 'justice', 'done', T0 + 5)).toBe(false);
  });

  test("keeps an evaluation's sealed attachment until its node is final, then drops it", ({ store }) => {
    admit(store, newQuery('q-evaluation1', { projectId: '' }), ['justice'], bytes('sealed client list'));
    store.queries.setNodeState('q-evaluation1', 'justice', 'running', T0 + 1, { dispatched: true });
    expect(Buffer.from(store.queries.attachment('q-evaluation1')!).toString()).toBe('sealed client list');
    store.queries.setNodeState('q-evaluation1', 'justice', 'refused', T0 + 2, { code: 'POLICY_DENIED', message: 'no evaluation policy' });
    expect(store.queries.attachment('q-evaluation1')).toBeNull();
    expect(store.queries.attachment('q-unknown-003')).toBeNull();
  });

  test('finishes a per-node query once every node is final, and a pooled one only with its result', ({ store }) => {
    admit(store, newQuery('q-per-node-01'), ['health', 'justice']);
    admit(store, newQuery('q-pooled-0001', { pooled: true }), ['health', 'justice']);
    for (const queryId of ['q-per-node-01', 'q-pooled-0001']) store.queries.setNodeState(queryId, 'health', 'done', T0 + 1);
    expect(store.queries.allNodesFinal('q-per-node-01')).toBe(false);
    expect(store.queries.finishIfComplete('q-per-node-01')).toBe(false);
    for (const queryId of ['q-per-node-01', 'q-pooled-0001']) store.queries.setNodeState(queryId, 'justice', 'unreachable', T0 + 2);
    expect(store.queries.allNodesFinal('q-per-node-01')).toBe(true);
    expect(store.queries.finishIfComplete('q-per-node-01')).toBe(true);
    expect(store.queries.finishIfComplete('q-per-node-01')).toBe(false);
    expect(store.queries.finishIfComplete('q-pooled-0001')).toBe(false);
    expect(store.queries.finishPooled('q-per-node-01', bytes('result'), 'finished')).toBe(false);
    expect(store.queries.finishPooled('q-pooled-0001', bytes('signed refusal'), 'failed', 'TOO_FEW_NODES', 'only 1 node(s) could contribute')).toBe(true);
    expect(store.queries.finishPooled('q-pooled-0001', bytes('a second result'), 'finished')).toBe(false);
    expect(store.queries.get('q-per-node-01')).toMatchObject({ state: 'finished', code: '', pooledResult: null });
    const pooled = store.queries.get('q-pooled-0001')!;
    expect(pooled).toMatchObject({ state: 'failed', code: 'TOO_FEW_NODES', message: 'only 1 node(s) could contribute' });
    expect(Buffer.from(pooled.pooledResult!).toString()).toBe('signed refusal');
    expect(store.queries.running()).toEqual([]);
  });

  test('lists the open work of a node, oldest first, without final rows or finished queries', ({ store }) => {
    admit(store, newQuery('q-newer-00001', { submittedAtMs: T0 + 20 }), ['health']);
    admit(store, newQuery('q-older-00001', { submittedAtMs: T0 + 10 }), ['health', 'justice']);
    admit(store, newQuery('q-answered-01', { submittedAtMs: T0 }), ['health']);
    store.queries.setNodeState('q-answered-01', 'health', 'done', T0 + 30);
    store.queries.setNodeState('q-older-00001', 'health', 'running', T0 + 30);
    expect(store.queries.openWorkFor('health').map((q) => q.queryId)).toEqual(['q-older-00001', 'q-newer-00001']);
    expect(store.queries.openWorkFor('justice').map((q) => q.queryId)).toEqual(['q-older-00001']);
    expect(store.queries.openWorkFor('education')).toEqual([]);
    expect(
      store.queries
        .running()
        .map((q) => q.queryId)
        .sort(),
    ).toEqual(['q-answered-01', 'q-newer-00001', 'q-older-00001']);
  });

  test('counts answers and refusals per node, in total and since a time, and queries per node of a project', ({ store }) => {
    admit(store, newQuery('q-count-00001'), ['health', 'justice']);
    admit(store, newQuery('q-count-00002'), ['health', 'justice']);
    admit(store, newQuery('q-count-00003', { projectId: 'school-leavers' }), ['health']);
    store.queries.setNodeState('q-count-00001', 'health', 'done', T0 + 1_000);
    store.queries.setNodeState('q-count-00001', 'justice', 'refused', T0 + 1_000, { code: 'POLICY_DENIED' });
    store.queries.setNodeState('q-count-00002', 'health', 'refused', T0 + 5_000, { code: 'BUDGET_EXHAUSTED' });
    store.queries.setNodeState('q-count-00002', 'justice', 'failed', T0 + 5_000, { code: 'DEADLINE_EXCEEDED' });
    store.queries.setNodeState('q-count-00003', 'health', 'done', T0 + 9_000);
    expect(store.queries.answerCounts()).toEqual(
      new Map([
        ['health', { answered: 2, refused: 1 }],
        ['justice', { answered: 0, refused: 1 }],
      ]),
    );
    expect(store.queries.answerCountsSince(T0 + 5_000)).toEqual(new Map([['health', { answered: 1, refused: 1 }]]));
    expect(store.queries.queriesPerNode('readmissions-2026')).toEqual(
      new Map([
        ['health', 2],
        ['justice', 2],
      ]),
    );
    expect(store.queries.queriesPerNode('school-leavers')).toEqual(new Map([['health', 1]]));
    expect(store.queries.queriesPerNode('no-such-project')).toEqual(new Map());
  });

  test('lists the most recently submitted queries that stopped running, newest first', ({ store }) => {
    for (const [i, queryId] of ['q-recent-0001', 'q-recent-0002', 'q-recent-0003', 'q-recent-0004'].entries()) {
      admit(store, newQuery(queryId, { submittedAtMs: T0 + i }), ['health']);
    }
    for (const queryId of ['q-recent-0001', 'q-recent-0002', 'q-recent-0004']) {
      store.queries.setNodeState(queryId, 'health', 'done', T0 + 10);
      store.queries.finishIfComplete(queryId);
    }
    expect(store.queries.recentFinished(2).map((q) => q.queryId)).toEqual(['q-recent-0004', 'q-recent-0002']);
    expect(store.queries.recentFinished(10).map((q) => q.queryId)).toEqual(['q-recent-0004', 'q-recent-0002', 'q-recent-0001']);
  });
});
