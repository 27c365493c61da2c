import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FedlabError, parseDocument } from '@fedlab/model';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { createChannelCredentials, createPlaintextChannelCredentials, isLoopbackAddress } from '@fedlab/wire';
import { ADMIN_LISTEN_PATTERN, adminListenError } from '@fedlab/ops';
import { ENGINE_KINDS, type EngineSettings } from '@fedlab/store';

const nodeConfigSchema = z
  .object({
    node_id: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, "-" or "_", starting with a letter'),
    coordinator: z.string().min(3, 'host:port of the coordinator'),
    database: z.string().min(1),
    key_file: z.string().min(1),
    policy_file: z.string().min(1),
    roster_file: z.string().min(1),
    governance_file: z.string().min(1).optional(),
    governance_fingerprint: z
      .string()
      .regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits (as `fedlab node init --governance` writes it)')
      .optional(),
    admin_listen: z.string().regex(ADMIN_LISTEN_PATTERN, 'host:port of the local admin endpoint').default('127.0.0.1:0'),
    max_message_bytes: z
      .number()
      .int()
      .min(1024)
      .max(256 * 1024 * 1024)
      .default(4 * 1024 * 1024),
    log_level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    // `engine: sqlite` or `engine: { kind: …, <its settings> }`; checked by engineSettings.
    engine: z.union([z.string(), z.object({ kind: z.string() }).passthrough()]).default('sqlite'),
    plaintext: z.boolean().default(false),
    tls: z
      .object({
        ca_file: z.string().min(1, 'required: the path of a PEM file'),
        cert_file: z.string().min(1, 'required: the path of a PEM file').optional(),
        key_file: z.string().min(1, 'required: the path of a PEM file').optional(),
        server_name: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** A node daemon's configuration, with every path resolved against the config file's folder. */
export interface NodeConfig {
  nodeId: string;
  coordinator: string;
  database: string;
  keyFile: string;
  policyFile: string;
  rosterFile: string;
  /** Pinned governance stewards; when set, only a roster signed by their threshold is accepted. */
  governanceFile?: string;
  /** The governance file's fingerprint pinned at init: a file naming other stewards is refused. */
  governanceFingerprint?: string;
  maxMessageBytes: number;
  /** host:port of the local admin endpoint (/healthz, /readyz, /metrics); loopback only, port 0 picks one. */
  adminListen: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** The engine that holds the node's datasets (default sqlite: tables of the node database). */
  engine: EngineSettings;
  /** Plaintext gRPC, allowed to a loopback `coordinator` only; otherwise `tls` is set. */
  plaintext: boolean;
  /** The CA that signed the coordinator's certificate; the node's own certificate and key for mTLS; the name to check. */
  tls?: { caFile: string; certFile?: string; keyFile?: string; serverName?: string };
}

/** Reads and validates node.yaml; errors name the field path and the reason. */
export function loadNodeConfig(file: string): NodeConfig {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch {
    throw new FedlabError('CONFIG_INVALID', `${file}: cannot read the node configuration`);
  }
  const c = parseDocument(nodeConfigSchema, doc, file, 'CONFIG_INVALID');
  if (c.plaintext && c.tls) throw new FedlabError('CONFIG_INVALID', `${file}: tls: not allowed with plaintext: true; remove one of them`);
  if (c.plaintext && !isLoopbackAddress(c.coordinator)) {
    throw new FedlabError(
      'CONFIG_INVALID',
      `${file}: plaintext: plaintext gRPC is only allowed to loopback (127.0.0.1, ::1, localhost); configure tls for ${c.coordinator}`,
    );
  }
  if (!c.plaintext && !c.tls) throw new FedlabError('CONFIG_INVALID', `${file}: tls: required (ca_file) unless plaintext: true to a loopback address`);
  if (c.governance_fingerprint && !c.governance_file) throw new FedlabError('CONFIG_INVALID', `${file}: governance_file: required with governance_fingerprint`);
  const adminRefused = adminListenError(c.admin_listen);
  if (adminRefused) throw new FedlabError('CONFIG_INVALID', `${file}: admin_listen: ${adminRefused}`);
  if (c.tls?.cert_file && !c.tls.key_file) throw new FedlabError('CONFIG_INVALID', `${file}: tls.key_file: required with tls.cert_file`);
  if (c.tls?.key_file && !c.tls.cert_file) throw new FedlabError('CONFIG_INVALID', `${file}: tls.cert_file: required with tls.key_file`);
  const dir = path.dirname(path.resolve(file));
  const at = (p: string) => path.resolve(dir, p);
  return {
    nodeId: c.node_id,
    coordinator: c.coordinator,
    database: at(c.database),
    keyFile: at(c.key_file),
    policyFile: at(c.policy_file),
    rosterFile: at(c.roster_file),
    ...(c.governance_file ? { governanceFile: at(c.governance_file) } : {}),
    ...(c.governance_fingerprint ? { governanceFingerprint: c.governance_fingerprint } : {}),
    maxMessageBytes: c.max_message_bytes,
    adminListen: c.admin_listen,
    logLevel: c.log_level,
    engine: engineSettings(c.engine, file, at),
    plaintext: c.plaintext,
    ...(c.tls
      ? {
          tls: {
            caFile: at(c.tls.ca_file),
            ...(c.tls.cert_file ? { certFile: at(c.tls.cert_file) } : {}),
            ...(c.tls.key_file ? { keyFile: at(c.tls.key_file) } : {}),
            ...(c.tls.server_name ? { serverName: c.tls.server_name } : {}),
          },
        }
      : {}),
  };
}

/**
 * The `engine:` setting of node.yaml as {@link EngineSettings}, paths resolved with `at`.
 *
 * @throws FedlabError CONFIG_INVALID naming `engine` for an engine this build does not know.
 */
function engineSettings(setting: string | { kind: string }, file: string, at: (p: string) => string): EngineSettings {
  const kind = typeof setting === 'string' ? setting : setting.kind;
  switch (kind) {
    case 'sqlite':
      if (typeof setting !== 'string' && Object.keys(setting).length > 1)
        throw new FedlabError('CONFIG_INVALID', `${file}: engine: the sqlite engine takes no settings; write engine: sqlite`);
      return { kind: 'sqlite' };
    case 'duckdb':
      return duckDbSettings(typeof setting === 'string' ? {} : setting, file, at);
    case 'postgres':
      return postgresEngineSettings(setting, file, at);
    default:
      throw new FedlabError('CONFIG_INVALID', `${file}: engine: unknown engine "${kind}"; use ${ENGINE_KINDS.join(', ')}`);
  }
}

const duckDbSchema = z
  .object({
    kind: z.literal('duckdb').optional(),
    folder: z.string().min(1).default('datasets'),
    threads: z.number().int().positive().optional(),
    memory_limit: z
      .string()
      .regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, { error: 'expected a size such as 512MB or 2GB' })
      .optional(),
  })
  .strict();

/** `engine: duckdb` or `engine: { kind: duckdb, folder, threads, memory_limit }`; the folder (default `datasets`) is relative to node.yaml. */
function duckDbSettings(setting: object, file: string, at: (p: string) => string): EngineSettings {
  const parsed = duckDbSchema.safeParse(setting);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length > 0 ? `.${issue.path.join('.')}` : '';
    throw new FedlabError('CONFIG_INVALID', `${file}: engine${field}: ${issue.message}`);
  }
  const { folder, threads, memory_limit } = parsed.data;
  return {
    kind: 'duckdb',
    folder: at(folder),
    ...(threads === undefined ? {} : { threads }),
    ...(memory_limit === undefined ? {} : { memoryLimit: memory_limit }),
  };
}

const postgresEngineSchema = z.strictObject({
  kind: z.literal('postgres'),
  url_env: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'must be the name of an environment variable (A-Z, 0-9, _)' })
    .default('FEDLAB_POSTGRES_URL'),
  import_url_env: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'must be the name of an environment variable (A-Z, 0-9, _)' })
    .default('FEDLAB_PG_IMPORT_URL'),
  datasets_file: z.string().min(1),
});

/**
 * `engine: { kind: postgres, url_env, import_url_env, datasets_file }` (docs/engines-postgres.md); the connection
 * strings themselves are never in node.yaml.
 */
function postgresEngineSettings(setting: string | { kind: string }, file: string, at: (p: string) => string): EngineSettings {
  const parsed = postgresEngineSchema.safeParse(typeof setting === 'string' ? { kind: setting } : setting);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    const field = issue!.path.length > 0 ? `.${issue!.path.join('.')}` : '';
    const message = issue!.code === 'invalid_type' && issue!.input === undefined ? 'is required' : issue!.message;
    throw new FedlabError('CONFIG_INVALID', `${file}: engine${field}: ${message}`);
  }
  return { kind: 'postgres', urlEnv: parsed.data.url_env, importUrlEnv: parsed.data.import_url_env, datasetsFile: at(parsed.data.datasets_file) };
}

/** The channel credentials node.yaml asks for, to reach its coordinator; a bad TLS file fails with CONFIG_INVALID naming its field. */
export function nodeChannelCredentials(config: Pick<NodeConfig, 'coordinator' | 'tls'>, configFile: string): ChannelCredentials {
  const tls = config.tls;
  if (!tls) return createPlaintextChannelCredentials(config.coordinator, 'configure tls in node.yaml');
  return createChannelCredentials(
    {
      ca: { path: tls.caFile, name: 'tls.ca_file' },
      ...(tls.certFile && tls.keyFile
        ? { client: { cert: { path: tls.certFile, name: 'tls.cert_file' }, key: { path: tls.keyFile, name: 'tls.key_file' } } }
        : {}),
      ...(tls.serverName ? { serverName: tls.serverName } : {}),
    },
    { code: 'CONFIG_INVALID', source: configFile },
  );
}
