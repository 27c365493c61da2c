import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect } from 'vitest';
import { it, test } from '@fedlab/test-kit';
import { formatRosterDocument, parseGovernance, publicIdentityJson, rosterSigningPayload, type Governance, type Identity } from '@fedlab/governance';
import { generateIdentity } from './identity';
import { loadRosterFile } from './roster';
import { signDetached } from './signing';
import { initCrypto } from './sodium';

describe('loading a roster signed by governance stewards', () => {
  let dir: string;
  let stewards: Identity[];
  let governance: Governance;
  let alice: Identity;
  test.beforeEach(({ tempDir }) => {
    dir = tempDir;
  });
  beforeAll(async () => {
    await initCrypto();
    stewards = ['steward-a', 'steward-b', 'steward-c'].map((id) => generateIdentity(id, 'steward'));
    alice = generateIdentity('alice', 'researcher');
    governance = parseGovernance(
      { threshold: 2, stewards: stewards.map((s) => ({ id: s.id, sign_public_key: Buffer.from(s.signPublicKey).toString('base64') })) },
      'governance',
    );
  });

  function signedRosterFile(version: number, signers: Identity[]): string {
    const payload = JSON.stringify({
      version,
      issued_at: '2026-11-24T00:00:00.000Z',
      participants: [alice, ...stewards].map((p) => publicIdentityJson(p)),
    });
    const signatures = signers.map((s) => ({
      steward: s.id,
      signature: Buffer.from(signDetached('roster', rosterSigningPayload(payload), s.signSecretKey)).toString('base64'),
    }));
    const file = path.join(dir, `roster-v${version}-${signers.length}.json`);
    writeFileSync(file, JSON.stringify({ fedlab_signed_roster: 1, payload, signatures }));
    return file;
  }

  it('accepts a roster signed by 2 of the 3 pinned stewards and exposes its participants', () => {
    const roster = loadRosterFile(signedRosterFile(4, stewards.slice(0, 2)), { governance, minVersion: 4 });
    expect(roster.version).toBe(4);
    expect(roster.get('alice', 'researcher')?.displayName).toBe('alice');
    expect(roster.all('steward').map((s) => s.id)).toEqual(['steward-a', 'steward-b', 'steward-c']);
  });

  it('refuses a roster signed by only one steward', () => {
    const file = signedRosterFile(4, stewards.slice(0, 1));
    expect(() => loadRosterFile(file, { governance })).toThrowFedlabError('ROSTER_INVALID', `${file} has 1 valid steward signature of the 2 required`);
  });

  it('refuses a replayed roster older than the version already held', () => {
    const file = signedRosterFile(3, stewards);
    expect(() => loadRosterFile(file, { governance, minVersion: 4 })).toThrowFedlabError(
      'ROSTER_INVALID',
      'roster version 3 is older than the version 4 already held',
    );
  });

  it('refuses an unsigned roster once governance is pinned', () => {
    const file = path.join(dir, 'plain.json');
    writeFileSync(file, formatRosterDocument({ version: 9, issuedAt: '2026-11-24T00:00:00.000Z', participants: [] }));
    expect(() => loadRosterFile(file, { governance })).toThrowFedlabError('ROSTER_INVALID', `${file}: the roster is not signed by the governance stewards`);
  });
});
