import { describe, expect, it } from 'vitest';
import { formatRevocation, parseRevocation, verifySignedRevocation } from './revocation';
import { signText, verifyEd25519 } from '../testing/ed25519';
import { keys, refusal, roster } from '../testing/fixtures';

const revocationJson = { project_id: 'jdl-2026-001', node_id: 'health', reason: 'ethics approval withdrawn', revoked_at: '2026-03-01T08:00:00Z' };

function signedRevocation(signer: string, key = keys.stewardHealth) {
  const payload = JSON.stringify(revocationJson);
  return { payload, signer, signature: signText('revocation', payload, key) };
}

describe('parseRevocation', () => {
  it('reads a revocation file into camelCase fields', () => {
    expect(parseRevocation(revocationJson, 'r')).toEqual({
      projectId: 'jdl-2026-001',
      nodeId: 'health',
      reason: 'ethics approval withdrawn',
      revokedAt: '2026-03-01T08:00:00Z',
    });
  });

  it('formats a revocation that parses back to the same revocation', () => {
    const revocation = parseRevocation(revocationJson, 'r');
    expect(parseRevocation(JSON.parse(formatRevocation(revocation)), 'r')).toEqual(revocation);
  });

  it('refuses a revocation without a timestamp', () => {
    expect(refusal(() => parseRevocation({ ...revocationJson, revoked_at: '2026-03-01' }, 'revocation.json')).message).toBe(
      'revocation.json: revoked_at: expected an ISO 8601 timestamp such as 2026-01-31T09:00:00Z',
    );
  });
});

describe('verifySignedRevocation', () => {
  it('accepts a revocation signed by the steward of its node', () => {
    expect(verifySignedRevocation(signedRevocation('steward-health'), roster, verifyEd25519).projectId).toBe('jdl-2026-001');
  });

  it('refuses a revocation signed by the steward of another node', () => {
    const error = refusal(() => verifySignedRevocation(signedRevocation('steward-justice', keys.stewardJustice), roster, verifyEd25519));
    expect(error.code).toBe('ROLE_NOT_ALLOWED');
    expect(error.message).toBe('revocation: steward "steward-justice" does not steward node "health"');
  });
});
