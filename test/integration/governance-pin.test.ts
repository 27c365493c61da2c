import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect } from 'vitest';
import { createSignedRosterFile, generateIdentity, governanceFingerprint, initCrypto, loadGovernanceFile, signRosterFile } from '@fedlab/crypto';
import { publicIdentityJson, type Identity } from '@fedlab/governance';
import { acceptRosterUpdate, initNode, loadNodeConfig, loadPinnedRoster, repinGovernance } from '@fedlab/node-service';
import { openNodeStore } from '@fedlab/store';
import { it, test } from '@fedlab/test-kit';

/*
 * A node pins its governance stewards (issue 16): `node init --governance` writes the file's fingerprint
 * into node.yaml and the first start records it in the node database, so a swapped governance.json naming
 * other stewards — whose higher-version roster would lock out the real one — is refused.
 */
let root: string;
let real: Identity[];
let rogue: Identity[];

function governanceFile(name: string, stewards: Identity[]): string {
  const file = path.join(root, name);
  writeFileSync(
    file,
    JSON.stringify({ threshold: 2, stewards: stewards.map((s) => ({ id: s.id, sign_public_key: Buffer.from(s.signPublicKey).toString('base64') })) }),
  );
  return file;
}

function signedRoster(file: string, version: number, stewards: Identity[], node: Identity): void {
  let roster = createSignedRosterFile(
    [publicIdentityJson(node), publicIdentityJson(generateIdentity('coordinator', 'coordinator'))],
    version,
    '2026-12-07T09:00:00Z',
  );
  for (const s of stewards.slice(0, 2)) roster = signRosterFile(roster, s);
  writeFileSync(file, JSON.stringify(roster));
}

beforeAll(async () => {
  await initCrypto();
  real = ['gov-a', 'gov-b', 'gov-c'].map((id) => generateIdentity(id, 'steward'));
  rogue = ['gov-a', 'gov-b', 'gov-x'].map((id) => generateIdentity(id, 'steward'));
});
test.beforeEach(({ tempDir }) => {
  root = tempDir;
});

async function node(name: string) {
  const dir = path.join(root, name);
  const { configFile } = await initNode({ dir, nodeId: 'health', coordinator: '127.0.0.1:7443', governanceFile: governanceFile(`${name}-gov.json`, real) });
  const config = loadNodeConfig(configFile);
  const nodeIdentity = generateIdentity('health', 'node');
  signedRoster(config.rosterFile, 1, real, nodeIdentity);
  return { dir, configFile, config, nodeIdentity };
}

describe("a node's pinned governance", () => {
  it('is written into node.yaml by node init, and a swapped governance file is refused before its roster is read', async () => {
    const { configFile, config, nodeIdentity } = await node('swapped');
    const pinned = governanceFingerprint(loadGovernanceFile(config.governanceFile!));
    expect(readFileSync(configFile, 'utf8')).toContain(`governance_fingerprint: ${pinned}`);
    const store = openNodeStore(config.database);
    try {
      expect(loadPinnedRoster(store, config).version).toBe(1);
      // An attacker replaces governance.json with stewards it controls and a higher-version roster they signed.
      writeFileSync(config.governanceFile!, readFileSync(governanceFile('rogue.json', rogue)));
      signedRoster(config.rosterFile, 9, rogue, nodeIdentity);
      const found = governanceFingerprint(loadGovernanceFile(config.governanceFile!));
      expect(() => loadPinnedRoster(store, config)).toThrowFedlabError(
        'ROSTER_INVALID',
        `${config.governanceFile}: the governance stewards differ from the ones this node pinned (fingerprint ${found.slice(0, 16)}…, pinned ${pinned.slice(0, 16)}…); a changed governance file is refused`,
      );
      // Nothing was recorded: the real stewards' roster version still holds.
      expect(store.settings.get('roster_version')).toBe('1');
      // Editing node.yaml's pin to match the rogue file does not help: the database recorded the real one.
      const edited = { ...config, governanceFingerprint: found };
      expect(() => loadPinnedRoster(store, edited)).toThrowFedlabError(
        'ROSTER_INVALID',
        `${config.governanceFile}: node.yaml pins other governance stewards than this node's database recorded; a changed governance pin is refused (see docs/governance.md "Changing the stewards")`,
      );
    } finally {
      store.close();
    }
  });

  it('is recorded at first start for a node configured without a fingerprint', async () => {
    const { config, nodeIdentity } = await node('unpinned');
    const legacy = { ...config, governanceFingerprint: undefined };
    const store = openNodeStore(config.database);
    try {
      loadPinnedRoster(store, legacy);
      writeFileSync(config.governanceFile!, readFileSync(governanceFile('rogue2.json', rogue)));
      signedRoster(config.rosterFile, 2, rogue, nodeIdentity);
      // Any message: only the code is checked here.
      expect(() => loadPinnedRoster(store, legacy)).toThrowFedlabError('ROSTER_INVALID', /(?:)/);
    } finally {
      store.close();
    }
  });

  it('changes only through `node pin-governance`, which records the new stewards in node.yaml and the database', async () => {
    const { configFile, config, nodeIdentity } = await node('repinned');
    const store = openNodeStore(config.database);
    loadPinnedRoster(store, config);
    store.close();
    const next = governanceFile('next.json', rogue);
    const { previous, pinned } = repinGovernance(configFile, next);
    expect(previous).toBe(config.governanceFingerprint);
    expect(pinned).toBe(governanceFingerprint(loadGovernanceFile(next)));
    const reloaded = loadNodeConfig(configFile);
    expect(reloaded.governanceFingerprint).toBe(pinned);
    signedRoster(reloaded.rosterFile, 2, rogue, nodeIdentity);
    const again = openNodeStore(reloaded.database);
    try {
      expect(loadPinnedRoster(again, reloaded).version).toBe(2);
    } finally {
      again.close();
    }
  });
});

describe('a roster the coordinator sends to a running node', () => {
  /** The text of a roster signed by two of `stewards`, as a coordinator would send it. */
  function rosterText(version: number, stewards: Identity[], node: Identity): string {
    const file = path.join(root, `sent-${version}.json`);
    signedRoster(file, version, stewards, node);
    return readFileSync(file, 'utf8');
  }

  it('is taken when the pinned stewards signed a newer version: written to roster_file and recorded', async () => {
    const { config, nodeIdentity } = await node('updated');
    const store = openNodeStore(config.database);
    try {
      const inForce = loadPinnedRoster(store, config);
      const text = rosterText(2, real, nodeIdentity);
      const taken = acceptRosterUpdate(store, config, inForce, text);
      expect(taken?.version).toBe(2);
      expect(taken?.get('health', 'node')?.id).toBe('health');
      expect(readFileSync(config.rosterFile, 'utf8')).toBe(`${text}\n`);
      expect(store.settings.get('roster_version')).toBe('2');
      expect(existsSync(`${config.rosterFile}.writing`)).toBe(false);
      // The same version again (a reconnect) changes nothing.
      expect(acceptRosterUpdate(store, config, taken!, text)).toBeUndefined();
      // A restart reads the taken roster.
      expect(loadPinnedRoster(store, config).version).toBe(2);
    } finally {
      store.close();
    }
  });

  it('is refused, and nothing written, when forged, older, unsigned or malformed', async () => {
    const { config, nodeIdentity } = await node('lied-to');
    const store = openNodeStore(config.database);
    try {
      const inForce = loadPinnedRoster(store, config);
      acceptRosterUpdate(store, config, inForce, rosterText(3, real, nodeIdentity));
      const held = readFileSync(config.rosterFile, 'utf8');
      const current = loadPinnedRoster(store, config);
      expect(() => acceptRosterUpdate(store, config, current, rosterText(9, rogue, nodeIdentity))).toThrowFedlabError(
        'ROSTER_INVALID',
        "the coordinator's roster has 0 valid steward signatures of the 2 required",
      );
      expect(() => acceptRosterUpdate(store, config, current, rosterText(2, real, nodeIdentity))).toThrowFedlabError(
        'ROSTER_INVALID',
        'roster version 2 is older than the version 3 already held',
      );
      const unsigned = JSON.stringify({ version: 4, participants: [publicIdentityJson(nodeIdentity)] });
      expect(() => acceptRosterUpdate(store, config, current, unsigned)).toThrowFedlabError(
        'ROSTER_INVALID',
        "the coordinator's roster: the roster is not signed by the governance stewards",
      );
      expect(() => acceptRosterUpdate(store, config, current, '{ not: [yaml')).toThrowFedlabError(
        'INVALID_ARGUMENT',
        "the coordinator's roster: not a roster file",
      );
      expect(readFileSync(config.rosterFile, 'utf8')).toBe(held);
      expect(store.settings.get('roster_version')).toBe('3');
      expect(existsSync(`${config.rosterFile}.writing`)).toBe(false);
    } finally {
      store.close();
    }
  });

  it('is refused by a node that pins no governance stewards', async ({ tempDir }) => {
    const { configFile } = await initNode({ dir: tempDir, nodeId: 'health', coordinator: '127.0.0.1:7443' });
    const config = loadNodeConfig(configFile);
    const nodeIdentity = generateIdentity('health', 'node');
    writeFileSync(config.rosterFile, JSON.stringify({ version: 1, participants: [publicIdentityJson(nodeIdentity)] }));
    const store = openNodeStore(config.database);
    try {
      const inForce = loadPinnedRoster(store, config);
      expect(() => acceptRosterUpdate(store, config, inForce, rosterText(2, real, nodeIdentity))).toThrowFedlabError(
        'ROSTER_INVALID',
        'this node pins no governance stewards (governance_file in node.yaml), so it takes no roster from the coordinator',
      );
      expect(loadPinnedRoster(store, config).version).toBe(1);
    } finally {
      store.close();
    }
  });
});
