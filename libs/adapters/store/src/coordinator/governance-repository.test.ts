import { describe, expect } from 'vitest';
import type { SignedDocument } from '@fedlab/governance';
import { coordinatorStoreTest as test } from './coordinator-store-fixtures';

const signed = (payload: object, signer: string): SignedDocument => ({
  payload: JSON.stringify(payload),
  signer,
  signature: Buffer.alloc(64, signer.length).toString('base64'),
});

const project = signed({ project_id: 'readmissions-2026', title: 'Hospital readmissions after release' }, 'alice');
const approvalAt = (approvedAt: string) => signed({ project_id: 'readmissions-2026', node_id: 'health', approved_at: approvedAt }, 'health-steward');
const revocationAt = (revokedAt: string) => signed({ project_id: 'readmissions-2026', node_id: 'health', revoked_at: revokedAt }, 'health-steward');

describe('GovernanceRepository', () => {
  test('returns a project as it was signed, with its log index, and lists projects in log order', ({ store }) => {
    const governance = store.governance;
    governance.insertProject('school-leavers', signed({ project_id: 'school-leavers' }, 'bob'), 4);
    governance.insertProject('readmissions-2026', project, 1);
    expect(governance.hasProject('readmissions-2026')).toBe(true);
    expect(governance.hasProject('unregistered')).toBe(false);
    expect(governance.project('readmissions-2026')).toEqual({ signed: project, logIndex: 1 });
    expect(governance.project('unregistered')).toBeUndefined();
    expect(governance.projectIds()).toEqual(['readmissions-2026', 'school-leavers']);
  });

  test("keeps a node's latest approval of a project and every revocation, in log order", ({ store }) => {
    const governance = store.governance;
    governance.insertProject('readmissions-2026', project, 0);
    const first = approvalAt('2026-11-01T10:00:00Z');
    const second = approvalAt('2026-11-20T10:00:00Z');
    const justice = signed({ project_id: 'readmissions-2026', node_id: 'justice', approved_at: '2026-11-02T10:00:00Z' }, 'justice-steward');
    governance.saveApproval('readmissions-2026', 'health', first, 1);
    governance.saveApproval('readmissions-2026', 'justice', justice, 2);
    expect(governance.approval('readmissions-2026', 'health')).toEqual(first);
    governance.insertRevocation('readmissions-2026', 'health', revocationAt('2026-11-10T10:00:00Z'), 3);
    governance.saveApproval('readmissions-2026', 'health', second, 4);
    governance.insertRevocation('readmissions-2026', 'health', revocationAt('2026-11-21T10:00:00Z'), 5);
    expect(governance.approval('readmissions-2026', 'health')).toEqual(second);
    expect(governance.approval('readmissions-2026', 'education')).toBeUndefined();
    expect(governance.approvals('readmissions-2026')).toEqual([justice, second]);
    expect(governance.revocations('readmissions-2026')).toEqual([revocationAt('2026-11-10T10:00:00Z'), revocationAt('2026-11-21T10:00:00Z')]);
    expect(governance.approvals('school-leavers')).toEqual([]);
  });

  test('refuses an approval of a project it does not hold (foreign key)', ({ store }) => {
    expect(() => store.governance.saveApproval('unregistered', 'health', approvalAt('2026-11-01T10:00:00Z'), 0)).toThrow(/FOREIGN KEY/);
  });

  test('remembers the digest of every logged document, once', ({ store }) => {
    const digest = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    expect(store.governance.hasDocument(digest)).toBe(false);
    store.governance.insertDocument(digest, 7);
    expect(store.governance.hasDocument(digest)).toBe(true);
    expect(() => store.governance.insertDocument(digest, 8)).toThrow(/UNIQUE/);
  });
});
