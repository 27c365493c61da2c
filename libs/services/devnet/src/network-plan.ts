import { FedlabError, type DatasetSchema, type Purpose } from '@fedlab/model';
import { generateIdentity, signDocument } from '@fedlab/crypto';
import {
  approvalForRequest,
  formatApproval,
  formatProjectDocument,
  fullAccess,
  publicIdentityJson,
  type Approval,
  type Identity,
  type ParticipantRole,
  type ProjectDocument,
  type Roster,
  type RosterEntryJson,
  type SignedDocument,
} from '@fedlab/governance';
import { projectHash, recordApproval } from '@fedlab/node-service';
import type { NodeStore } from '@fedlab/store';

/*
 * The plan of a whole fedlab network — who is on its roster, the project its researchers sign and the
 * approvals its node stewards give — shared by the two builders of a network: `startTestNetwork`
 * (libs/testing, in-process, for integration tests) and `createLocalNetwork` (here, real processes, for the
 * demo, the end-to-end tests and the benchmarks). Each builder decides where keys, roster and databases
 * live; the plan only makes the governance documents, the same way for both.
 */

/** Until when a planned project's ethics approval and its node approvals run. */
export const PLAN_EXPIRES_ON = '2099-12-31';

/** A participant to generate: its id, or its id and the name people see (default: the id). */
export type PlannedParticipant = string | { id: string; displayName: string };

/** A node of the network: its id, the display name of its identity (when generated here) and of its steward. */
export interface PlannedNode {
  id: string;
  /** Default: the id. */
  displayName?: string;
  /** The display name of the node's steward, `${id}-steward` (default: its id). */
  stewardDisplayName?: string;
}

export interface NetworkParticipantsOptions {
  /** Default: "coordinator". */
  coordinator?: PlannedParticipant;
  researchers?: PlannedParticipant[];
  /** Organisations (they submit evaluations). */
  organisations?: PlannedParticipant[];
  /** Auditors (they read full queries behind public log entries). */
  auditors?: PlannedParticipant[];
  /** Governance stewards, who sign the roster (DESIGN.md §4); none for an unsigned development roster. */
  governanceStewards?: PlannedParticipant[];
  /** The nodes; each gets one steward, `${id}-steward`, bound to it. */
  nodes: Array<string | PlannedNode>;
  /**
   * Whether the node identities are generated here (default) or made elsewhere — a devnet node makes
   * its own with `initNode`, which writes its key file; `networkRosterEntries` then takes their entries.
   */
  nodeIdentities?: 'generate' | 'elsewhere';
}

/** Everyone on a planned network's roster, with their secret keys; each record in the order given. */
export interface NetworkParticipants {
  coordinator: Identity;
  researchers: Record<string, Identity>;
  organisations: Record<string, Identity>;
  auditors: Record<string, Identity>;
  governanceStewards: Record<string, Identity>;
  /** Each node's steward (role steward, `node` set to the node): it approves projects for that node only. */
  nodeStewards: Record<string, Identity>;
  /** The node identities generated here (none when they are made elsewhere). */
  nodes: Record<string, Identity>;
}

function generate(participant: PlannedParticipant, role: ParticipantRole): Identity {
  return typeof participant === 'string' ? generateIdentity(participant, role) : generateIdentity(participant.id, role, participant.displayName);
}

function generateAll(participants: PlannedParticipant[] | undefined, role: ParticipantRole): Record<string, Identity> {
  return Object.fromEntries((participants ?? []).map((p) => generate(p, role)).map((identity) => [identity.id, identity]));
}

/** Generates the keys of a network's participants (call `initCrypto` first). */
export function generateNetworkParticipants(options: NetworkParticipantsOptions): NetworkParticipants {
  const nodes = options.nodes.map((n) => (typeof n === 'string' ? { id: n } : n));
  return {
    coordinator: generate(options.coordinator ?? 'coordinator', 'coordinator'),
    researchers: generateAll(options.researchers, 'researcher'),
    organisations: generateAll(options.organisations, 'organisation'),
    auditors: generateAll(options.auditors, 'auditor'),
    governanceStewards: generateAll(options.governanceStewards, 'steward'),
    nodeStewards: Object.fromEntries(
      nodes.map((n) => [n.id, { ...generateIdentity(`${n.id}-steward`, 'steward', n.stewardDisplayName ?? `${n.id}-steward`), node: n.id }]),
    ),
    nodes:
      (options.nodeIdentities ?? 'generate') === 'generate'
        ? Object.fromEntries(nodes.map((n) => [n.id, generateIdentity(n.id, 'node', n.displayName ?? n.id)]))
        : {},
  };
}

/**
 * The roster's entries: the coordinator, researchers, organisations, auditors and governance stewards,
 * then each node's steward and the node. `nodeEntries` gives the entries of nodes whose identity was made
 * elsewhere (devnet's `initNode` returns one).
 */
export function networkRosterEntries(participants: NetworkParticipants, nodeEntries: Record<string, RosterEntryJson> = {}): RosterEntryJson[] {
  const nodeEntry = (nodeId: string): RosterEntryJson => {
    const entry = nodeEntries[nodeId] ?? (participants.nodes[nodeId] && publicIdentityJson(participants.nodes[nodeId]));
    if (!entry) throw new FedlabError('INVALID_ARGUMENT', `network plan: no identity for node "${nodeId}"`);
    return entry;
  };
  return [
    ...[
      participants.coordinator,
      ...Object.values(participants.researchers),
      ...Object.values(participants.organisations),
      ...Object.values(participants.auditors),
      ...Object.values(participants.governanceStewards),
    ].map(publicIdentityJson),
    ...Object.entries(participants.nodeStewards).flatMap(([nodeId, steward]) => [publicIdentityJson(steward), nodeEntry(nodeId)]),
  ];
}

/** What a network's project is and says: each network words its own (the demo's for people, the tests' terse). */
export interface NetworkProjectText {
  id: string;
  purpose: Purpose;
  title: string;
  laySummary: string;
  legalBasis: string;
  dataSharingAgreement: string;
  /** The ethics board's reference; the approval runs until `PLAN_EXPIRES_ON`. */
  ethicsReference: string;
}

/** A project document with its signed form. */
export interface SignedNetworkProject {
  project: ProjectDocument;
  signed: SignedDocument;
}

/**
 * A project of `members` asking, at each node, for all of its datasets with `fullAccess` (every
 * non-identifier column, every analysis), signed by its first member.
 */
export function signNetworkProject(members: Identity[], datasetsByNode: Record<string, DatasetSchema[]>, text: NetworkProjectText): SignedNetworkProject {
  const signer = members[0];
  if (!signer) throw new FedlabError('INVALID_ARGUMENT', `network plan: project "${text.id}" needs a member to sign it`);
  const project: ProjectDocument = {
    projectId: text.id,
    title: text.title,
    laySummary: text.laySummary,
    purpose: text.purpose,
    legalBasis: text.legalBasis,
    dataSharingAgreement: text.dataSharingAgreement,
    ethicsApproval: { reference: text.ethicsReference, expiresOn: PLAN_EXPIRES_ON },
    members: members.map((m) => m.id),
    requests: Object.fromEntries(
      Object.entries(datasetsByNode).map(([nodeId, schemas]) => [nodeId, { datasets: Object.fromEntries(schemas.map((s) => [s.dataset, fullAccess(s)])) }]),
    ),
    createdAt: new Date().toISOString(),
  };
  return { project, signed: signDocument('project', formatProjectDocument(project), signer) };
}

/**
 * Has a node's steward approve exactly what the project asked of the node, until `PLAN_EXPIRES_ON`, with
 * the given privacy grants (by dataset; none: the node policy's defaults), and records the approval in the
 * node's store as the node would (`recordApproval`: signatures checked against the roster). Returns the
 * signed approval, for a coordinator's public log.
 */
export function approveNetworkProject(
  store: Pick<NodeStore, 'projects'>,
  nodeId: string,
  roster: Roster,
  project: SignedNetworkProject,
  steward: Identity,
  privacy: Approval['privacy'] = {},
): SignedDocument {
  const approval = { ...approvalForRequest(project.project, nodeId, projectHash(project.signed), PLAN_EXPIRES_ON, new Date().toISOString()), privacy };
  const signed = signDocument('approval', formatApproval(approval), steward);
  recordApproval(store, nodeId, roster, project.signed, signed, Date.now());
  return signed;
}
