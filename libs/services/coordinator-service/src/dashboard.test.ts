import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect } from 'vitest';
import { it } from '@fedlab/test-kit';
import { loadCoordinatorConfig } from './coordinator-config';
import { coordinatorTest as test, T0, type FakeNetwork } from './coordinator-test-fixture';
import { buildDashboard, DASHBOARD_CSP, renderDashboardHtml, renderLatencyChart, startDashboardServer, type DashboardQuery } from './dashboard';
import type { PageServer } from './page-server';

const SECRET_REGION = 'zz-secret-region';
const REFUSAL_MESSAGE = `purpose research is not permitted for ${SECRET_REGION}`;

/** Two queries: one answered by health and refused by justice 400 ms after submission, one still pending at health (attached). */
function twoQueries(network: FakeNetwork) {
  const done = network.submit(['health', 'justice'], {
    kind: 'count',
    dataset: 'visits',
    groupBy: [],
    filter: { kind: 'cmp', column: 'region', op: 'eq', values: [SECRET_REGION] },
  });
  network.clock.nowMs = T0 + 250;
  network.answer('health', done);
  network.clock.nowMs = T0 + 400;
  network.answer('justice', done, { code: 'PURPOSE_NOT_PERMITTED', message: REFUSAL_MESSAGE });
  network.clock.nowMs = T0 + 1_000;
  const open = network.submit(['health'], { kind: 'mean', dataset: 'visits', column: 'cost', groupBy: [] });
  network.attach('health');
  return { done, open };
}

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the coordinator dashboard', () => {
  test('lists each node’s health, the queries in flight and the recent ones with every node’s state and reason code', ({ network }) => {
    const { done, open } = twoQueries(network);
    expect(buildDashboard(network.coordinator, network.store)).toEqual({
      generated_at: '2026-11-25T09:00:01.000Z',
      heartbeat_interval_ms: 1_000,
      nodes: [
        {
          node_id: 'health',
          display_name: 'Ministry of Health',
          connected: true,
          healthy: true,
          software_version: '0.1.0',
          connected_since: '2026-11-25T09:00:01.000Z',
          last_heartbeat_age_ms: 0,
          queries_answered_last_hour: 1,
          queries_refused_last_hour: 0,
          audit_head: null,
          datasets: [],
        },
        {
          node_id: 'justice',
          display_name: 'Ministry of Justice',
          connected: false,
          healthy: false,
          software_version: '',
          connected_since: null,
          last_heartbeat_age_ms: null,
          queries_answered_last_hour: 0,
          queries_refused_last_hour: 1,
          audit_head: null,
          datasets: [],
        },
      ],
      in_flight: [
        {
          query_id: open,
          analysis: 'mean',
          submitted_at: '2026-11-25T09:00:01.000Z',
          state: 'running',
          code: '',
          latency_ms: null,
          nodes: [{ node_id: 'health', state: 'pending', code: '' }],
        },
      ],
      in_flight_total: 1,
      recent: [
        {
          query_id: done,
          analysis: 'count',
          submitted_at: '2026-11-25T09:00:00.000Z',
          state: 'finished',
          code: '',
          latency_ms: 400,
          nodes: [
            { node_id: 'health', state: 'done', code: '' },
            { node_id: 'justice', state: 'refused', code: 'PURPOSE_NOT_PERMITTED' },
          ],
        },
      ],
    });
  });

  test('never shows a query’s filter values or a node’s refusal message, in the JSON or the page', ({ network }) => {
    twoQueries(network);
    const dashboard = buildDashboard(network.coordinator, network.store);
    for (const text of [JSON.stringify(dashboard), renderDashboardHtml(dashboard)]) {
      expect(text).not.toContain(SECRET_REGION);
      expect(text).not.toContain('not permitted');
    }
  });

  test('marks a connected node whose heartbeat is late, and a disconnected one, unhealthy on the page', ({ network }) => {
    network.attach('health', T0);
    network.clock.nowMs = T0 + 2_001;
    const html = renderDashboardHtml(buildDashboard(network.coordinator, network.store));
    expect(html).toContain(
      '<tr class="node unhealthy" data-node="health" data-healthy="false"><td>Ministry of Health <small>health</small></td><td class="health">unhealthy: no heartbeat for 2.0 s</td>',
    );
    expect(html).toContain(
      '<tr class="node unhealthy" data-node="justice" data-healthy="false"><td>Ministry of Justice <small>justice</small></td><td class="health">unhealthy: disconnected</td>',
    );
    expect(html).toContain('0 of 2 nodes healthy');
  });

  test('shows a node’s audit head as its sequence number and the first 12 hex digits of its hash', ({ network }) => {
    network.attach('health');
    network.checkpoint('health', 42, new Uint8Array(32).fill(0xcd));
    const dashboard = buildDashboard(network.coordinator, network.store);
    expect(dashboard.nodes[0]!.audit_head).toEqual({ seq: 42, head_hash: 'cd'.repeat(32) });
    expect(renderDashboardHtml(dashboard)).toContain('<td class="audit">#42 <code>cdcdcdcdcdcd</code></td>');
  });

  it('draws recent latencies as an inline SVG bar chart, oldest first, on a rounded scale', () => {
    const query = (id: string, latency: number | null, state: DashboardQuery['state']): DashboardQuery => ({
      query_id: id,
      analysis: 'count',
      submitted_at: '',
      state,
      code: '',
      latency_ms: latency,
      nodes: [],
    });
    const chart = renderLatencyChart([query('q-new', 400, 'failed'), query('q-old', 120, 'finished')]);
    expect([...chart.matchAll(/<rect class="bar (\w+)"[^>]*><title>([^<]*)<\/title>/g)].map((m) => [m[1], m[2]])).toEqual([
      ['finished', 'q-old (count): 120 ms, finished'],
      ['failed', 'q-new (count): 400 ms, failed'],
    ]);
    expect(chart).toContain('>500 ms</text>');
    expect(chart).toContain('median 120 ms, slowest 400 ms over the last 2 finished queries');
    expect(renderLatencyChart([])).toBe('<p class="empty">No finished queries yet.</p>');
  });

  test('allows only its own inline script, by hash, and loads nothing from elsewhere', ({ network }) => {
    const html = renderDashboardHtml(buildDashboard(network.coordinator, network.store));
    const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!;
    expect(DASHBOARD_CSP).toContain(`script-src 'sha256-${createHash('sha256').update(script).digest('base64')}'`);
    expect(html).not.toMatch(/\bsrc=|https?:\/\//);
  });
});

describe('the dashboard server', () => {
  const TOKEN = 'correct-horse-battery-staple';
  let server: PageServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  test('answers 401 to a request without a bearer token or with a wrong one, and 200 with the right one', async ({ network }) => {
    server = await startDashboardServer(network.coordinator, network.store, { listen: '127.0.0.1:0', token: TOKEN });
    const url = `http://127.0.0.1:${server.port}/dashboard.json`;
    const missing = await get(url);
    expect([missing.status, missing.headers['www-authenticate'], missing.body]).toEqual([
      401,
      'Bearer realm="fedlab dashboard"',
      'unauthorized: send Authorization: Bearer <token>',
    ]);
    expect((await get(url, { authorization: 'Bearer correct-horse-battery-stapl' })).status).toBe(401);
    expect((await get(url, { authorization: `Basic ${TOKEN}` })).status).toBe(401);
    const ok = await get(url, { authorization: `Bearer ${TOKEN}` });
    expect([ok.status, ok.headers['content-type'], (JSON.parse(ok.body) as { nodes: Array<{ node_id: string }> }).nodes.map((n) => n.node_id)]).toEqual([
      200,
      'application/json; charset=utf-8',
      ['health', 'justice'],
    ]);
  });

  test('serves the page at / and /dashboard with its content security policy, and 404 elsewhere', async ({ network }) => {
    server = await startDashboardServer(network.coordinator, network.store, { listen: '127.0.0.1:0' });
    for (const page of ['/', '/dashboard']) {
      const r = await get(`http://127.0.0.1:${server.port}${page}`);
      expect([r.status, r.headers['content-security-policy'], r.headers['cache-control'], r.body.includes('<h1>fedlab coordinator dashboard</h1>')]).toEqual([
        200,
        DASHBOARD_CSP,
        'no-store',
        true,
      ]);
    }
    expect((await get(`http://127.0.0.1:${server.port}/register.json`)).status).toBe(404);
    expect((await get(`http://127.0.0.1:${server.port}/`, {}, 'POST')).status).toBe(405);
  });

  test('without a token, answers only requests that name a loopback host (no DNS rebinding)', async ({ network }) => {
    server = await startDashboardServer(network.coordinator, network.store, { listen: '127.0.0.1:0' });
    const url = `http://127.0.0.1:${server.port}/dashboard.json`;
    expect((await get(url, { host: `localhost:${server.port}` })).status).toBe(200);
    const rebound = await get(url, { host: `attacker.example:${server.port}` });
    expect([rebound.status, rebound.body]).toEqual([403, 'forbidden: this dashboard answers only to a loopback host name']);
  });

  test('refuses to start without a token on a non-loopback address', async ({ network }) => {
    await expect(startDashboardServer(network.coordinator, network.store, { listen: '0.0.0.0:0' })).rejects.toThrowFedlabError(
      'CONFIG_INVALID',
      'dashboard: a token is required to serve the dashboard on a non-loopback address',
    );
  });
});

describe('the dashboard keys of coordinator.yaml', () => {
  let dir: string;
  it.beforeEach(({ tempDir }) => {
    dir = tempDir;
  });
  const configWith = (lines: string) => {
    const file = path.join(dir, 'coordinator.yaml');
    writeFileSync(file, `listen: 127.0.0.1:0\ndatabase: coordinator.db\nkey_file: coordinator.key\nroster_file: roster.json\nplaintext: true\n${lines}`);
    return file;
  };
  it('refuses a non-loopback dashboard_listen without a token, naming the key and both ways to set it', () => {
    const file = configWith('dashboard_listen: 0.0.0.0:8090\n');
    expect(() => loadCoordinatorConfig(file, {})).toThrowFedlabError(
      'CONFIG_INVALID',
      `${file}: dashboard_token: required when dashboard_listen is not a loopback address (0.0.0.0:8090); set FEDLAB_DASHBOARD_TOKEN or dashboard_token`,
    );
  });

  it('serves a non-loopback dashboard only over HTTPS, with the coordinator certificate', () => {
    const file = configWith('dashboard_listen: 0.0.0.0:8090\ndashboard_token: token-from-the-file\n');
    expect(() => loadCoordinatorConfig(file, {})).toThrowFedlabError(
      'CONFIG_INVALID',
      `${file}: dashboard_listen: off loopback the dashboard is served over HTTPS with the coordinator's tls certificate; configure tls or use a loopback address`,
    );
  });

  it('accepts a non-loopback dashboard_listen with a token, FEDLAB_DASHBOARD_TOKEN overriding dashboard_token', () => {
    const file = path.join(dir, 'coordinator-tls.yaml');
    writeFileSync(
      file,
      'listen: 0.0.0.0:7443\ndatabase: coordinator.db\nkey_file: coordinator.key\nroster_file: roster.json\ntls:\n  cert_file: server.pem\n  key_file: server-key.pem\ndashboard_listen: 0.0.0.0:8090\ndashboard_token: token-from-the-file\n',
    );
    expect(loadCoordinatorConfig(file, {})).toMatchObject({ dashboardListen: '0.0.0.0:8090', dashboardToken: 'token-from-the-file' });
    expect(loadCoordinatorConfig(file, { FEDLAB_DASHBOARD_TOKEN: 'token-from-the-environment' })).toMatchObject({
      dashboardToken: 'token-from-the-environment',
    });
  });

  it('refuses a token shorter than 16 characters, from the file or the environment', () => {
    const file = configWith('dashboard_listen: 127.0.0.1:8090\ndashboard_token: short\n');
    expect(() => loadCoordinatorConfig(file, {})).toThrowFedlabError('CONFIG_INVALID', /dashboard_token: .*16/);
    expect(() => loadCoordinatorConfig(configWith('dashboard_listen: 0.0.0.0:8090\n'), { FEDLAB_DASHBOARD_TOKEN: 'short' })).toThrowFedlabError(
      'CONFIG_INVALID',
      `${path.join(dir, 'coordinator.yaml')}: FEDLAB_DASHBOARD_TOKEN: at least 16 characters`,
    );
  });

  it('serves the dashboard on loopback without a token, and not at all without dashboard_listen', () => {
    const loopback = loadCoordinatorConfig(configWith('dashboard_listen: 127.0.0.1:8090\n'), {});
    expect([loopback.dashboardListen, loopback.dashboardToken]).toEqual(['127.0.0.1:8090', undefined]);
    const off = loadCoordinatorConfig(configWith(''), {});
    expect([off.dashboardListen, off.dashboardToken]).toEqual([undefined, undefined]);
  });
});
