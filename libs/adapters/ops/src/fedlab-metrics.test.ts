import { Registry, register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ANALYSIS_KINDS, ERROR_CODES, SDC_RULES } from '@fedlab/model';
import { coordinatorMetrics, nodeMetrics } from './fedlab-metrics';

/** Every value each label may take: fixed enums, roster node ids of the test, and histogram bounds. */
const ALLOWED: Record<string, (value: string) => boolean> = {
  analysis: (v) => [...ANALYSIS_KINDS, 'unknown'].includes(v),
  code: (v) => [...Object.keys(ERROR_CODES), 'none', 'OTHER'].includes(v),
  state: (v) => ['finished', 'failed', 'done', 'refused', 'unreachable', 'other'].includes(v),
  decision: (v) => ['answered', 'refused', 'redelivered'].includes(v),
  rule: (v) => [...SDC_RULES, 'other'].includes(v),
  protocol: (v) => ['secagg', 'psi'].includes(v),
  outcome: (v) => ['complete', 'failed'].includes(v),
  node: (v) => ['clinic', 'school', 'other'].includes(v),
  process: (v) => ['coordinator', 'node'].includes(v),
  software_version: (v) => /^\d+\.\d+\.\d+$/.test(v),
  protocol_version: (v) => /^\d+$/.test(v),
  le: (v) => v === '+Inf' || Number.isFinite(Number(v)),
};

/** The `name="value"` pairs of every sample line of an exposition. */
function labelPairs(exposition: string): Array<[string, string]> {
  return exposition
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .flatMap((line) => [...(/\{(.*)\}/.exec(line)?.[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!] as [string, string]));
}

async function values(registry: Registry, name: string): Promise<Array<[Record<string, string | number>, number]>> {
  const metric = await registry.getSingleMetric(name)!.get();
  return metric.values.map((v) => [v.labels as Record<string, string | number>, v.value]);
}

describe('coordinatorMetrics', () => {
  it('counts a submission flow into received, accepted and refused by analysis kind and error code', async () => {
    const registry = new Registry();
    const metrics = coordinatorMetrics(registry);
    metrics.queryAccepted('count');
    metrics.queryAccepted('count');
    metrics.queryRefused('mean', 'QUERY_EXPIRED');
    metrics.queryRefused('unknown', 'SIGNATURE_INVALID');
    expect(await values(registry, 'fedlab_queries_received_total')).toEqual([
      [{ analysis: 'count' }, 2],
      [{ analysis: 'mean' }, 1],
      [{ analysis: 'unknown' }, 1],
    ]);
    expect(await values(registry, 'fedlab_queries_accepted_total')).toEqual([[{ analysis: 'count' }, 2]]);
    expect(await values(registry, 'fedlab_queries_refused_total')).toEqual([
      [{ analysis: 'mean', code: 'QUERY_EXPIRED' }, 1],
      [{ analysis: 'unknown', code: 'SIGNATURE_INVALID' }, 1],
    ]);
  });

  it('observes query latency per analysis and final state, and node results per node, state and code', async () => {
    const registry = new Registry();
    const metrics = coordinatorMetrics(registry);
    metrics.queryFinished('count', 'finished', 0.2);
    metrics.queryFinished('glm', 'failed', 3);
    metrics.nodeResult('clinic', 'done', '');
    metrics.nodeResult('school', 'refused', 'PURPOSE_NOT_PERMITTED');
    const text = await registry.metrics();
    expect(text).toContain('fedlab_query_duration_seconds_bucket{le="0.25",analysis="count",state="finished"} 1');
    expect(text).toContain('fedlab_query_duration_seconds_bucket{le="2.5",analysis="glm",state="failed"} 0');
    expect(text).toContain('fedlab_query_duration_seconds_count{analysis="glm",state="failed"} 1');
    expect(await values(registry, 'fedlab_node_results_total')).toEqual([
      [{ node: 'clinic', state: 'done', code: 'none' }, 1],
      [{ node: 'school', state: 'refused', code: 'PURPOSE_NOT_PERMITTED' }, 1],
    ]);
  });

  it('counts protocol runs by outcome and code, and the nodes they lost', async () => {
    const registry = new Registry();
    const metrics = coordinatorMetrics(registry);
    metrics.protocolRunEnded('secagg', undefined, 1);
    metrics.protocolRunEnded('secagg', 'THRESHOLD_NOT_MET', 0);
    metrics.protocolRunEnded('psi', 'NODE_DISCONNECTED', 1);
    expect(await values(registry, 'fedlab_protocol_runs_total')).toEqual([
      [{ protocol: 'secagg', outcome: 'complete', code: 'none' }, 1],
      [{ protocol: 'secagg', outcome: 'failed', code: 'THRESHOLD_NOT_MET' }, 1],
      [{ protocol: 'psi', outcome: 'failed', code: 'NODE_DISCONNECTED' }, 1],
    ]);
    expect(await values(registry, 'fedlab_protocol_dropouts_total')).toEqual([
      [{ protocol: 'secagg' }, 1],
      [{ protocol: 'psi' }, 1],
    ]);
  });

  it('counts the database syncs and the outputs each served, with the time of each sync', async () => {
    const registry = new Registry();
    const metrics = nodeMetrics(registry);
    metrics.databaseSynced(0.0003, 4);
    metrics.databaseSynced(0.02, 1);
    const text = await registry.metrics();
    expect(text).toContain('\nfedlab_database_sync_seconds_count 2\n');
    expect(text).toContain('\nfedlab_database_sync_seconds_bucket{le="0.0005"} 1\n');
    expect(text).toContain('\nfedlab_database_sync_seconds_bucket{le="0.025"} 2\n');
    expect(text).toContain('\nfedlab_database_synced_outputs_total 5\n');
  });

  it('reads gauges at scrape time and carries the versions in fedlab_build_info', async () => {
    const registry = new Registry();
    let entries = 3;
    coordinatorMetrics(registry, { databaseBytes: () => 8192, transparencyLogEntries: () => entries, nodesAttached: () => 1, rosterNodes: () => 4 });
    entries = 5;
    const text = await registry.metrics();
    expect(text).toContain('\nfedlab_database_bytes 8192\n');
    expect(text).toContain('\nfedlab_transparency_log_entries 5\n');
    expect(text).toContain('\nfedlab_nodes_attached 1\n');
    expect(text).toContain('\nfedlab_roster_nodes 4\n');
    expect(text).toMatch(/\nfedlab_build_info\{process="coordinator",software_version="\d+\.\d+\.\d+",protocol_version="\d+"\} 1\n/);
  });

  it('keeps serving the other series when a gauge source throws (a closed database)', async () => {
    const registry = new Registry();
    coordinatorMetrics(registry, {
      databaseBytes: () => {
        throw new TypeError('The database connection is not open');
      },
      nodesAttached: () => 2,
    });
    const text = await registry.metrics();
    expect(text).toContain('\nfedlab_nodes_attached 2\n');
    expect(text).toContain('\nfedlab_database_bytes 0\n');
  });

  it('never lets an identifier, a person or a query value into a label', async () => {
    const registry = new Registry();
    const metrics = coordinatorMetrics(registry);
    metrics.queryRefused('Surname0042', 'the patient P0042 was refused');
    metrics.nodeResult('Alice Smith', 'P0042', 'P0042');
    metrics.cellsSuppressed('count; DROP TABLE', ['threshold', 'zq-distinctive-7731']);
    metrics.queryFinished('zq-distinctive-7731', 'finished', 1);
    const text = await registry.metrics();
    for (const leaked of ['Surname0042', 'P0042', 'Alice', 'DROP', 'zq-distinctive-7731']) expect(text).not.toContain(leaked);
    expect(await values(registry, 'fedlab_queries_refused_total')).toEqual([[{ analysis: 'unknown', code: 'OTHER' }, 1]]);
    expect(await values(registry, 'fedlab_node_results_total')).toEqual([[{ node: 'other', state: 'other', code: 'OTHER' }, 1]]);
    expect(await values(registry, 'fedlab_disclosure_suppressed_cells_total')).toEqual([
      [{ analysis: 'unknown', rule: 'threshold' }, 1],
      [{ analysis: 'unknown', rule: 'other' }, 1],
    ]);
  });

  it('registers nothing in prom-client’s global default registry', () => {
    coordinatorMetrics(new Registry());
    nodeMetrics(new Registry());
    expect(globalRegistry.getMetricsAsArray()).toEqual([]);
  });
});

describe('nodeMetrics', () => {
  it('counts handled work by decision, observes handle time, suppressed cells and reconnects', async () => {
    const registry = new Registry();
    const metrics = nodeMetrics(registry, { auditLogEntries: () => 12, coordinatorAttached: () => 1 });
    metrics.queryHandled('count', 'answered', '', 0.01);
    metrics.queryHandled('count', 'refused', 'PURPOSE_NOT_PERMITTED', 0.002);
    metrics.queryHandled('count', 'redelivered', '', 0.001);
    metrics.cellsSuppressed('count', ['threshold', 'secondary']);
    metrics.reconnect();
    metrics.reconnect();
    expect(await values(registry, 'fedlab_queries_received_total')).toEqual([[{ analysis: 'count' }, 3]]);
    expect(await values(registry, 'fedlab_queries_accepted_total')).toEqual([[{ analysis: 'count' }, 1]]);
    expect(await values(registry, 'fedlab_queries_refused_total')).toEqual([[{ analysis: 'count', code: 'PURPOSE_NOT_PERMITTED' }, 1]]);
    expect(await values(registry, 'fedlab_queries_redelivered_total')).toEqual([[{ analysis: 'count' }, 1]]);
    expect(await values(registry, 'fedlab_disclosure_suppressed_cells_total')).toEqual([
      [{ analysis: 'count', rule: 'threshold' }, 1],
      [{ analysis: 'count', rule: 'secondary' }, 1],
    ]);
    const text = await registry.metrics();
    expect(text).toContain('fedlab_query_handle_seconds_count{analysis="count",decision="answered"} 1');
    expect(text).toContain('fedlab_query_handle_seconds_bucket{le="0.005",analysis="count",decision="refused"} 1');
    expect(text).toContain('\nfedlab_coordinator_reconnects_total 2\n');
    expect(text).toContain('\nfedlab_audit_log_entries 12\n');
    expect(text).toContain('\nfedlab_coordinator_attached 1\n');
    expect(text).toMatch(/\nfedlab_build_info\{process="node",/);
  });
});

describe('the exposition of both processes after a full flow', () => {
  it('carries only allowed label names, each with a value from its fixed set', async () => {
    const coordinator = new Registry();
    const c = coordinatorMetrics(coordinator, { databaseBytes: () => 4096 });
    c.queryAccepted('linkage');
    c.queryRefused('glm', 'TOO_FEW_NODES');
    c.queryFinished('linkage', 'finished', 12);
    c.nodeResult('clinic', 'failed', 'DEADLINE_EXCEEDED');
    c.nodeResult('school', 'unreachable', 'NODE_UNREACHABLE');
    c.protocolRunEnded('psi', undefined, 0);
    c.cellsSuppressed('sum', ['dominance']);
    const node = new Registry();
    const n = nodeMetrics(node);
    n.queryHandled('evaluation', 'refused', 'EVALUATION_TOO_SMALL', 4);
    n.cellsSuppressed('histogram', ['zero_margin']);
    const pairs = [...labelPairs(await coordinator.metrics()), ...labelPairs(await node.metrics())];
    expect(pairs.length).toBeGreaterThan(40);
    expect(pairs.filter(([name, value]) => !ALLOWED[name]?.(value))).toEqual([]);
  });
});
