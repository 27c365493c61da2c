import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { test } from '@fedlab/test-kit';
import { publicIdentityJson, type Identity, type RosterEntryJson } from '@fedlab/governance';
import { generateIdentity } from './identity';
import { loadRosterFile, parseRoster } from './roster';
import { initCrypto } from './sodium';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** The Ed25519 neutral element (0, 1): a valid encoding, but of small order. */
const ED25519_IDENTITY = (() => {
  const bytes = new Uint8Array(32);
  bytes[0] = 1;
  return bytes;
})();

let coordinator: Identity;
let nodeA: Identity;
let nodeB: Identity;
let researcher: Identity;

function doc(participants: unknown[], extra: Record<string, unknown> = {}) {
  return { version: 3, participants, ...extra };
}

function entries(): RosterEntryJson[] {
  return [coordinator, nodeA, nodeB, researcher].map(publicIdentityJson);
}

function withEntry(index: number, patch: Record<string, unknown>): unknown[] {
  return entries().map((e, i) => (i === index ? { ...e, ...patch } : e));
}

beforeAll(async () => {
  await initCrypto();
  coordinator = generateIdentity('coord', 'coordinator', 'Coordinator');
  nodeA = generateIdentity('node-a', 'node', 'Node A');
  nodeB = generateIdentity('node_b', 'node', 'Node B');
  researcher = generateIdentity('r1', 'researcher', 'Dr R');
});

describe('parseRoster', () => {
  it('finds a participant by id with its keys and display name', () => {
    const roster = parseRoster(doc(entries()), 'roster.yaml');
    expect(roster.get('node-a')).toStrictEqual({
      id: 'node-a',
      role: 'node',
      displayName: 'Node A',
      signPublicKey: nodeA.signPublicKey,
      boxPublicKey: nodeA.boxPublicKey,
    });
  });

  it('finds a participant by id and the role it holds', () => {
    expect(parseRoster(doc(entries()), 'roster.yaml').get('r1', 'researcher')?.displayName).toBe('Dr R');
  });

  it('does not find a participant under a role it does not hold', () => {
    expect(parseRoster(doc(entries()), 'roster.yaml').get('r1', 'node')).toBeUndefined();
  });

  it('does not find an id that is not on the roster', () => {
    expect(parseRoster(doc(entries()), 'roster.yaml').get('node-c')).toBeUndefined();
  });

  it('lists the participants holding a role in roster order', () => {
    expect(
      parseRoster(doc(entries()), 'roster.yaml')
        .all('node')
        .map((p) => p.id),
    ).toEqual(['node-a', 'node_b']);
  });

  it('lists every participant in roster order when no role is given', () => {
    expect(
      parseRoster(doc(entries()), 'roster.yaml')
        .all()
        .map((p) => p.id),
    ).toEqual(['coord', 'node-a', 'node_b', 'r1']);
  });

  it('lists no participants for a role nobody holds', () => {
    expect(parseRoster(doc(entries()), 'roster.yaml').all('steward')).toEqual([]);
  });

  it('keeps the version of the document', () => {
    expect(parseRoster(doc(entries()), 'roster.yaml').version).toBe(3);
  });

  it('defaults the version to 1', () => {
    expect(parseRoster({ participants: entries() }, 'roster.yaml').version).toBe(1);
  });

  it('refuses an empty participant list', () => {
    expect(() => parseRoster(doc([]), 'roster.yaml')).toThrowFedlabError('INVALID_ARGUMENT', 'roster.yaml: participants: at least 1 participant');
  });

  it('returns from toJson exactly the document it was parsed from', () => {
    const input = doc(entries());
    expect(parseRoster(input, 'roster.yaml').toJson()).toStrictEqual(input);
  });

  it('parses its own toJson output into an equal roster', () => {
    const roster = parseRoster(doc(entries()), 'roster.yaml');
    expect(parseRoster(roster.toJson(), 'again').all()).toStrictEqual(roster.all());
  });

  it('refuses a duplicate id, naming the index of the second occurrence', () => {
    const list = [...entries(), { ...publicIdentityJson(generateIdentity('node-a', 'researcher')) }];
    expect(() => parseRoster(doc(list), 'roster.yaml')).toThrowFedlabError('INVALID_ARGUMENT', 'roster.yaml: participants.4.id: duplicate id "node-a"');
  });

  it('refuses an unknown role', () => {
    expect(() => parseRoster(doc(withEntry(1, { role: 'admin' })), 'roster.yaml')).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'roster.yaml: participants.1.role: Invalid option: expected one of "node"|"coordinator"|"researcher"|"organisation"|"steward"|"auditor"',
    );
  });

  it('refuses an id with upper-case letters', () => {
    expect(() => parseRoster(doc(withEntry(0, { id: 'Coord' })), 'roster.yaml')).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'roster.yaml: participants.0.id: expected an id of lower-case letters, digits, "-" or "_", starting with a letter',
    );
  });

  it('refuses an empty display name', () => {
    expect(() => parseRoster(doc(withEntry(2, { display_name: '' })), 'roster.yaml')).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'roster.yaml: participants.2.display_name: must not be blank',
    );
  });

  it('refuses a sign key that decodes to 31 bytes', () => {
    expect(() => parseRoster(doc(withEntry(1, { sign_public_key: b64(new Uint8Array(31).fill(9)) })), 'roster.yaml')).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'roster.yaml: participants.1.sign_public_key: expected a base64-encoded 32-byte key',
    );
  });

  it('refuses a box key that decodes to 33 bytes', () => {
    expect(() => parseRoster(doc(withEntry(3, { box_public_key: b64(new Uint8Array(33).fill(9)) })), 'roster.yaml')).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'roster.yaml: participants.3.box_public_key: expected a base64-encoded 32-byte key',
    );
  });

  it('refuses a key in hex rather than base64', () => {
    expect(() => parseRoster(doc(withEntry(0, { sign_public_key: Buffer.from(nodeA.signPublicKey).toString('hex') })), 'r')).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'r: participants.0.sign_public_key: expected a base64-encoded 32-byte key',
    );
  });

  it('refuses an unknown field in a participant', () => {
    expect(() => parseRoster(doc(withEntry(2, { email: 'b@example.org' })), 'roster.yaml')).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'roster.yaml: participants.2: Unrecognized key: "email"',
    );
  });

  it('refuses an unknown field at the top level', () => {
    expect(() => parseRoster(doc(entries(), { signatures: [] }), 'roster.yaml')).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'roster.yaml: (root): Unrecognized key: "signatures"',
    );
  });

  it('refuses a document without a participant list', () => {
    expect(() => parseRoster({ version: 1 }, 'roster.yaml')).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'roster.yaml: participants: Invalid input: expected array, received undefined',
    );
  });

  it('refuses a document that is not an object', () => {
    expect(() => parseRoster('participants', 'roster.yaml')).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'roster.yaml: (root): Invalid input: expected object, received string',
    );
  });

  it('refuses a version below 1', () => {
    expect(() => parseRoster(doc(entries(), { version: -1 }), 'roster.yaml')).toThrowFedlabError('INVALID_ARGUMENT', 'roster.yaml: version: at least 1');
  });

  it('refuses the small-order Ed25519 identity point as a sign key', () => {
    expect(() => parseRoster(doc(withEntry(1, { sign_public_key: b64(ED25519_IDENTITY) })), 'roster.yaml')).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'roster.yaml: participants.1.sign_public_key: not a valid Ed25519 public key',
    );
  });

  it('refuses a sign key whose y coordinate is not on the curve', () => {
    // y = 2 has no x with -x² + y² = 1 + d·x²·y² (the x² it would need is not a square mod p).
    const notOnCurve = new Uint8Array(32);
    notOnCurve[0] = 2;
    expect(() => parseRoster(doc(withEntry(2, { sign_public_key: b64(notOnCurve) })), 'roster.yaml')).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'roster.yaml: participants.2.sign_public_key: not a valid Ed25519 public key',
    );
  });

  it('refuses an all-zero X25519 box key as low order', () => {
    expect(() => parseRoster(doc(withEntry(2, { box_public_key: b64(new Uint8Array(32)) })), 'roster.yaml')).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'roster.yaml: participants.2.box_public_key: low-order X25519 key',
    );
  });

  it('refuses the X25519 box key u = 1 as low order', () => {
    expect(() => parseRoster(doc(withEntry(3, { box_public_key: b64(ED25519_IDENTITY) })), 'roster.yaml')).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'roster.yaml: participants.3.box_public_key: low-order X25519 key',
    );
  });

  it('reports the first invalid participant when several are invalid', () => {
    // Two different small-order X25519 points (0 and 1): distinct keys, both refused; the first is named.
    const smallOrder = [new Uint8Array(32), Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0))];
    const list = entries().map((e, i) => (i === 1 || i === 2 ? { ...e, box_public_key: b64(smallOrder[i - 1]!) } : e));
    expect(() => parseRoster(doc(list), 'roster.yaml')).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'roster.yaml: participants.1.box_public_key: low-order X25519 key',
    );
  });
});

describe('loadRosterFile', () => {
  test('reads and validates a YAML roster file', ({ tempDir: dir }) => {
    const file = path.join(dir, 'roster.yaml');
    const lines = ['version: 2', 'participants:'];
    for (const e of entries()) {
      lines.push(`  - id: ${e.id}`, `    role: ${e.role}`, `    display_name: ${e.display_name}`);
      lines.push(`    sign_public_key: "${e.sign_public_key}"`, `    box_public_key: "${e.box_public_key}"`);
    }
    writeFileSync(file, `${lines.join('\n')}\n`);
    expect(loadRosterFile(file).toJson()).toStrictEqual({ version: 2, participants: entries() });
  });

  test('names the file in validation errors', ({ tempDir: dir }) => {
    const file = path.join(dir, 'roster.json');
    writeFileSync(file, JSON.stringify(doc(withEntry(0, { role: 'admin' }))));
    expect(() => loadRosterFile(file)).toThrowFedlabError(
      'INVALID_ARGUMENT',
      `${file}: participants.0.role: Invalid option: expected one of "node"|"coordinator"|"researcher"|"organisation"|"steward"|"auditor"`,
    );
  });

  test('refuses a file that does not exist', ({ tempDir: dir }) => {
    const file = path.join(dir, 'roster.yaml');
    expect(() => loadRosterFile(file)).toThrowFedlabError('INVALID_ARGUMENT', `${file}: cannot read roster file`);
  });

  test('refuses a file that is not valid YAML', ({ tempDir: dir }) => {
    const file = path.join(dir, 'roster.yaml');
    writeFileSync(file, 'participants: [unclosed\n');
    expect(() => loadRosterFile(file)).toThrowFedlabError('INVALID_ARGUMENT', `${file}: cannot read roster file`);
  });
});
