import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { FedlabError, RUNNING_FROM_RELEASE } from '@fedlab/model';
import { createSignedRosterFile, initCrypto, loadGovernanceFile, loadRosterFile, readKeyFile, signRosterFile, writeKeyFile } from '@fedlab/crypto';
import { type Identity, type PrivacyGrant, type Roster, type RosterEntryJson, type SignedDocument } from '@fedlab/governance';
import type { DatasetSchema, Purpose } from '@fedlab/model';
import { FedlabClient, GovernanceClient } from '@fedlab/client';
import { importNodeDataset, initNode, loadNodeConfig } from '@fedlab/node-service';
import { loadDatasetSchemaFile, openNodeStore, openNodeStoreWithEngine } from '@fedlab/store';
import { stringify as stringifyYaml } from 'yaml';
import { REGIONS, SYNTH_DATASETS } from '@fedlab/synth';
import { splitByRegion, writeSyntheticData } from './synthetic-files';
import { approveNetworkProject, generateNetworkParticipants, networkRosterEntries, signNetworkProject, type SignedNetworkProject } from './network-plan';

/** The fedlab command (the repository's entry point, or the release's bundle), used to start real daemon processes. */
export const FEDLAB_BIN = RUNNING_FROM_RELEASE ? __filename : path.resolve(__dirname, '../../../../bin/fedlab.js');
/** How long a local network's daemons may take to come up on a busy machine before it gives up. */
const START_TIMEOUT_MS = 180_000;

export type MinistryNode = 'health' | 'education' | 'human_services' | 'justice';

export const MINISTRY_NAMES: Record<MinistryNode, string> = {
  health: 'Ministry of Health',
  education: 'Ministry of Education',
  human_services: 'Ministry of Human Services',
  justice: 'Ministry of Justice',
};

/** A dataset to import at a node: CSV and schema paths. */
export interface NodeDatasetFiles {
  dataset: string;
  csvPath: string;
  schemaPath: string;
}

export interface LocalNetworkOptions {
  /** Working folder; recreated. */
  dir: string;
  nodes: string[];
  /** Datasets per node (absolute paths); default: the synthetic population's datasets for ministry nodes. */
  datasets?: (nodeId: string) => NodeDatasetFiles[];
  /**
   * Adds one node per region holding that region's rows of a synthetic dataset (e.g. school boards
   * of education_enrolments), named `${prefix}-${region}`, for pooled queries.
   */
  regionalNodes?: { dataset: string; prefix: string };
  /** Synthetic population size (ignored when `dataDir` already holds data). */
  persons: number;
  seed: number;
  /** Use synthetic data already written here instead of generating it. */
  dataDir?: string;
  /** Researchers on the roster; the first signs every project (see `projectMembers`). */
  researchers?: string[];
  /** Which researchers are members of every project: the first only (default) or all of them. */
  projectMembers?: 'first' | 'all';
  /** Organisations on the roster (they submit evaluations; default: ["reentry-org"]). */
  organisations?: string[];
  /** Retention of evaluation data at a node that holds justice_offences (default 0: deleted with the report). */
  evaluationRetentionDays?: number;
  /** Projects the first researcher signs and the nodes' stewards approve (default: DEMO_PROJECTS). */
  projects?: NetworkProject[];
  nodeDeadlineMs?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Called with progress lines for people. */
  onProgress?: (line: string) => void;
  /**
   * The dataset engine of each node, as node.yaml's `engine:` setting (`'sqlite'`, `'duckdb'`, or an object
   * such as `{ kind: 'duckdb', threads: 1 }`); default sqlite. Datasets are imported into it.
   */
  engine?: (nodeId: string) => string | Record<string, unknown>;
  /** The environment the caller runs in (usually process.env), needed to start daemons with extra variables. */
  env?: Record<string, string | undefined>;
  /** Extra Node.js options for every daemon (e.g. `--cpu-prof` for a benchmark's profile). */
  nodeOptions?: string[];
}

export interface LocalNetwork {
  dir: string;
  dataDir: string;
  coordinatorAddress: string;
  /** URL of the coordinator's public register page. */
  registerUrl: string;
  /** URL of the coordinator's operators' dashboard (loopback, no token). */
  dashboardUrl: string;
  /**
   * URL of a process's admin endpoint (/healthz, /readyz, /metrics): `coordinator` or a node id. Read
   * from the `admin at …` line the process prints once started; undefined until then.
   */
  adminUrl(processName: string): string | undefined;
  rosterFile: string;
  governanceFile: string;
  /** The roster, verified against the network's governance stewards. */
  roster(): Roster;
  coordinatorConfig: string;
  nodeConfigs: Record<string, string>;
  researcherKeyFile(id: string): string;
  /** A client signed with a researcher's key, verifying answers against the roster. */
  client(researcherId: string): Promise<FedlabClient>;
  /** Starts (or restarts) a node process, with extra environment variables (e.g. FEDLAB_FAILPOINT in fault tests). */
  startNode(nodeId: string, env?: Record<string, string>): Promise<void>;
  /** Stops a node process with a signal. */
  stopNode(nodeId: string, signal?: NodeJS.Signals): Promise<void>;
  /** Kills a node process and waits for it to exit, keeping it as the node's process (a crash, for fault tests). */
  killNode(nodeId: string, signal?: NodeJS.Signals): Promise<void>;
  startCoordinator(env?: Record<string, string>): Promise<void>;
  stopCoordinator(signal?: NodeJS.Signals): Promise<void>;
  /** Process ids of the running node processes. */
  nodePids(): Record<string, number>;
  /** Registers the network's signed projects and approvals at the coordinator (they enter the public log). */
  registerProjects(): Promise<void>;
  /**
   * Waits until the given nodes (default: all running) are attached — a condition, not a clock: it reports
   * progress through `onProgress` while it waits, gives up at once when a node process exits (naming its
   * log), and only after `timeoutMs` (default 180 s, for a busy machine) otherwise.
   */
  waitForNodes(nodeIds?: string[], timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** A project of the local network. */
export interface NetworkProject {
  id: string;
  purpose: Purpose;
  title: string;
  /** Nodes whose stewards approve it (default: all). */
  approvedBy?: string[];
  /** Privacy budgets the stewards grant, by dataset (default: each node policy's default budget). */
  privacy?: Record<string, PrivacyGrant>;
}

/** The local network's node policy budgets (docs/privacy.md): generous enough for the demo's stories, finite. */
export const DEMO_PRIVACY_POLICY = 'privacy: { default_project_rho: 10, max_project_rho: 10, max_query_rho: 8 }';

/** The demo's projects: one for research approved everywhere, one for statistics that Justice has not approved. */
export const DEMO_PROJECTS: NetworkProject[] = [
  { id: 'demo-research', purpose: 'research', title: 'Outcomes across ministries' },
  {
    id: 'demo-statistics',
    purpose: 'statistics',
    title: 'Service statistics',
    approvedBy: ['health', 'education', 'human_services'],
    privacy: { health_visits: { rho: 0.3 } },
  },
];

/** Signs a project of `members` (the first signs), in the demo's words, asking each node for all non-identifier columns of its datasets. */
function signProject(members: Identity[], schemasByNode: Record<string, DatasetSchema[]>, p: NetworkProject): SignedNetworkProject {
  return signNetworkProject(members, schemasByNode, {
    id: p.id,
    purpose: p.purpose,
    title: p.title,
    laySummary: `${p.title}: aggregate, disclosure-controlled statistics; no record leaves a ministry.`,
    legalBasis: 'Statistics and research provisions of the participating ministries',
    dataSharingAgreement: `DSA-${p.id}`,
    ethicsReference: `REB-${p.id}`,
  });
}

/** Every purpose except the enforcement kinds: what the demo stewards permit. */
export const DEMO_PURPOSES = ['research', 'statistics', 'program_evaluation', 'policy_planning'];

/**
 * Starts a fedlab daemon. It inherits this process's environment; extra variables (fault tests) are laid
 * over `base`, the environment the caller read, since a library reads no `process.env` of its own.
 */
function spawnFedlab(
  args: string[],
  logFile: string,
  extra: Record<string, string>,
  base: Record<string, string | undefined> | undefined,
  nodeOptions: string[] = [],
): ChildProcess {
  if (Object.keys(extra).length > 0 && !base)
    throw new FedlabError('INVALID_ARGUMENT', 'createLocalNetwork: pass `env` (the environment to start from) to start daemons with extra variables');
  const env = Object.keys(extra).length > 0 ? { ...base, ...extra } : undefined;
  const child = spawn(process.execPath, [...nodeOptions, FEDLAB_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
  child.stderr!.on('data', (d: Buffer) => {
    writeFileSync(logFile, d, { flag: 'a' });
  });
  return child;
}

async function waitForExit(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Builds a network of real processes on loopback: keys, roster, a coordinator, ministry nodes with
 * the synthetic datasets imported and a policy allowing the first researcher. Used by the demo, the
 * end-to-end tests and the benchmarks.
 */
export async function createLocalNetwork(options: LocalNetworkOptions): Promise<LocalNetwork> {
  await initCrypto();
  const say = options.onProgress ?? (() => {});
  const dir = path.resolve(options.dir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const dataDir = options.dataDir ? path.resolve(options.dataDir) : path.join(dir, 'data');
  if (!options.dataDir && !options.datasets) {
    say(`synthesizing ${options.persons.toLocaleString('en-CA')} persons (seed ${options.seed}) …`);
    writeSyntheticData(dataDir, { persons: options.persons, seed: options.seed });
  }
  const regional = options.regionalNodes
    ? splitByRegion(
        dataDir,
        SYNTH_DATASETS.find((d) => d.dataset === options.regionalNodes!.dataset)!,
        options.regionalNodes.prefix,
        REGIONS,
      )
    : {};
  const nodeIds = [...options.nodes, ...Object.keys(regional)];
  const researchers = options.researchers ?? ['alice', 'bob'];
  const participants = generateNetworkParticipants({
    coordinator: { id: 'coordinator', displayName: 'Coordinator' },
    researchers,
    organisations: (options.organisations ?? ['reentry-org']).map((id) => ({ id, displayName: id === 'reentry-org' ? 'Second Chance Re-entry Society' : id })),
    // Three governance stewards; a roster needs two of their signatures (DESIGN.md §4).
    governanceStewards: ['steward-a', 'steward-b', 'steward-c'].map((id) => ({ id, displayName: `Governance steward ${id.slice(-1).toUpperCase()}` })),
    // Each ministry's data steward approves projects for that node only.
    nodes: nodeIds.map((id) => ({ id, stewardDisplayName: `Data steward, ${MINISTRY_NAMES[id as MinistryNode] ?? id}` })),
    // Each node makes its own key with `initNode`.
    nodeIdentities: 'elsewhere',
  });
  const keysDir = path.join(dir, 'keys');
  mkdirSync(keysDir);
  const coordinatorDir = path.join(dir, 'coordinator');
  mkdirSync(coordinatorDir);
  writeKeyFile(path.join(coordinatorDir, 'coordinator.key'), participants.coordinator);
  const stewards = Object.values(participants.governanceStewards);
  for (const identity of [
    ...Object.values(participants.researchers),
    ...Object.values(participants.organisations),
    ...stewards,
    ...Object.values(participants.nodeStewards),
  ])
    writeKeyFile(path.join(keysDir, `${identity.id}.key`), identity);
  const governanceFile = path.join(dir, 'governance.json');
  writeFileSync(
    governanceFile,
    JSON.stringify({ threshold: 2, stewards: stewards.map((s) => ({ id: s.id, sign_public_key: Buffer.from(s.signPublicKey).toString('base64') })) }, null, 2),
  );
  const rosterFile = path.join(dir, 'roster.json');
  const nodeConfigs: Record<string, string> = {};
  const nodeEntries: Record<string, RosterEntryJson> = {};
  const schemasByNode: Record<string, DatasetSchema[]> = {};
  for (const nodeId of nodeIds) {
    const nodeDir = path.join(dir, 'nodes', nodeId);
    const r = await initNode({
      dir: nodeDir,
      nodeId,
      coordinator: '127.0.0.1:0',
      rosterFile,
      governanceFile,
      displayName: MINISTRY_NAMES[nodeId as MinistryNode] ?? nodeId,
    });
    nodeEntries[nodeId] = r.rosterEntry;
    nodeConfigs[nodeId] = r.configFile;
    const engine = options.engine?.(nodeId);
    if (engine !== undefined) writeFileSync(r.configFile, `${readFileSync(r.configFile, 'utf8')}${stringifyYaml({ engine })}`);
    // The nodes log at the network's level, as the coordinator does (node init writes `log_level: info`).
    if (options.logLevel) writeFileSync(r.configFile, readFileSync(r.configFile, 'utf8').replace(/^log_level: info$/m, `log_level: ${options.logLevel}`));
    const datasets =
      regional[nodeId] ??
      options.datasets?.(nodeId) ??
      SYNTH_DATASETS.filter((d) => d.node === nodeId).map((d) => ({
        dataset: d.dataset,
        csvPath: path.join(dataDir, d.csvPath),
        schemaPath: path.join(dataDir, d.schemaPath),
      }));
    const policyDatasets = datasets.map((d) => `  ${d.dataset}: { purposes: [${DEMO_PURPOSES.join(', ')}] }`).join('\n');
    // The node holding offences offers the Justice Data Lab service to the roster's organisations.
    const evaluation = datasets.some((d) => d.dataset === 'justice_offences')
      ? `evaluation:\n  dataset: justice_offences\n  retention_days: ${options.evaluationRetentionDays ?? 0}\n  rho_per_organisation: 4\n  rho_per_evaluation: 1\n`
      : '';
    writeFileSync(
      path.join(nodeDir, 'policy.yaml'),
      `${DEMO_PRIVACY_POLICY}\nsdc: { min_persons: 10, dominance_max_share: 0.9, rounding: none }\nanalyses: [count, sum, mean, variance, proportion, histogram, glm, linkage, evaluation]\ndatasets:\n${policyDatasets}\n${evaluation}`,
    );
    const store = await openNodeStoreWithEngine(path.join(nodeDir, 'node.db'), loadNodeConfig(r.configFile).engine, options.env ?? {});
    try {
      schemasByNode[nodeId] = [];
      for (const d of datasets) {
        const schema = loadDatasetSchemaFile(d.schemaPath);
        schemasByNode[nodeId]!.push(schema);
        const result = await importNodeDataset(store, { csvPath: d.csvPath, schema });
        say(`${nodeId}: imported ${result.rows.toLocaleString('en-CA')} rows into ${d.dataset}`);
      }
    } finally {
      await store.datasets.close();
      store.close();
    }
  }
  let signedRoster = createSignedRosterFile(networkRosterEntries(participants, nodeEntries), 1, new Date().toISOString());
  for (const steward of stewards.slice(0, 2)) signedRoster = signRosterFile(signedRoster, steward);
  writeFileSync(rosterFile, JSON.stringify(signedRoster, null, 2));
  const roster = loadRosterFile(rosterFile, { governance: loadGovernanceFile(governanceFile) });
  const governanceDocuments: Array<{ kind: 'project' | 'approval'; document: SignedDocument }> = [];
  const projectsDir = path.join(dir, 'projects');
  mkdirSync(projectsDir);
  const members = options.projectMembers === 'all' ? Object.values(participants.researchers) : [participants.researchers[researchers[0]!]!];
  for (const p of options.projects ?? DEMO_PROJECTS) {
    const signed = signProject(members, schemasByNode, p);
    governanceDocuments.push({ kind: 'project', document: signed.signed });
    writeFileSync(path.join(projectsDir, `${p.id}.signed.json`), JSON.stringify(signed.signed, null, 2));
    const approvers = (p.approvedBy ?? nodeIds).filter((n) => nodeIds.includes(n));
    for (const nodeId of approvers) {
      // The project's grants are by dataset across the network: each node's steward grants those of its own datasets.
      const asked = signed.project.requests[nodeId]?.datasets ?? {};
      const grants = Object.fromEntries(Object.entries(p.privacy ?? {}).filter(([dataset]) => Object.hasOwn(asked, dataset)));
      const store = openNodeStore(path.join(dir, 'nodes', nodeId, 'node.db'));
      try {
        governanceDocuments.push({
          kind: 'approval',
          document: approveNetworkProject(store, nodeId, roster, signed, participants.nodeStewards[nodeId]!, grants),
        });
      } finally {
        store.close();
      }
    }
    say(`project ${p.id} (${p.purpose}) approved by the stewards of ${approvers.join(', ')}`);
  }
  const coordinatorConfig = path.join(coordinatorDir, 'coordinator.yaml');
  writeFileSync(
    coordinatorConfig,
    `listen: 127.0.0.1:0\ndatabase: coordinator.db\nkey_file: coordinator.key\nroster_file: ${rosterFile}\ngovernance_file: ${governanceFile}\nregister_listen: 127.0.0.1:0\ndashboard_listen: 127.0.0.1:0\nnode_deadline_ms: ${options.nodeDeadlineMs ?? 60_000}\nheartbeat_interval_ms: 1000\nlog_level: ${options.logLevel ?? 'info'}\nplaintext: true\n`,
  );

  const logsDir = path.join(dir, 'logs');
  mkdirSync(logsDir);
  let coordinatorProcess: ChildProcess | undefined;
  let coordinatorAddress = '';
  let registerUrl = '';
  let dashboardUrl = '';
  const nodeProcesses = new Map<string, ChildProcess>();
  const adminUrls = new Map<string, string>();
  const readAdminUrl = (processName: string, line: string) => {
    const admin = /^admin at (http:\S+)$/.exec(line);
    if (admin) adminUrls.set(processName, admin[1]!);
  };

  const network: LocalNetwork = {
    dir,
    dataDir,
    get coordinatorAddress() {
      return coordinatorAddress;
    },
    get registerUrl() {
      return registerUrl;
    },
    get dashboardUrl() {
      return dashboardUrl;
    },
    adminUrl: (processName) => adminUrls.get(processName),
    rosterFile,
    governanceFile,
    coordinatorConfig,
    nodeConfigs,
    researcherKeyFile: (id) => path.join(keysDir, `${id}.key`),
    async client(researcherId) {
      return new FedlabClient({ address: coordinatorAddress, identity: readKeyFile(network.researcherKeyFile(researcherId)), roster: network.roster() });
    },
    roster: () => loadRosterFile(rosterFile, { governance: loadGovernanceFile(governanceFile) }),
    async startCoordinator(env = {}) {
      const child = spawnFedlab(
        ['coordinator', 'serve', '--config', coordinatorConfig],
        path.join(logsDir, 'coordinator.log'),
        env,
        options.env,
        options.nodeOptions,
      );
      coordinatorProcess = child;
      adminUrls.delete('coordinator');
      const port = await new Promise<string>((resolve, reject) => {
        const lines = createInterface({ input: child.stdout! });
        const timer = setTimeout(
          () =>
            reject(new FedlabError('INTERNAL', `coordinator did not start within ${START_TIMEOUT_MS / 1000} s; see ${path.join(logsDir, 'coordinator.log')}`)),
          START_TIMEOUT_MS,
        );
        lines.on('line', (line) => {
          const register = /^public register at (http:\S+)$/.exec(line);
          if (register) registerUrl = register[1]!;
          const dashboard = /^dashboard at (http:\S+)$/.exec(line);
          if (dashboard) dashboardUrl = dashboard[1]!;
          readAdminUrl('coordinator', line);
          const m = /listening on .*:(\d+)$/.exec(line);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        child.once('exit', (code) => reject(new FedlabError('INTERNAL', `coordinator exited with code ${code}; see ${path.join(logsDir, 'coordinator.log')}`)));
      });
      // Later restarts reuse the same port so nodes reconnect to the address they know.
      const config = readFileSync(coordinatorConfig, 'utf8').replace(/^listen: .*$/m, `listen: 127.0.0.1:${port}`);
      writeFileSync(coordinatorConfig, config);
      coordinatorAddress = `127.0.0.1:${port}`;
      for (const file of Object.values(nodeConfigs)) {
        writeFileSync(file, readFileSync(file, 'utf8').replace(/^coordinator: .*$/m, `coordinator: ${coordinatorAddress}`));
      }
    },
    async stopCoordinator(signal = 'SIGTERM') {
      await waitForExit(coordinatorProcess, signal);
      coordinatorProcess = undefined;
    },
    async startNode(nodeId, env = {}) {
      const child = spawnFedlab(
        ['node', 'serve', '--config', nodeConfigs[nodeId]!],
        path.join(logsDir, `${nodeId}.log`),
        env,
        options.env,
        options.nodeOptions,
      );
      nodeProcesses.set(nodeId, child);
      adminUrls.delete(nodeId);
      createInterface({ input: child.stdout! }).on('line', (line) => readAdminUrl(nodeId, line));
    },
    async stopNode(nodeId, signal = 'SIGTERM') {
      await waitForExit(nodeProcesses.get(nodeId), signal);
      nodeProcesses.delete(nodeId);
    },
    async killNode(nodeId, signal = 'SIGKILL') {
      await waitForExit(nodeProcesses.get(nodeId), signal);
    },
    async registerProjects() {
      const gov = new GovernanceClient({ address: coordinatorAddress, roster: network.roster() });
      try {
        for (const d of governanceDocuments) await (d.kind === 'project' ? gov.submitProject(d.document) : gov.submitApproval(d.document));
      } finally {
        gov.close();
      }
    },
    nodePids: () => Object.fromEntries([...nodeProcesses.entries()].map(([id, p]) => [id, p.pid!])),
    async waitForNodes(nodeIds = [...nodeProcesses.keys()], timeoutMs = START_TIMEOUT_MS) {
      const client = new FedlabClient({ address: coordinatorAddress });
      try {
        const started = Date.now();
        let reported = started;
        for (;;) {
          // A process that exited cannot be attached, whatever the coordinator has not noticed yet.
          const exited = nodeIds.find((id) => {
            const child = nodeProcesses.get(id);
            return child !== undefined && (child.exitCode !== null || child.signalCode !== null);
          });
          if (exited) {
            const child = nodeProcesses.get(exited)!;
            throw new FedlabError(
              'NODE_UNREACHABLE',
              `node ${exited} exited (${child.signalCode ?? `code ${child.exitCode}`}) and is not attached; see ${path.join(logsDir, `${exited}.log`)}`,
            );
          }
          const infos = await client.nodes().catch(() => []);
          const connected = new Set(infos.filter((n) => n.connected).map((n) => n.nodeId));
          const missing = nodeIds.filter((id) => !connected.has(id));
          if (missing.length === 0) return;
          const now = Date.now();
          if (now - started > timeoutMs)
            throw new FedlabError('NODE_UNREACHABLE', `nodes not attached after ${timeoutMs / 1000} s: ${missing.join(', ')}; see their logs in ${logsDir}`);
          if (now - reported >= 5_000) {
            reported = now;
            options.onProgress?.(
              `${nodeIds.length - missing.length} of ${nodeIds.length} nodes attached after ${((now - started) / 1000).toFixed(0)} s; waiting for ${missing.join(', ')}`,
            );
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      } finally {
        client.close();
      }
    },
    async stop() {
      await Promise.all([...nodeProcesses.keys()].map((id) => network.stopNode(id)));
      await network.stopCoordinator();
    },
  };
  return network;
}

/** Starts the coordinator and every node of a network and waits until all are attached. */
export async function startLocalNetwork(network: LocalNetwork): Promise<void> {
  await network.startCoordinator();
  await network.registerProjects();
  for (const id of Object.keys(network.nodeConfigs)) await network.startNode(id);
  await network.waitForNodes(Object.keys(network.nodeConfigs));
}
