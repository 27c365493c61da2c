import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FedlabError } from '@fedlab/model';
import {
  generateIdentity,
  governanceFingerprint,
  initCrypto,
  loadGovernanceFile,
  loadPinnedGovernance,
  loadRosterFile,
  parseRosterText,
  writeKeyFile,
  writeRosterFile,
} from '@fedlab/crypto';
import { publicIdentityJson, type Governance, type Roster, type RosterEntryJson } from '@fedlab/governance';
import * as pb from '@fedlab/proto';
import { openNodeStore, type NodeStore } from '@fedlab/store';
import { isLoopbackAddress } from '@fedlab/wire';
import { loadNodeConfig, type NodeConfig } from './node-config';
import { POLICY_TEMPLATE } from './policy-file';

/**
 * Loads the roster under the node's pinned governance: the governance file must name the stewards the
 * node pinned (by fingerprint: in node.yaml from `node init`, and in the node database from its first
 * start), and the roster must carry their threshold of signatures and a version no older than the
 * highest this node has accepted, which is then recorded.
 *
 * @throws FedlabError ROSTER_INVALID for a changed governance file, a removed one, or a roster it does not accept.
 */
export function loadPinnedRoster(
  store: Pick<NodeStore, 'settings' | 'transaction'>,
  config: Pick<NodeConfig, 'rosterFile' | 'governanceFile' | 'governanceFingerprint'>,
): Roster {
  const pinned = pinnedGovernance(store, config);
  if (!pinned) return loadRosterFile(config.rosterFile);
  const roster = loadRosterFile(config.rosterFile, { governance: pinned.governance, minVersion: pinned.heldVersion });
  store.transaction(() => {
    store.settings.set('roster_version', String(roster.version));
    if (!pinned.recorded) store.settings.set('governance_fingerprint', governanceFingerprint(pinned.governance));
  });
  return roster;
}

/** The governance stewards this node pins (undefined for a development node that pins none), with the fingerprint and roster version its database recorded. */
function pinnedGovernance(
  store: Pick<NodeStore, 'settings'>,
  config: Pick<NodeConfig, 'rosterFile' | 'governanceFile' | 'governanceFingerprint'>,
): { governance: Governance; recorded: string | undefined; heldVersion: number } | undefined {
  const { settings } = store;
  const held = settings.get('roster_version');
  if (!config.governanceFile) {
    if (held)
      throw new FedlabError(
        'ROSTER_INVALID',
        `${config.rosterFile}: this node pinned governance before; governance_file cannot be removed from its configuration`,
      );
    return undefined;
  }
  const recorded = settings.get('governance_fingerprint');
  if (recorded && config.governanceFingerprint && recorded !== config.governanceFingerprint) {
    throw new FedlabError(
      'ROSTER_INVALID',
      `${config.governanceFile}: node.yaml pins other governance stewards than this node's database recorded; a changed governance pin is refused (see docs/governance.md "Changing the stewards")`,
    );
  }
  const fingerprint = config.governanceFingerprint ?? recorded;
  const governance = fingerprint ? loadPinnedGovernance(config.governanceFile, fingerprint) : loadGovernanceFile(config.governanceFile);
  return { governance, recorded, heldVersion: held ? Number(held) : 0 };
}

/**
 * Takes a roster the coordinator sent (RosterUpdate) when it is newer than the one in force: verifies it
 * against the pinned governance (the stewards' threshold of signatures, a version above the highest this
 * node accepted), writes it to roster_file (atomically, so a restart reads it) and records its version.
 * Returns the new roster, or undefined when it is not newer (nothing is written).
 *
 * @throws FedlabError ROSTER_INVALID when this node pins no governance (it takes no roster from the
 * coordinator) or the roster's signatures or version do not verify; INVALID_ARGUMENT for a malformed one.
 */
export function acceptRosterUpdate(
  store: Pick<NodeStore, 'settings' | 'transaction'>,
  config: Pick<NodeConfig, 'rosterFile' | 'governanceFile' | 'governanceFingerprint'>,
  inForce: Roster,
  text: string,
): Roster | undefined {
  const pinned = pinnedGovernance(store, config);
  if (!pinned)
    throw new FedlabError('ROSTER_INVALID', 'this node pins no governance stewards (governance_file in node.yaml), so it takes no roster from the coordinator');
  const roster = parseRosterText(text, "the coordinator's roster", {
    governance: pinned.governance,
    minVersion: Math.max(pinned.heldVersion, inForce.version),
  });
  if (roster.version <= inForce.version) return undefined;
  writeRosterFile(config.rosterFile, text);
  store.transaction(() => store.settings.set('roster_version', String(roster.version)));
  return roster;
}

/**
 * Re-pins a node's governance after its stewards changed (a steward action on the node's machine):
 * checks the new file, writes its fingerprint into node.yaml and the node database. Returns both
 * fingerprints for the steward to compare with the ones the governance body published.
 */
export function repinGovernance(configFile: string, governanceFile: string): { previous: string | undefined; pinned: string } {
  const config = loadNodeConfig(configFile);
  if (!config.governanceFile)
    throw new FedlabError('CONFIG_INVALID', `${configFile}: governance_file: this node pins no governance; set governance_file first`);
  const pinned = governanceFingerprint(loadGovernanceFile(governanceFile));
  const store = openNodeStore(config.database);
  try {
    const previous = store.settings.get('governance_fingerprint') ?? config.governanceFingerprint;
    if (path.resolve(governanceFile) !== config.governanceFile) copyFileSync(governanceFile, config.governanceFile);
    const text = readFileSync(configFile, 'utf8');
    const line = `governance_fingerprint: ${pinned}`;
    writeFileSync(
      configFile,
      /^governance_fingerprint:.*$/m.test(text) ? text.replace(/^governance_fingerprint:.*$/m, line) : text.replace(/^(governance_file:.*)$/m, `$1\n${line}`),
    );
    store.settings.set('governance_fingerprint', pinned);
    return { previous, pinned };
  } finally {
    store.close();
  }
}

/** The node's catalog in wire form: metadata only. */
export function nodeCatalog(nodeId: string, store: Pick<NodeStore, 'datasets'>): pb.NodeCatalog {
  return {
    nodeId,
    datasets: store.datasets.catalog().map((d) => ({
      dataset: d.dataset,
      description: d.description,
      approxRows: BigInt(d.approxRows),
      maxRecordsPerPerson: d.maxRecordsPerPerson,
      columns: d.columns.map((c) => ({
        name: c.name,
        type: c.type,
        role: c.role,
        nullable: c.nullable,
        values: c.values ?? [],
        bounds: c.bounds ?? [],
        description: c.description ?? '',
      })),
    })),
  };
}

export interface InitNodeOptions {
  dir: string;
  nodeId: string;
  displayName?: string;
  coordinator: string;
  /** The roster file node.yaml names (by absolute path) when given; otherwise the steward places roster.yaml in the node folder. */
  rosterFile?: string;
  /** The governance stewards to pin (copied into the node folder as governance.json). */
  governanceFile?: string;
  /** Encrypts node.key with this passphrase (docs/configuration.md "Passphrases"). */
  passphrase?: string;
}

// Written for a coordinator off loopback: the empty path fails validation, naming the field, until the operator fills it in.
const NODE_TLS_TEMPLATE = [
  'tls:',
  '  ca_file: ""  # PEM file of the CA that signed the coordinator\'s certificate',
  "  # cert_file: node-cert.pem  # with key_file: this node's certificate, when the coordinator requires mutual TLS",
  '  # key_file: node-key.pem',
];

/**
 * Creates a node folder: node.yaml (`plaintext: true` for a coordinator on loopback, else a `tls`
 * block to fill in), a key file (0600), a default-deny policy template and a migrated database. Refuses to overwrite an existing node. Returns the roster entry to hand to the network.
 */
export async function initNode(options: InitNodeOptions): Promise<{ configFile: string; rosterEntry: RosterEntryJson }> {
  await initCrypto();
  const dir = path.resolve(options.dir);
  const configFile = path.join(dir, 'node.yaml');
  if (existsSync(configFile)) throw new FedlabError('INVALID_ARGUMENT', `${configFile} already exists; refusing to overwrite a node`);
  mkdirSync(dir, { recursive: true });
  const identity = generateIdentity(options.nodeId, 'node', options.displayName ?? options.nodeId);
  writeKeyFile(path.join(dir, 'node.key'), identity, options.passphrase);
  writeFileSync(path.join(dir, 'policy.yaml'), POLICY_TEMPLATE, { flag: 'wx' });
  writeFileSync(
    configFile,
    [
      `node_id: ${options.nodeId}`,
      `coordinator: ${options.coordinator}`,
      'database: node.db',
      'key_file: node.key',
      'policy_file: policy.yaml',
      `roster_file: ${options.rosterFile ? path.resolve(options.rosterFile) : 'roster.yaml'}`,
      ...(options.governanceFile
        ? ['governance_file: governance.json', `governance_fingerprint: ${governanceFingerprint(loadGovernanceFile(options.governanceFile))}`]
        : []),
      'log_level: info',
      ...(isLoopbackAddress(options.coordinator) ? ['plaintext: true'] : NODE_TLS_TEMPLATE),
      '',
    ].join('\n'),
    { flag: 'wx' },
  );
  if (options.governanceFile) {
    loadGovernanceFile(options.governanceFile);
    copyFileSync(options.governanceFile, path.join(dir, 'governance.json'));
  }
  openNodeStore(path.join(dir, 'node.db')).close();
  return { configFile, rosterEntry: publicIdentityJson(identity) };
}
