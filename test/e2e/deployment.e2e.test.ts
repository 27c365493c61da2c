import { execFile, spawn } from 'node:child_process';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect } from 'vitest';
import { stringify } from 'yaml';
import Database from 'better-sqlite3';
import { FEDLAB_BIN } from '@fedlab/devnet';
import { CLINIC_SCHEMA, clinicCsv } from '@fedlab/testing';
import { it, test } from '@fedlab/test-kit';

const run = promisify(execFile);
const fedlab = (...args: string[]) => run(process.execPath, [FEDLAB_BIN, ...args]);
async function failure(...args: string[]): Promise<{ code: number; stderr: string }> {
  return (await fedlab(...args).then(
    () => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => e,
  )) as { code: number; stderr: string };
}

describe('a steward deploying a node with the CLI', () => {
  // The tests build on each other (the key and roster, then the node, then its data) in the file's folder.
  let root: string;
  let dir: string;
  let config: string;
  test.beforeAll(({ fileTempDir }) => {
    root = fileTempDir;
    dir = path.join(root, 'health');
    config = path.join(dir, 'node.yaml');
  });

  it('creates a researcher key file readable only by its owner and a roster from public entries', async () => {
    const key = path.join(root, 'alice.key');
    const { stdout } = await fedlab('keys', 'new', '--id', 'alice', '--role', 'researcher', '--out', key, '--json');
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(JSON.parse(stdout)).toMatchObject({ id: 'alice', role: 'researcher', display_name: 'alice' });
    const roster = path.join(root, 'roster.yaml');
    expect((await fedlab('roster', 'add', '--roster', roster, `${key}.pub.json`)).stdout.trim()).toBe(`${roster}: 1 participants`);
    const again = await failure('keys', 'new', '--id', 'alice', '--role', 'researcher', '--out', key);
    expect(again.code).toBe(2);
    expect(again.stderr.split('\n')[0]).toBe(`error INVALID_ARGUMENT: ${key} already exists; refusing to overwrite a key file`);
  });

  it('ties a data steward to its node with keys new --node, and refuses --node for any other role', async () => {
    const steward = path.join(root, 'health-steward.key');
    const { stdout } = await fedlab('keys', 'new', '--id', 'health-steward', '--role', 'steward', '--node', 'health', '--out', steward, '--json');
    expect(JSON.parse(stdout)).toMatchObject({ id: 'health-steward', role: 'steward', node: 'health' });
    const researcher = await failure('keys', 'new', '--id', 'bob', '--role', 'researcher', '--node', 'health', '--out', path.join(root, 'bob.key'));
    expect([researcher.code, researcher.stderr.split('\n')[0]]).toEqual([
      2,
      'error INVALID_ARGUMENT: --node ties a data steward to its node; "bob" is a researcher, not a steward',
    ]);
  });

  it('initialises a node with a default-deny policy and refuses to overwrite it', async () => {
    await fedlab('node', 'init', '--dir', dir, '--id', 'health', '--coordinator', '127.0.0.1:7443');
    expect(statSync(path.join(dir, 'node.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(dir, 'policy.yaml'), 'utf8')).toContain('datasets: {}');
    const again = await failure('node', 'init', '--dir', dir, '--id', 'health', '--coordinator', '127.0.0.1:7443');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`error INVALID_ARGUMENT: ${config} already exists; refusing to overwrite a node`);
  });

  it('imports a CSV, then refuses a malformed one with line and column and leaves the table unchanged', async () => {
    const schema = path.join(root, 'clinic.schema.yaml');
    writeFileSync(schema, stringify(CLINIC_SCHEMA));
    const good = path.join(root, 'clinic.csv');
    writeFileSync(good, clinicCsv());
    const imported = await fedlab('node', 'import', '--config', config, '--schema', schema, good, '--json');
    expect(JSON.parse(imported.stdout)).toEqual({ dataset: 'clinic_visits', rows: 406 });
    const bad = path.join(root, 'bad.csv');
    const lines = clinicCsv().split('\n');
    lines[4] = lines[4]!.replace(/2024-\d\d-\d\d/, '2024-13-45');
    writeFileSync(bad, lines.join('\n'));
    const refused = await failure('node', 'import', '--config', config, '--schema', schema, bad);
    expect(refused.code).toBe(2);
    expect(refused.stderr.split('\n')[0]).toBe('error CSV_BAD_VALUE: bad.csv line 5, column "visit_date": not a valid date (expected YYYY-MM-DD)');
    expect(refused.stderr).not.toContain('2024-13-45');
    const db = new Database(path.join(dir, 'node.db'), { readonly: true });
    expect(db.prepare('SELECT COUNT(*) AS n FROM clinic_visits').get()).toEqual({ n: 406 });
    db.close();
  });

  it('verifies the audit chain of the node database', async () => {
    const { stdout } = await fedlab('audit', 'verify', '--config', config);
    expect(stdout.trim()).toMatch(/^audit chain intact: \d+ entries$/);
  });
});

describe('governance stewards signing the roster a node accepts', () => {
  let root: string;
  const at = (name: string) => path.join(root, name);
  test.beforeEach(({ tempDir }) => {
    root = tempDir;
  });

  async function serveBriefly(config: string): Promise<{ code: number | null; stderr: string }> {
    const child = spawn(process.execPath, [FEDLAB_BIN, 'node', 'serve', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const timer = setTimeout(() => child.kill('SIGTERM'), 4_000);
    const code = await exited;
    clearTimeout(timer);
    return { code, stderr };
  }

  it('accepts a roster only with 2 of 3 steward signatures, and never an older one afterwards', async () => {
    for (const s of ['steward-a', 'steward-b', 'steward-c']) await fedlab('keys', 'new', '--id', s, '--role', 'steward', '--out', at(`${s}.key`));
    await fedlab('keys', 'new', '--id', 'alice', '--role', 'researcher', '--out', at('alice.key'));
    await fedlab('governance', 'new', '--out', at('governance.json'), '--threshold', '2', ...['a', 'b', 'c'].map((x) => at(`steward-${x}.key.pub.json`)));
    const published = at('roster.json');
    await fedlab(
      'node',
      'init',
      '--dir',
      at('justice'),
      '--id',
      'justice',
      '--coordinator',
      '127.0.0.1:9',
      '--roster',
      published,
      '--governance',
      at('governance.json'),
    );
    const entries = [at('alice.key.pub.json'), at('justice/node.pub.json'), ...['a', 'b', 'c'].map((x) => at(`steward-${x}.key.pub.json`))];

    await fedlab('roster', 'new', '--out', at('roster-v2.json'), '--roster-version', '2', ...entries);
    await fedlab('roster', 'sign', '--key', at('steward-a.key'), at('roster-v2.json'));
    const tooFew = await failure('roster', 'publish', at('roster-v2.json'), '--governance', at('governance.json'), '--out', published);
    expect(tooFew.stderr.split('\n')[0]).toBe(`error ROSTER_INVALID: ${at('roster-v2.json')} has 1 valid steward signature of the 2 required`);
    await fedlab('roster', 'sign', '--key', at('steward-b.key'), at('roster-v2.json'));
    const ok = await fedlab('roster', 'publish', at('roster-v2.json'), '--governance', at('governance.json'), '--out', published);
    expect(ok.stdout.trim()).toBe(`published roster version 2 (5 participants) to ${published}`);

    const first = await serveBriefly(at('justice/node.yaml'));
    expect(first.stderr).not.toContain('ROSTER_INVALID');
    const db = new Database(at('justice/node.db'), { readonly: true });
    expect(db.prepare("SELECT value FROM fedlab_settings WHERE key = 'roster_version'").get()).toEqual({ value: '2' });
    db.close();

    // A replayed, properly signed, older roster is refused at start.
    await fedlab('roster', 'new', '--out', at('roster-v1.json'), '--roster-version', '1', ...entries);
    for (const s of ['a', 'c']) await fedlab('roster', 'sign', '--key', at(`steward-${s}.key`), at('roster-v1.json'));
    copyFileSync(at('roster-v1.json'), published);
    const replay = await serveBriefly(at('justice/node.yaml'));
    expect(replay.code).toBe(2);
    expect(replay.stderr.trim().split('\n').at(-1)).toBe('error ROSTER_INVALID: roster version 1 is older than the version 2 already held');
  });
});
