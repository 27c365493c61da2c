import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FedlabError, parseDocument } from '@fedlab/model';
import { isLoopbackAddress } from '@fedlab/wire';

const nodeConfigSchema = z
  .object({
    node_id: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, "-" or "_", starting with a letter'),
    coordinator: z.string().min(3, 'host:port of the coordinator'),
    database: z.string().min(1),
    key_file: z.string().min(1),
    policy_file: z.string().min(1),
    roster_file: z.string().min(1),
    governance_file: z.string().min(1).optional(),
    max_message_bytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(4 * 1024 * 1024),
    log_level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
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
  maxMessageBytes: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
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
  if (!isLoopbackAddress(c.coordinator)) {
    throw new FedlabError('CONFIG_INVALID', `${file}: coordinator: plaintext gRPC is only allowed to a loopback address (127.0.0.1, ::1, localhost)`);
  }
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
    maxMessageBytes: c.max_message_bytes,
    logLevel: c.log_level,
  };
}
