import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect } from 'vitest';
import { chromium } from 'playwright-core';
import { CLIENT_LIST_PATH } from '@fedlab/synth';
import { FEDLAB_BIN, createLocalNetwork, startLocalNetwork, type LocalNetwork } from '@fedlab/devnet';
import { it, test } from '@fedlab/test-kit';

const run = promisify(execFile);
const EXPECTED_COLUMNS = '(expected columns: surname, forename, date_of_birth, sex, intervention_start, intervention_end; optional: justice_id)';
let network: LocalNetwork;
let env: NodeJS.ProcessEnv;
let root: string;

const fedlab = (...args: string[]) => run(process.execPath, [FEDLAB_BIN, ...args], { env, maxBuffer: 16 * 1024 * 1024 });
async function failure(...args: string[]): Promise<{ code: number; stderr: string }> {
  return (await fedlab(...args).then(
    () => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => e,
  )) as { code: number; stderr: string };
}

/** The synthetic organisation's client list with one data line changed (line numbers count the header as 1). */
function listWith(change: (lines: string[]) => void, name: string): string {
  const lines = readFileSync(path.join(network.dataDir, CLIENT_LIST_PATH), 'utf8').trimEnd().split('\n');
  change(lines);
  const file = path.join(root, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

test.beforeAll(async ({ fileTempDir }) => {
  root = fileTempDir;
  network = await createLocalNetwork({ dir: path.join(root, 'net'), nodes: ['health', 'justice'], persons: 20_000, seed: 5, logLevel: 'info' });
  await startLocalNetwork(network);
  env = {
    ...process.env,
    FEDLAB_COORDINATOR: network.coordinatorAddress,
    FEDLAB_KEY: network.researcherKeyFile('reentry-org'),
    FEDLAB_ROSTER: network.rosterFile,
    FEDLAB_GOVERNANCE: network.governanceFile,
  };
}, 180_000);

afterAll(async () => {
  await network?.stop();
});

describe('fedlab evaluate, as an organisation runs it', () => {
  it('submits the client list, waits, and writes a report that renders in Chromium with the released figures', async () => {
    const clients = path.join(network.dataDir, CLIENT_LIST_PATH);
    const submitted = await fedlab('evaluate', 'submit', '--node', 'justice', '--programme', 'Second Chance', clients, '--json');
    const { evaluationId } = JSON.parse(submitted.stdout) as { evaluationId: string };
    expect(evaluationId).toMatch(/^e-[0-9a-f-]{36}$/);
    // Poll until the node answered (the result command says so while it has not).
    let json = '';
    for (let i = 0; i < 100 && json === ''; i += 1) {
      json = await fedlab('evaluate', 'result', evaluationId, '--json').then(
        (r) => r.stdout,
        () => new Promise<string>((resolve) => setTimeout(() => resolve(''), 200)),
      );
    }
    const evaluation = JSON.parse(json) as {
      schema: string;
      funnel: Array<{ count: number }>;
      measures: Array<{ name: string; treatment: { value: number | null } }>;
      summary: string;
    };
    expect(evaluation.schema).toBe('fedlab.evaluation.v1');
    expect(evaluation.funnel[0]!.count).toBe(readFileSync(clients, 'utf8').trimEnd().split('\n').length - 1);

    const report = path.join(root, 'report.html');
    expect((await fedlab('evaluate', 'result', evaluationId, '--out', report)).stdout.trim()).toBe(`wrote ${report}`);
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      await page.goto(`file://${report}`);
      const text = await page.locator('body').innerText();
      expect(text).toContain('Second Chance');
      expect(text).toContain(evaluation.summary);
      const rate = evaluation.measures.find((m) => m.name === 'reoffending_rate')!.treatment.value!;
      expect(text).toContain(rate.toFixed(1));
    } finally {
      await browser.close();
    }
    // The text form names the program and the funnel.
    const plain = await fedlab('evaluate', 'result', evaluationId);
    expect(plain.stdout).toContain(`Second Chance — evaluation ${evaluationId} by reentry-org at justice`);
    expect(plain.stdout).toContain(`${String(evaluation.funnel[0]!.count).padStart(7)}  People in the submitted list`);
  });

  it('refuses a malformed list locally, with line numbers, before anything is sent', async () => {
    const columns = EXPECTED_COLUMNS;
    const cases: Array<[string, (lines: string[]) => void, (lines: number) => string]> = [
      [
        'columns.csv',
        (l) => (l[0] = l[0]!.replace('date_of_birth', 'birthday')),
        () => `the client list has 2 problems: line 1, birthday: unknown column ${columns}; line 1, date_of_birth: missing column ${columns}`,
      ],
      [
        'unparseable.csv',
        (l) => (l[3] = l[3]!.replace(/,(\d{4}-\d\d-\d\d),/, ',31/02/1990,')),
        () => 'the client list has 1 problem: line 4, date_of_birth: not a date (expected YYYY-MM-DD)',
      ],
      [
        'future.csv',
        (l) => (l[5] = l[5]!.replace(/,(\d{4}-\d\d-\d\d)$/, ',2999-01-01')),
        () => 'the client list has 1 problem: line 6, intervention_end: in the future',
      ],
      [
        'order.csv',
        (l) => (l[2] = l[2]!.replace(/,(\d{4}-\d\d-\d\d),(\d{4}-\d\d-\d\d)$/, ',$2,$1')),
        () => 'the client list has 1 problem: line 3, intervention_end: before intervention_start',
      ],
      ['twice.csv', (l) => l.push(l[7]!), (lines) => `the client list has 1 problem: line ${lines}: the same person as line 8`],
    ];
    const logSize = async () => (JSON.parse((await fedlab('log', 'verify', '--json')).stdout) as { head: { size: number } }).head.size;
    const size = await logSize();
    for (const [name, change, message] of cases) {
      const file = listWith(change, name);
      const refused = await failure('evaluate', 'submit', '--node', 'justice', file);
      expect(refused.code, name).toBe(2);
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n').length;
      expect(refused.stderr.split('\n')[0], name).toBe(`error CLIENT_LIST_INVALID: ${message(lines)}`);
    }
    const small = listWith((l) => l.splice(41), 'small.csv');
    const tooSmall = await failure('evaluate', 'submit', '--node', 'justice', small);
    expect(tooSmall.stderr.split('\n')[0]).toBe(`error EVALUATION_TOO_SMALL: ${small} lists 40 people; an evaluation needs at least 60`);
    // Nothing reached the coordinator's public log.
    expect(await logSize()).toBe(size);
  });

  it('writes no client name or birth date to any process log', () => {
    const list = readFileSync(path.join(network.dataDir, CLIENT_LIST_PATH), 'utf8')
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((line) => line.split(','));
    const logs = readdirSync(path.join(network.dir, 'logs')).map((f) => readFileSync(path.join(network.dir, 'logs', f), 'utf8'));
    expect(logs.join('').length).toBeGreaterThan(0);
    const found = list.flatMap(([surname, , dob]) => [surname!, dob!]).filter((value) => logs.some((log) => log.includes(value)));
    expect(found).toEqual([]);
  });

  it('refuses a researcher who submits an evaluation', async () => {
    const refused = await run(process.execPath, [FEDLAB_BIN, 'evaluate', 'submit', '--node', 'justice', path.join(network.dataDir, CLIENT_LIST_PATH)], {
      env: { ...env, FEDLAB_KEY: network.researcherKeyFile('alice') },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr.split('\n')[0]).toBe(
      'error ROLE_NOT_ALLOWED: participant "alice" is a researcher: only an organisation on the roster submits an evaluation',
    );
  });
});
