import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, describe, expect } from 'vitest';
import { FEDLAB_BIN } from '@fedlab/devnet';
import { it, test } from '@fedlab/test-kit';

const run = promisify(execFile);

/**
 * The roster's journey by command only (docs/governance.md §1): governance stewards sign a roster and
 * publish it to the running coordinator, which takes it without a restart; anyone fetches it back,
 * verified against the pinned governance.
 */
describe('fedlab roster publish --coordinator and fedlab roster fetch', () => {
  let dir = '';
  let coordinator: ChildProcess | undefined;
  let address = '';
  const at = (name: string) => path.join(dir, name);
  const fedlab = (...args: string[]) => run(process.execPath, [FEDLAB_BIN, ...args], { env: { ...process.env, FEDLAB_KEY_PASSPHRASE: '' } });
  const failure = (...args: string[]) =>
    fedlab(...args).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );

  test.beforeAll(async ({ fileTempDir }) => {
    dir = fileTempDir;
    for (const s of ['a', 'b', 'c']) await fedlab('keys', 'new', '--id', `steward-${s}`, '--role', 'steward', '--out', at(`steward-${s}.key`));
    await fedlab('governance', 'new', '--out', at('governance.json'), '--threshold', '2', ...['a', 'b', 'c'].map((s) => at(`steward-${s}.key.pub.json`)));
    await fedlab('coordinator', 'init', '--dir', at('coordinator'), '--listen', '127.0.0.1:0', '--roster', at('roster.json'));
    await fedlab(
      'roster',
      'new',
      '--out',
      at('roster-v1.json'),
      '--roster-version',
      '1',
      at('coordinator/coordinator.pub.json'),
      ...['a', 'b', 'c'].map((s) => at(`steward-${s}.key.pub.json`)),
    );
    for (const s of ['a', 'b']) await fedlab('roster', 'sign', '--key', at(`steward-${s}.key`), at('roster-v1.json'));
    await fedlab('roster', 'publish', at('roster-v1.json'), '--governance', at('governance.json'), '--out', at('roster.json'));
    const config = at('coordinator/coordinator.yaml');
    writeFileSync(config, `${readFileSync(config, 'utf8')}governance_file: ${at('governance.json')}\n`);
    coordinator = spawn(process.execPath, [FEDLAB_BIN, 'coordinator', 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'ignore'] });
    address = await new Promise<string>((resolve, reject) => {
      createInterface({ input: coordinator!.stdout! }).on('line', (line) => {
        const m = /^coordinator listening on (\S+)$/.exec(line);
        if (m) resolve(m[1]!);
      });
      coordinator!.once('exit', (code) => reject(new Error(`the coordinator exited with ${code}`)));
    });
  }, 120_000);
  afterAll(async () => {
    if (coordinator && coordinator.exitCode === null) {
      const exited = new Promise((r) => coordinator!.once('exit', r));
      coordinator.kill('SIGTERM');
      await exited;
    }
  });

  it('publishes a newer signed roster to the running coordinator and fetches it back verified', { timeout: 120_000 }, async () => {
    await fedlab('keys', 'new', '--id', 'alice', '--role', 'researcher', '--out', at('alice.key'));
    const entries = [at('coordinator/coordinator.pub.json'), at('alice.key.pub.json'), ...['a', 'b', 'c'].map((s) => at(`steward-${s}.key.pub.json`))];
    await fedlab('roster', 'new', '--out', at('roster-v2.json'), '--roster-version', '2', ...entries);
    await fedlab('roster', 'sign', '--key', at('steward-a.key'), at('roster-v2.json'));
    const tooFew = await failure('roster', 'publish', at('roster-v2.json'), '--governance', at('governance.json'), '--coordinator', address);
    expect([tooFew.code, tooFew.stderr.split('\n')[0]]).toEqual([
      2,
      `error ROSTER_INVALID: ${at('roster-v2.json')} has 1 valid steward signature of the 2 required`,
    ]);
    await fedlab('roster', 'sign', '--key', at('steward-c.key'), at('roster-v2.json'));
    const published = await fedlab('roster', 'publish', at('roster-v2.json'), '--governance', at('governance.json'), '--coordinator', address);
    expect(published.stdout.trim()).toBe(`published roster version 2 (5 participants) to the coordinator at ${address}`);
    const fetched = await fedlab('roster', 'fetch', '--coordinator', address, '--governance', at('governance.json'), '--out', at('fetched.json'));
    expect(fetched.stdout.trim()).toBe(`fetched roster version 2 (5 participants) into ${at('fetched.json')}`);
    expect(readFileSync(at('fetched.json'), 'utf8')).toBe(readFileSync(at('roster.json'), 'utf8'));
    const again = await failure('roster', 'publish', at('roster-v1.json'), '--governance', at('governance.json'), '--coordinator', address);
    expect([again.code, again.stderr.split('\n')[0]]).toEqual([2, 'error ROSTER_INVALID: roster version 1 is older than the version 2 already held']);
  });
});
