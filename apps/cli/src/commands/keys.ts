import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { FedlabError } from '@fedlab/model';
import { generateIdentity, initCrypto, writeKeyFile } from '@fedlab/crypto';
import { PARTICIPANT_ROLES, publicIdentityJson, type ParticipantRole } from '@fedlab/governance';
import { json } from '../cli-common';
import { newKeyPassphraseFromFlags } from '../researcher-context';

/** Registers the `fedlab` commands for participant identities. */
export function registerKeysCommands(program: Command): void {
  // ── keys ──────────────────────────────────────────────────────────────────────
  const keys = program.command('keys').description('participant identities (Ed25519 signing + X25519 sealing keys)');
  keys
    .command('new')
    .description('create a key file (mode 0600) and print its public roster entry')
    .requiredOption('--id <id>', 'participant id, e.g. health or alice')
    .addOption(new Option('--role <role>', 'participant role').choices([...PARTICIPANT_ROLES]).makeOptionMandatory())
    .requiredOption('--out <file>', 'key file to write (refuses to overwrite)')
    .option('--display-name <name>', 'human-readable name for the roster')
    .option('--node <id>', 'for a data steward (--role steward): the node whose approvals it signs, written into the roster entry')
    .option('--encrypt', 'encrypt the secret keys (passphrase from --passphrase-file, $FEDLAB_KEY_PASSPHRASE_FILE, $FEDLAB_KEY_PASSPHRASE, or asked twice)')
    .option('--passphrase-file <file>', 'encrypt the secret keys with the passphrase on the first line of this file (mode 0600)')
    .option('--passphrase-env <var>', 'encrypt the secret keys with the passphrase in this environment variable')
    .option('--json', 'print only the roster entry as JSON')
    .action(
      async (o: {
        id: string;
        role: ParticipantRole;
        out: string;
        displayName?: string;
        node?: string;
        encrypt?: boolean;
        passphraseFile?: string;
        passphraseEnv?: string;
        json?: boolean;
      }) => {
        await initCrypto();
        if (o.node !== undefined && o.role !== 'steward')
          throw new FedlabError('INVALID_ARGUMENT', `--node ties a data steward to its node; "${o.id}" is a ${o.role}, not a steward`);
        if (o.passphraseEnv && !process.env[o.passphraseEnv]) throw new FedlabError('INVALID_ARGUMENT', `environment variable ${o.passphraseEnv} is empty`);
        const passphrase = o.passphraseEnv ? process.env[o.passphraseEnv] : await newKeyPassphraseFromFlags(o.out, o);
        const identity = generateIdentity(o.id, o.role, o.displayName ?? o.id);
        writeKeyFile(o.out, identity, passphrase);
        const entry = publicIdentityJson(o.node === undefined ? identity : { ...identity, node: o.node });
        writeFileSync(`${o.out}.pub.json`, `${JSON.stringify(entry, null, 2)}\n`);
        console.log(o.json ? json(entry) : `wrote ${o.out} (0600) and ${o.out}.pub.json\nroster entry:\n${json(entry)}`);
      },
    );
}
