import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FedlabError, parseDocument, silentLogger, type Logger } from '@fedlab/model';
import { initCrypto, loadGovernanceFile, loadRosterFile, readKeyFile } from '@fedlab/crypto';
import { isLoopbackAddress } from '@fedlab/wire';
import { Coordinator, type CoordinatorOptions } from './coordinator';
import { CoordinatorStore } from './coordinator-store';
import { startCoordinatorServer } from './grpc-server';
import { startPublicRegisterServer } from './public-register';

const coordinatorConfigSchema = z
  .object({
    listen: z.string().min(3, 'host:port to listen on'),
    database: z.string().min(1),
    key_file: z.string().min(1),
    roster_file: z.string().min(1),
    governance_file: z.string().min(1).optional(),
    register_listen: z.string().min(3, 'host:port for the public register page').optional(),
    node_deadline_ms: z.number().int().min(100).max(3_600_000).default(60_000),
    secagg_phase_timeout_ms: z.number().int().min(100).max(600_000).default(10_000),
    linkage_run_timeout_ms: z.number().int().min(1_000).max(3_600_000).default(600_000),
    heartbeat_interval_ms: z.number().int().min(100).max(600_000).default(10_000),
    max_message_bytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(4 * 1024 * 1024),
    log_level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  })
  .strict();

export interface CoordinatorConfig {
  listen: string;
  database: string;
  keyFile: string;
  rosterFile: string;
  /** Pinned governance stewards; when set, only a roster signed by their threshold is accepted. */
  governanceFile?: string;
  /** host:port of the read-only public register (HTML and JSON), if served. */
  registerListen?: string;
  nodeDeadlineMs: number;
  secaggPhaseTimeoutMs: number;
  linkageRunTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxMessageBytes: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
}

/** Reads and validates coordinator.yaml; errors name the field path and the reason. */
export function loadCoordinatorConfig(file: string): CoordinatorConfig {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch {
    throw new FedlabError('CONFIG_INVALID', `${file}: cannot read the coordinator configuration`);
  }
  const c = parseDocument(coordinatorConfigSchema, doc, file, 'CONFIG_INVALID');
  if (c.register_listen && !isLoopbackAddress(c.register_listen)) {
    throw new FedlabError('CONFIG_INVALID', `${file}: register_listen: the register is served on loopback only; publish it through the ministry's web front end`);
  }
  if (!isLoopbackAddress(c.listen)) {
    throw new FedlabError('CONFIG_INVALID', `${file}: listen: plaintext gRPC is only allowed on loopback (127.0.0.1, ::1, localhost)`);
  }
  const at = (p: string) => path.resolve(path.dirname(path.resolve(file)), p);
  return {
    listen: c.listen,
    database: at(c.database),
    keyFile: at(c.key_file),
    rosterFile: at(c.roster_file),
    ...(c.governance_file ? { governanceFile: at(c.governance_file) } : {}),
    ...(c.register_listen ? { registerListen: c.register_listen } : {}),
    nodeDeadlineMs: c.node_deadline_ms,
    secaggPhaseTimeoutMs: c.secagg_phase_timeout_ms,
    linkageRunTimeoutMs: c.linkage_run_timeout_ms,
    heartbeatIntervalMs: c.heartbeat_interval_ms,
    maxMessageBytes: c.max_message_bytes,
    logLevel: c.log_level,
  };
}

export interface RunningCoordinator {
  config: CoordinatorConfig;
  coordinator: Coordinator;
  port: number;
  /** Port of the public register, when configured. */
  registerPort?: number;
  stop(): Promise<void>;
}

/** Composition root of the coordinator daemon. */
export async function startCoordinator(configFile: string, logger: Logger = silentLogger, faults: Pick<CoordinatorOptions, 'failpoint'> = {}): Promise<RunningCoordinator> {
  await initCrypto();
  const config = loadCoordinatorConfig(configFile);
  const identity = readKeyFile(config.keyFile, process.env.FEDLAB_KEY_PASSPHRASE);
  const roster = loadRosterFile(config.rosterFile, config.governanceFile ? { governance: loadGovernanceFile(config.governanceFile) } : {});
  if (!roster.get(identity.id, 'coordinator')) {
    throw new FedlabError('CONFIG_INVALID', `${configFile}: the key file's id "${identity.id}" is not a coordinator on the roster`);
  }
  const store = new CoordinatorStore(config.database);
  const coordinator = new Coordinator({ identity, roster, store, nodeDeadlineMs: config.nodeDeadlineMs, secaggPhaseTimeoutMs: config.secaggPhaseTimeoutMs, linkageRunTimeoutMs: config.linkageRunTimeoutMs, logger, ...faults });
  coordinator.recover();
  const server = await startCoordinatorServer(coordinator, {
    listen: config.listen,
    maxMessageBytes: config.maxMessageBytes,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    logger,
  });
  logger.info({ port: server.port }, 'coordinator listening');
  const register = config.registerListen ? await startPublicRegisterServer(coordinator, config.registerListen) : undefined;
  return {
    config,
    coordinator,
    port: server.port,
    ...(register ? { registerPort: register.port } : {}),
    stop: async () => {
      await register?.stop();
      await server.stop();
      coordinator.close();
      store.close();
    },
  };
}
