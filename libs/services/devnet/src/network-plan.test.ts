import { beforeAll, describe, expect } from 'vitest';
import { test } from '@fedlab/test-kit';
import { ANALYSIS_KINDS, type DatasetSchema } from '@fedlab/model';
import { generateIdentity, initCrypto, parseRoster } from '@fedlab/crypto';
import { publicIdentityJson } from '@fedlab/governance';
import { projectState } from '@fedlab/node-service';
import { PLAN_EXPIRES_ON, approveNetworkProject, generateNetworkParticipants, networkRosterEntries, signNetworkProject } from './network-plan';

const VISITS: DatasetSchema = {
  dataset: 'visits',
  description: 'visits',
  person: 'person_id',
  maxRecordsPerPerson: 1,
  columns: [
    { name: 'person_id', type: 'text', role: 'identifier', nullable: false },
    { name: 'region', type: 'text', role: 'quasi_identifier', nullable: false, values: ['north', 'south'] },
    { name: 'cost', type: 'real', role: 'attribute', nullable: false, bounds: [0, 100] },
  ],
};

const TEXT = {
  id: 'p',
  purpose: 'research',
  title: 'T',
  laySummary: 'L',
  legalBasis: 'B',
  dataSharingAgreement: 'DSA',
  ethicsReference: 'REB',
} as const;

describe('the network plan', () => {
  beforeAll(() => initCrypto());

  test('puts everyone on the roster, each node after its steward, the steward bound to the node', () => {
    const participants = generateNetworkParticipants({
      coordinator: { id: 'coordinator', displayName: 'Coordinator' },
      researchers: ['alice', { id: 'bob', displayName: 'Bob' }],
      organisations: ['org'],
      auditors: ['auditor'],
      governanceStewards: ['steward-a'],
      nodes: ['health', { id: 'justice', displayName: 'Ministry of Justice', stewardDisplayName: 'Data steward, Justice' }],
    });
    const entries = networkRosterEntries(participants);
    expect(entries.map((e) => [e.id, e.role, e.display_name, e.node])).toEqual([
      ['coordinator', 'coordinator', 'Coordinator', undefined],
      ['alice', 'researcher', 'alice', undefined],
      ['bob', 'researcher', 'Bob', undefined],
      ['org', 'organisation', 'org', undefined],
      ['auditor', 'auditor', 'auditor', undefined],
      ['steward-a', 'steward', 'steward-a', undefined],
      ['health-steward', 'steward', 'health-steward', 'health'],
      ['health', 'node', 'health', undefined],
      ['justice-steward', 'steward', 'Data steward, Justice', 'justice'],
      ['justice', 'node', 'Ministry of Justice', undefined],
    ]);
    expect(parseRoster({ version: 1, participants: entries }, 'plan').get('justice-steward', 'steward')?.node).toBe('justice');
  });

  test('takes the roster entries of nodes whose identity was made elsewhere, and refuses a node without one', () => {
    const participants = generateNetworkParticipants({ researchers: ['alice'], nodes: ['health'], nodeIdentities: 'elsewhere' });
    expect(participants.nodes).toEqual({});
    expect(() => networkRosterEntries(participants)).toThrowFedlabError('INVALID_ARGUMENT', 'network plan: no identity for node "health"');
    const made = publicIdentityJson(generateIdentity('health', 'node', 'Ministry of Health'));
    expect(networkRosterEntries(participants, { health: made }).at(-1)).toEqual(made);
  });

  test("signs a project of its members asking each node for its datasets, and records a steward's approval of exactly that", ({ nodeStore }) => {
    const participants = generateNetworkParticipants({ researchers: ['alice', 'bob'], nodes: ['health', 'justice'] });
    const roster = parseRoster({ version: 1, participants: networkRosterEntries(participants) }, 'plan');
    const { alice, bob } = participants.researchers;
    const project = signNetworkProject([alice!, bob!], { health: [VISITS], justice: [{ ...VISITS, dataset: 'offences' }] }, TEXT);
    expect(project.project).toMatchObject({
      projectId: 'p',
      title: 'T',
      laySummary: 'L',
      legalBasis: 'B',
      dataSharingAgreement: 'DSA',
      ethicsApproval: { reference: 'REB', expiresOn: PLAN_EXPIRES_ON },
      members: ['alice', 'bob'],
      requests: {
        health: { datasets: { visits: { columns: ['region', 'cost'], analyses: [...ANALYSIS_KINDS] } } },
        justice: { datasets: { offences: { columns: ['region', 'cost'], analyses: [...ANALYSIS_KINDS] } } },
      },
    });
    expect(project.signed.signer).toBe('alice');

    approveNetworkProject(nodeStore, 'health', roster, project, participants.nodeStewards.health!, { visits: { rho: 0.5 } });
    const state = projectState(nodeStore, 'p');
    expect(state.approval).toMatchObject({
      nodeId: 'health',
      datasets: project.project.requests.health!.datasets,
      expiresOn: PLAN_EXPIRES_ON,
      privacy: { visits: { rho: 0.5 } },
    });
    expect(() => approveNetworkProject(nodeStore, 'health', roster, project, participants.nodeStewards.justice!)).toThrowFedlabError(
      'ROLE_NOT_ALLOWED',
      'approval: steward "justice-steward" does not steward node "health"',
    );
    expect(() => signNetworkProject([], {}, TEXT)).toThrowFedlabError('INVALID_ARGUMENT', 'network plan: project "p" needs a member to sign it');
  });
});
