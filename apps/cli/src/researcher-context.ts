import { FedlabError } from '@fedlab/model';
import { initCrypto, loadGovernanceFile, loadRosterFile, newKeyPassphrase, passphraseSources, readKeyFileWithPassphrase } from '@fedlab/crypto';
import { hiddenPrompt } from '@fedlab/ops';
import { type Roster } from '@fedlab/governance';
import { FedlabClient } from '@fedlab/client';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { createChannelCredentials, createPlaintextChannelCredentials } from '@fedlab/wire';

export interface ResearcherFlags {
  coordinator?: string;
  key?: string;
  /** A file (mode 0600) whose first line is the key file's passphrase. */
  passphraseFile?: string;
  roster?: string;
  governance?: string;
  /** CA that signed the coordinator's TLS certificate. */
  ca?: string;
  /** Client certificate and key, for a coordinator that requires mutual TLS. */
  clientCert?: string;
  clientKey?: string;
}

/**
 * Channel credentials for `address`: TLS trusting --ca or FEDLAB_CA, with --client-cert and --client-key
 * (FEDLAB_CLIENT_CERT, FEDLAB_CLIENT_KEY) for mutual TLS; without a CA, plaintext to a loopback address only.
 */
export function credentialsFromFlags(flags: ResearcherFlags, address: string): ChannelCredentials {
  const ca = flags.ca ?? process.env.FEDLAB_CA;
  const cert = flags.clientCert ?? process.env.FEDLAB_CLIENT_CERT;
  const key = flags.clientKey ?? process.env.FEDLAB_CLIENT_KEY;
  if (cert && !key) throw new FedlabError('INVALID_ARGUMENT', 'a client certificate needs its key: pass --client-key FILE or set FEDLAB_CLIENT_KEY');
  if (key && !cert) throw new FedlabError('INVALID_ARGUMENT', 'a client key needs its certificate: pass --client-cert FILE or set FEDLAB_CLIENT_CERT');
  if (!ca) {
    if (cert)
      throw new FedlabError(
        'INVALID_ARGUMENT',
        "a client certificate is only used over TLS: pass --ca FILE or set FEDLAB_CA (the CA that signed the coordinator's certificate)",
      );
    return createPlaintextChannelCredentials(address, 'pass --ca FILE (or set FEDLAB_CA) to connect over TLS');
  }
  const name = (flag: string | undefined, option: string, variable: string) => (flag ? option : variable);
  return createChannelCredentials(
    {
      ca: { path: ca, name: name(flags.ca, '--ca', 'FEDLAB_CA') },
      ...(cert && key
        ? {
            client: {
              cert: { path: cert, name: name(flags.clientCert, '--client-cert', 'FEDLAB_CLIENT_CERT') },
              key: { path: key, name: name(flags.clientKey, '--client-key', 'FEDLAB_CLIENT_KEY') },
            },
          }
        : {}),
    },
    { code: 'INVALID_ARGUMENT' },
  );
}

/** Loads the roster named by flags or FEDLAB_ROSTER, verified with the governance of --governance or FEDLAB_GOVERNANCE. */
export function rosterFromFlags(flags: ResearcherFlags): Roster | undefined {
  const rosterFile = flags.roster ?? process.env.FEDLAB_ROSTER;
  if (!rosterFile) return undefined;
  const governanceFile = flags.governance ?? process.env.FEDLAB_GOVERNANCE;
  return loadRosterFile(rosterFile, governanceFile ? { governance: loadGovernanceFile(governanceFile) } : {});
}

/**
 * Reads a key file; an encrypted one is unlocked with the passphrase from --passphrase-file,
 * FEDLAB_KEY_PASSPHRASE_FILE, FEDLAB_KEY_PASSPHRASE or a hidden prompt on the terminal, in that order.
 */
export function readKey(keyFile: string, flags: { passphraseFile?: string }) {
  return readKeyFileWithPassphrase(keyFile, passphraseSources(process.env, { file: flags.passphraseFile, prompt: hiddenPrompt() }));
}

/**
 * The passphrase to encrypt a new key file with, when asked for (`--encrypt`, or `--passphrase-file`):
 * from the same sources as {@link readKey}; a terminal prompt asks twice. Undefined: leave it unencrypted.
 */
export async function newKeyPassphraseFromFlags(keyFile: string, flags: { encrypt?: boolean; passphraseFile?: string }): Promise<string | undefined> {
  if (!flags.encrypt && !flags.passphraseFile) return undefined;
  const prompt = hiddenPrompt();
  const confirmed = prompt
    ? async (question: string) => {
        const first = await prompt(question);
        if ((await prompt('again, to confirm: ')) !== first) throw new FedlabError('INVALID_ARGUMENT', 'the two passphrases differ; nothing was written');
        return first;
      }
    : undefined;
  const passphrase = await newKeyPassphrase(keyFile, passphraseSources(process.env, { file: flags.passphraseFile, prompt: confirmed }));
  if (passphrase === undefined) {
    throw new FedlabError(
      'INVALID_ARGUMENT',
      '--encrypt needs a passphrase: pass --passphrase-file FILE, set FEDLAB_KEY_PASSPHRASE_FILE or FEDLAB_KEY_PASSPHRASE, or run in a terminal to be asked',
    );
  }
  return passphrase;
}

/** Builds a client from flags, falling back to FEDLAB_COORDINATOR, FEDLAB_KEY and FEDLAB_ROSTER (TLS: see {@link credentialsFromFlags}). */
export async function clientFromFlags(flags: ResearcherFlags, needKey: boolean): Promise<FedlabClient> {
  await initCrypto();
  const address = flags.coordinator ?? process.env.FEDLAB_COORDINATOR;
  if (!address) throw new FedlabError('INVALID_ARGUMENT', 'no coordinator address: pass --coordinator HOST:PORT or set FEDLAB_COORDINATOR');
  const keyFile = flags.key ?? process.env.FEDLAB_KEY;
  if (needKey && !keyFile) throw new FedlabError('INVALID_ARGUMENT', 'no researcher key: pass --key FILE or set FEDLAB_KEY');
  return new FedlabClient({
    address,
    credentials: credentialsFromFlags(flags, address),
    identity: keyFile ? await readKey(keyFile, flags) : undefined,
    roster: rosterFromFlags(flags),
  });
}
