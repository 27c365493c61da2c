import { readFileSync, statSync } from 'node:fs';
import { FedlabError } from '@fedlab/model';
import type { Identity } from '@fedlab/governance';
import { keyFileIsEncrypted, readKeyFile } from './identity';

/** Where an encrypted key file's passphrase comes from: a name for messages and a way to read it. */
export interface PassphraseSource {
  name: string;
  read(keyFile: string): Promise<string>;
}

/** The environment variables that give a passphrase (docs/configuration.md "Secrets"). */
export interface PassphraseEnv {
  FEDLAB_KEY_PASSPHRASE?: string;
  FEDLAB_KEY_PASSPHRASE_FILE?: string;
}

/**
 * The passphrase sources an app offers, in order: a file named by `--passphrase-file` or
 * FEDLAB_KEY_PASSPHRASE_FILE (mode 0600 or stricter; its first line is the passphrase), the
 * FEDLAB_KEY_PASSPHRASE variable, then `prompt` (a hidden prompt on the terminal, when there is one).
 */
export function passphraseSources(env: PassphraseEnv, options: { file?: string; prompt?: (question: string) => Promise<string> } = {}): PassphraseSource[] {
  const sources: PassphraseSource[] = [];
  const file = options.file ?? env.FEDLAB_KEY_PASSPHRASE_FILE;
  if (file) {
    const name = options.file ? `--passphrase-file ${file}` : `FEDLAB_KEY_PASSPHRASE_FILE ${file}`;
    sources.push({ name, read: async () => readPassphraseFile(file, name) });
  }
  const value = env.FEDLAB_KEY_PASSPHRASE;
  if (value) sources.push({ name: 'FEDLAB_KEY_PASSPHRASE', read: async () => value });
  const prompt = options.prompt;
  if (prompt) sources.push({ name: 'the terminal prompt', read: (keyFile) => prompt(`passphrase for ${keyFile}: `) });
  return sources;
}

function readPassphraseFile(file: string, name: string): string {
  let text: string;
  try {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) throw new FedlabError('KEY_FILE_INVALID', `${name}: permissions ${mode.toString(8)} are too open; run chmod 600`);
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof FedlabError) throw error;
    throw new FedlabError('KEY_FILE_INVALID', `${name}: cannot read the passphrase file`);
  }
  const passphrase = text.split(/\r?\n/)[0] ?? '';
  if (passphrase === '') throw new FedlabError('KEY_FILE_INVALID', `${name}: the passphrase file is empty`);
  return passphrase;
}

/**
 * Reads a key file, asking the first passphrase source for the passphrase when the file is encrypted.
 * Refuses an encrypted file with no source, naming every way to give one, and a wrong passphrase,
 * naming the source it came from.
 */
export async function readKeyFileWithPassphrase(path: string, sources: PassphraseSource[]): Promise<Identity> {
  if (!keyFileIsEncrypted(path)) return readKeyFile(path);
  const source = sources[0];
  if (!source) {
    throw new FedlabError(
      'KEY_FILE_INVALID',
      `${path}: the key file is encrypted; give its passphrase with --passphrase-file FILE, FEDLAB_KEY_PASSPHRASE_FILE or FEDLAB_KEY_PASSPHRASE, or run in a terminal to be asked`,
    );
  }
  return readKeyFile(path, await source.read(path), source.name);
}

/** The passphrase to encrypt a new key file with: the first source's, or none (the key file stays unencrypted). */
export async function newKeyPassphrase(keyFile: string, sources: PassphraseSource[]): Promise<string | undefined> {
  return sources[0]?.read(keyFile);
}
