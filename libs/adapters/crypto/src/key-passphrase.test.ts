import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { it, test } from '@fedlab/test-kit';
import { generateIdentity, writeKeyFile } from './identity';
import { passphraseSources, readKeyFileWithPassphrase } from './key-passphrase';
import { initCrypto } from './sodium';

let dir: string;
let encrypted: string;
let plain: string;
const secretFile = (name: string, text: string, mode = 0o600) => {
  const file = path.join(dir, name);
  writeFileSync(file, text, { mode });
  return file;
};

test.beforeAll(async ({ fileTempDir }) => {
  await initCrypto();
  dir = fileTempDir;
  encrypted = path.join(dir, 'steward.key');
  writeKeyFile(encrypted, generateIdentity('steward-a', 'steward'), 'correct horse');
  plain = path.join(dir, 'plain.key');
  writeKeyFile(plain, generateIdentity('alice', 'researcher'));
});

describe('readKeyFileWithPassphrase', () => {
  it('reads an unencrypted key file without asking any source', async () => {
    const asked: string[] = [];
    const identity = await readKeyFileWithPassphrase(plain, [{ name: 'probe', read: async (f) => (asked.push(f), 'unused') }]);
    expect([identity.id, asked]).toEqual(['alice', []]);
  });

  it('unlocks an encrypted key file with the passphrase on the first line of FEDLAB_KEY_PASSPHRASE_FILE', async () => {
    const file = secretFile('pass-ok', 'correct horse\nignored second line\n');
    expect((await readKeyFileWithPassphrase(encrypted, passphraseSources({ FEDLAB_KEY_PASSPHRASE_FILE: file }))).id).toBe('steward-a');
  });

  it('prefers --passphrase-file over FEDLAB_KEY_PASSPHRASE_FILE, and a file over FEDLAB_KEY_PASSPHRASE', () => {
    const sources = passphraseSources({ FEDLAB_KEY_PASSPHRASE_FILE: '/env/file', FEDLAB_KEY_PASSPHRASE: 'x' }, { file: '/flag/file', prompt: async () => 'y' });
    expect(sources.map((s) => s.name)).toEqual(['--passphrase-file /flag/file', 'FEDLAB_KEY_PASSPHRASE', 'the terminal prompt']);
    expect(passphraseSources({ FEDLAB_KEY_PASSPHRASE_FILE: '/env/file', FEDLAB_KEY_PASSPHRASE: 'x' }).map((s) => s.name)).toEqual([
      'FEDLAB_KEY_PASSPHRASE_FILE /env/file',
      'FEDLAB_KEY_PASSPHRASE',
    ]);
  });

  it('refuses an encrypted key file with no passphrase source, naming every way to give one', async () => {
    await expect(readKeyFileWithPassphrase(encrypted, passphraseSources({}))).rejects.toThrowFedlabError(
      'KEY_FILE_INVALID',
      `${encrypted}: the key file is encrypted; give its passphrase with --passphrase-file FILE, FEDLAB_KEY_PASSPHRASE_FILE or FEDLAB_KEY_PASSPHRASE, or run in a terminal to be asked`,
    );
  });

  it('names FEDLAB_KEY_PASSPHRASE when its passphrase is wrong', async () => {
    await expect(readKeyFileWithPassphrase(encrypted, passphraseSources({ FEDLAB_KEY_PASSPHRASE: 'battery staple' }))).rejects.toThrowFedlabError(
      'KEY_FILE_INVALID',
      `${encrypted}: wrong passphrase (from FEDLAB_KEY_PASSPHRASE)`,
    );
  });

  it('names the passphrase file when its passphrase is wrong', async () => {
    const file = secretFile('pass-wrong', 'battery staple\n');
    await expect(readKeyFileWithPassphrase(encrypted, passphraseSources({}, { file }))).rejects.toThrowFedlabError(
      'KEY_FILE_INVALID',
      `${encrypted}: wrong passphrase (from --passphrase-file ${file})`,
    );
  });

  it('names the terminal prompt when the passphrase typed is wrong', async () => {
    await expect(readKeyFileWithPassphrase(encrypted, passphraseSources({}, { prompt: async () => 'battery staple' }))).rejects.toThrowFedlabError(
      'KEY_FILE_INVALID',
      `${encrypted}: wrong passphrase (from the terminal prompt)`,
    );
  });

  it('refuses a passphrase file that others can read, or that is empty or missing', async () => {
    const open = secretFile('pass-open', 'correct horse\n', 0o644);
    await expect(readKeyFileWithPassphrase(encrypted, passphraseSources({ FEDLAB_KEY_PASSPHRASE_FILE: open }))).rejects.toThrowFedlabError(
      'KEY_FILE_INVALID',
      `FEDLAB_KEY_PASSPHRASE_FILE ${open}: permissions 644 are too open; run chmod 600`,
    );
    const empty = secretFile('pass-empty', '\n');
    await expect(readKeyFileWithPassphrase(encrypted, passphraseSources({}, { file: empty }))).rejects.toThrowFedlabError(
      'KEY_FILE_INVALID',
      `--passphrase-file ${empty}: the passphrase file is empty`,
    );
    const missing = path.join(dir, 'no-such-file');
    await expect(readKeyFileWithPassphrase(encrypted, passphraseSources({}, { file: missing }))).rejects.toThrowFedlabError(
      'KEY_FILE_INVALID',
      `--passphrase-file ${missing}: cannot read the passphrase file`,
    );
  });
});
