import { createHash } from 'node:crypto';
import { FedlabError, formatDuration, silentLogger, type Logger } from '@fedlab/model';
import * as pb from '@fedlab/proto';
import type { CoordinatorStore, NodeStateName, StoredNodeProgress, StoredQuery } from '@fedlab/store';
import { isLoopbackAddress } from '@fedlab/wire';
import { admittedQuery } from './admitted-query';
import type { Coordinator } from './coordinator';
import { bearerTokenMatches, escapeHtml, NOT_FOUND, startPageServer, type PageResponse, type PageServer } from './page-server';

/** One node as the dashboard shows it. */
export interface DashboardNode {
  node_id: string;
  display_name: string;
  connected: boolean;
  /** Connected, with a heartbeat within the heartbeat interval (nodes send three per interval). */
  healthy: boolean;
  software_version: string;
  connected_since: string | null;
  last_heartbeat_age_ms: number | null;
  queries_answered_last_hour: number;
  queries_refused_last_hour: number;
  audit_head: { seq: number; head_hash: string } | null;
  datasets: string[];
}

/**
 * One query as the dashboard shows it: who it went to and how far each node got, with reason codes.
 * Never its filters, results or messages, which may quote values.
 */
export interface DashboardQuery {
  query_id: string;
  analysis: string;
  submitted_at: string;
  state: StoredQuery['state'];
  code: string;
  /** From submission to the last node's answer (or the pooled result); null while running. */
  latency_ms: number | null;
  nodes: Array<{ node_id: string; state: NodeStateName; code: string }>;
}

/** The coordinator dashboard's data, served as `/dashboard.json`. */
export interface Dashboard {
  generated_at: string;
  heartbeat_interval_ms: number;
  nodes: DashboardNode[];
  /** Running queries, newest first (at most 50 of `in_flight_total`). */
  in_flight: DashboardQuery[];
  in_flight_total: number;
  /** The last 30 finished or failed queries, newest first. */
  recent: DashboardQuery[];
}

const IN_FLIGHT_SHOWN = 50;
const RECENT_SHOWN = 30;

const iso = (ms: number) => new Date(ms).toISOString();

/** The analysis kind, from the query's envelope decoded once per listing (it is not a column: the signed query is its one record). */
function analysisKind(q: StoredQuery): string {
  try {
    return admittedQuery(q).spec.analysis.kind;
  } catch {
    return 'unknown';
  }
}

function latencyMs(q: StoredQuery, nodes: StoredNodeProgress[]): number | null {
  if (q.state === 'running') return null;
  if (q.pooledResult) return Number(pb.PooledResult.decode(pb.SignedEnvelope.decode(q.pooledResult).payload).producedAtMs) - q.submittedAtMs;
  return nodes.length === 0 ? null : Math.max(...nodes.map((n) => n.updatedAtMs)) - q.submittedAtMs;
}

function queryEntry(store: CoordinatorStore, q: StoredQuery): DashboardQuery {
  const nodes = store.queries.nodes(q.queryId);
  return {
    query_id: q.queryId,
    analysis: analysisKind(q),
    submitted_at: iso(q.submittedAtMs),
    state: q.state,
    code: q.code,
    latency_ms: latencyMs(q, nodes),
    nodes: nodes.map((n) => ({ node_id: n.nodeId, state: n.state, code: n.code })),
  };
}

/** Builds the dashboard from the coordinator's live node sessions and its query records. */
export function buildDashboard(coordinator: Coordinator, store: CoordinatorStore): Dashboard {
  const list = coordinator.listNodes();
  const nowMs = Number(list.nowMs);
  const running = store.queries.running().sort((a, b) => b.submittedAtMs - a.submittedAtMs);
  return {
    generated_at: iso(nowMs),
    heartbeat_interval_ms: list.heartbeatIntervalMs,
    nodes: list.nodes.map((n) => ({
      node_id: n.nodeId,
      display_name: n.displayName,
      connected: n.connected,
      healthy: n.healthy,
      software_version: n.softwareVersion,
      connected_since: n.connected ? iso(Number(n.connectedSinceMs)) : null,
      last_heartbeat_age_ms: n.connected ? Math.max(0, nowMs - Number(n.lastHeartbeatMs)) : null,
      queries_answered_last_hour: Number(n.queriesAnsweredLastHour),
      queries_refused_last_hour: Number(n.queriesRefusedLastHour),
      audit_head: n.auditHeadHash.length > 0 ? { seq: Number(n.auditSeq), head_hash: Buffer.from(n.auditHeadHash).toString('hex') } : null,
      datasets: n.datasets,
    })),
    in_flight: running.slice(0, IN_FLIGHT_SHOWN).map((q) => queryEntry(store, q)),
    in_flight_total: running.length,
    recent: store.queries.recentFinished(RECENT_SHOWN).map((q) => queryEntry(store, q)),
  };
}

/** The smallest 1, 2 or 5 × 10^k at or above `value`. */
function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * magnitude).find((v) => v >= value)!;
}

/** An inline SVG bar chart of the recent queries' latencies, oldest on the left. */
export function renderLatencyChart(queries: DashboardQuery[]): string {
  const points = queries.filter((q) => q.latency_ms !== null).reverse();
  if (points.length === 0) return '<p class="empty">No finished queries yet.</p>';
  const e = escapeHtml;
  const [width, height, left, top, bottom] = [640, 160, 56, 10, 20];
  const plotHeight = height - top - bottom;
  const latencies = points.map((q) => q.latency_ms!);
  const max = niceCeiling(Math.max(...latencies));
  const slot = (width - left) / points.length;
  const barWidth = Math.max(1, slot * 0.8);
  const bars = points
    .map((q, i) => {
      const h = Math.max(1, (plotHeight * q.latency_ms!) / max);
      return `<rect class="bar ${q.state}" x="${(left + i * slot + (slot - barWidth) / 2).toFixed(1)}" y="${(top + plotHeight - h).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${h.toFixed(1)}"><title>${e(q.query_id)} (${e(q.analysis)}): ${q.latency_ms} ms, ${q.state}</title></rect>`;
    })
    .join('');
  const sorted = [...latencies].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return `<svg id="latency-chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="Latency of the last ${points.length} finished queries, oldest first">
<line class="axis" x1="${left}" y1="${top}" x2="${left}" y2="${top + plotHeight}"/><line class="axis" x1="${left}" y1="${top + plotHeight}" x2="${width}" y2="${top + plotHeight}"/>
<text x="${left - 6}" y="${top + 8}" text-anchor="end">${max} ms</text><text x="${left - 6}" y="${top + plotHeight}" text-anchor="end">0</text>
<text x="${left}" y="${height - 4}">oldest</text><text x="${width}" y="${height - 4}" text-anchor="end">newest</text>
${bars}
</svg>
<p class="chart-summary">median ${median} ms, slowest ${sorted.at(-1)} ms over the last ${points.length} finished queries</p>`;
}

function renderQueryRows(queries: DashboardQuery[], withLatency: boolean): string {
  const e = escapeHtml;
  return queries
    .map((q) => {
      const nodes = q.nodes
        .map(
          (n) =>
            `<span class="node-state ${n.state}" data-node="${e(n.node_id)}" data-state="${n.state}">${e(n.node_id)}: ${n.state}${n.code ? ` (${e(n.code)})` : ''}</span>`,
        )
        .join(' ');
      const state = `${q.state}${q.code ? ` (${e(q.code)})` : ''}`;
      const latency = withLatency ? `<td class="latency">${q.latency_ms === null ? '—' : `${q.latency_ms} ms`}</td>` : '';
      return `<tr class="query ${q.state}" data-query="${e(q.query_id)}"><td><code>${e(q.query_id)}</code></td><td class="analysis">${e(q.analysis)}</td><td>${e(q.submitted_at.slice(11, 19))}</td><td class="state">${state}</td>${latency}<td class="nodes">${nodes}</td></tr>`;
    })
    .join('\n');
}

function healthText(n: DashboardNode): string {
  if (n.healthy) return 'healthy';
  if (!n.connected) return 'unhealthy: disconnected';
  return `unhealthy: no heartbeat for ${formatDuration(n.last_heartbeat_age_ms ?? 0)}`;
}

/** The page's live part: replaced in place by the refresh script. */
function renderMain(d: Dashboard): string {
  const e = escapeHtml;
  const nowMs = Date.parse(d.generated_at);
  const nodes = d.nodes
    .map(
      (n) =>
        `<tr class="node ${n.healthy ? 'healthy' : 'unhealthy'}" data-node="${e(n.node_id)}" data-healthy="${n.healthy}"><td>${e(n.display_name)} <small>${e(n.node_id)}</small></td><td class="health">${e(healthText(n))}</td><td>${e(n.software_version || '—')}</td><td>${n.connected_since ? formatDuration(nowMs - Date.parse(n.connected_since)) : '—'}</td><td class="heartbeat">${n.last_heartbeat_age_ms === null ? '—' : `${formatDuration(n.last_heartbeat_age_ms)} ago`}</td><td class="answered">${n.queries_answered_last_hour}</td><td class="refused">${n.queries_refused_last_hour}</td><td class="audit">${n.audit_head ? `#${n.audit_head.seq} <code>${e(n.audit_head.head_hash.slice(0, 12))}</code>` : '—'}</td><td>${e(n.datasets.join(', ') || '—')}</td></tr>`,
    )
    .join('\n');
  const healthy = d.nodes.filter((n) => n.healthy).length;
  const head = (withLatency: boolean) =>
    `<thead><tr><th>Query</th><th>Analysis</th><th>Submitted (UTC)</th><th>State</th>${withLatency ? '<th>Latency</th>' : ''}<th>Nodes</th></tr></thead>`;
  return `<main>
<p class="summary"><span class="${healthy === d.nodes.length ? 'ok' : 'bad'}">${healthy} of ${d.nodes.length} nodes healthy</span> · ${d.in_flight_total} ${d.in_flight_total === 1 ? 'query' : 'queries'} in flight · heartbeat interval ${formatDuration(d.heartbeat_interval_ms)} · generated ${e(d.generated_at)}</p>
<section id="nodes">
<h2>Nodes</h2>
<table>
<thead><tr><th>Node</th><th>Health</th><th>Version</th><th>Up for</th><th>Last heartbeat</th><th>Answered (1 h)</th><th>Refused (1 h)</th><th>Audit head</th><th>Datasets</th></tr></thead>
<tbody>
${nodes}
</tbody>
</table>
</section>
<section id="in-flight">
<h2>In flight</h2>
${d.in_flight.length ? `<table>${head(false)}<tbody>\n${renderQueryRows(d.in_flight, false)}\n</tbody></table>${d.in_flight_total > d.in_flight.length ? `<p>and ${d.in_flight_total - d.in_flight.length} more</p>` : ''}` : '<p class="empty">No queries in flight.</p>'}
</section>
<section id="recent">
<h2>Recent queries</h2>
${d.recent.length ? `<table>${head(true)}<tbody>\n${renderQueryRows(d.recent, true)}\n</tbody></table>` : '<p class="empty">No finished queries yet.</p>'}
</section>
<section id="latency">
<h2>Latency</h2>
${renderLatencyChart(d.recent)}
</section>
</main>`;
}

/**
 * Replaces the page's <main> with a fresh copy every second; marks the page stale when the
 * coordinator stops answering, so an old "healthy" is never mistaken for a current one.
 */
const REFRESH_SCRIPT = `(() => {
  const live = document.getElementById('live');
  const tick = async () => {
    try {
      const response = await fetch(location.href, { cache: 'no-store' });
      if (!response.ok) throw new Error('HTTP ' + response.status);
      const next = new DOMParser().parseFromString(await response.text(), 'text/html').querySelector('main');
      if (!next) throw new Error('no content');
      document.querySelector('main').replaceWith(document.adoptNode(next));
      document.body.classList.remove('stale');
      live.textContent = 'live, updated ' + new Date().toLocaleTimeString();
    } catch (error) {
      document.body.classList.add('stale');
      live.textContent = 'STALE: the coordinator did not answer (' + error.message + ') at ' + new Date().toLocaleTimeString();
    }
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 1000);
})();`;

const SCRIPT_HASH = `sha256-${createHash('sha256').update(REFRESH_SCRIPT, 'utf8').digest('base64')}`;

/** Inline styles and the one hashed inline script; nothing else may load or run. */
export const DASHBOARD_CSP = `default-src 'none'; style-src 'unsafe-inline'; script-src '${SCRIPT_HASH}'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

/** Renders the dashboard as one self-contained page (inline CSS, SVG and script; no external resources). */
export function renderDashboardHtml(d: Dashboard): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>fedlab dashboard</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 1.6rem; } small { color: #666; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid #eee; vertical-align: top; }
.ok, tr.healthy .health { color: #060; } .bad, tr.unhealthy .health { color: #a00; font-weight: bold; }
.node-state { display: inline-block; margin: 0 0.4rem 0.2rem 0; padding: 0 0.3rem; border-radius: 3px; background: #eee; }
.node-state.done { background: #dfd; } .node-state.running, .node-state.pending { background: #def; } .node-state.refused { background: #fed; } .node-state.failed, .node-state.unreachable { background: #fdd; }
svg text { font-size: 11px; fill: #555; } .axis { stroke: #999; } .bar.finished { fill: #4a7; } .bar.failed { fill: #c55; }
body.stale main { opacity: 0.45; } body.stale #live { color: #a00; font-weight: bold; }
footer { color: #666; font-size: 0.85rem; margin-top: 2rem; }
</style>
</head>
<body>
<h1>fedlab coordinator dashboard</h1>
${renderMain(d)}
<footer>Read-only. Shows query ids, analysis kinds, target nodes, states and reason codes — never results, filters or messages. <a href="dashboard.json">dashboard.json</a> · <span id="live">refreshes every second</span></footer>
<script>${REFRESH_SCRIPT}</script>
</body>
</html>
`;
}

export interface DashboardServerOptions {
  /** host:port; port 0 picks a free port. */
  listen: string;
  /** Required on a non-loopback address; when set, every request must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** PEM certificate and key: required on a non-loopback address (the token must not cross the network in clear). */
  tls?: { cert: Buffer; key: Buffer };
  logger?: Logger;
}

const COMMON_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };

/**
 * Serves the dashboard read-only over HTTP: `/` and `/dashboard` (HTML), `/dashboard.json`. With a
 * token, a request without the right bearer token gets 401. Without one (loopback only), a request
 * must name a loopback host, so a web page cannot read the dashboard through DNS rebinding.
 */
export async function startDashboardServer(coordinator: Coordinator, store: CoordinatorStore, options: DashboardServerOptions): Promise<PageServer> {
  const token = options.token;
  if (!token && !isLoopbackAddress(options.listen))
    throw new FedlabError('CONFIG_INVALID', 'dashboard: a token is required to serve the dashboard on a non-loopback address');
  if (!options.tls && !isLoopbackAddress(options.listen))
    throw new FedlabError('CONFIG_INVALID', 'dashboard: HTTPS (a certificate) is required to serve the dashboard on a non-loopback address');
  return startPageServer(
    options.listen,
    (path, req): PageResponse => {
      if (token && !bearerTokenMatches(req.headers.authorization, token)) {
        return {
          status: 401,
          headers: { ...COMMON_HEADERS, 'www-authenticate': 'Bearer realm="fedlab dashboard"', 'content-type': 'text/plain' },
          body: 'unauthorized: send Authorization: Bearer <token>',
        };
      }
      if (!token && !isLoopbackAddress(req.headers.host ?? '')) {
        return {
          status: 403,
          headers: { ...COMMON_HEADERS, 'content-type': 'text/plain' },
          body: 'forbidden: this dashboard answers only to a loopback host name',
        };
      }
      if (path === '/dashboard.json') {
        return {
          status: 200,
          headers: { ...COMMON_HEADERS, 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify(buildDashboard(coordinator, store), null, 2),
        };
      }
      if (path === '/' || path === '/dashboard') {
        return {
          status: 200,
          headers: { ...COMMON_HEADERS, 'content-type': 'text/html; charset=utf-8', 'content-security-policy': DASHBOARD_CSP },
          body: renderDashboardHtml(buildDashboard(coordinator, store)),
        };
      }
      return NOT_FOUND;
    },
    { logger: options.logger ?? silentLogger, ...(options.tls ? { tls: options.tls } : {}), setting: 'dashboard_listen', outputs: store.outputs },
  );
}
