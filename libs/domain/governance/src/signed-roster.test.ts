import { describe, expect, it } from 'vitest';
import { parseGovernance } from './governance-config';
import { formatRosterDocument, parseRosterDocument } from './roster';
import { parseSignedRoster, verifySignedRoster } from './signed-roster';
import { signText, verifyEd25519 } from '../testing/ed25519';
import { governanceDoc, keys, refusal, rosterJson, signedRosterFile } from '../testing/fixtures';

const governance = parseGovernance(governanceDoc, 'governance.json');
const payload = JSON.stringify(rosterJson(4), null, 2);

function verifyFile(file: unknown, minVersion?: number) {
  return verifySignedRoster(parseSignedRoster(file, 'roster.json'), governance, verifyEd25519, { minVersion, source: 'roster.json' });
}

describe('verifySignedRoster', () => {
  it('accepts a roster signed by 2 of the 3 pinned stewards', () => {
    const roster = verifyFile(
      signedRosterFile(payload, [
        ['gov-1', keys.governance1],
        ['gov-3', keys.governance3],
      ]),
    );
    expect(roster.version).toBe(4);
    expect(roster.issuedAt).toBe('2026-01-05T09:00:00Z');
    expect(roster.participants.map((p) => p.id)).toEqual(['health', 'justice', 'steward-health', 'steward-justice', 'alice', 'bob', 'carol']);
    expect(roster.participants[4]!.signPublicKey).toEqual(keys.alice.publicKey);
    expect(roster.participants[2]!.node).toBe('health');
  });

  it('refuses a roster signed by 1 of the 3 pinned stewards, saying how many valid of how many required', () => {
    const error = refusal(() => verifyFile(signedRosterFile(payload, [['gov-2', keys.governance2]])));
    expect(error.code).toBe('ROSTER_INVALID');
    expect(error.message).toBe('roster.json has 1 valid steward signature of the 2 required');
    expect(error.details).toEqual({ valid: 1, required: 2 });
  });

  it('counts two signatures by the same steward once', () => {
    const error = refusal(() =>
      verifyFile(
        signedRosterFile(payload, [
          ['gov-1', keys.governance1],
          ['gov-1', keys.governance1],
        ]),
      ),
    );
    expect(error.message).toBe('roster.json has 1 valid steward signature of the 2 required');
  });

  it('does not count a signature made with a key that is not the pinned key of the steward it names', () => {
    const error = refusal(() =>
      verifyFile(
        signedRosterFile(payload, [
          ['gov-1', keys.governance1],
          ['gov-2', keys.outsider],
        ]),
      ),
    );
    expect(error.message).toBe('roster.json has 1 valid steward signature of the 2 required');
  });

  it('does not count a signature by a steward id that is not pinned', () => {
    const error = refusal(() =>
      verifyFile(
        signedRosterFile(payload, [
          ['gov-1', keys.governance1],
          ['mallory', keys.outsider],
        ]),
      ),
    );
    expect(error.message).toBe('roster.json has 1 valid steward signature of the 2 required');
  });

  it('does not count a steward signature made for another kind of document', () => {
    const file = signedRosterFile(payload, [['gov-1', keys.governance1]]);
    file.signatures.push({ steward: 'gov-2', signature: signText('project', payload, keys.governance2) });
    expect(refusal(() => verifyFile(file)).message).toBe('roster.json has 1 valid steward signature of the 2 required');
  });

  it('refuses a payload changed after the stewards signed it', () => {
    const file = signedRosterFile(payload, [
      ['gov-1', keys.governance1],
      ['gov-2', keys.governance2],
    ]);
    file.payload = file.payload.replace('"version": 4', '"version": 5');
    const error = refusal(() => verifyFile(file));
    expect(error.code).toBe('ROSTER_INVALID');
    expect(error.message).toBe('roster.json has 0 valid steward signatures of the 2 required');
  });

  it('reports the plural when several signatures are valid but the threshold is higher', () => {
    const strict = parseGovernance({ ...governanceDoc, threshold: 3 }, 'governance.json');
    const signed = parseSignedRoster(
      signedRosterFile(payload, [
        ['gov-1', keys.governance1],
        ['gov-2', keys.governance2],
      ]),
      'roster.json',
    );
    expect(refusal(() => verifySignedRoster(signed, strict, verifyEd25519)).message).toBe('roster has 2 valid steward signatures of the 3 required');
  });

  it('refuses a roster older than the version already held', () => {
    const older = JSON.stringify(rosterJson(3));
    const error = refusal(() =>
      verifyFile(
        signedRosterFile(older, [
          ['gov-1', keys.governance1],
          ['gov-2', keys.governance2],
        ]),
        4,
      ),
    );
    expect(error.code).toBe('ROSTER_INVALID');
    expect(error.message).toBe('roster version 3 is older than the version 4 already held');
  });

  it('accepts a roster of the same version as the one already held', () => {
    const roster = verifyFile(
      signedRosterFile(payload, [
        ['gov-1', keys.governance1],
        ['gov-2', keys.governance2],
      ]),
      4,
    );
    expect(roster.version).toBe(4);
  });

  it('refuses a validly signed payload that is not JSON', () => {
    const error = refusal(() =>
      verifyFile(
        signedRosterFile('not json', [
          ['gov-1', keys.governance1],
          ['gov-2', keys.governance2],
        ]),
      ),
    );
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toBe('roster.json payload: not valid JSON');
  });

  it('refuses a validly signed roster that lists a participant id twice', () => {
    const doc = rosterJson(4);
    doc.participants[5] = { ...doc.participants[5]!, id: 'alice' };
    const error = refusal(() =>
      verifyFile(
        signedRosterFile(JSON.stringify(doc), [
          ['gov-1', keys.governance1],
          ['gov-2', keys.governance2],
        ]),
      ),
    );
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toBe('roster.json payload: participants.5.id: duplicate id "alice"');
  });

  it('refuses a validly signed roster with a malformed key', () => {
    const doc = rosterJson(4);
    doc.participants[0] = { ...doc.participants[0]!, sign_public_key: 'AAAA' };
    const error = refusal(() =>
      verifyFile(
        signedRosterFile(JSON.stringify(doc), [
          ['gov-1', keys.governance1],
          ['gov-2', keys.governance2],
        ]),
      ),
    );
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toBe('roster.json payload: participants.0.sign_public_key: expected a base64-encoded 32-byte key');
  });
});

describe('parseRosterDocument', () => {
  it('refuses a key that base64 pads with non-zero bits', () => {
    const doc = rosterJson(1);
    doc.participants[0] = { ...doc.participants[0]!, box_public_key: `${'A'.repeat(42)}B=` };
    expect(refusal(() => parseRosterDocument(doc, 'r')).message).toBe('r: participants.0.box_public_key: expected a base64-encoded 32-byte key');
  });

  it('refuses a signing key used by two participants', () => {
    const doc = rosterJson(1);
    doc.participants[6] = { ...doc.participants[6]!, sign_public_key: doc.participants[4]!.sign_public_key };
    expect(refusal(() => parseRosterDocument(doc, 'r')).message).toBe('r: participants.6.sign_public_key: key already used by participant "alice"');
  });

  it('refuses a steward whose node is not a node on the roster', () => {
    const doc = rosterJson(1);
    doc.participants[2] = { ...doc.participants[2]!, node: 'alice' };
    expect(refusal(() => parseRosterDocument(doc, 'r')).message).toBe('r: participants.2.node: "alice" is not a node on this roster');
  });

  it('refuses a node field on a participant that is not a steward', () => {
    const doc = rosterJson(1);
    doc.participants[4] = { ...doc.participants[4]!, node: 'health' };
    expect(refusal(() => parseRosterDocument(doc, 'r')).message).toBe('r: participants.4.node: only a steward names the node it stewards');
  });

  it('refuses a version of 0', () => {
    expect(refusal(() => parseRosterDocument(rosterJson(0), 'r')).message).toBe('r: version: at least 1');
  });

  it('refuses an unknown role', () => {
    const doc = rosterJson(1);
    doc.participants[4] = { ...doc.participants[4]!, role: 'admin' };
    expect(refusal(() => parseRosterDocument(doc, 'r')).message).toMatch(/^r: participants\.4\.role: Invalid option: expected one of "node"\|/);
  });

  it('formats a roster that parses back to the same roster', () => {
    const roster = parseRosterDocument(rosterJson(4), 'r');
    expect(parseRosterDocument(JSON.parse(formatRosterDocument(roster)), 'r')).toEqual(roster);
  });
});

describe('parseSignedRoster', () => {
  it('refuses a file of another format version', () => {
    const file = { ...signedRosterFile(payload, [['gov-1', keys.governance1]]), fedlab_signed_roster: 2 };
    expect(refusal(() => parseSignedRoster(file, 'roster.json')).message).toBe(
      'roster.json: fedlab_signed_roster: expected 1 (the signed roster format version)',
    );
  });

  it('refuses a signature that is not 64 bytes of base64', () => {
    const file = signedRosterFile(payload, [['gov-1', keys.governance1]]);
    file.signatures[0]!.signature = 'c2lnbmF0dXJl';
    expect(refusal(() => parseSignedRoster(file, 'roster.json')).message).toBe(
      'roster.json: signatures.0.signature: expected a base64-encoded 64-byte Ed25519 signature',
    );
  });

  it('refuses a payload that is not well-formed Unicode', () => {
    const file = signedRosterFile(payload, [['gov-1', keys.governance1]]);
    file.payload = `${payload}\uD800`;
    expect(refusal(() => parseSignedRoster(file, 'roster.json')).message).toBe('roster.json: payload: is not well-formed Unicode text');
  });
});

describe('parseGovernance', () => {
  it('requires 2 signatures when the document names no threshold', () => {
    expect(parseGovernance({ stewards: governanceDoc.stewards }, 'g').threshold).toBe(2);
  });

  it('refuses a threshold above the number of pinned stewards', () => {
    const error = refusal(() => parseGovernance({ ...governanceDoc, threshold: 4 }, 'g'));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toBe('g: threshold: 4 signatures required but only 3 stewards are pinned');
  });

  it('refuses one key pinned for two stewards, which would let it count twice', () => {
    const stewards = [...governanceDoc.stewards, { id: 'gov-4', sign_public_key: keys.governance1.publicKeyBase64 }];
    expect(refusal(() => parseGovernance({ threshold: 2, stewards }, 'g')).message).toBe('g: stewards.3.sign_public_key: same key as steward "gov-1"');
  });

  it('refuses a steward id pinned twice', () => {
    const stewards = [...governanceDoc.stewards, { id: 'gov-1', sign_public_key: keys.outsider.publicKeyBase64 }];
    expect(refusal(() => parseGovernance({ threshold: 2, stewards }, 'g')).message).toBe('g: stewards.3.id: duplicate id "gov-1"');
  });
});
