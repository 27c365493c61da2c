// Test support only (not exported from the library): a small network with real keys.
import { FedlabError } from '@fedlab/model';
import type { Approval } from '../src/approval';
import type { ProjectDocument } from '../src/project-document';
import { parseRosterDocument, type RosterDocument } from '../src/roster';
import { generateTestKeyPair, signText, type TestKeyPair } from './ed25519';

export const keys = {
  governance1: generateTestKeyPair(),
  governance2: generateTestKeyPair(),
  governance3: generateTestKeyPair(),
  outsider: generateTestKeyPair(),
  health: generateTestKeyPair(),
  justice: generateTestKeyPair(),
  stewardHealth: generateTestKeyPair(),
  stewardJustice: generateTestKeyPair(),
  alice: generateTestKeyPair(),
  bob: generateTestKeyPair(),
  carol: generateTestKeyPair(),
};

/** The pinned governance document: 2-of-3. */
export const governanceDoc = {
  threshold: 2,
  stewards: [
    { id: 'gov-1', sign_public_key: keys.governance1.publicKeyBase64 },
    { id: 'gov-2', sign_public_key: keys.governance2.publicKeyBase64 },
    { id: 'gov-3', sign_public_key: keys.governance3.publicKeyBase64 },
  ],
};

function participant(id: string, role: string, key: TestKeyPair, extra: { node?: string } = {}): ParticipantJson {
  // The box key only needs to be distinct and well-formed here.
  const box = Buffer.from(key.publicKey).reverse().toString('base64');
  return { id, role, display_name: id, sign_public_key: key.publicKeyBase64, box_public_key: box, ...extra };
}

/** One participant as written in a roster file. */
export interface ParticipantJson {
  id: string;
  role: string;
  display_name: string;
  sign_public_key: string;
  box_public_key: string;
  node?: string;
}

export function rosterJson(version: number): { version: number; issued_at: string; participants: ParticipantJson[] } {
  return {
    version,
    issued_at: '2026-01-05T09:00:00Z',
    participants: [
      participant('health', 'node', keys.health),
      participant('justice', 'node', keys.justice),
      participant('steward-health', 'steward', keys.stewardHealth, { node: 'health' }),
      participant('steward-justice', 'steward', keys.stewardJustice, { node: 'justice' }),
      participant('alice', 'researcher', keys.alice),
      participant('bob', 'researcher', keys.bob),
      participant('carol', 'researcher', keys.carol),
    ],
  };
}

export const roster: RosterDocument = parseRosterDocument(rosterJson(4), 'roster');

/** A signed roster file with one signature per `[stewardId, key]`. */
export function signedRosterFile(payload: string, signers: Array<[string, TestKeyPair]>) {
  return {
    fedlab_signed_roster: 1,
    payload,
    signatures: signers.map(([steward, key]) => ({ steward, signature: signText('roster', payload, key) })),
  };
}

export function projectJson(): Record<string, unknown> {
  return {
    project_id: 'jdl-2026-001',
    title: 'Reoffending after a housing program',
    lay_summary: 'Does stable housing reduce reoffending?',
    purpose: 'program_evaluation',
    legal_basis: 'Statistics Act s. 13',
    data_sharing_agreement: 'DSA-2026-07',
    ethics_approval: { reference: 'REB-2026-112', expires_on: '2026-12-31' },
    members: ['alice', 'bob'],
    requests: {
      health: {
        datasets: {
          visits: { columns: ['age_band', 'region', 'visits', 'diagnosis'], analyses: ['count', 'mean', 'proportion'] },
          prescriptions: { columns: ['drug_class'], analyses: ['count'] },
        },
      },
      justice: { datasets: { convictions: { columns: ['offence'], analyses: ['count'] } } },
    },
    created_at: '2026-01-10T12:00:00Z',
  };
}

export const project: ProjectDocument = {
  projectId: 'jdl-2026-001',
  title: 'Reoffending after a housing program',
  laySummary: 'Does stable housing reduce reoffending?',
  purpose: 'program_evaluation',
  legalBasis: 'Statistics Act s. 13',
  dataSharingAgreement: 'DSA-2026-07',
  ethicsApproval: { reference: 'REB-2026-112', expiresOn: '2026-12-31' },
  members: ['alice', 'bob'],
  requests: {
    health: {
      datasets: {
        visits: { columns: ['age_band', 'region', 'visits', 'diagnosis'], analyses: ['count', 'mean', 'proportion'] },
        prescriptions: { columns: ['drug_class'], analyses: ['count'] },
      },
    },
    justice: { datasets: { convictions: { columns: ['offence'], analyses: ['count'] } } },
  },
  createdAt: '2026-01-10T12:00:00Z',
};

export const PROJECT_HASH = 'a'.repeat(64);

/** The health steward's approval: the whole request for health, until 2026-06-30. */
export const approval: Approval = {
  projectId: 'jdl-2026-001',
  projectHash: PROJECT_HASH,
  nodeId: 'health',
  datasets: {
    visits: { columns: ['age_band', 'region', 'visits', 'diagnosis'], analyses: ['count', 'mean', 'proportion'] },
    prescriptions: { columns: ['drug_class'], analyses: ['count'] },
  },
  purposes: ['program_evaluation'],
  expiresOn: '2026-06-30',
  approvedAt: '2026-01-20T10:00:00Z',
  privacy: {},
};

export function approvalJson(): Record<string, unknown> {
  return {
    project_id: 'jdl-2026-001',
    project_hash: PROJECT_HASH,
    node_id: 'health',
    datasets: { visits: { columns: ['age_band', 'region'], analyses: ['count'] } },
    purposes: ['program_evaluation'],
    expires_on: '2026-06-30',
    approved_at: '2026-01-20T10:00:00Z',
  };
}

/** The FedlabError `run` throws; fails the test when it throws nothing or something else. */
export function refusal(run: () => unknown): FedlabError {
  try {
    run();
  } catch (error) {
    if (error instanceof FedlabError) return error;
    throw error;
  }
  throw new Error('expected a FedlabError, but nothing was thrown');
}
