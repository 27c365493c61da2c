import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import type { DatasetSchema, Purpose } from '@fedlab/model';
import type { SignedDocument, Identity, Roster } from '@fedlab/governance';
import { initCrypto, parseRoster } from '@fedlab/crypto';
import { FedlabClient } from '@fedlab/client';
import { Coordinator, CoordinatorStore, startCoordinatorServer } from '@fedlab/coordinator-service';
import { NodeAgent, NodeConnection, policyLoader, nodeCatalog } from '@fedlab/node-service';
import { approveNetworkProject, generateNetworkParticipants, networkRosterEntries, signNetworkProject, type SignedNetworkProject } from '@fedlab/devnet';
import { openNodeStore, type NodeStore, type SqliteNodeStore } from '@fedlab/store';
import type { CoordinatorMetrics } from '@fedlab/ops';

export interface TestNodeSpec {
  id: string;
  datasets: Array<{ schema: DatasetSchema; csv: string }>;
  /** Policy YAML text; null writes no policy file (the node answers nothing). */
  policy: string | null;
  /** The node's max_message_bytes (default 4 MiB). */
  maxMessageBytes?: number;
}

export interface TestNode {
  id: string;
  identity: Identity;
  /** The node's database: its repositories, its datasets and (for checks of the file's state) its connection. */
  store: SqliteNodeStore;
  policyFile: string;
  agent: NodeAgent;
  connection: NodeConnection;
}

export interface TestNetwork {
  dir: string;
  address: string;
  roster: Roster;
  coordinatorIdentity: Identity;
  researchers: Record<string, Identity>;
  /** Organisations on the roster (they submit evaluations). */
  organisations: Record<string, Identity>;
  /** Auditors on the roster (they read full queries behind public log entries). */
  auditors: Record<string, Identity>;
  /** Each node's steward (roster role steward, bound to the node). */
  stewards: Record<string, Identity>;
  /** The signed project approved at the nodes. */
  project: SignedDocument;
  nodes: Record<string, TestNode>;
  coordinator: Coordinator;
  store: CoordinatorStore;
  /**
   * A client for a researcher identity (on the roster or not), verifying answers against the roster;
   * `options.now` is the clock it dates its read requests by.
   */
  client(identity: Identity, options?: { now?: () => number }): FedlabClient;
  /** Starts a node's outbound connection and waits until it is attached. */
  connectNode(id: string): Promise<void>;
  /** Stops and restarts the coordinator on the same port and database. */
  restartCoordinator(): Promise<void>;
  stop(): Promise<void>;
}

/** The project every test network sets up: signed by its first member, approved by node stewards. */
export interface TestProjectOptions {
  id?: string;
  purpose?: Purpose;
  /** Default: the first researcher only. */
  members?: string[];
  /** Nodes whose stewards approve it (default: all). */
  approvedBy?: string[];
}

export interface TestNetworkOptions {
  dir: string;
  nodes: TestNodeSpec[];
  researchers?: string[];
  /** Organisations on the roster (default none). */
  organisations?: string[];
  /** Auditors on the roster (default none). */
  auditors?: string[];
  project?: TestProjectOptions;
  nodeDeadlineMs?: number;
  /** Secure-aggregation phase timeout (default 5 s). */
  secaggPhaseTimeoutMs?: number;
  maxMessageBytes?: number;
  /** The coordinator's limit on a work item for the nodes (default 4 MiB). */
  maxWorkBytes?: number;
  /** The coordinator server's TLS credentials and those nodes and clients dial it with (default: plaintext on loopback). */
  credentials?: { server: ServerCredentials; client: ChannelCredentials };
  /** Whether to attach every node before returning (default true). */
  connect?: boolean;
  /** Records the coordinator's Prometheus series (libs/adapters/ops `coordinatorMetrics`); none by default. */
  coordinatorMetrics?: CoordinatorMetrics;
  /** The coordinator's clock (default `Date.now`). */
  coordinatorNow?: () => number;
}

/**
 * An in-process network for integration tests: a real coordinator gRPC server on 127.0.0.1:0,
 * nodes with real SQLite files and real keys dialling out to it over loopback sockets.
 */
export async function startTestNetwork(options: TestNetworkOptions): Promise<TestNetwork> {
  await initCrypto();
  const participants = generateNetworkParticipants({
    researchers: options.researchers ?? ['alice', 'bob'],
    organisations: options.organisations,
    auditors: options.auditors,
    nodes: options.nodes.map((n) => n.id),
  });
  const { coordinator: coordinatorIdentity, researchers, organisations, auditors, nodeStewards: stewards, nodes: nodeIdentities } = participants;
  const roster = parseRoster({ version: 1, participants: networkRosterEntries(participants) }, 'test roster');
  const storeFile = path.join(options.dir, 'coordinator.db');
  // Group commit as the daemon runs it: every reply and message waits for the sync of the commits before it.
  const openStore = () =>
    new CoordinatorStore(storeFile, {
      groupCommit: {
        onFailure: (error) => {
          throw error;
        },
      },
    });
  let store = openStore();
  const newCoordinator = () =>
    new Coordinator({
      identity: coordinatorIdentity,
      roster,
      store,
      nodeDeadlineMs: options.nodeDeadlineMs ?? 10_000,
      secaggPhaseTimeoutMs: options.secaggPhaseTimeoutMs ?? 5_000,
      metrics: options.coordinatorMetrics,
      ...(options.maxWorkBytes ? { maxWorkBytes: options.maxWorkBytes } : {}),
      ...(options.coordinatorNow ? { now: options.coordinatorNow } : {}),
    });
  let coordinator = newCoordinator();
  let server = await startCoordinatorServer(coordinator, {
    listen: '127.0.0.1:0',
    maxMessageBytes: options.maxMessageBytes,
    heartbeatIntervalMs: 500,
    credentials: options.credentials?.server,
  });
  const address = `127.0.0.1:${server.port}`;

  const nodes: Record<string, TestNode> = {};
  const nodeStores = new Map<string, NodeStore>();
  for (const spec of options.nodes) {
    const identity = nodeIdentities[spec.id]!;
    const store = openNodeStore(path.join(options.dir, `${spec.id}.db`));
    for (const d of spec.datasets) {
      const csvPath = path.join(options.dir, `${spec.id}-${d.schema.dataset}.csv`);
      writeFileSync(csvPath, d.csv);
      await store.datasets.import({ csvPath, schema: d.schema });
    }
    // As the daemon runs it (see the coordinator's store above).
    store.startGroupCommit({
      onFailure: (error) => {
        throw error;
      },
    });
    const policyFile = path.join(options.dir, `${spec.id}-policy.yaml`);
    if (spec.policy !== null) writeFileSync(policyFile, spec.policy);
    const agent = new NodeAgent({
      identity,
      roster,
      store,
      policy: policyLoader(policyFile),
      ...(spec.maxMessageBytes ? { maxWorkBytes: spec.maxMessageBytes } : {}),
    });
    nodeStores.set(spec.id, store);
    const connection = new NodeConnection({
      coordinatorAddress: address,
      agent,
      ...(spec.maxMessageBytes ? { maxMessageBytes: spec.maxMessageBytes } : {}),
      catalog: () => nodeCatalog(spec.id, store),
      signSecretKey: identity.signSecretKey,
      credentials: options.credentials?.client,
      initialBackoffMs: 50,
      maxBackoffMs: 500,
    });
    nodes[spec.id] = { id: spec.id, identity, store, policyFile, agent, connection };
  }

  const project = approveTestProject(options, roster, researchers, stewards, nodeStores);

  const clients: FedlabClient[] = [];
  const network: TestNetwork = {
    dir: options.dir,
    address,
    roster,
    coordinatorIdentity,
    researchers,
    organisations,
    auditors,
    nodes,
    project,
    stewards,
    get coordinator() {
      return coordinator;
    },
    get store() {
      return store;
    },
    client(identity, clientOptions) {
      const c = new FedlabClient({ address, identity, roster, credentials: options.credentials?.client, ...clientOptions });
      clients.push(c);
      return c;
    },
    async connectNode(id) {
      const node = nodes[id]!;
      const attached = new Promise<void>((resolve) => node.connection.once('attached', () => resolve()));
      node.connection.start();
      await attached;
    },
    async restartCoordinator() {
      await server.stop();
      coordinator.close();
      store.close();
      store = openStore();
      coordinator = newCoordinator();
      coordinator.recover();
      server = await startCoordinatorServer(coordinator, {
        listen: address,
        maxMessageBytes: options.maxMessageBytes,
        heartbeatIntervalMs: 500,
        credentials: options.credentials?.server,
      });
    },
    async stop() {
      for (const c of clients) c.close();
      for (const n of Object.values(nodes)) n.connection.stop();
      await server.stop();
      coordinator.close();
      store.close();
      for (const n of Object.values(nodes)) n.store.close();
    },
  };
  if (options.connect ?? true) for (const spec of options.nodes) await network.connectNode(spec.id);
  return network;
}

/**
 * Generous privacy budgets for tests that are not about budgets: projects may spend up to ρ = 1000
 * per dataset, so a test query can ask for ρ = 100, whose noise on a count is (with overwhelming
 * probability) zero.
 */
export const TEST_PRIVACY_POLICY = { default_project_rho: 1000, max_project_rho: 1000, max_query_rho: 1000 } as const;

/** Policy YAML letting `datasets` serve the given purposes (projects still need approval). */
export function policyYaml(options: {
  datasets: Record<string, string[]>;
  minPersons?: number;
  privacy?: { default_project_rho?: number; max_project_rho?: number; max_query_rho?: number; colluding_nodes?: number };
}): string {
  return stringify({
    privacy: options.privacy ?? TEST_PRIVACY_POLICY,
    sdc: { min_persons: options.minPersons ?? 10, dominance_max_share: 0.9, rounding: 'none' },
    analyses: ['count', 'sum', 'mean', 'variance', 'proportion', 'histogram', 'glm', 'linkage'],
    datasets: Object.fromEntries(Object.entries(options.datasets).map(([d, purposes]) => [d, { purposes }])),
  });
}

/** A project asking, at each node, every non-identifier column of its datasets with every analysis, signed by its first member. */
export function signTestProject(
  members: Identity[],
  datasetsByNode: Record<string, DatasetSchema[]>,
  options: { id?: string; purpose?: Purpose } = {},
): SignedNetworkProject {
  return signNetworkProject(members, datasetsByNode, {
    id: options.id ?? 'proj-test',
    purpose: options.purpose ?? 'research',
    title: 'Test project',
    laySummary: 'A project for integration tests.',
    legalBasis: 'Test',
    dataSharingAgreement: 'DSA-TEST',
    ethicsReference: 'REB-TEST',
  });
}

/**
 * Has a node's steward approve exactly what the project asked of the node (with optional privacy grants),
 * recorded in the node database: `approveNetworkProject`'s parameters — store, node id, roster, signed
 * project, steward, privacy — without its signed approval.
 */
export function approveForNode(...args: Parameters<typeof approveNetworkProject>): void {
  approveNetworkProject(...args);
}

function approveTestProject(
  options: TestNetworkOptions,
  roster: Roster,
  researchers: Record<string, Identity>,
  stewards: Record<string, Identity>,
  nodeStores: Map<string, NodeStore>,
): SignedDocument {
  const p = options.project ?? {};
  const members = (p.members ?? [Object.keys(researchers)[0]!]).map((id) => researchers[id]!);
  const project = signTestProject(members, Object.fromEntries(options.nodes.map((n) => [n.id, n.datasets.map((d) => d.schema)])), p);
  for (const nodeId of p.approvedBy ?? options.nodes.map((n) => n.id)) approveForNode(nodeStores.get(nodeId)!, nodeId, roster, project, stewards[nodeId]!);
  return project.signed;
}
