import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, describe, expect } from 'vitest';
import { FEDLAB_BIN } from '@fedlab/devnet';
import { it, test, waitUntil } from '@fedlab/test-kit';

const run = promisify(execFile);

/**
 * The roster's journey by command only (docs/governance.md §1): governance stewards sign a roster and
 * publish it to the running coordinator, which takes it without a restart; anyone fetches it back,
 * verified against the pinned governance.
 */
describe('fedlab roster publish --coordinator and fedlab roster fetch', () => {
  let dir = '';
  let coordinator: ChildProcess | undefined;
  let node: ChildProcess | undefined;
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
    for (const child of [node, coordinator]) {
      if (child && child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
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

  it('puts each newer roster in force at a running node daemon, which verifies it against its own pinned governance', { timeout: 120_000 }, async () => {
    // The node starts from the first roster, which does not name it yet; the stewards then publish one that does.
    writeFileSync(at('health-roster.json'), readFileSync(at('roster-v1.json')));
    await fedlab(
      'node',
      'init',
      '--dir',
      at('health'),
      '--id',
      'health',
      '--coordinator',
      address,
      '--roster',
      at('health-roster.json'),
      '--governance',
      at('governance.json'),
    );
    const entries = [
      at('coordinator/coordinator.pub.json'),
      at('alice.key.pub.json'),
      at('health/node.pub.json'),
      ...['a', 'b', 'c'].map((s) => at(`steward-${s}.key.pub.json`)),
    ];
    const publish = async (version: number, extra: string[]) => {
      await fedlab('roster', 'new', '--out', at(`roster-v${version}.json`), '--roster-version', String(version), ...entries, ...extra);
      for (const s of ['b', 'c']) await fedlab('roster', 'sign', '--key', at(`steward-${s}.key`), at(`roster-v${version}.json`));
      await fedlab('roster', 'publish', at(`roster-v${version}.json`), '--governance', at('governance.json'), '--coordinator', address);
    };
    await publish(3, []);

    node = spawn(process.execPath, [FEDLAB_BIN, 'node', 'serve', '--config', at('health/node.yaml')], { stdio: ['ignore', 'ignore', 'pipe'] });
    const lines: Array<{ msg?: string; rosterVersion?: number; noiseKernel?: string }> = [];
    createInterface({ input: node.stderr! }).on('line', (line) => {
      if (line.startsWith('{')) lines.push(JSON.parse(line) as { msg?: string; rosterVersion?: number; noiseKernel?: string });
    });
    const replacedTo = (version: number) => lines.some((l) => l.msg?.startsWith('roster replaced') && l.rosterVersion === version);
    const nodeRoster = at('health-roster.json');
    await waitUntil('the node to take roster version 3 at attach', () => replacedTo(3), 100_000, 100);
    await waitUntil('the node to report ready', () => lines.some((l) => l.msg === 'node ready: attached to the coordinator'), 100_000, 100);
    // The daemon draws its noise with the native addon's kernel (npm test builds it).
    expect(lines.filter((l) => l.msg === 'noise sampling').map((l) => l.noiseKernel)).toEqual(['native']);

    await fedlab('keys', 'new', '--id', 'bob', '--role', 'researcher', '--out', at('bob.key'));
    await publish(4, [at('bob.key.pub.json')]);
    await waitUntil('the running node to take roster version 4', () => replacedTo(4), 100_000, 100);
    const shown = await fedlab('roster', 'show', nodeRoster, '--governance', at('governance.json'), '--json');
    expect((JSON.parse(shown.stdout) as { version: number; participants: Array<{ id: string }> }).participants.map((p) => p.id)).toContain('bob');
    expect(readFileSync(nodeRoster, 'utf8')).toBe(readFileSync(at('roster.json'), 'utf8'));
    expect(node.exitCode).toBeNull();
  });
});
