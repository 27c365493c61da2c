import type { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateIdentity, initCrypto, writeKeyFile } from '@fedlab/crypto';
import { publicIdentityJson } from '@fedlab/governance';
import { backupCoordinator } from '@fedlab/coordinator-service';
import { isLoopbackAddress } from '@fedlab/wire';
import { daemonCommand, json } from '../cli-common';
import { newKeyPassphraseFromFlags } from '../researcher-context';

/** Registers the `fedlab` commands for the coordinator: init, backup, serve. */
export function registerCoordinatorCommands(program: Command): void {
  // ── coordinator ───────────────────────────────────────────────────────────────
  const coordinator = program.command('coordinator').description('the coordinator: routes, countersigns and logs queries');
  // Written for a listening address off loopback: the empty paths fail validation, naming the field, until the operator fills them in.
  const COORDINATOR_TLS_TEMPLATE = [
    'tls:',
    '  cert_file: ""  # PEM certificate chain of this coordinator (its host names or addresses in subjectAltName)',
    '  key_file: ""  # PEM private key of that certificate',
    '  # client_ca_file: client-ca.pem  # with require_client_cert: true, nodes and clients must present a certificate signed by this CA',
    '  # require_client_cert: true',
    '',
  ].join('\n');
  coordinator
    .command('init')
    .description('create a coordinator folder: coordinator.yaml and coordinator.key (0600)')
    .requiredOption('--dir <dir>', 'coordinator folder')
    .option('--id <id>', 'coordinator id', 'coordinator')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:7443')
    .option('--roster <file>', 'roster file', 'roster.yaml')
    .option('--encrypt', 'encrypt coordinator.key (passphrase from --passphrase-file, $FEDLAB_KEY_PASSPHRASE_FILE, $FEDLAB_KEY_PASSPHRASE, or asked twice)')
    .option('--passphrase-file <file>', 'encrypt coordinator.key with the passphrase on the first line of this file (mode 0600)')
    .action(async (o: { dir: string; id: string; listen: string; roster: string; encrypt?: boolean; passphraseFile?: string }) => {
      await initCrypto();
      const keyFile = path.join(o.dir, 'coordinator.key');
      const passphrase = await newKeyPassphraseFromFlags(keyFile, o);
      mkdirSync(o.dir, { recursive: true });
      const identity = generateIdentity(o.id, 'coordinator', 'Coordinator');
      writeKeyFile(keyFile, identity, passphrase);
      writeFileSync(path.join(o.dir, 'coordinator.pub.json'), `${JSON.stringify(publicIdentityJson(identity), null, 2)}\n`);
      writeFileSync(
        path.join(o.dir, 'coordinator.yaml'),
        `listen: ${o.listen}\ndatabase: coordinator.db\nkey_file: coordinator.key\nroster_file: ${o.roster}\nnode_deadline_ms: 60000\nlog_level: info\n${isLoopbackAddress(o.listen) ? 'plaintext: true\n' : COORDINATOR_TLS_TEMPLATE}`,
        { flag: 'wx' },
      );
      console.log(`created ${path.join(o.dir, 'coordinator.yaml')}; add ${path.join(o.dir, 'coordinator.pub.json')} to the roster`);
    });
  coordinator
    .command('backup')
    .description("a consistent copy of the (running) coordinator's database, with the size of its log (docs/operations.md)")
    .requiredOption('--config <file>', 'coordinator.yaml')
    .requiredOption('--out <file>', 'backup file to write (never overwritten)')
    .option('--json', 'machine-readable output')
    .action(async (o: { config: string; out: string; json?: boolean }) => {
      const r = await backupCoordinator(o.config, o.out, process.env);
      console.log(o.json ? json(r) : `wrote ${r.file}: ${r.logEntries} log entries (a restore from it is valid only while no node has verified a larger log)`);
    });
  daemonCommand(coordinator, 'run the coordinator daemon (options: fedlab coordinator serve --help)');
}
