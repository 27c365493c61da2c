import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, describe, expect } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { NetworkStatusView } from '@fedlab/client';
import { FEDLAB_BIN, createLocalNetwork, startLocalNetwork, type LocalNetwork } from '@fedlab/devnet';
import { SOFTWARE_VERSION } from '@fedlab/model';
import { parseQueryDocument } from '@fedlab/query';
import { SYNTH_DATASETS } from '@fedlab/synth';
import { it, test } from '@fedlab/test-kit';

const run = promisify(execFile);

describe('the coordinator dashboard (headless Chromium) and `fedlab status` against a coordinator and two node processes', () => {
  let net: LocalNetwork;
  let browser: Browser;
  let page: Page;

  test.beforeAll(async ({ fileTempDir }) => {
    net = await createLocalNetwork({ dir: fileTempDir, nodes: ['health', 'justice'], persons: 5000, seed: 5, logLevel: 'warn' });
    await startLocalNetwork(net);
    browser = await chromium.launch({
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
    page = await browser.newPage();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await net?.stop();
  });

  const status = async (): Promise<NetworkStatusView> => {
    const { stdout } = await run(process.execPath, [FEDLAB_BIN, 'status', '--json'], { env: { ...process.env, FEDLAB_COORDINATOR: net.coordinatorAddress } });
    return JSON.parse(stdout) as NetworkStatusView;
  };
  const datasetsOf = (nodeId: string) =>
    SYNTH_DATASETS.filter((d) => d.node === nodeId)
      .map((d) => d.dataset)
      .sort();

  it('`fedlab status --json` lists both nodes connected and healthy, with version, uptime, heartbeat, audit head and datasets', async () => {
    const s = await status();
    expect(s.heartbeatIntervalMs).toBe(1000);
    expect(s.nodes.map((n) => n.nodeId)).toEqual(['health', 'justice']);
    for (const n of s.nodes) {
      expect(n).toMatchObject({ connected: true, healthy: true, softwareVersion: SOFTWARE_VERSION, queriesLastHour: { answered: 0, refused: 0 } });
      expect(n.heartbeatAgeMs).toBeLessThanOrEqual(2000);
      expect(n.uptimeMs).toBeGreaterThanOrEqual(0);
      // No query yet: the audit chain is empty, its head the genesis hash.
      expect(n.auditHead).toEqual({ seq: 0, headHash: '00'.repeat(64) });
      expect([...n.datasets].sort()).toEqual(datasetsOf(n.nodeId));
    }
  });

  it('serves a page that lists the nodes as healthy', async () => {
    const response = await page.goto(net.dashboardUrl);
    expect(response?.status()).toBe(200);
    expect(await page.locator('h1').textContent()).toBe('fedlab coordinator dashboard');
    expect(
      await page
        .locator('#nodes tr.node')
        .evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-node'), r.getAttribute('data-healthy'), r.querySelector('.health')?.textContent])),
    ).toEqual([
      ['health', 'true', 'healthy'],
      ['justice', 'true', 'healthy'],
    ]);
  });

  it('shows a submitted query in the recent list with each node’s state and reason code, and its latency in the chart', async () => {
    const client = await net.client('alice');
    let queryId: string;
    let refusalCode: string;
    try {
      // health_visits exists at health only: health answers, justice refuses with a reason code.
      ({ queryId } = await client.submit(
        parseQueryDocument({
          project: 'demo-research',
          purpose: 'research',
          privacy: { rho: 0.05 },
          nodes: ['health', 'justice'],
          analysis: { kind: 'count', dataset: 'health_visits', group_by: ['region'] },
        }),
      ));
      const final = await client.watch(queryId);
      expect(final.nodes.map((n) => [n.nodeId, n.state])).toEqual([
        ['health', 'done'],
        ['justice', 'refused'],
      ]);
      refusalCode = final.nodes[1]!.code;
      expect(refusalCode).toMatch(/^[A-Z_]+$/);
    } finally {
      client.close();
    }
    const row = page.locator(`#recent tr[data-query="${queryId}"]`);
    await expect.poll(() => row.count(), { timeout: 3000, interval: 100 }).toBe(1);
    expect([await row.locator('.analysis').textContent(), await row.locator('.state').textContent(), await row.locator('.nodes').textContent()]).toEqual([
      'count',
      'finished',
      `health: done justice: refused (${refusalCode})`,
    ]);
    expect(await page.locator('#latency-chart rect.bar title').allTextContents()).toContainEqual(
      expect.stringMatching(new RegExp(`^${queryId} \\(count\\): \\d+ ms, finished$`)),
    );
  });

  it('shows a hung node (SIGSTOP, its stream still open) as unhealthy within the heartbeat interval, and healthy again when it resumes', async () => {
    const healthyOf = async (nodeId: string) => {
      const dashboard = (await (await fetch(`${net.dashboardUrl.replace(/\/dashboard$/, '')}/dashboard.json`)).json()) as {
        heartbeat_interval_ms: number;
        nodes: Array<{ node_id: string; healthy: boolean }>;
      };
      return { interval: dashboard.heartbeat_interval_ms, healthy: dashboard.nodes.find((n) => n.node_id === nodeId)!.healthy };
    };
    expect(await healthyOf('justice')).toEqual({ interval: 1000, healthy: true });
    const pid = net.nodePids().justice!;
    process.kill(pid, 'SIGSTOP');
    const stopped = Date.now();
    try {
      while ((await healthyOf('justice')).healthy) {
        if (Date.now() - stopped > 3_000) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const seenAfterMs = Date.now() - stopped;
      // Within one interval of its last heartbeat (sent at most a third of an interval before the stop),
      // plus this poll's granularity.
      expect(seenAfterMs).toBeLessThanOrEqual(1_000 + 150);
      expect((await healthyOf('health')).healthy).toBe(true);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await expect.poll(async () => (await healthyOf('justice')).healthy, { timeout: 3000, interval: 100 }).toBe(true);
  });

  it('shows a node that was stopped as unhealthy within the heartbeat interval', async () => {
    const justice = page.locator('#nodes tr[data-node="justice"]');
    // The page has caught up with the node resumed in the previous test …
    await expect.poll(() => justice.getAttribute('data-healthy'), { timeout: 3000, interval: 100 }).toBe('true');
    await net.stopNode('justice');
    // … and shows it disconnected within the interval once it stops.
    await expect.poll(() => justice.locator('.health').textContent(), { timeout: 2000, interval: 100 }).toBe('unhealthy: disconnected');
    expect(await justice.getAttribute('data-healthy')).toBe('false');
    expect(await page.locator('#nodes tr[data-node="health"]').getAttribute('data-healthy')).toBe('true');
  });

  it('`fedlab status` then counts the last hour’s answer and refusal, and shows justice disconnected', async () => {
    const s = await status();
    expect(s.nodes.map((n) => [n.nodeId, n.connected, n.healthy, n.queriesLastHour])).toEqual([
      ['health', true, true, { answered: 1, refused: 0 }],
      ['justice', false, false, { answered: 0, refused: 1 }],
    ]);
    // Each node audited its answer and sent a checkpoint of the longer chain.
    for (const n of s.nodes) expect(n.auditHead!.seq).toBeGreaterThanOrEqual(1);
    const { stdout } = await run(process.execPath, [FEDLAB_BIN, 'status'], { env: { ...process.env, FEDLAB_COORDINATOR: net.coordinatorAddress } });
    expect(stdout).toMatch(/^1 of 2 nodes healthy \(heartbeat within 1\.0 s\) · coordinator time \S+Z$/m);
  });

  it('`fedlab status --watch` prints a fresh status every interval until Ctrl-C, then exits cleanly', async () => {
    const child = spawn(process.execPath, [FEDLAB_BIN, 'status', '--json', '--watch', '0.5'], {
      env: { ...process.env, FEDLAB_COORDINATOR: net.coordinatorAddress },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const frames: NetworkStatusView[] = [];
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    for await (const line of createInterface({ input: child.stdout! })) {
      frames.push(JSON.parse(line) as NetworkStatusView);
      if (frames.length === 2) break;
    }
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(frames[1]!.atMs - frames[0]!.atMs).toBeGreaterThanOrEqual(450);
    expect(frames[1]!.nodes.map((n) => n.nodeId)).toEqual(['health', 'justice']);
  });
});
