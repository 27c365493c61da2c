import { describe, expect, it } from 'vitest';
import { checkApprovalProjectHash, checkApprovalWithinRequest, formatApproval, parseApproval, verifySignedApproval, type Approval } from './approval';
import { signText, verifyEd25519 } from '../testing/ed25519';
import { PROJECT_HASH, approval, approvalJson, keys, project, refusal, roster } from '../testing/fixtures';

function signedApproval(signer: string, key = keys.stewardHealth, doc: Record<string, unknown> = approvalJson()) {
  const payload = JSON.stringify(doc);
  return { payload, signer, signature: signText('approval', payload, key) };
}

describe('checkApprovalWithinRequest', () => {
  it('accepts an approval that grants exactly what the project requested of the node', () => {
    expect(() => checkApprovalWithinRequest(project, approval)).not.toThrow();
  });

  it('accepts an approval narrower than the request: fewer datasets, columns and analysis kinds', () => {
    const narrower: Approval = { ...approval, datasets: { visits: { columns: ['age_band'], analyses: ['count'] } } };
    expect(() => checkApprovalWithinRequest(project, narrower)).not.toThrow();
  });

  it('refuses an approval that grants a column the project did not request', () => {
    const wider: Approval = { ...approval, datasets: { visits: { columns: ['age_band', 'postcode'], analyses: ['count'] } } };
    const error = refusal(() => checkApprovalWithinRequest(project, wider));
    expect(error.code).toBe('APPROVAL_INVALID');
    expect(error.message).toBe('approval: datasets.visits.columns.1: column "postcode" was not requested for node "health"');
  });

  it('refuses an approval that grants an analysis kind the project did not request', () => {
    const wider: Approval = { ...approval, datasets: { prescriptions: { columns: ['drug_class'], analyses: ['count', 'histogram'] } } };
    expect(refusal(() => checkApprovalWithinRequest(project, wider)).message).toBe(
      'approval: datasets.prescriptions.analyses.1: analysis "histogram" was not requested for node "health"',
    );
  });

  it('refuses an approval that grants a dataset the project requested of another node', () => {
    const wider: Approval = { ...approval, datasets: { convictions: { columns: ['offence'], analyses: ['count'] } } };
    expect(refusal(() => checkApprovalWithinRequest(project, wider)).message).toBe(
      'approval: datasets.convictions: dataset "convictions" was not requested for node "health"',
    );
  });

  it('refuses an approval for a node the project requested nothing of', () => {
    expect(refusal(() => checkApprovalWithinRequest(project, { ...approval, nodeId: 'education' })).message).toBe(
      'approval: node_id: project "jdl-2026-001" requested nothing of node "education"',
    );
  });

  it('refuses an approval of another project', () => {
    expect(refusal(() => checkApprovalWithinRequest(project, { ...approval, projectId: 'other' })).message).toBe(
      'approval: project_id: "other" is not project "jdl-2026-001"',
    );
  });

  it("refuses an approval for a purpose other than the project's", () => {
    expect(refusal(() => checkApprovalWithinRequest(project, { ...approval, purposes: ['program_evaluation', 'fraud_targeting'] })).message).toBe(
      'approval: purposes.1: "fraud_targeting" is not the project\'s purpose "program_evaluation"',
    );
  });

  it('refuses an approval that outlives the ethics approval', () => {
    expect(refusal(() => checkApprovalWithinRequest(project, { ...approval, expiresOn: '2027-01-01' })).message).toBe(
      'approval: expires_on: 2027-01-01 is after the ethics approval expiry 2026-12-31',
    );
  });

  it('accepts an approval that expires on the day the ethics approval does', () => {
    expect(() => checkApprovalWithinRequest(project, { ...approval, expiresOn: '2026-12-31' })).not.toThrow();
  });
});

describe('checkApprovalProjectHash', () => {
  it('accepts the hash the caller computed over the project payload', () => {
    expect(() => checkApprovalProjectHash(approval, PROJECT_HASH.toUpperCase())).not.toThrow();
  });

  it('refuses an approval given for a different project payload', () => {
    const error = refusal(() => checkApprovalProjectHash(approval, 'b'.repeat(64)));
    expect(error.code).toBe('APPROVAL_INVALID');
    expect(error.message).toBe('approval: project_hash: does not match the project "jdl-2026-001" held at this node');
  });
});

describe('parseApproval', () => {
  it('reads an approval file into camelCase fields', () => {
    expect(parseApproval(approvalJson(), 'a')).toEqual({
      projectId: 'jdl-2026-001',
      projectHash: PROJECT_HASH,
      nodeId: 'health',
      datasets: { visits: { columns: ['age_band', 'region'], analyses: ['count'] } },
      purposes: ['program_evaluation'],
      expiresOn: '2026-06-30',
      approvedAt: '2026-01-20T10:00:00Z',
      privacy: {},
    });
  });

  it('reads privacy budgets per dataset, with an optional per-query cap', () => {
    const a = parseApproval({ ...approvalJson(), privacy: { visits: { rho: 2, max_query_rho: 0.5 } } }, 'a');
    expect(a.privacy).toEqual({ visits: { rho: 2, maxQueryRho: 0.5 } });
    expect(parseApproval(JSON.parse(formatApproval(a)), 'a')).toEqual(a);
  });

  it('refuses a privacy budget that is not a positive number, and a per-query cap above the budget', () => {
    const parse = (privacy: unknown) => () => parseApproval({ ...approvalJson(), privacy }, 'a');
    expect(parse({ visits: { rho: -1 } })).toThrow('a: privacy.visits.rho: must be a positive number');
    expect(parse({ visits: { rho: 1, max_query_rho: 2 } })).toThrow('a: privacy.visits.max_query_rho: max_query_rho must not be above rho');
  });

  it('formats an approval that parses back to the same approval', () => {
    expect(parseApproval(JSON.parse(formatApproval(approval)), 'a')).toEqual(approval);
  });

  it('refuses a project hash that is not a hex SHA-256 digest', () => {
    expect(refusal(() => parseApproval({ ...approvalJson(), project_hash: 'abc' }, 'approval.json')).message).toBe(
      'approval.json: project_hash: expected a lower-case hex SHA-256 digest (64 characters)',
    );
  });

  it('refuses an approval without purposes', () => {
    expect(refusal(() => parseApproval({ ...approvalJson(), purposes: [] }, 'approval.json')).message).toBe('approval.json: purposes: at least 1 purpose');
  });

  it('refuses an analysis kind the query model does not define', () => {
    const doc = { ...approvalJson(), datasets: { visits: { columns: [], analyses: ['median'] } } };
    expect(refusal(() => parseApproval(doc, 'approval.json')).message).toMatch(/^approval\.json: datasets\.visits\.analyses\.0: Invalid option: /);
  });
});

describe('verifySignedApproval', () => {
  it('accepts an approval signed by the steward of its node', () => {
    expect(verifySignedApproval(signedApproval('steward-health'), roster, verifyEd25519).nodeId).toBe('health');
  });

  it('refuses an approval signed by the steward of another node', () => {
    const error = refusal(() => verifySignedApproval(signedApproval('steward-justice', keys.stewardJustice), roster, verifyEd25519));
    expect(error.code).toBe('ROLE_NOT_ALLOWED');
    expect(error.message).toBe('approval: steward "steward-justice" does not steward node "health"');
  });

  it('refuses an approval signed by a researcher', () => {
    const error = refusal(() => verifySignedApproval(signedApproval('alice', keys.alice), roster, verifyEd25519));
    expect(error.code).toBe('SIGNATURE_INVALID');
    expect(error.message).toBe('approval: signer "alice" is not a steward on the roster');
  });

  it('refuses an approval whose signature was made for a revocation', () => {
    const signed = signedApproval('steward-health');
    signed.signature = signText('revocation', signed.payload, keys.stewardHealth);
    expect(refusal(() => verifySignedApproval(signed, roster, verifyEd25519)).message).toBe('approval: the signature by "steward-health" does not verify');
  });
});
