import { Command } from 'commander';
import pino from 'pino';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { FedlabError } from '@fedlab/model';
import { initCrypto } from '@fedlab/crypto';
import { type Roster } from '@fedlab/governance';
import { type FedlabClient, type QueryResultView } from '@fedlab/client';
import { clientFromFlags, credentialsFromFlags, rosterFromFlags, type ResearcherFlags } from './researcher-context';
import { renderAnswer, renderPooled, renderStatus } from './output';

/* Helpers shared by the command groups of the fedlab CLI (apps/cli/src/commands). */

export const json = (value: unknown) =>
  JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? Number(v) : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v), 2);

/** TLS to the coordinator (docs/configuration.md); without --ca, plaintext is allowed to a loopback address only. */
export function tlsOptions(cmd: Command): Command {
  return cmd
    .option('--ca <file>', "CA that signed the coordinator's TLS certificate (default: $FEDLAB_CA)")
    .option('--client-cert <file>', 'client certificate, when the coordinator requires mutual TLS (default: $FEDLAB_CLIENT_CERT)')
    .option('--client-key <file>', 'key of the client certificate (default: $FEDLAB_CLIENT_KEY)');
}

export function researcherOptions(cmd: Command): Command {
  return tlsOptions(
    cmd
      .option('--coordinator <host:port>', 'coordinator address (default: $FEDLAB_COORDINATOR)')
      .option('--key <file>', 'researcher key file (default: $FEDLAB_KEY)')
      .option(
        '--passphrase-file <file>',
        "file holding the key file's passphrase (default: $FEDLAB_KEY_PASSPHRASE_FILE; else $FEDLAB_KEY_PASSPHRASE, else asked on the terminal)",
      )
      .option('--roster <file>', 'roster used to verify node signatures (default: $FEDLAB_ROSTER)')
      .option('--governance <file>', 'governance stewards that must have signed the roster (default: $FEDLAB_GOVERNANCE)')
      .option('--json', 'machine-readable output'),
  );
}

export function logger(level: string) {
  return pino({ level, base: { pid: process.pid } }, pino.destination(2));
}

/** Runs `action` with a researcher client built from the flags and closes it afterwards. */
export async function withClient<T>(flags: ResearcherFlags, needKey: boolean, action: (client: FedlabClient) => Promise<T>): Promise<T> {
  const client = await clientFromFlags(flags, needKey);
  try {
    return await action(client);
  } finally {
    client.close();
  }
}
export const renderResult = (r: QueryResultView) =>
  `${renderStatus(r.status)}\n\n${[...r.answers.map(renderAnswer), ...(r.pooled ? [renderPooled(r.pooled)] : [])].join('\n\n')}`;

/**
 * The coordinator to reach and the roster to verify it with, from the flags or FEDLAB_COORDINATOR and
 * FEDLAB_ROSTER (read-only clients: the public log, the governance register).
 */
export async function coordinatorTarget(o: ResearcherFlags): Promise<{ address: string; roster: Roster; credentials: ChannelCredentials }> {
  await initCrypto();
  const address = o.coordinator ?? process.env.FEDLAB_COORDINATOR;
  const roster = rosterFromFlags(o);
  if (!address || !roster) throw new FedlabError('INVALID_ARGUMENT', 'pass --coordinator and --roster (or set FEDLAB_COORDINATOR and FEDLAB_ROSTER)');
  return { address, roster, credentials: credentialsFromFlags(o, address) };
}

/**
 * Lists `serve` under a command group. bin/fedlab.js hands `fedlab node serve` and `fedlab coordinator
 * serve` to the daemon apps (apps/node, apps/coordinator) before this CLI loads, so this entry only
 * describes the command; reaching its action means the CLI was run without that entry point.
 */
export function daemonCommand(group: Command, description: string): void {
  group
    .command('serve')
    .description(description)
    .allowUnknownOption()
    .helpOption(false)
    .action(() => {
      throw new FedlabError('INVALID_ARGUMENT', `fedlab ${group.name()} serve is run by the fedlab command (bin/fedlab.js), which starts the daemon app`);
    });
}
