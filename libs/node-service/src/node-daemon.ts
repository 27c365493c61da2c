import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { FedlabError, silentLogger, type Logger } from '@fedlab/model';
import { generateIdentity, initCrypto, loadRosterFile, publicIdentityJson, readKeyFile, writeKeyFile, type RosterEntryJson } from '@fedlab/crypto';
import * as pb from '@fedlab/proto';
import { catalog, openDatabase } from '@fedlab/store';
import { NodeAgent } from './node-agent';
import { loadNodeConfig, type NodeConfig } from './node-config';
import { NodeConnection } from './node-connection';
import { NODE_SERVICE_MIGRATIONS } from './node-migrations';
import { loadNodePolicy, POLICY_TEMPLATE } from './policy-file';

/** Opens (and migrates) a node's database. */
export function openNodeDatabase(file: string): Database {
  return openDatabase(file, NODE_SERVICE_MIGRATIONS);
}

/** The node's catalog in wire form: metadata only. */
export function nodeCatalog(nodeId: string, db: Database): pb.NodeCatalog {
  return {
    nodeId,
    datasets: catalog(db).map((d) => ({
      dataset: d.dataset,
      description: d.description,
      approxRows: BigInt(d.approxRows),
      columns: d.columns.map((c) => ({ name: c.name, type: c.type, role: c.role, nullable: c.nullable, values: c.values ?? [], description: c.description ?? '' })),
    })),
  };
}

export interface RunningNode {
  config: NodeConfig;
  connection: NodeConnection;
  db: Database;
  stop(): Promise<void>;
}

/** Composition root of the node daemon: config → keys, roster, database, policy → agent → outbound stream. */
export async function startNode(configFile: string, logger: Logger = silentLogger): Promise<RunningNode> {
  await initCrypto();
  const config = loadNodeConfig(configFile);
  const identity = readKeyFile(config.keyFile, process.env.FEDLAB_KEY_PASSPHRASE);
  if (identity.id !== config.nodeId) throw new FedlabError('CONFIG_INVALID', `${configFile}: node_id "${config.nodeId}" does not match the key file's id "${identity.id}"`);
  const roster = loadRosterFile(config.rosterFile);
  const db = openNodeDatabase(config.database);
  loadNodePolicy(config.policyFile);
  const agent = new NodeAgent({ identity, roster, db, policy: () => loadNodePolicy(config.policyFile), logger });
  const connection = new NodeConnection({
    coordinatorAddress: config.coordinator,
    agent,
    catalog: () => nodeCatalog(config.nodeId, db),
    signSecretKey: identity.signSecretKey,
    maxMessageBytes: config.maxMessageBytes,
    logger,
  });
  connection.start();
  return {
    config,
    connection,
    db,
    stop: async () => {
      connection.stop();
      db.close();
    },
  };
}

export interface InitNodeOptions {
  dir: string;
  nodeId: string;
  displayName?: string;
  coordinator: string;
  /** Copied into the node folder when given; otherwise the steward places roster.yaml there. */
  rosterFile?: string;
}

/**
 * Creates a node folder: node.yaml, a key file (0600), a default-deny policy template and a migrated
 * database. Refuses to overwrite an existing node. Returns the roster entry to hand to the network.
 */
export async function initNode(options: InitNodeOptions): Promise<{ configFile: string; rosterEntry: RosterEntryJson }> {
  await initCrypto();
  const dir = path.resolve(options.dir);
  const configFile = path.join(dir, 'node.yaml');
  if (existsSync(configFile)) throw new FedlabError('INVALID_ARGUMENT', `${configFile} already exists; refusing to overwrite a node`);
  mkdirSync(dir, { recursive: true });
  const identity = generateIdentity(options.nodeId, 'node', options.displayName ?? options.nodeId);
  writeKeyFile(path.join(dir, 'node.key'), identity);
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
      'log_level: info',
      '',
    ].join('\n'),
    { flag: 'wx' },
  );
  openNodeDatabase(path.join(dir, 'node.db')).close();
  return { configFile, rosterEntry: publicIdentityJson(identity) };
}
