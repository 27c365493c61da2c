import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect } from 'vitest';
import { parse } from 'csv-parse/sync';
import { stringify } from 'yaml';
import { FEDLAB_BIN, createLocalNetwork, startLocalNetwork, type LocalNetwork } from '@fedlab/devnet';
import { parseQueryDocument } from '@fedlab/query';
import { chromium } from 'playwright-core';
import { it, test } from '@fedlab/test-kit';

const run = promisify(execFile);

type Row = Record<string, string>;
const readCsv = (file: string): Row[] => parse(readFileSync(file), { columns: true }) as Row[];
function tally(rows: Row[], key: (r: Row) => string, weight: (r: Row) => number = () => 1): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[key(r)] = (out[key(r)] ?? 0) + weight(r);
  return out;
}

describe('a coordinator and three ministry node processes started from the CLI', () => {
  let net: LocalNetwork;
  let truth: Row[];

  test.beforeAll(async ({ fileTempDir }) => {
    net = await createLocalNetwork({ dir: fileTempDir, nodes: ['health', 'education', 'justice'], persons: 4000, seed: 11, logLevel: 'warn' });
    await startLocalNetwork(net);
    truth = readCsv(path.join(net.dataDir, 'truth/persons.csv'));
  }, 120_000);
  afterAll(async () => {
    await net?.stop();
  });

  const cliOptions = () => ({
    env: {
      ...process.env,
      FEDLAB_COORDINATOR: net.coordinatorAddress,
      FEDLAB_KEY: net.researcherKeyFile('alice'),
      FEDLAB_ROSTER: net.rosterFile,
      FEDLAB_GOVERNANCE: net.governanceFile,
    },
  });
  async function cli(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run(process.execPath, [FEDLAB_BIN, ...args], cliOptions());
  }
  /** Runs a command that is expected to exit non-zero; returns its exit code and output. */
  async function cliFailing(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const failed = await run(process.execPath, [FEDLAB_BIN, ...args], cliOptions()).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    if (!failed) throw new Error(`fedlab ${args.join(' ')} exited 0`);
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }

  it('answers a proportion submitted with `fedlab query submit --wait --json` that matches the ground truth', async ({ tempDir }) => {
    const file = path.join(tempDir, 'graduation.yaml');
    writeFileSync(
      file,
      stringify({
        project: 'demo-research',
        purpose: 'research',
        privacy: { rho: 0.5 },
        nodes: ['education'],
        analysis: {
          kind: 'proportion',
          dataset: 'education_enrolments',
          group_by: ['region'],
          condition: { column: 'completed_high_school', op: 'eq', value: true },
        },
      }),
    );
    const { stdout } = await cli('query', 'submit', file, '--wait', '--json');
    const result = JSON.parse(stdout) as {
      status: { state: string };
      answers: Array<{
        nodeId: string;
        verified: boolean;
        table: {
          cells: Array<{ key: string[]; stats: Record<string, number> | null }>;
          privacy: { rho: number; noise: Array<{ statistic: string; sd: number }> };
        };
      }>;
    };
    expect(result.status.state).toBe('finished');
    expect(result.answers[0]!.verified).toBe(true);
    const students = truth.filter((p) => p.student_id !== '');
    const graduates = tally(
      students.filter((p) => p.completed_high_school === 'true'),
      (p) => p.region!,
    );
    const enrolled = tally(students, (p) => p.region!);
    // Noisy counts: each within 5 noise SDs of the truth (a chance failure is about 1 in 1.7 million).
    const { privacy } = result.answers[0]!.table;
    expect(privacy.rho).toBe(0.5);
    const sd = privacy.noise.find((n) => n.statistic === 'split')!.sd;
    expect(sd).toBeCloseTo(1, 6);
    for (const cell of result.answers[0]!.table.cells) {
      const region = cell.key[0]!;
      expect(cell.stats).not.toBeNull();
      expect(Math.abs(cell.stats!.numerator! - graduates[region]!)).toBeLessThanOrEqual(5 * sd);
      expect(Math.abs(cell.stats!.denominator! - enrolled[region]!)).toBeLessThanOrEqual(10 * sd);
      expect(cell.stats!.proportion).toBeCloseTo(cell.stats!.numerator! / cell.stats!.denominator!, 12);
      expect(cell.stats!.ci_lower).toBeLessThan(cell.stats!.proportion!);
      expect(cell.stats!.ci_upper).toBeGreaterThan(cell.stats!.proportion!);
    }
    expect(result.answers[0]!.table.cells.map((c) => c.key[0])).toEqual(Object.keys(enrolled).sort());
  });

  it('answers per node for a query to two ministries, each matching its own records within the noise', async () => {
    const client = await net.client('alice');
    try {
      const health = await client.submit(
        parseQueryDocument({
          project: 'demo-research',
          purpose: 'research',
          privacy: { rho: 1 },
          nodes: ['health'],
          analysis: { kind: 'count', dataset: 'health_visits', group_by: ['sex'] },
        }),
      );
      const justice = await client.submit(
        parseQueryDocument({
          project: 'demo-research',
          purpose: 'research',
          privacy: { rho: 1 },
          nodes: ['justice'],
          analysis: { kind: 'count', dataset: 'justice_offences', group_by: ['sex'] },
        }),
      );
      await client.watch(health.queryId);
      await client.watch(justice.queryId);
      const healthTable = (await client.result(health.queryId)).answers[0]!.table!;
      const justiceTable = (await client.result(justice.queryId)).answers[0]!.table!;
      // Each person counts with at most max_records_per_person rows: 5 visits, 10 offences.
      const visits = tally(
        truth,
        (p) => p.sex!,
        (p) => Math.min(5, Number(p.health_visits)),
      );
      const offences = tally(
        truth,
        (p) => p.sex!,
        (p) => Math.min(10, Number(p.offences)),
      );
      for (const [table, expected, m] of [
        [healthTable, visits, 5],
        [justiceTable, offences, 10],
      ] as const) {
        // ρ = 1 and m rows per person: σ = m / √2 on every count.
        const sd = m / Math.SQRT2;
        expect(table.privacy!.noise).toEqual([{ statistic: 'count', sd: expect.closeTo(sd, 6) }]);
        expect(table.cells.map((c) => c.key[0])).toEqual(Object.keys(expected).sort());
        for (const c of table.cells) expect(Math.abs(c.stats!.count! - expected[c.key[0] as string]!)).toBeLessThanOrEqual(5 * sd);
      }
    } finally {
      client.close();
    }
  });

  it('returns a refusal with its code for a purpose Justice does not permit, and records it in the audit chain', async ({ tempDir }) => {
    const file = path.join(tempDir, 'enforcement.yaml');
    writeFileSync(
      file,
      stringify({
        project: 'demo-research',
        purpose: 'immigration_control',
        privacy: { rho: 0.05 },
        nodes: ['justice'],
        analysis: { kind: 'count', dataset: 'justice_offences' },
      }),
    );
    // Exit code 4: the query finished without a full answer (docs/operations.md "Exit codes").
    const { code, stdout } = await cliFailing('query', 'submit', file, '--wait');
    expect(code).toBe(4);
    expect(stdout).toContain('refused PURPOSE_NOT_PERMITTED: purpose "immigration_control" is not permitted for dataset "justice_offences"');
    // Justice has received two queries so far in this file: the count by sex and this refusal.
    const audit = await cli('audit', 'verify', '--config', net.nodeConfigs.justice!, '--json');
    expect(JSON.parse(audit.stdout)).toEqual({ ok: true, entries: 2 });
  });

  it('publishes a catalog of metadata only: names, types, roles, declared values and rounded row counts', async () => {
    const { stdout } = await cli('catalog', '--json');
    const nodes = JSON.parse(stdout) as Array<{
      nodeId: string;
      datasets: Array<{ dataset: string; approxRows: number; columns: Array<{ name: string; role: string; values: string[] }> }>;
    }>;
    expect(nodes.map((n) => [n.nodeId, n.datasets.map((d) => d.dataset)])).toEqual([
      ['education', ['education_enrolments']],
      ['health', ['health_visits']],
      ['justice', ['justice_offences']],
    ]);
    const health = nodes.find((n) => n.nodeId === 'health')!.datasets[0]!;
    const visits = truth.reduce((sum, p) => sum + Number(p.health_visits), 0);
    expect(health.approxRows).toBe(Math.round(visits / 100) * 100);
    for (const column of health.columns.filter((c) => c.role === 'identifier')) expect(column.values).toEqual([]);
    expect(health.columns.find((c) => c.name === 'sex')!.values).toEqual(['F', 'M']);
  });

  it('reports per-node status with `fedlab query status`', async ({ tempDir }) => {
    const file = path.join(tempDir, 'two-nodes.yaml');
    writeFileSync(
      file,
      stringify({
        project: 'demo-research',
        purpose: 'research',
        privacy: { rho: 0.05 },
        nodes: ['health', 'justice'],
        analysis: { kind: 'count', dataset: 'health_visits' },
      }),
    );
    const { code, stdout } = await cliFailing('query', 'submit', file, '--wait', '--json');
    expect(code).toBe(4);
    const { status } = JSON.parse(stdout) as { status: { queryId: string } };
    const shown = JSON.parse((await cli('query', 'status', status.queryId, '--json')).stdout) as {
      state: string;
      nodes: Array<{ nodeId: string; state: string; code: string }>;
    };
    expect(shown.state).toBe('finished');
    // Justice has no health_visits dataset: the same query is answered by one node and refused by the other.
    expect(shown.nodes.map((n) => [n.nodeId, n.state, n.code])).toEqual([
      ['health', 'done', ''],
      ['justice', 'refused', 'UNKNOWN_DATASET'],
    ]);
  });

  it('verifies the public log with `fedlab log verify`, then proves it only grew with --since', async ({ tempDir }) => {
    const head = path.join(tempDir, 'head.json');
    const first = await cli('log', 'verify', '--save', head);
    const saved = JSON.parse(readFileSync(head, 'utf8')) as { size: number };
    expect(first.stdout.split('\n')[0]).toMatch(new RegExp(`^log verified: ${saved.size} entries hash to the signed root [0-9a-f]{64}$`));
    const file = path.join(tempDir, 'one-more.yaml');
    writeFileSync(
      file,
      stringify({
        project: 'demo-research',
        purpose: 'research',
        privacy: { rho: 0.05 },
        nodes: ['justice'],
        analysis: { kind: 'count', dataset: 'justice_offences' },
      }),
    );
    await cli('query', 'submit', file, '--wait');
    const second = await cli('log', 'verify', '--since', head);
    const grown = new RegExp(
      `^log verified: (\\d+) entries hash to the signed root [0-9a-f]{64}; consistent with the earlier head of size ${saved.size}$`,
    ).exec(second.stdout.split('\n')[0]!);
    // The query was appended since, and (once the coordinator has processed it) the node's new audit checkpoint.
    expect([saved.size + 1, saved.size + 2]).toContain(Number(grown?.[1]));
  });

  it('lists the registered projects and which stewards approved them', async () => {
    const { stdout } = await cli('project', 'list', '--json');
    expect(JSON.parse(stdout)).toEqual([
      { projectId: 'demo-research', purpose: 'research', approvedBy: ['health', 'education', 'justice'], revokedBy: [] },
      { projectId: 'demo-statistics', purpose: 'statistics', approvedBy: ['health', 'education'], revokedBy: [] },
    ]);
  });

  it("shows a project's spent privacy budget per node and dataset with `fedlab budget`, from the nodes' signed answers", async () => {
    const { stdout } = await cli('budget', 'demo-research', '--json');
    const budgets = JSON.parse(stdout) as Array<{ nodeId: string; dataset: string; total: number; spent: number; remaining: number }>;
    // Earlier tests in this file: a proportion at ρ 0.5 on education; a count at ρ 1 and one at ρ 0.05 on health (demo policy: 10 each).
    expect(budgets.find((b) => b.nodeId === 'education')).toEqual({
      nodeId: 'education',
      dataset: 'education_enrolments',
      total: 10,
      spent: 0.5,
      remaining: 9.5,
    });
    expect(budgets.find((b) => b.nodeId === 'health')).toEqual({
      nodeId: 'health',
      dataset: 'health_visits',
      total: 10,
      spent: expect.closeTo(1.05, 12),
      remaining: expect.closeTo(8.95, 12),
    });
    const table = await cli('budget', 'demo-research');
    expect(table.stdout).toMatch(/│ education │ education_enrolments │ 10\s+│ 0\.5\s+│ 9\.5\s+│/);
  });

  it('lets a researcher register a project and a steward approve it narrower, which the node then enforces', async ({ tempDir }) => {
    const file = path.join(tempDir, 'narrow.json');
    writeFileSync(
      file,
      JSON.stringify({
        project_id: 'e2e-narrow',
        title: 'Graduation by region',
        lay_summary: 'How many students complete high school in each region.',
        purpose: 'research',
        legal_basis: 'Education statistics provisions',
        data_sharing_agreement: 'DSA-E2E',
        ethics_approval: { reference: 'REB-E2E', expires_on: '2099-12-31' },
        members: ['alice'],
        requests: {
          education: { datasets: { education_enrolments: { columns: ['region', 'completed_high_school', 'grade_level'], analyses: ['count', 'proportion'] } } },
        },
        created_at: '2026-11-24T00:00:00.000Z',
      }),
    );
    expect((await cli('project', 'submit', file)).stdout).toMatch(/^registered project e2e-narrow \(log entry \d+\)/);
    const approved = await cli(
      'project',
      'approve',
      'e2e-narrow',
      '--config',
      net.nodeConfigs.education!,
      '--key',
      path.join(net.dir, 'keys', 'education-steward.key'),
      '--exclude-columns',
      'grade_level',
    );
    expect(approved.stdout).toMatch(/^approved e2e-narrow at education until 2099-12-31: education_enrolments \(log entry \d+\)/);
    const client = await net.client('alice');
    try {
      const ask = async (analysis: Record<string, unknown>) => {
        const { queryId } = await client.submit(
          parseQueryDocument({ project: 'e2e-narrow', purpose: 'research', privacy: { rho: 0.05 }, nodes: ['education'], analysis }),
        );
        await client.watch(queryId);
        return (await client.result(queryId)).answers[0]!;
      };
      const allowed = await ask({ kind: 'count', dataset: 'education_enrolments', group_by: ['region'] });
      expect(allowed.table?.cells).toHaveLength(5);
      const withheld = await ask({ kind: 'count', dataset: 'education_enrolments', filter: { column: 'grade_level', op: 'ge', value: 12 } });
      expect(withheld.refusal).toEqual({
        code: 'COLUMN_NOT_APPROVED',
        message: 'column "grade_level" of dataset "education_enrolments" is not approved for project "e2e-narrow"',
      });
    } finally {
      client.close();
    }
    const shown = await cli('project', 'show', 'e2e-narrow');
    expect(shown.stdout).toContain('education        approved until 2099-12-31: education_enrolments · 2 queries');
  });

  it("refuses a project's next query at a node once that node's steward revokes it", async ({ tempDir }) => {
    const revoked = await cli(
      'project',
      'revoke',
      'demo-statistics',
      '--config',
      net.nodeConfigs.health!,
      '--key',
      path.join(net.dir, 'keys', 'health-steward.key'),
      '--reason',
      'ethics approval suspended',
    );
    expect(revoked.stdout).toMatch(/^revoked demo-statistics at health \(log entry \d+\)/);
    const file = path.join(tempDir, 'after-revocation.yaml');
    writeFileSync(
      file,
      stringify({
        project: 'demo-statistics',
        purpose: 'statistics',
        privacy: { rho: 0.05 },
        nodes: ['health'],
        analysis: { kind: 'count', dataset: 'health_visits' },
      }),
    );
    const { code, stdout } = await cliFailing('query', 'submit', file, '--wait');
    expect(code).toBe(4);
    expect(stdout).toContain('refused PROJECT_REVOKED: the approval of project "demo-statistics" at this node was revoked');
  });

  it('serves a public register, checked in headless Chromium, that lists the projects and shows the revoked approval', async () => {
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await browser.newPage();
      const response = await page.goto(net.registerUrl);
      expect(response?.status()).toBe(200);
      expect(await page.locator('h1').textContent()).toBe('fedlab public register');
      expect(await page.locator('article.project').evaluateAll((items) => items.map((a) => a.getAttribute('data-project')))).toEqual([
        'demo-research',
        'demo-statistics',
        'e2e-narrow',
      ]);
      const statistics = page.locator('article[data-project="demo-statistics"]');
      expect(await statistics.locator('.purpose').textContent()).toBe('statistics');
      expect(await statistics.locator('tr[data-node="health"] .status').textContent()).toBe('revoked — ethics approval suspended');
      expect(await statistics.locator('tr[data-node="justice"] .status').textContent()).toBe('not approved');
      expect(await page.locator('article[data-project="demo-research"] tr[data-node="education"] .status').textContent()).toBe('approved');
      // The proportion at ρ 0.5 earlier in this file, as the education node's signed answer stated it.
      expect(await page.locator('article[data-project="demo-research"] tr[data-node="education"] .budget').textContent()).toBe(
        'education_enrolments: 0.5 of 10',
      );
      const json = (await (await page.goto(net.registerUrl.replace(/register$/, 'register.json')))!.json()) as {
        projects: Array<{ project_id: string; nodes: Array<{ node_id: string; queries: number; privacy_budget: unknown[] }> }>;
      };
      const narrow = json.projects.find((p) => p.project_id === 'e2e-narrow')!;
      expect(narrow.nodes).toEqual([expect.objectContaining({ node_id: 'education', queries: 2 })]);
      const research = json.projects.find((p) => p.project_id === 'demo-research')!;
      expect(research.nodes.find((n) => n.node_id === 'education')!.privacy_budget).toEqual([
        { dataset: 'education_enrolments', rho_total: 10, rho_spent: 0.5, rho_remaining: 9.5 },
      ]);
      expect(JSON.stringify(json)).not.toMatch(/"cells"|"stats"/);
    } finally {
      await browser.close();
    }
  });

  it('cross-checks a node audit chain against the public log with `fedlab audit verify --coordinator`', async () => {
    const { stdout } = await cli('audit', 'verify', '--config', net.nodeConfigs.justice!, '--coordinator', net.coordinatorAddress);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^audit chain intact: \d+ entries$/);
    expect(lines[1]).toMatch(/^public log: (\d+) queries for justice, \1 in the audit chain, [1-9]\d* checkpoints checked$/);
    expect(lines[2]).toBe('every query the node answered is in the public log, and every logged query reached the node');
    // Exactly as docs/governance.md §5 writes it, on the node's machine: no roster or governance flags or
    // variables; the node's own roster, governance file and TLS settings are used.
    const bare = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FEDLAB_')));
    const documented = await run(
      process.execPath,
      [FEDLAB_BIN, 'audit', 'verify', '--config', net.nodeConfigs.justice!, '--coordinator', net.coordinatorAddress],
      {
        env: bare,
      },
    );
    expect(documented.stdout.trim().split('\n')[2]).toBe('every query the node answered is in the public log, and every logged query reached the node');
  });

  it('prints a clear error for a query file that does not follow the query model', async ({ tempDir }) => {
    const file = path.join(tempDir, 'bad.yaml');
    writeFileSync(
      file,
      stringify({
        project: 'demo-research',
        purpose: 'research',
        privacy: { rho: 0.05 },
        nodes: ['health'],
        analysis: { kind: 'median', dataset: 'health_visits' },
      }),
    );
    const error = (await cli('query', 'submit', file).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(error.code).toBe(2);
    expect(error.stderr).toMatch(/^error INVALID_QUERY: analysis\.kind: /);
  });
});
