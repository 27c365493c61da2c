import { describe, expect, it } from 'vitest';
import { checkApprovalWithinRequest } from './approval';
import { approvalForRequest, checkApprovable, narrowApproval } from './approval-request';
import { project } from '../testing/fixtures';

describe("a steward's approval of a project for its node", () => {
  it('grants by default exactly what the project requested of the node, capped at the ethics expiry', () => {
    const approval = approvalForRequest(project, 'health', 'ab'.repeat(32), '2999-01-01', '2026-12-07T09:00:00Z');
    expect(approval.datasets).toEqual(project.requests.health!.datasets);
    expect(approval.expiresOn).toBe(project.ethicsApproval.expiresOn);
    expect(approval.purposes).toEqual([project.purpose]);
  });

  it('narrows to the kept datasets and withholds columns, never widening what was requested', () => {
    const approval = approvalForRequest(project, 'health', 'ab'.repeat(32), '2027-01-01', '2026-12-07T09:00:00Z');
    const [first, ...others] = Object.keys(approval.datasets);
    const firstColumn = approval.datasets[first!]!.columns[0]!;
    const narrowed = narrowApproval(approval, { datasets: [first!], excludeColumns: [firstColumn] });
    expect(Object.keys(narrowed.datasets)).toEqual([first]);
    expect(narrowed.datasets[first!]!.columns).toEqual(approval.datasets[first!]!.columns.slice(1));
    expect(others.length + 1).toBe(Object.keys(approval.datasets).length);
    // The original is not changed, and the narrowed approval is within the request.
    expect(approval.datasets[first!]!.columns[0]).toBe(firstColumn);
    expect(() => checkApprovalWithinRequest(project, narrowed)).not.toThrow();
  });

  it('is refused for another project text than the one reviewed, and for an enforcement purpose unless deliberate', () => {
    expect(() => checkApprovable(project, 'ab'.repeat(32), { reviewedHash: 'cd'.repeat(32) })).toThrowFedlabError(
      'APPROVAL_INVALID',
      `project "${project.projectId}" has SHA-256 ${'ab'.repeat(32)}, not the ${'cd'.repeat(32)} you reviewed`,
    );
    const enforcement = { ...project, purpose: 'fraud_targeting' as const };
    expect(() => checkApprovable(enforcement, 'ab'.repeat(32), {})).toThrowFedlabError(
      'PURPOSE_NOT_PERMITTED',
      `project "${project.projectId}" is for fraud_targeting, an enforcement purpose: approve it only deliberately, with --allow-enforcement`,
    );
    expect(() => checkApprovable(enforcement, 'ab'.repeat(32), { allowEnforcement: true })).not.toThrow();
  });
});
