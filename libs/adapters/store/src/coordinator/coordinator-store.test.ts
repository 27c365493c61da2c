import path from 'node:path';
import { describe, expect } from 'vitest';
import { schemaVersion } from '../database';
import { COORDINATOR_MIGRATIONS } from '../coordinator-schema';
import { CoordinatorStore } from './coordinator-store';
import { coordinatorStoreTest as test } from './coordinator-store-fixtures';

const leaf = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));
const text = (bytes: Uint8Array | undefined) => bytes && Buffer.from(bytes).toString('utf8');

describe('CoordinatorStore', () => {
  test('opens the file at the last migration and keeps what it stored across connections', ({ store, tempDir: dir }) => {
    expect(schemaVersion(store.db)).toBe(COORDINATOR_MIGRATIONS.length);
    store.logLeaves.insert(0, 'project', leaf('project entry'), 1_000);
    store.catalogs.save('health', leaf('catalog v1'), 1_000);
    store.catalogs.save('health', leaf('catalog v2'), 2_000);
    store.catalogs.save('education', leaf('catalog'), 2_000);
    store.close();
    const reopened = new CoordinatorStore(path.join(dir, 'coordinator.db'));
    try {
      expect(text(reopened.logLeaves.leaf(0))).toBe('project entry');
      expect(reopened.catalogs.all().map((c) => [c.nodeId, text(c.catalog)])).toEqual([
        ['education', 'catalog'],
        ['health', 'catalog v2'],
      ]);
    } finally {
      reopened.close();
    }
  });

  test('reads log leaves by index and by range, and counts them', ({ store }) => {
    ['query a', 'checkpoint b', 'approval c'].forEach((entry, i) => store.logLeaves.insert(i, entry.split(' ')[0]!, leaf(entry), 1_000 + i));
    expect(store.logLeaves.count()).toBe(3);
    expect(text(store.logLeaves.leaf(1))).toBe('checkpoint b');
    expect(store.logLeaves.leaf(3)).toBeUndefined();
    expect(store.logLeaves.leaves(1, 10).map(text)).toEqual(['checkpoint b', 'approval c']);
    expect(store.logLeaves.leaves(2, 2)).toEqual([]);
    expect(() => store.logLeaves.insert(1, 'query', leaf('again'), 2_000)).toThrow(/UNIQUE/);
  });

  test("commits every repository's writes in a transaction together, or none of them", ({ store }) => {
    const register = (projectId: string, index: number, fail: boolean) =>
      store.transaction(() => {
        store.logLeaves.insert(index, 'project', leaf(projectId), 1_000);
        store.governance.insertDocument(`digest of ${projectId}`, index);
        if (fail) throw new Error('the log is frozen');
        store.governance.insertProject(projectId, { payload: '{}', signer: 'alice', signature: 'c2ln' }, index);
        return index;
      });
    expect(register('readmissions-2026', 0, false)).toBe(0);
    expect(() => register('school-leavers', 1, true)).toThrow('the log is frozen');
    expect(store.logLeaves.count()).toBe(1);
    expect(store.governance.hasDocument('digest of school-leavers')).toBe(false);
    expect(store.governance.projectIds()).toEqual(['readmissions-2026']);
  });
});
