import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import { ANALYSIS_KINDS, PROTOCOL_VERSION, SDC_RULES, SOFTWARE_VERSION, isErrorCode } from '@fedlab/model';

/** Buckets of the latency histograms, in seconds: 5 ms to 10 minutes. */
/** Buckets of one fsync: 50 µs (a fast SSD) to 1 s (a disk that makes every reply wait). */
export const SYNC_BUCKETS_SECONDS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
export const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/*
 * Every label value passes through one of these guards, so a label only ever holds a member of a
 * fixed set (an analysis kind, an error code, a disclosure rule, a state) or a roster node id —
 * never a query id, a dataset, a filter value or anything about a person (issue 7, item 2).
 */
const oneOf = (allowed: readonly string[], fallback: string) => (value: string) => (allowed.includes(value) ? value : fallback);
/** The analysis kind, or `unknown` when the query could not be read. */
export const analysisLabel = oneOf(ANALYSIS_KINDS, 'unknown');
/** A fedlab error code; `none` for no code, `OTHER` for anything outside the closed set. */
export const codeLabel = (code: string): string => (code === '' ? 'none' : isErrorCode(code) ? code : 'OTHER');
const ruleLabel = oneOf(SDC_RULES, 'other');
const nodeStateLabel = oneOf(['done', 'refused', 'failed', 'unreachable'], 'other');
/** Node ids follow node.yaml's `node_id` rule; they name a ministry's server, not a person. */
const nodeLabel = (nodeId: string) => (/^[a-z][a-z0-9_-]{0,62}$/.test(nodeId) ? nodeId : 'other');

/** Reads a value at scrape time; returning undefined or throwing (e.g. a closed database) leaves the gauge as it was. */
export type MetricSource = () => number | undefined;

/** Values read at scrape time, for both daemons. */
export interface CommonMetricSources {
  /** Size of the main database file: page_count × page_size. */
  databaseBytes?: MetricSource;
}

export interface CoordinatorMetricSources extends CommonMetricSources {
  transparencyLogEntries?: MetricSource;
  nodesAttached?: MetricSource;
  rosterNodes?: MetricSource;
}

export interface NodeMetricSources extends CommonMetricSources {
  auditLogEntries?: MetricSource;
  /** 1 while the node's stream to the coordinator is attached, else 0. */
  coordinatorAttached?: MetricSource;
}

/** What the coordinator records (DESIGN.md §8); each call maps to the series in docs/operations.md. */
/** Group commit (the daemon's database, docs/operations.md "Durability"). */
export interface DatabaseSyncMetrics {
  /** One sync of the database's write-ahead log took `seconds`; `outputs` replies and messages had waited for it. */
  databaseSynced(seconds: number, outputs: number): void;
}

export interface CoordinatorMetrics extends DatabaseSyncMetrics {
  /** A researcher's query was verified, logged, countersigned and dispatched. */
  queryAccepted(analysis: string): void;
  /** A submission was refused before dispatch with an error code (`analysis` is `unknown` if the envelope could not be opened). */
  queryRefused(analysis: string, code: string): void;
  /** A query reached its final state, `seconds` after submission. */
  queryFinished(analysis: string, state: 'finished' | 'failed', seconds: number): void;
  /** One node's part of a query reached a final state (done, refused, failed, unreachable). */
  nodeResult(nodeId: string, state: string, code: string): void;
  /** A secure-aggregation round or private intersection-sum run ended: `code` is undefined when it completed; `dropouts` counts the nodes it lost. */
  protocolRunEnded(protocol: 'secagg' | 'psi', code: string | undefined, dropouts: number): void;
  /** Cells that disclosure control suppressed in a released table, one rule per cell. */
  cellsSuppressed(analysis: string, rules: readonly string[]): void;
}

/** What a node records (DESIGN.md §8). */
export interface NodeMetrics extends DatabaseSyncMetrics {
  /** A work item was handled in `seconds`: answered, refused (with its code) or re-delivered from the answer cache. */
  queryHandled(analysis: string, decision: 'answered' | 'refused' | 'redelivered', code: string, seconds: number): void;
  /** Cells that disclosure control suppressed in a released table, one rule per cell. */
  cellsSuppressed(analysis: string, rules: readonly string[]): void;
  /** The stream to the coordinator was lost and a reconnect is scheduled. */
  reconnect(): void;
  /**
   * A secure-aggregation session was refused by the node's own session rules (code SESSION_NOT_ALLOWED or
   * TRANSCRIPT_INVALID); `excess` when the query had already had every session its analysis needs.
   */
  sessionRefused(code: string, excess: boolean): void;
}

function gauge(registry: Registry, name: string, help: string, source: MetricSource | undefined): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      let value: number | undefined;
      try {
        value = source?.();
      } catch {
        value = undefined;
      }
      if (value !== undefined) this.set(value);
    },
  });
}

/** The series both daemons expose: build info, database size and the query counters. */
function commonMetrics(registry: Registry, processName: 'coordinator' | 'node', sources: CommonMetricSources) {
  new Gauge({
    name: 'fedlab_build_info',
    help: 'Always 1; labels carry the software and wire protocol versions',
    labelNames: ['process', 'software_version', 'protocol_version'],
    registers: [registry],
  })
    .labels(processName, SOFTWARE_VERSION, String(PROTOCOL_VERSION))
    .set(1);
  gauge(registry, 'fedlab_database_bytes', 'Size of the SQLite database file (page_count × page_size)', sources.databaseBytes);
  const received = new Counter({
    name: 'fedlab_queries_received_total',
    help: 'Queries received, by analysis kind',
    labelNames: ['analysis'],
    registers: [registry],
  });
  const accepted = new Counter({
    name: 'fedlab_queries_accepted_total',
    help: 'Queries accepted (coordinator: dispatched; node: answered), by analysis kind',
    labelNames: ['analysis'],
    registers: [registry],
  });
  const refused = new Counter({
    name: 'fedlab_queries_refused_total',
    help: 'Queries refused, by analysis kind and error code',
    labelNames: ['analysis', 'code'],
    registers: [registry],
  });
  const syncs = new Histogram({
    name: 'fedlab_database_sync_seconds',
    help: "Time of one sync of the database's write-ahead log that the daemon's replies and messages waited for (group commit)",
    buckets: SYNC_BUCKETS_SECONDS,
    registers: [registry],
  });
  const synced = new Counter({
    name: 'fedlab_database_synced_outputs_total',
    help: 'Replies and messages sent once a sync of the database was done (divided by the syncs: how many one sync serves)',
    registers: [registry],
  });
  const suppressed = new Counter({
    name: 'fedlab_disclosure_suppressed_cells_total',
    help: 'Cells suppressed by disclosure control in released tables, by analysis kind and rule',
    labelNames: ['analysis', 'rule'],
    registers: [registry],
  });
  return {
    accept(analysis: string) {
      received.labels(analysisLabel(analysis)).inc();
      accepted.labels(analysisLabel(analysis)).inc();
    },
    refuse(analysis: string, code: string) {
      received.labels(analysisLabel(analysis)).inc();
      refused.labels(analysisLabel(analysis), codeLabel(code)).inc();
    },
    receive(analysis: string) {
      received.labels(analysisLabel(analysis)).inc();
    },
    cellsSuppressed(analysis: string, rules: readonly string[]) {
      for (const rule of rules) suppressed.labels(analysisLabel(analysis), ruleLabel(rule)).inc();
    },
    databaseSynced(seconds: number, outputs: number) {
      syncs.observe(seconds);
      synced.inc(outputs);
    },
  };
}

/** Registers the coordinator's series in `registry` (one registry per process; never prom-client's global one). */
export function coordinatorMetrics(registry: Registry, sources: CoordinatorMetricSources = {}): CoordinatorMetrics {
  const common = commonMetrics(registry, 'coordinator', sources);
  const duration = new Histogram({
    name: 'fedlab_query_duration_seconds',
    help: 'Time from submission to the final state of a query at the coordinator, by analysis kind and final state',
    labelNames: ['analysis', 'state'],
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  const nodeResults = new Counter({
    name: 'fedlab_node_results_total',
    help: "Final states of nodes' parts of queries, by node, state and error code",
    labelNames: ['node', 'state', 'code'],
    registers: [registry],
  });
  const runs = new Counter({
    name: 'fedlab_protocol_runs_total',
    help: 'Secure-aggregation rounds and private intersection-sum runs, by protocol, outcome and error code',
    labelNames: ['protocol', 'outcome', 'code'],
    registers: [registry],
  });
  const dropouts = new Counter({
    name: 'fedlab_protocol_dropouts_total',
    help: 'Nodes lost by secure-aggregation rounds and private intersection-sum runs, by protocol',
    labelNames: ['protocol'],
    registers: [registry],
  });
  gauge(registry, 'fedlab_transparency_log_entries', 'Entries in the public transparency log', sources.transparencyLogEntries);
  gauge(registry, 'fedlab_nodes_attached', 'Nodes with an attached stream', sources.nodesAttached);
  gauge(registry, 'fedlab_roster_nodes', 'Nodes on the roster', sources.rosterNodes);
  return {
    queryAccepted: common.accept,
    queryRefused: common.refuse,
    cellsSuppressed: common.cellsSuppressed,
    databaseSynced: common.databaseSynced,
    queryFinished(analysis, state, seconds) {
      duration.labels(analysisLabel(analysis), state === 'finished' ? 'finished' : 'failed').observe(seconds);
    },
    nodeResult(nodeId, state, code) {
      nodeResults.labels(nodeLabel(nodeId), nodeStateLabel(state), codeLabel(code)).inc();
    },
    protocolRunEnded(protocol, code, lost) {
      runs.labels(protocol, code === undefined ? 'complete' : 'failed', codeLabel(code ?? '')).inc();
      if (lost > 0) dropouts.labels(protocol).inc(lost);
    },
  };
}

/** Registers a node's series in `registry`. */
export function nodeMetrics(registry: Registry, sources: NodeMetricSources = {}): NodeMetrics {
  const common = commonMetrics(registry, 'node', sources);
  const handled = new Histogram({
    name: 'fedlab_query_handle_seconds',
    help: 'Time a node took to handle a work item, by analysis kind and decision',
    labelNames: ['analysis', 'decision'],
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  const redelivered = new Counter({
    name: 'fedlab_queries_redelivered_total',
    help: 'Re-delivered queries answered from the answer cache, by analysis kind',
    labelNames: ['analysis'],
    registers: [registry],
  });
  const reconnects = new Counter({
    name: 'fedlab_coordinator_reconnects_total',
    help: 'Reconnects scheduled after the stream to the coordinator was lost',
    registers: [registry],
  });
  const sessionsRefused = new Counter({
    name: 'fedlab_secagg_sessions_refused_total',
    help: 'Secure-aggregation sessions the node refused under its own session rules, by code; excess="true" for a query offered more sessions than its analysis needs',
    labelNames: ['code', 'excess'],
    registers: [registry],
  });
  gauge(registry, 'fedlab_audit_log_entries', "Entries in the node's audit log", sources.auditLogEntries);
  gauge(registry, 'fedlab_coordinator_attached', '1 while the stream to the coordinator is attached, else 0', sources.coordinatorAttached);
  return {
    cellsSuppressed: common.cellsSuppressed,
    databaseSynced: common.databaseSynced,
    queryHandled(analysis, decision, code, seconds) {
      if (decision === 'answered') common.accept(analysis);
      else if (decision === 'refused') common.refuse(analysis, code);
      else {
        common.receive(analysis);
        redelivered.labels(analysisLabel(analysis)).inc();
      }
      handled.labels(analysisLabel(analysis), decision).observe(seconds);
    },
    reconnect() {
      reconnects.inc();
    },
    sessionRefused(code, excess) {
      sessionsRefused.labels(codeLabel(code), String(excess)).inc();
    },
  };
}

/** Adds prom-client's standard process metrics (CPU, memory, event loop, GC) to `registry`, prefixed `fedlab_`. Daemons only: it starts monitors that run for the life of the process. */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: 'fedlab_' });
}
