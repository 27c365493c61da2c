import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { createSignedRosterFile, initCrypto } from '@fedlab/crypto';
import { publicIdentityJson } from '@fedlab/governance';
import { FEDLAB_BIN } from '@fedlab/devnet';
import { it, test } from '@fedlab/test-kit';

/**
 * The fedlab command on a real pseudo-terminal (util-linux `script`, in Debian's essential set): the
 * passphrase prompt, typed input arriving on the terminal, and the exit code of the command.
 */
function onTerminal(args: string[], typed: string, env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  const command = [process.execPath, FEDLAB_BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve) => {
    const child = execFile('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...env } }, (error, stdout) =>
      resolve({ code: error ? Number(error.code) : 0, output: stdout.replace(/\r/g, '') }),
    );
    child.stdin!.end(typed);
  });
}

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [FEDLAB_BIN, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe('passphrases for encrypted key files, from a terminal prompt, a file or the environment', () => {
  let dir: string;
  let keyFile: string;
  let rosterFile: string;
  const clean = { FEDLAB_KEY_PASSPHRASE: '', FEDLAB_KEY_PASSPHRASE_FILE: '' };

  test.beforeAll(async ({ fileTempDir }) => {
    dir = fileTempDir;
    await initCrypto();
    keyFile = path.join(dir, 'steward-a.key');
    const created = await onTerminal(
      ['keys', 'new', '--id', 'steward-a', '--role', 'steward', '--out', keyFile, '--encrypt'],
      'correct horse\ncorrect horse\n',
      clean,
    );
    expect(created.code).toBe(0);
    const entry = JSON.parse(readFileSync(`${keyFile}.pub.json`, 'utf8')) as ReturnType<typeof publicIdentityJson>;
    rosterFile = path.join(dir, 'roster.json');
    writeFileSync(rosterFile, JSON.stringify(createSignedRosterFile([entry], 1, '2026-12-07T00:00:00Z')));
  }, 120_000);

  it('writes a key file encrypted with the passphrase typed twice at the prompt', () => {
    const file = JSON.parse(readFileSync(keyFile, 'utf8')) as { encrypted?: unknown; secrets?: unknown };
    expect([file.encrypted !== undefined, file.secrets]).toEqual([true, undefined]);
  });

  it('signs with the key once the right passphrase is typed, and refuses a wrong one naming the prompt', async () => {
    const wrong = await onTerminal(['roster', 'sign', rosterFile, '--key', keyFile], 'battery staple\n', clean);
    expect(wrong.code).toBe(2);
    expect(wrong.output).toContain(`passphrase for ${keyFile}: `);
    expect(wrong.output).toContain(`error KEY_FILE_INVALID: ${keyFile}: wrong passphrase (from the terminal prompt)`);
    const right = await onTerminal(['roster', 'sign', rosterFile, '--key', keyFile], 'correct horse\n', clean);
    expect([right.code, right.output.trim().split('\n').at(-1)]).toEqual([0, `${rosterFile}: 1 signature(s)`]);
  });

  it('names FEDLAB_KEY_PASSPHRASE, or the passphrase file, when the passphrase it holds is wrong', async () => {
    const fromEnv = await run(['roster', 'sign', rosterFile, '--key', keyFile], { ...clean, FEDLAB_KEY_PASSPHRASE: 'battery staple' });
    expect([fromEnv.code, fromEnv.stderr.split('\n')[0]]).toEqual([2, `error KEY_FILE_INVALID: ${keyFile}: wrong passphrase (from FEDLAB_KEY_PASSPHRASE)`]);
    const file = path.join(dir, 'passphrase');
    writeFileSync(file, 'battery staple\n', { mode: 0o600 });
    const fromFile = await run(['roster', 'sign', rosterFile, '--key', keyFile, '--passphrase-file', file], clean);
    expect([fromFile.code, fromFile.stderr.split('\n')[0]]).toEqual([
      2,
      `error KEY_FILE_INVALID: ${keyFile}: wrong passphrase (from --passphrase-file ${file})`,
    ]);
  });

  it('encrypts node.key at node init, and the node daemon unlocks it from the passphrase file, naming a wrong one', async () => {
    const file = path.join(dir, 'node-passphrase');
    writeFileSync(file, 'node secret\n', { mode: 0o600 });
    const nodeDir = path.join(dir, 'health');
    const init = await run(['node', 'init', '--dir', nodeDir, '--id', 'health', '--coordinator', '127.0.0.1:7443', '--passphrase-file', file], clean);
    expect(init.code).toBe(0);
    expect((JSON.parse(readFileSync(path.join(nodeDir, 'node.key'), 'utf8')) as { encrypted?: unknown }).encrypted).toBeDefined();
    const config = path.join(nodeDir, 'node.yaml');
    const wrong = await run(['node', 'serve', '--config', config], { ...clean, FEDLAB_KEY_PASSPHRASE: 'not it' });
    expect([wrong.code, wrong.stderr.trim().split('\n').at(-1)]).toEqual([
      2,
      `error KEY_FILE_INVALID: ${path.join(nodeDir, 'node.key')}: wrong passphrase (from FEDLAB_KEY_PASSPHRASE)`,
    ]);
    // With the right passphrase the key opens and start-up goes on to the roster, which this node has not been given yet.
    const right = await run(['node', 'serve', '--config', config], { ...clean, FEDLAB_KEY_PASSPHRASE_FILE: file });
    expect([right.code, right.stderr.trim().split('\n').at(-1)]).toEqual([
      2,
      `error INVALID_ARGUMENT: ${path.join(nodeDir, 'roster.yaml')}: cannot read roster file`,
    ]);
  });

  it('without a terminal or a passphrase, says every way to give one', async () => {
    const none = await run(['roster', 'sign', rosterFile, '--key', keyFile], clean);
    expect([none.code, none.stderr.split('\n')[0]]).toEqual([
      2,
      `error KEY_FILE_INVALID: ${keyFile}: the key file is encrypted; give its passphrase with --passphrase-file FILE, FEDLAB_KEY_PASSPHRASE_FILE or FEDLAB_KEY_PASSPHRASE, or run in a terminal to be asked`,
    ]);
  });
});
