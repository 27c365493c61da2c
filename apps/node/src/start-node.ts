import { FedlabError, SOFTWARE_VERSION, silentLogger, type Logger } from '@fedlab/model';
import { defaultRistrettoBackend, initCrypto, readKeyFileWithPassphrase, useNativeNoiseKernel, type PassphraseSource } from '@fedlab/crypto';
import { lockDatabaseForDaemon, openNodeStoreWithEngine, type NodeStore } from '@fedlab/store';
import { Registry, collectProcessMetrics, nodeMetrics, startAdminServer } from '@fedlab/ops';
import {
  NodeAgent,
  acceptRosterUpdate,
  NodeConnection,
  loadNodePolicy,
  policyLoader,
  loadPinnedRoster,
  nodeCatalog,
  nodeChannelCredentials,
  type NodeAgentOptions,
  type NodeConfig,
} from '@fedlab/node-service';

export interface RunningNode {
  config: NodeConfig;
  connection: NodeConnection;
  store: NodeStore;
  /** URL of the local admin endpoint (/healthz, /readyz, /metrics), e.g. `http://127.0.0.1:9465`. */
  adminUrl: string;
  stop(): Promise<void>;
}

export interface StartNodeOptions {
  configFile: string;
  /** node.yaml, loaded once by the caller. */
  config: NodeConfig;
  logger?: Logger;
  /** Where an encrypted key file's passphrase comes from (@fedlab/crypto `passphraseSources`). */
  passphrase?: PassphraseSource[];
  /** The environment an engine takes its credentials from (e.g. PostgreSQL's), read by the caller. */
  env?: Readonly<Record<string, string | undefined>>;
  /** FEDLAB_PSI_BACKEND, read by the caller. */
  psiBackend?: string;
  faults?: Pick<NodeAgentOptions, 'failpoint'>;
  /**
   * Called when the database can no longer be synced to the disk: the node has stopped sending anything
   * (it cannot say what is on the disk) and should be stopped (the daemon exits with code 1).
   */
  onFatal?: (error: FedlabError) => void;
}

/**
 * The node daemon's composition root: config → key, credentials, database, pinned roster, policy →
 * agent → outbound stream, admin endpoint. Logs its start, when it is ready (attached) and its shutdown.
 */
export async function startNode(options: StartNodeOptions): Promise<RunningNode> {
  const { configFile, config } = options;
  const logger = options.logger ?? silentLogger;
  logger.info({ nodeId: config.nodeId, version: SOFTWARE_VERSION, config: configFile }, 'node starting');
  await initCrypto();
  const noiseKernel = useNativeNoiseKernel();
  logger.info({ nodeId: config.nodeId, noiseKernel: noiseKernel.name, reason: noiseKernel.fallbackReason }, 'noise sampling');
  const credentials = nodeChannelCredentials(config, configFile);
  const identity = await readKeyFileWithPassphrase(config.keyFile, options.passphrase ?? []);
  const psiBackend = defaultRistrettoBackend({ FEDLAB_PSI_BACKEND: options.psiBackend });
  if (identity.id !== config.nodeId)
    throw new FedlabError('CONFIG_INVALID', `${configFile}: node_id "${config.nodeId}" does not match the key file's id "${identity.id}"`);
  const lock = lockDatabaseForDaemon(config.database, 'node');
  let store: NodeStore | undefined;
  let roster;
  /** Set when the database could not be synced: the node sends nothing more and is not ready. */
  let fatal: string | undefined;
  try {
    store = await openNodeStoreWithEngine(config.database, config.engine, options.env ?? {});
    // Group commit: commits do not wait for the disk; every message waits for one shared sync of the
    // commits before it (NodeStore.outputs), so the next work item runs while an answer's commit syncs.
    store.startGroupCommit({
      onFailure: (error) => {
        const failure = new FedlabError(
          'INTERNAL',
          `the node database could not be synced to the disk (${(error as NodeJS.ErrnoException).code ?? 'error'}); nothing more is sent`,
        );
        logger.error({ nodeId: config.nodeId, err: error }, failure.message);
        fatal = failure.message;
        options.onFatal?.(failure);
      },
      // Syncs follow outputs, which start once the metrics below exist.
      onSynced: (seconds, outputs) => metrics.databaseSynced(seconds, outputs),
    });
    roster = loadPinnedRoster(store, config);
    loadNodePolicy(config.policyFile);
  } catch (error) {
    await closeStore(store);
    lock.release();
    throw error;
  }
  const registry = new Registry();
  collectProcessMetrics(registry);
  const metrics = nodeMetrics(registry, {
    databaseBytes: () => store.sizeBytes(),
    auditLogEntries: () => store.audit.head().seq,
    coordinatorAttached: () => (connection.attached ? 1 : 0),
  });
  const agent = new NodeAgent({
    identity,
    roster,
    store,
    policy: policyLoader(config.policyFile),
    logger,
    metrics,
    maxWorkBytes: config.maxMessageBytes,
    psiBackend,
    ...options.faults,
  });
  const connection = new NodeConnection({
    coordinatorAddress: config.coordinator,
    agent,
    catalog: () => nodeCatalog(config.nodeId, store),
    signSecretKey: identity.signSecretKey,
    acceptRoster: (signedRoster) => acceptRosterUpdate(store, config, agent.roster, signedRoster),
    credentials,
    maxMessageBytes: config.maxMessageBytes,
    logger,
    metrics,
  });
  let stopping = false;
  const admin = await startAdminServer({
    listen: config.adminListen,
    registry,
    logger,
    ready: () =>
      fatal !== undefined
        ? fatal
        : stopping
          ? 'the node is shutting down'
          : !store.open
            ? 'the database is closed'
            : !connection.attached
              ? 'not attached to the coordinator'
              : undefined,
  }).catch(async (error: unknown) => {
    // Nothing started yet but the database: close it and free the lock (an in-process start must not leak them).
    await closeStore(store);
    lock.release();
    throw error;
  });
  logger.info({ nodeId: config.nodeId, url: admin.url }, 'admin endpoint listening');
  connection.once('attached', () => logger.info({ nodeId: config.nodeId }, 'node ready: attached to the coordinator'));
  connection.start();
  // Evaluation data past its retention period is deleted at start, then hourly (and before every query).
  const purge = () => {
    const deleted = agent.purgeEvaluations();
    if (deleted > 0) logger.info({ nodeId: config.nodeId, evaluations: deleted }, 'evaluation data deleted after its retention period');
  };
  purge();
  const purgeTimer = setInterval(purge, 3_600_000);
  purgeTimer.unref();
  return {
    config,
    connection,
    store,
    adminUrl: admin.url,
    stop: async () => {
      stopping = true;
      logger.info({ nodeId: config.nodeId }, 'node shutting down');
      clearInterval(purgeTimer);
      connection.stop();
      await closeStore(store);
      lock.release();
      await admin.stop();
      logger.info({ nodeId: config.nodeId }, 'node stopped');
    },
  };
}

/** Closes the dataset engine's connections, then the node database. */
async function closeStore(store: NodeStore | undefined): Promise<void> {
  if (!store) return;
  try {
    await store.datasets.close();
  } finally {
    store.close();
  }
}
