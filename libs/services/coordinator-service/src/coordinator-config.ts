import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DEFAULT_MAX_WORK_BYTES, FedlabError, parseDocument } from '@fedlab/model';
import type { ServerCredentials } from '@grpc/grpc-js';
import { createPlaintextServerCredentials, isLoopbackAddress, loadServerTls } from '@fedlab/wire';
import { backupDatabase, LogLeafRepository } from '@fedlab/store';
import { ADMIN_LISTEN_PATTERN, adminListenError } from '@fedlab/ops';

const coordinatorConfigSchema = z
  .object({
    listen: z.string().min(3, 'host:port to listen on'),
    database: z.string().min(1),
    key_file: z.string().min(1),
    roster_file: z.string().min(1),
    governance_file: z.string().min(1).optional(),
    register_listen: z.string().min(3, 'host:port for the public register page').optional(),
    dashboard_listen: z.string().min(3, "host:port for the operators' dashboard").optional(),
    dashboard_token: z.string().min(16, 'at least 16 characters').optional(),
    node_deadline_ms: z.number().int().min(100).max(3_600_000).default(60_000),
    secagg_phase_timeout_ms: z.number().int().min(100).max(600_000).default(10_000),
    linkage_run_timeout_ms: z.number().int().min(1_000).max(3_600_000).default(600_000),
    heartbeat_interval_ms: z.number().int().min(100).max(600_000).default(10_000),
    max_message_bytes: z
      .number()
      .int()
      .min(1024)
      .max(256 * 1024 * 1024)
      .default(4 * 1024 * 1024),
    node_max_message_bytes: z
      .number()
      .int()
      .min(1024)
      .max(256 * 1024 * 1024)
      .default(DEFAULT_MAX_WORK_BYTES),
    admin_listen: z.string().regex(ADMIN_LISTEN_PATTERN, 'host:port of the local admin endpoint').default('127.0.0.1:0'),
    log_level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    plaintext: z.boolean().default(false),
    tls: z
      .object({
        cert_file: z.string().min(1, 'required: the path of a PEM file'),
        key_file: z.string().min(1, 'required: the path of a PEM file'),
        client_ca_file: z.string().min(1, 'required: the path of a PEM file').optional(),
        require_client_cert: z.boolean().default(false),
      })
      .strict()
      .optional(),
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
  /** host:port of the read-only operators' dashboard (HTML and JSON), if served. */
  dashboardListen?: string;
  /** Bearer token every dashboard request must carry: FEDLAB_DASHBOARD_TOKEN, else `dashboard_token`; required off loopback. */
  dashboardToken?: string;
  nodeDeadlineMs: number;
  secaggPhaseTimeoutMs: number;
  linkageRunTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxMessageBytes: number;
  /** The nodes' max_message_bytes: a query whose work item would be larger is refused at submit. */
  nodeMaxMessageBytes: number;
  /** host:port of the local admin endpoint (/healthz, /readyz, /metrics); loopback only, port 0 picks one. */
  adminListen: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Plaintext gRPC, allowed on a loopback `listen` only; otherwise `tls` is set. */
  plaintext: boolean;
  /** The server's TLS files; with `requireClientCert`, clients must present a certificate signed by `clientCaFile` (mTLS). */
  tls?: { certFile: string; keyFile: string; clientCaFile?: string; requireClientCert: boolean };
}

/**
 * Reads and validates coordinator.yaml; errors name the field path and the reason. `env` supplies
 * secrets that override the file (FEDLAB_DASHBOARD_TOKEN).
 */
export function loadCoordinatorConfig(file: string, env: DaemonEnv = {}): CoordinatorConfig {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch {
    throw new FedlabError('CONFIG_INVALID', `${file}: cannot read the coordinator configuration`);
  }
  const c = parseDocument(coordinatorConfigSchema, doc, file, 'CONFIG_INVALID');
  if (c.register_listen && !isLoopbackAddress(c.register_listen)) {
    throw new FedlabError(
      'CONFIG_INVALID',
      `${file}: register_listen: the register is served on loopback only; publish it through the ministry's web front end`,
    );
  }
  const adminRefused = adminListenError(c.admin_listen);
  if (adminRefused) throw new FedlabError('CONFIG_INVALID', `${file}: admin_listen: ${adminRefused}`);
  const envToken = env.FEDLAB_DASHBOARD_TOKEN || undefined;
  if (envToken !== undefined && envToken.length < 16) throw new FedlabError('CONFIG_INVALID', `${file}: FEDLAB_DASHBOARD_TOKEN: at least 16 characters`);
  const dashboardToken = envToken ?? c.dashboard_token;
  if (c.dashboard_listen && !dashboardToken && !isLoopbackAddress(c.dashboard_listen)) {
    throw new FedlabError(
      'CONFIG_INVALID',
      `${file}: dashboard_token: required when dashboard_listen is not a loopback address (${c.dashboard_listen}); set FEDLAB_DASHBOARD_TOKEN or dashboard_token`,
    );
  }
  if (c.dashboard_listen && !isLoopbackAddress(c.dashboard_listen) && !c.tls) {
    throw new FedlabError(
      'CONFIG_INVALID',
      `${file}: dashboard_listen: off loopback the dashboard is served over HTTPS with the coordinator's tls certificate; configure tls or use a loopback address`,
    );
  }
  if (c.plaintext && c.tls) throw new FedlabError('CONFIG_INVALID', `${file}: tls: not allowed with plaintext: true; remove one of them`);
  if (c.plaintext && !isLoopbackAddress(c.listen)) {
    throw new FedlabError(
      'CONFIG_INVALID',
      `${file}: plaintext: plaintext gRPC is only allowed on loopback (127.0.0.1, ::1, localhost); configure tls for ${c.listen}`,
    );
  }
  if (!c.plaintext && !c.tls)
    throw new FedlabError('CONFIG_INVALID', `${file}: tls: required (cert_file and key_file) unless plaintext: true on a loopback address`);
  if (c.tls?.require_client_cert && !c.tls.client_ca_file)
    throw new FedlabError('CONFIG_INVALID', `${file}: tls.client_ca_file: required when tls.require_client_cert is true`);
  if (c.tls?.client_ca_file && !c.tls.require_client_cert) {
    throw new FedlabError(
      'CONFIG_INVALID',
      `${file}: tls.require_client_cert: must be true when tls.client_ca_file is set (client certificates are either required or not asked for)`,
    );
  }
  const at = (p: string) => path.resolve(path.dirname(path.resolve(file)), p);
  return {
    listen: c.listen,
    database: at(c.database),
    keyFile: at(c.key_file),
    rosterFile: at(c.roster_file),
    ...(c.governance_file ? { governanceFile: at(c.governance_file) } : {}),
    ...(c.register_listen ? { registerListen: c.register_listen } : {}),
    ...(c.dashboard_listen ? { dashboardListen: c.dashboard_listen } : {}),
    ...(dashboardToken ? { dashboardToken } : {}),
    nodeDeadlineMs: c.node_deadline_ms,
    secaggPhaseTimeoutMs: c.secagg_phase_timeout_ms,
    linkageRunTimeoutMs: c.linkage_run_timeout_ms,
    heartbeatIntervalMs: c.heartbeat_interval_ms,
    maxMessageBytes: c.max_message_bytes,
    nodeMaxMessageBytes: c.node_max_message_bytes,
    adminListen: c.admin_listen,
    logLevel: c.log_level,
    plaintext: c.plaintext,
    ...(c.tls
      ? {
          tls: {
            certFile: at(c.tls.cert_file),
            keyFile: at(c.tls.key_file),
            ...(c.tls.client_ca_file ? { clientCaFile: at(c.tls.client_ca_file) } : {}),
            requireClientCert: c.tls.require_client_cert,
          },
        }
      : {}),
  };
}

/**
 * The gRPC server credentials coordinator.yaml asks for, and with TLS the checked certificate and key (the
 * dashboard serves HTTPS with them); a bad TLS file fails with CONFIG_INVALID naming its field.
 */
export function coordinatorCredentials(
  config: CoordinatorConfig,
  configFile: string,
): { credentials: ServerCredentials; pems?: { cert: Buffer; key: Buffer } } {
  const tls = config.tls;
  if (!tls) return { credentials: createPlaintextServerCredentials(config.listen) };
  const loaded = loadServerTls(
    {
      cert: { path: tls.certFile, name: 'tls.cert_file' },
      key: { path: tls.keyFile, name: 'tls.key_file' },
      ...(tls.clientCaFile ? { clientCa: { path: tls.clientCaFile, name: 'tls.client_ca_file' } } : {}),
    },
    { code: 'CONFIG_INVALID', source: configFile },
  );
  return { credentials: loaded.credentials, pems: { cert: loaded.certPem, key: loaded.keyPem } };
}

/**
 * Backs up a (running) coordinator's database to `out` (docs/operations.md "Backup and restore") and
 * returns the size of the log in the copy: the tree size a restore from it goes back to.
 */
export async function backupCoordinator(configFile: string, out: string, env: DaemonEnv = {}): Promise<{ file: string; logEntries: number }> {
  const config = loadCoordinatorConfig(configFile, env);
  const copy = await backupDatabase(config.database, out);
  try {
    return { file: out, logEntries: new LogLeafRepository(copy).count() };
  } finally {
    copy.close();
  }
}

/**
 * The environment variables a daemon honours, read by the app that starts it (libraries never read
 * `process.env`): FEDLAB_KEY_PASSPHRASE, FEDLAB_DASHBOARD_TOKEN, FEDLAB_PSI_BACKEND (docs/configuration.md).
 */
export type DaemonEnv = Record<string, string | undefined>;
