import { randomBytes } from 'node:crypto';
import type { QuerySpec } from '@fedlab/model';

/**
 * A fresh query spec for tests: alice's count of the clinic fixture under the test project, valid for
 * a minute, with a new id and nonce, spending ρ = 100 (see TEST_PRIVACY_POLICY); any field can be overridden.
 */
export function testQuerySpec(overrides: Partial<QuerySpec> = {}): QuerySpec {
  const now = Date.now();
  return {
    queryId: `q-${randomBytes(8).toString('hex')}`,
    projectId: 'proj-test',
    purpose: 'research',
    researcherId: 'alice',
    targetNodes: ['clinic'],
    analysis: { kind: 'count', dataset: 'clinic_visits', groupBy: [] },
    pooled: false,
    issuedAtMs: now,
    expiresAtMs: now + 60_000,
    nonce: new Uint8Array(randomBytes(24)),
    rho: 100,
    ...overrides,
  };
}
