import { describe, expect } from 'vitest';
import { test as kit } from '@fedlab/test-kit';
import { openNodeStore, type SqliteNodeStore } from './node-store';

/** Test fixture: a node store in a temporary directory. */
const test = kit.extend<{ store: SqliteNodeStore }>({
  store: async ({ nodeDbFile: dbFile }, use) => {
    const store = openNodeStore(dbFile);
    await use(store);
    if (store.open) store.close();
  },
});

const signed = (payload: string) => ({ payload, signer: 'steward', signature: `sig-${payload}` });
const NONCE = '00112233445566778899aabbccddeeff';

describe('openNodeStore', () => {
  test('opens a migrated node database that overwrites deleted rows, and closes it', ({ store }) => {
    expect(store.db.pragma('secure_delete', { simple: true })).toBe(1);
    expect(store.db.pragma('user_version', { simple: true })).toBe(11);
    expect(store.sizeBytes()).toBeGreaterThan(0);
    expect(store.open).toBe(true);
    store.close();
    expect(store.open).toBe(false);
  });
});

describe('NodeStore.transaction', () => {
  test('keeps the writes of several repositories together, or none of them when it throws', ({ store }) => {
    const writeAll = (queryId: string) => {
      store.settings.set('roster_version', queryId);
      store.ledger.append({ queryId, projectId: 'p', dataset: 'visits', analysis: 'count', rho: 0.5, spentAtMs: 1 });
      store.nonces.remember(NONCE, 10_000, 1);
      store.audit.append({ kind: 'query', queryId, decision: 'answered', timeMs: 1 });
    };
    expect(() =>
      store.transaction(() => {
        writeAll('q1');
        throw new Error('signing failed');
      }),
    ).toThrow('signing failed');
    expect([store.settings.get('roster_version'), store.ledger.totals(), store.nonces.seen(NONCE, 1), store.audit.head().seq]).toEqual([
      undefined,
      [],
      false,
      0,
    ]);
    expect(store.transaction(() => (writeAll('q2'), 'done'))).toBe('done');
    expect([store.settings.get('roster_version'), store.ledger.spent('p', 'visits'), store.nonces.seen(NONCE, 1), store.audit.head().seq]).toEqual([
      'q2',
      0.5,
      true,
      1,
    ]);
  });
});

describe('the small repositories', () => {
  test('settings: a value per key, replaced by the next', ({ store }) => {
    expect(store.settings.get('governance_fingerprint')).toBeUndefined();
    store.settings.set('governance_fingerprint', 'aa');
    store.settings.set('governance_fingerprint', 'bb');
    store.settings.set('roster_version', '3');
    expect([store.settings.get('governance_fingerprint'), store.settings.get('roster_version')]).toEqual(['bb', '3']);
  });

  test('tree head: none at first, then the last one set', ({ store }) => {
    expect(store.treeHead.get()).toBeUndefined();
    store.treeHead.set({ size: 3, rootHash: new Uint8Array(32).fill(1) }, 1000);
    store.treeHead.set({ size: 5, rootHash: new Uint8Array(32).fill(2) }, 2000);
    expect(store.treeHead.get()).toEqual({ size: 5, rootHash: new Uint8Array(32).fill(2) });
  });

  test('answers: the first answer kept for a query id stays', ({ store }) => {
    expect(store.answers.find('q1')).toBeUndefined();
    store.answers.save('q1', { queryHash: new Uint8Array([1, 2]), envelope: new Uint8Array([3, 4, 5]) }, 1000);
    store.answers.save('q1', { queryHash: new Uint8Array([9]), envelope: new Uint8Array([9]) }, 2000);
    const found = store.answers.find('q1')!;
    expect([...found.queryHash, ...found.envelope]).toEqual([1, 2, 3, 4, 5]);
  });

  test('projects: an approval is stored with its project, revoked, and lifted by a new approval', ({ store }) => {
    expect(store.projects.find('p')).toEqual({ project: undefined, approval: undefined, revoked: false });
    expect(store.projects.revoke('p', signed('revocation'), 1000)).toBe(false);
    store.projects.saveApproval({ projectId: 'p', project: signed('project'), projectHash: 'h', approval: signed('approval 1') }, 1000);
    expect(store.projects.find('p')).toEqual({ project: signed('project'), approval: signed('approval 1'), revoked: false });
    expect(store.projects.revoke('p', signed('revocation'), 2000)).toBe(true);
    expect(store.projects.find('p').revoked).toBe(true);
    expect(store.projects.approvals()).toEqual([{ projectId: 'p', approval: signed('approval 1'), revoked: true, revocation: signed('revocation') }]);
    store.projects.saveApproval({ projectId: 'p', project: signed('project'), projectHash: 'h', approval: signed('approval 2') }, 3000);
    expect(store.projects.find('p')).toEqual({ project: signed('project'), approval: signed('approval 2'), revoked: false });
  });

  test('cohorts: earlier groups of the same scope only, other queries only, the first recording of a query kept', ({ store }) => {
    store.cohorts.record('q1', 'p', new Uint8Array([1, 1]), 1000);
    store.cohorts.record('q1', 'p', new Uint8Array([9, 9]), 1000);
    store.cohorts.record('q2', 'p', new Uint8Array([2, 2]), 1000);
    store.cohorts.record('q3', 'other', new Uint8Array([3, 3]), 1000);
    expect(store.cohorts.earlier('p', 'q2').map((m) => [...m])).toEqual([[1, 1]]);
    expect(
      store.cohorts
        .earlier('p', 'q9')
        .map((m) => [...m])
        .sort(),
    ).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(store.cohorts.earlier('none', 'q1')).toEqual([]);
  });
});
