import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { createSignedRosterFile, generateIdentity, initCrypto, loadGovernanceFile, loadRosterFile, signRosterFile, writeKeyFile } from '@fedlab/crypto';
import { publicIdentityJson, type Identity, type RosterEntryJson } from '@fedlab/governance';
import { GovernanceClient } from '@fedlab/client';
import { loadCoordinatorConfig } from '@fedlab/coordinator-service';
import { NodeAgent, NodeConnection, acceptRosterUpdate, loadPinnedRoster } from '@fedlab/node-service';
import { openNodeStore } from '@fedlab/store';
import { it, test, waitUntil } from '@fedlab/test-kit';
import { startCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/start-coordinator';

/**
 * Rosters that travel through the network (issue 18): stewards publish a signed roster to the running
 * coordinator, which verifies it against the governance it pins, writes it to its roster_file and puts
 * it in force without a restart; anyone fetches it back to verify it themselves.
 */
describe('publishing a signed roster to a running coordinator', () => {
  let dir = '';
  let coordinator: RunningCoordinator;
  let gov: GovernanceClient;
  let stewards: Identity[];
  let strangers: Identity[];
  let entries: RosterEntryJson[];
  let newcomer: Identity;
  let clinic: Identity;
  let firstRoster = '';
  const signed = (version: number, list: RosterEntryJson[], by: Identity[]) =>
    JSON.stringify(by.reduce((file, s) => signRosterFile(file, s), createSignedRosterFile(list, version, '2026-12-07T00:00:00.000Z')));

  test.beforeAll(async ({ fileTempDir }) => {
    dir = fileTempDir;
    await initCrypto();
    stewards = ['a', 'b', 'c'].map((x) => generateIdentity(`steward-${x}`, 'steward'));
    strangers = ['x', 'y'].map((x) => generateIdentity(`steward-${x}`, 'steward'));
    const coordinatorIdentity = generateIdentity('coordinator', 'coordinator');
    newcomer = generateIdentity('newcomer', 'node');
    clinic = generateIdentity('clinic', 'node');
    entries = [coordinatorIdentity, generateIdentity('alice', 'researcher'), clinic, ...stewards].map(publicIdentityJson);
    writeFileSync(
      path.join(dir, 'governance.json'),
      JSON.stringify({ threshold: 2, stewards: stewards.map((s) => ({ id: s.id, sign_public_key: Buffer.from(s.signPublicKey).toString('base64') })) }),
    );
    firstRoster = signed(1, entries, stewards.slice(0, 2));
    writeFileSync(path.join(dir, 'roster.json'), firstRoster);
    writeKeyFile(path.join(dir, 'coordinator.key'), coordinatorIdentity);
    const configFile = path.join(dir, 'coordinator.yaml');
    writeFileSync(
      configFile,
      'listen: 127.0.0.1:0\nplaintext: true\ndatabase: coordinator.db\nkey_file: coordinator.key\nroster_file: roster.json\ngovernance_file: governance.json\nheartbeat_interval_ms: 500\n',
    );
    coordinator = await startCoordinator({ configFile, config: loadCoordinatorConfig(configFile) });
    gov = new GovernanceClient({ address: `127.0.0.1:${coordinator.port}` });
  });
  afterAll(async () => {
    gov?.close();
    await coordinator?.stop();
  });

  it('refuses a roster with too few pinned stewards’ signatures, or signed by others, and keeps the one in force', async () => {
    const withNewcomer = [...entries, publicIdentityJson(newcomer)];
    await expect(gov.publishRoster(signed(2, withNewcomer, stewards.slice(0, 1)))).rejects.toThrowFedlabError(
      'ROSTER_INVALID',
      'published roster has 1 valid steward signature of the 2 required',
    );
    await expect(gov.publishRoster(signed(2, withNewcomer, strangers))).rejects.toThrowFedlabError(
      'ROSTER_INVALID',
      'published roster has 0 valid steward signatures of the 2 required',
    );
    await expect(gov.publishRoster('not json')).rejects.toThrowFedlabError('INVALID_ARGUMENT', 'published roster: not a signed roster file (invalid JSON)');
    expect(coordinator.coordinator.roster.version).toBe(1);
  });

  it('refuses the version in force again', async () => {
    await expect(gov.publishRoster(signed(1, [...entries, publicIdentityJson(newcomer)], stewards.slice(1)))).rejects.toThrowFedlabError(
      'ROSTER_INVALID',
      'roster version 1 is not newer than the version 1 in force',
    );
  });

  it('takes a newer signed roster without a restart: it is served, written to roster_file, and a node new on it attaches', async () => {
    const text = signed(2, [...entries, publicIdentityJson(newcomer)], [stewards[0]!, stewards[2]!]);
    expect(await gov.publishRoster(text)).toEqual({ version: 2, participants: 7 });
    expect(readFileSync(path.join(dir, 'roster.json'), 'utf8')).toBe(`${text}\n`);
    const fetched = await gov.fetchRoster();
    expect(fetched.version).toBe(2);
    writeFileSync(path.join(dir, 'fetched.json'), fetched.signedRoster);
    const roster = loadRosterFile(path.join(dir, 'fetched.json'), { governance: loadGovernanceFile(path.join(dir, 'governance.json')), minVersion: 2 });
    expect(roster.get('newcomer', 'node')?.id).toBe('newcomer');

    const store = openNodeStore(path.join(dir, 'newcomer.db'));
    const connection = new NodeConnection({
      coordinatorAddress: `127.0.0.1:${coordinator.port}`,
      agent: new NodeAgent({ identity: newcomer, roster, store, policy: () => null }),
      catalog: () => ({ nodeId: 'newcomer', datasets: [] }),
      signSecretKey: newcomer.signSecretKey,
    });
    const attached = new Promise<void>((resolve) => connection.once('attached', () => resolve()));
    connection.start();
    await attached;
    connection.stop();
    store.close();
  });

  it('sends a node holding an older roster the one in force, and every attached node the next one published; the node verifies each against its own pinned governance', async () => {
    const nodeDir = path.join(dir, 'clinic');
    mkdirSync(nodeDir);
    const config = { rosterFile: path.join(nodeDir, 'roster.json'), governanceFile: path.join(dir, 'governance.json'), governanceFingerprint: undefined };
    writeFileSync(config.rosterFile, firstRoster);
    const store = openNodeStore(path.join(nodeDir, 'clinic.db'));
    const agent = new NodeAgent({ identity: clinic, roster: loadPinnedRoster(store, config), store, policy: () => null });
    const connection = new NodeConnection({
      coordinatorAddress: `127.0.0.1:${coordinator.port}`,
      agent,
      catalog: () => ({ nodeId: 'clinic', datasets: [] }),
      signSecretKey: clinic.signSecretKey,
      acceptRoster: (text) => acceptRosterUpdate(store, config, agent.roster, text),
    });
    const versions: number[] = [];
    connection.on('roster', (version: number) => versions.push(version));
    try {
      expect(agent.roster.version).toBe(1);
      connection.start();
      await waitUntil('the node took the roster in force at attach', () => versions.length === 1);
      expect(versions).toEqual([2]);
      expect(agent.roster.get('newcomer', 'node')?.id).toBe('newcomer');
      expect(readFileSync(config.rosterFile, 'utf8')).toBe(readFileSync(path.join(dir, 'roster.json'), 'utf8'));

      const third = signed(3, [...entries, publicIdentityJson(newcomer), publicIdentityJson(generateIdentity('bob', 'researcher'))], stewards.slice(1));
      expect(await gov.publishRoster(third)).toEqual({ version: 3, participants: 8 });
      await waitUntil('the attached node took the published roster', () => versions.length === 2);
      expect(versions).toEqual([2, 3]);
      expect(agent.roster.get('bob', 'researcher')?.id).toBe('bob');
      expect(readFileSync(config.rosterFile, 'utf8')).toBe(`${third}\n`);
      expect(store.settings.get('roster_version')).toBe('3');
      expect(connection.attached).toBe(true);
    } finally {
      connection.stop();
      store.close();
    }
  });

  it('refuses an older roster once a newer one is in force', async () => {
    await expect(gov.publishRoster(signed(1, entries, stewards.slice(0, 2)))).rejects.toThrowFedlabError(
      'ROSTER_INVALID',
      'roster version 1 is older than the version 3 already held',
    );
  });

  it('is refused by a coordinator that pins no governance stewards', async ({ tempDir }) => {
    const { startTestNetwork, CLINIC_SCHEMA, clinicCsv, policyYaml } = await import('@fedlab/testing');
    const net = await startTestNetwork({
      dir: tempDir,
      nodes: [{ id: 'clinic', datasets: [{ schema: CLINIC_SCHEMA, csv: clinicCsv() }], policy: policyYaml({ datasets: { clinic_visits: ['research'] } }) }],
      connect: false,
    });
    const plain = new GovernanceClient({ address: net.address });
    try {
      await expect(plain.publishRoster(signed(2, entries, stewards.slice(0, 2)))).rejects.toThrowFedlabError(
        'ROSTER_INVALID',
        'this coordinator pins no governance stewards (governance_file in coordinator.yaml), so it takes no published roster',
      );
    } finally {
      plain.close();
      await net.stop();
    }
  });
});
