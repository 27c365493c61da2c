import { FedlabError, SOFTWARE_VERSION, silentLogger, type Logger } from '@fedlab/model';
import { initCrypto, loadGovernanceFile, loadRosterFile, readKeyFileWithPassphrase, type PassphraseSource } from '@fedlab/crypto';
import { CoordinatorStore, databaseSizeBytes, lockDatabaseForDaemon } from '@fedlab/store';
import { Registry, collectProcessMetrics, coordinatorMetrics, startAdminServer } from '@fedlab/ops';
import { isLoopbackAddress } from '@fedlab/wire';
import {
  Coordinator,
  coordinatorCredentials,
  startCoordinatorServer,
  startDashboardServer,
  startPublicRegisterServer,
  type CoordinatorConfig,
  type CoordinatorOptions,
} from '@fedlab/coordinator-service';

export interface RunningCoordinator {
  config: CoordinatorConfig;
  coordinator: Coordinator;
  port: number;
  /** Port of the public register, when configured. */
  registerPort?: number;
  /** Port of the operators' dashboard, when configured. */
  dashboardPort?: number;
  /** URL of the local admin endpoint (/healthz, /readyz, /metrics), e.g. `http://127.0.0.1:9464`. */
  adminUrl: string;
  stop(): Promise<void>;
}

export interface StartCoordinatorOptions {
  configFile: string;
  /** coordinator.yaml, loaded once by the caller. */
  config: CoordinatorConfig;
  logger?: Logger;
  /** Where an encrypted key file's passphrase comes from (@fedlab/crypto `passphraseSources`). */
  passphrase?: PassphraseSource[];
  faults?: Pick<CoordinatorOptions, 'failpoint'>;
  /**
   * Called when the database can no longer be synced to the disk: the coordinator has stopped sending
   * anything (it cannot say what is on the disk) and should be stopped (the daemon exits with code 1).
   */
  onFatal?: (error: FedlabError) => void;
}

/**
 * The coordinator daemon's composition root: config → key, credentials, roster, database → coordinator →
 * gRPC server, public register, dashboard, admin endpoint. Logs its start, when it listens, and its shutdown.
 */
export async function startCoordinator(options: StartCoordinatorOptions): Promise<RunningCoordinator> {
  const { configFile, config } = options;
  const logger = options.logger ?? silentLogger;
  logger.info({ version: SOFTWARE_VERSION, config: configFile }, 'coordinator starting');
  await initCrypto();
  const { credentials, pems } = coordinatorCredentials(config, configFile);
  const identity = await readKeyFileWithPassphrase(config.keyFile, options.passphrase ?? []);
  const governance = config.governanceFile ? loadGovernanceFile(config.governanceFile) : undefined;
  const roster = loadRosterFile(config.rosterFile, governance ? { governance } : {});
  if (!roster.get(identity.id, 'coordinator')) {
    throw new FedlabError('CONFIG_INVALID', `${configFile}: the key file's id "${identity.id}" is not a coordinator on the roster`);
  }
  const lock = lockDatabaseForDaemon(config.database, 'coordinator');
  // What a start that fails part-way has opened, closed again in reverse (an in-process start must not leak a bound port).
  const undo: Array<() => unknown> = [() => lock.release()];
  try {
    // Group commit: commits do not wait for the disk; every reply and message waits for one shared sync of
    // the commits before it (CoordinatorStore.outputs), so the event loop never blocks on the disk.
    /** Set when the database could not be synced: the coordinator sends nothing more and is not ready. */
    let fatal: string | undefined;
    const store = new CoordinatorStore(config.database, {
      groupCommit: {
        onFailure: (error) => {
          const failure = new FedlabError(
            'INTERNAL',
            `the coordinator database could not be synced to the disk (${(error as NodeJS.ErrnoException).code ?? 'error'}); nothing more is sent`,
          );
          logger.error({ err: error }, failure.message);
          fatal = failure.message;
          options.onFatal?.(failure);
        },
        // Syncs follow outputs, which start once the metrics below exist.
        onSynced: (seconds, outputs) => metrics.databaseSynced(seconds, outputs),
      },
    });
    undo.push(() => store.close());
    const registry = new Registry();
    collectProcessMetrics(registry);
    const metrics = coordinatorMetrics(registry, {
      databaseBytes: () => databaseSizeBytes(store.db),
      transparencyLogEntries: () => coordinator.log.size,
      nodesAttached: () => coordinator.connectedNodes().length,
      rosterNodes: () => roster.all('node').length,
    });
    const coordinator = new Coordinator({
      identity,
      roster,
      store,
      nodeDeadlineMs: config.nodeDeadlineMs,
      secaggPhaseTimeoutMs: config.secaggPhaseTimeoutMs,
      linkageRunTimeoutMs: config.linkageRunTimeoutMs,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      maxWorkBytes: config.nodeMaxMessageBytes,
      logger,
      metrics,
      ...options.faults,
    });
    coordinator.recover();
    undo.push(() => coordinator.close());
    const server = await startCoordinatorServer(coordinator, {
      listen: config.listen,
      maxMessageBytes: config.maxMessageBytes,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      credentials,
      logger,
      rosterPublication: { ...(governance ? { governance } : {}), file: config.rosterFile },
    });
    logger.info({ port: server.port }, 'coordinator listening: ready for nodes and clients');
    undo.push(() => server.stop());
    const register = config.registerListen ? await startPublicRegisterServer(coordinator, config.registerListen) : undefined;
    undo.push(() => register?.stop());
    // Off loopback the dashboard speaks HTTPS with the coordinator's own certificate (loadCoordinatorConfig checked there is one).
    const dashboardTls = config.dashboardListen && !isLoopbackAddress(config.dashboardListen) ? pems : undefined;
    const dashboard = config.dashboardListen
      ? await startDashboardServer(coordinator, store, {
          listen: config.dashboardListen,
          token: config.dashboardToken,
          logger,
          ...(dashboardTls ? { tls: dashboardTls } : {}),
        })
      : undefined;
    undo.push(() => dashboard?.stop());
    let stopping = false;
    // Ready once one node is attached, not all: a ministry's maintenance must not take the whole network out of rotation (docs/operations.md).
    const admin = await startAdminServer({
      listen: config.adminListen,
      registry,
      logger,
      ready: () =>
        fatal !== undefined
          ? fatal
          : stopping
            ? 'the coordinator is shutting down'
            : !store.db.open
              ? 'the database is closed'
              : coordinator.rolledBack
                ? 'LOG_ROLLBACK: restored from an older backup (a node verified a larger log)'
                : coordinator.connectedNodes().length === 0
                  ? 'no node is attached'
                  : undefined,
    });
    logger.info({ url: admin.url }, 'admin endpoint listening');
    return {
      config,
      coordinator,
      port: server.port,
      ...(register ? { registerPort: register.port } : {}),
      ...(dashboard ? { dashboardPort: dashboard.port } : {}),
      adminUrl: admin.url,
      stop: async () => {
        stopping = true;
        logger.info({}, 'coordinator shutting down');
        server.health.setServing(false);
        await dashboard?.stop();
        await register?.stop();
        await server.stop();
        coordinator.close();
        store.close();
        lock.release();
        await admin.stop();
        logger.info({}, 'coordinator stopped');
      },
    };
  } catch (error) {
    for (const step of undo.reverse()) await step();
    throw error;
  }
}
