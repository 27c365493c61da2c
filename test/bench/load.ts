import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { FedlabError, type AggregateAnalysis } from '@fedlab/model';
import { compileAnalysis, parseQueryDocument, type QueryDocument } from '@fedlab/query';
import type { FedlabClient, QueryStatusView } from '@fedlab/client';
import { createLocalNetwork, startLocalNetwork, type LocalNetwork, type MinistryNode } from '@fedlab/devnet';
import { openNodeStoreWithEngine, verifyAuditDatabase, type EngineSettings } from '@fedlab/store';
import { createTempDir } from '@fedlab/testing';
import * as pb from '@fedlab/proto';
import { integerOption } from './options';

const NODES: MinistryNode[] = ['health', 'education', 'human_services', 'justice'];
const PROJECT = 'demo-research';

/** The load's query mix: small aggregate queries (count, proportion, mean), three per dataset, each to one node. */
/** ρ each load query spends at its node. */
const LOAD_QUERY_RHO = 0.015;

const MIX: Array<{ name: string; node: MinistryNode; analysis: Record<string, unknown> }> = [
  { name: 'health count by region', node: 'health', analysis: { kind: 'count', dataset: 'health_visits', group_by: ['region'] } },
  {
    name: 'health hospital share by sex',
    node: 'health',
    analysis: { kind: 'proportion', dataset: 'health_visits', group_by: ['sex'], condition: { column: 'setting', op: 'eq', value: 'hospital' } },
  },
  {
    name: 'health mean cost by region',
    node: 'health',
    analysis: { kind: 'mean', dataset: 'health_visits', column: 'cost', group_by: ['region'], filter: { column: 'setting', op: 'eq', value: 'physician' } },
  },
  { name: 'education count by sex', node: 'education', analysis: { kind: 'count', dataset: 'education_enrolments', group_by: ['sex'] } },
  {
    name: 'education graduation by region',
    node: 'education',
    analysis: {
      kind: 'proportion',
      dataset: 'education_enrolments',
      group_by: ['region'],
      condition: { column: 'completed_high_school', op: 'eq', value: true },
      filter: { column: 'grade_level', op: 'ge', value: 12 },
    },
  },
  {
    name: 'education mean score by sex',
    node: 'education',
    analysis: { kind: 'mean', dataset: 'education_enrolments', column: 'achievement_score', group_by: ['sex'] },
  },
  { name: 'human services count by program', node: 'human_services', analysis: { kind: 'count', dataset: 'income_support', group_by: ['program'] } },
  {
    name: 'human services income support share by region',
    node: 'human_services',
    analysis: { kind: 'proportion', dataset: 'income_support', group_by: ['region'], condition: { column: 'program', op: 'eq', value: 'income_support' } },
  },
  {
    name: 'human services mean amount by program',
    node: 'human_services',
    analysis: { kind: 'mean', dataset: 'income_support', column: 'monthly_amount', group_by: ['program'] },
  },
  { name: 'justice count by region', node: 'justice', analysis: { kind: 'count', dataset: 'justice_offences', group_by: ['region'] } },
  {
    name: 'justice conviction share by sex',
    node: 'justice',
    analysis: { kind: 'proportion', dataset: 'justice_offences', group_by: ['sex'], condition: { column: 'convicted', op: 'eq', value: true } },
  },
  {
    name: 'justice mean age at offence by region',
    node: 'justice',
    analysis: { kind: 'mean', dataset: 'justice_offences', column: 'age_at_offence', group_by: ['region'] },
  },
];

/** One query the bench tried to run, and what became of it. */
interface Attempt {
  queryId: string;
  researcher: string;
  node: MinistryNode;
  /** Index of the query in {@link MIX}. */
  mixIndex: number;
  phase: 'baseline' | 'load';
  /** The coordinator accepted it (submit returned). */
  submitted: boolean;
  /** Submit to final status, when the client saw the final status. */
  latencyMs?: number;
  /** Fetching and verifying the result after the final status. */
  resultMs?: number;
  /** The status the client saw last. */
  final?: QueryStatusView;
  /** Why the query did not come back as one verified table from its node. */
  error?: string;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FedlabError('DEADLINE_EXCEEDED', `${what}: no final status within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** CPU seconds (user + system) of a process so far, from /proc; undefined once it has exited. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of proc(5) (utime, stime) in clock ticks; after the command they are at 11 and 12.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** A process's main thread (its event loop) from /proc/PID/schedstat: seconds on a CPU and waiting for one. */
function mainThreadSeconds(pid: number): { run: number; wait: number } {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ').map(Number);
    return { run: run! / 1e9, wait: wait! / 1e9 };
  } catch {
    return { run: Number.NaN, wait: Number.NaN };
  }
}

/** Busy and total jiffies of the whole machine, from /proc/stat. */
function machineJiffies(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((s, x) => s + x, 0);
  // idle and iowait are fields 4 and 5 of the cpu line.
  return { busy: total - fields[3]! - fields[4]!, total };
}

/** The fedlab daemons this process started, by name (coordinator or node id), from /proc. */
function daemonPids(nodePids: Record<string, number>): Record<string, number> {
  const pids: Record<string, number> = { ...nodePids };
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmdline.includes('coordinator') && cmdline.includes('serve')) pids.coordinator = Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/**
 * Submits a query, follows it to its final status and fetches its verified result. Records the
 * latency from submission to the final status and anything short of one verified table.
 */
async function runOne(client: FedlabClient, doc: QueryDocument, attempt: Attempt, timeoutMs: number): Promise<void> {
  const started = performance.now();
  try {
    await client.submit(doc, { queryId: attempt.queryId });
    attempt.submitted = true;
    attempt.final = await withTimeout(client.watch(attempt.queryId), timeoutMs, attempt.queryId);
    attempt.latencyMs = performance.now() - started;
    if (attempt.final.state !== 'finished') {
      const node = attempt.final.nodes[0];
      attempt.error = `${attempt.final.state}: ${node?.state ?? '?'} ${node?.code ?? ''}`;
      return;
    }
    const fetched = performance.now();
    const result = await client.result(attempt.queryId);
    attempt.resultMs = performance.now() - fetched;
    const answer = result.answers.find((a) => a.nodeId === attempt.node);
    if (result.answers.length !== 1 || !answer) attempt.error = `RESULT: ${result.answers.length} answers`;
    else if (answer.refusal) attempt.error = `refused: ${answer.refusal.code}`;
    else if (!answer.table || !answer.verified) attempt.error = 'RESULT: no verified table';
  } catch (error) {
    attempt.error = FedlabError.from(error).code;
  }
}

/** What the coordinator's database and each node's audit chain say about the bench's queries. */
interface Accounting {
  coordinatorQueries: number;
  coordinatorFinished: number;
  coordinatorNodesFinal: number;
  unknownAtCoordinator: string[];
  notFinalAtCoordinator: string[];
  loggedInPublicLog: number;
  /** Audit checkpoints of the nodes in the public log. */
  checkpointsLogged: number;
  /** The highest audit sequence number each node's logged checkpoints reach. */
  checkpointedSeq: Map<string, bigint>;
  auditAccounted: number;
  auditProblems: string[];
  redelivered: number;
  auditChains: string[];
  auditChainsIntact: boolean;
  /** Submission to the last node's final state, as the coordinator recorded it (ms), per load query. */
  serverLatencyMs: number[];
}

/**
 * Reads the coordinator database and every node database read-only, after the daemons stopped:
 * every attempted query must be in the coordinator's records (finished, every node final, in the
 * public log) and have exactly one answered or refused audit entry at its target node, none elsewhere.
 */
function account(netDir: string, attempts: Attempt[]): Accounting {
  const coordinator = new Database(path.join(netDir, 'coordinator', 'coordinator.db'), { readonly: true, fileMustExist: true });
  const result: Accounting = {
    coordinatorQueries: 0,
    coordinatorFinished: 0,
    coordinatorNodesFinal: 0,
    unknownAtCoordinator: [],
    notFinalAtCoordinator: [],
    loggedInPublicLog: 0,
    checkpointsLogged: 0,
    checkpointedSeq: new Map(),
    auditAccounted: 0,
    auditProblems: [],
    redelivered: 0,
    auditChains: [],
    auditChainsIntact: true,
    serverLatencyMs: [],
  };
  try {
    const queries = new Map(
      (
        coordinator.prepare('SELECT query_id, state, log_index, submitted_at_ms FROM queries').all() as Array<{
          query_id: string;
          state: string;
          log_index: number;
          submitted_at_ms: number;
        }>
      ).map((q) => [q.query_id, q]),
    );
    const nodeRows = coordinator.prepare('SELECT query_id, node_id, state, updated_at_ms FROM query_nodes').all() as Array<{
      query_id: string;
      node_id: string;
      state: string;
      updated_at_ms: number;
    }>;
    const nodesOf = new Map<string, typeof nodeRows>();
    for (const row of nodeRows) nodesOf.set(row.query_id, [...(nodesOf.get(row.query_id) ?? []), row]);
    const leafKind = coordinator.prepare('SELECT kind FROM log_leaves WHERE idx = ?').pluck();
    result.coordinatorQueries = queries.size;
    const checkpoints = coordinator.prepare("SELECT leaf FROM log_leaves WHERE kind = 'checkpoint'").pluck().all() as Buffer[];
    result.checkpointsLogged = checkpoints.length;
    for (const leaf of checkpoints) {
      const checkpoint = pb.AuditCheckpoint.decode(pb.SignedEnvelope.decode(pb.LogEntry.decode(leaf).payload).payload);
      if (checkpoint.seq > (result.checkpointedSeq.get(checkpoint.nodeId) ?? 0n)) result.checkpointedSeq.set(checkpoint.nodeId, checkpoint.seq);
    }
    for (const a of attempts) {
      const q = queries.get(a.queryId);
      if (!q) {
        result.unknownAtCoordinator.push(a.queryId);
        continue;
      }
      const nodes = nodesOf.get(a.queryId) ?? [];
      const allFinal = nodes.length === 1 && nodes[0]!.node_id === a.node && ['done', 'refused', 'failed', 'unreachable'].includes(nodes[0]!.state);
      if (q.state === 'finished') result.coordinatorFinished++;
      if (allFinal) result.coordinatorNodesFinal++;
      if (q.state === 'running' || !allFinal)
        result.notFinalAtCoordinator.push(`${a.queryId} (${q.state}, ${nodes.map((n) => `${n.node_id} ${n.state}`).join(', ')})`);
      if (leafKind.get(q.log_index) === 'query') result.loggedInPublicLog++;
      if (a.phase === 'load' && allFinal) result.serverLatencyMs.push(nodes[0]!.updated_at_ms - q.submitted_at_ms);
    }
  } finally {
    coordinator.close();
  }
  const byNode = new Map<string, Map<string, string[]>>();
  for (const nodeId of NODES) {
    const file = path.join(netDir, 'nodes', nodeId, 'node.db');
    const verification = verifyAuditDatabase(file);
    if (!verification.ok) result.auditChainsIntact = false;
    // Every entry of the chain is covered by a checkpoint in the public log once the node is idle.
    const checkpointed = Number(result.checkpointedSeq.get(nodeId) ?? 0n);
    if (!verification.ok || checkpointed !== verification.entries) result.auditChainsIntact = false;
    result.auditChains.push(
      `${nodeId} ${verification.ok ? `${verification.entries} entries, chain intact, checkpointed to ${checkpointed}` : `BROKEN: ${verification.reason}`}`,
    );
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const decisions = new Map<string, string[]>();
      for (const row of db.prepare("SELECT query_id, decision FROM fedlab_audit WHERE kind = 'query'").all() as Array<{ query_id: string; decision: string }>) {
        decisions.set(row.query_id, [...(decisions.get(row.query_id) ?? []), row.decision]);
      }
      byNode.set(nodeId, decisions);
    } finally {
      db.close();
    }
  }
  for (const a of attempts) {
    let ok = true;
    for (const nodeId of NODES) {
      const entries = byNode.get(nodeId)!.get(a.queryId) ?? [];
      result.redelivered += entries.filter((d) => d === 'redelivered').length;
      const decided = entries.filter((d) => d === 'answered' || d === 'refused');
      const expected = nodeId === a.node ? 1 : 0;
      if (decided.length !== expected) {
        ok = false;
        result.auditProblems.push(`${a.queryId}: ${decided.length} answered/refused entries at ${nodeId} (expected ${expected})`);
      }
    }
    if (ok) result.auditAccounted++;
  }
  return result;
}

const ms = (x: number) => `${x.toFixed(1)} ms`;

/**
 * Each mix query's compiled SQL alone on its node's database, read-only after the run (median of 5 after
 * one warm-up): how much of a query's time at the node is the scan.
 */
async function sqlAloneMs(netDir: string, docs: QueryDocument[], engine: EngineName): Promise<number[]> {
  const out: number[] = [];
  for (const [i, m] of MIX.entries()) {
    const nodeDir = path.join(netDir, 'nodes', m.node);
    const store = await openNodeStoreWithEngine(path.join(nodeDir, 'node.db'), engineSettings(engine, nodeDir));
    try {
      const analysis = docs[i]!.analysis as AggregateAnalysis;
      const compiled = compileAnalysis(analysis, store.datasets.schema(analysis.dataset)!, { dialect: store.datasets.dialect });
      const times: number[] = [];
      for (let r = 0; r < 6; r++) {
        const t = performance.now();
        compiled.decode(await store.datasets.query(compiled));
        if (r > 0) times.push(performance.now() - t);
      }
      out.push(
        percentile(
          times.sort((a, b) => a - b),
          50,
        ),
      );
    } finally {
      await store.datasets.close();
      store.close();
    }
  }
  return out;
}

type EngineName = 'sqlite' | 'duckdb';

/** The node.yaml engine setting of the bench's nodes, and the settings it resolves to in a node folder. */
const ENGINE_SETTING = { sqlite: 'sqlite', duckdb: { kind: 'duckdb', threads: 1 } } as const;
function engineSettings(engine: EngineName, nodeDir: string): EngineSettings {
  return engine === 'sqlite' ? { kind: 'sqlite' } : { kind: 'duckdb', folder: path.join(nodeDir, 'datasets'), threads: 1 };
}

/**
 * `npm run bench -- load`: a coordinator and the four ministry nodes on the synthetic demo data;
 * first each query of the mix alone, one at a time (the baseline); then `--researchers` researchers,
 * each with its own key and client, submit `--queries` queries in total concurrently, each waiting
 * for its previous query's verified result before submitting the next. Every query is then accounted
 * for in the coordinator's database and the nodes' audit chains.
 */
export async function load(args: string[]): Promise<void> {
  const persons = integerOption(args, 'persons', 20_000, 0);
  const total = integerOption(args, 'queries', 2_000, 0);
  const researcherCount = integerOption(args, 'researchers', 16, 0);
  const baselineRounds = integerOption(args, 'baseline-rounds', 5, 0);
  const seed = integerOption(args, 'seed', 1, 0);
  const timeoutMs = integerOption(args, 'timeout-ms', 120_000, 0);
  const engine = (args.find((a) => a.startsWith('--engine='))?.slice('--engine='.length) ?? 'sqlite') as EngineName;
  if (engine !== 'sqlite' && engine !== 'duckdb') throw new Error(`--engine must be sqlite or duckdb, got ${engine}`);
  // --cpu-prof=DIR: every daemon writes a V8 CPU profile there when it stops (run the bench itself under
  // `node --cpu-prof` to profile the researchers' clients).
  const cpuProfDir = args.find((a) => a.startsWith('--cpu-prof='))?.slice('--cpu-prof='.length);
  const researchers = Array.from({ length: researcherCount }, (_, i) => `researcher-${String(i + 1).padStart(2, '0')}`);
  // Every aggregate states its privacy budget (issue 14): small, so ~520 queries per node stay within the
  // demo project's ρ of 10 per dataset; the bench measures throughput, not the figures.
  const docs = MIX.map((m) =>
    parseQueryDocument({ project: PROJECT, purpose: 'research', privacy: { rho: LOAD_QUERY_RHO }, nodes: [m.node], analysis: m.analysis }),
  );
  const tmp = createTempDir('fedlab-bench-');
  let net: LocalNetwork | undefined;
  try {
    const setupStarted = performance.now();
    net = await createLocalNetwork({
      dir: path.join(tmp.path, 'net'),
      nodes: NODES,
      persons,
      seed,
      logLevel: 'warn',
      researchers,
      // Every researcher has its own key and is a member of the demo projects.
      projectMembers: 'all',
      engine: () => ENGINE_SETTING[engine],
      ...(cpuProfDir ? { nodeOptions: ['--cpu-prof', `--cpu-prof-dir=${path.resolve(cpuProfDir)}`] } : {}),
      onProgress: (line) => console.log(`  ${line}`),
    });
    await startLocalNetwork(net);
    console.log(
      `set-up: ${((performance.now() - setupStarted) / 1000).toFixed(1)} s (${persons.toLocaleString('en-CA')} persons, 4 nodes, ${researcherCount} researchers)`,
    );
    const clients = await Promise.all(researchers.map((r) => net!.client(r)));
    const attempts: Attempt[] = [];
    const attempt = (researcher: string, mixIndex: number, phase: Attempt['phase']): Attempt => {
      const a: Attempt = { queryId: `q-${randomUUID()}`, researcher, node: MIX[mixIndex]!.node, mixIndex, phase, submitted: false };
      attempts.push(a);
      return a;
    };

    // Baseline: one warm-up round, then each query of the mix alone, one at a time, by one researcher.
    for (let i = 0; i < MIX.length; i++) await runOne(clients[0]!, docs[i]!, attempt(researchers[0]!, i, 'baseline'), timeoutMs);
    const baselineByQuery: number[][] = MIX.map(() => []);
    for (let round = 0; round < baselineRounds; round++) {
      for (let i = 0; i < MIX.length; i++) {
        const a = attempt(researchers[0]!, i, 'baseline');
        await runOne(clients[0]!, docs[i]!, a, timeoutMs);
        if (a.latencyMs !== undefined && !a.error) baselineByQuery[i]!.push(a.latencyMs);
      }
    }
    const baselineAll = baselineByQuery.flat().sort((a, b) => a - b);
    const baseline = percentile(baselineAll, 50);
    const baselineOf = baselineByQuery.map((xs) =>
      percentile(
        [...xs].sort((a, b) => a - b),
        50,
      ),
    );

    // Load: researcher r's j-th query is mix entry (r + j) mod |mix|: every researcher cycles through the whole mix.
    const pids = daemonPids(net.nodePids());
    const cpuBefore = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid) ?? 0]));
    const benchCpuBefore = process.cpuUsage();
    const threadsBefore = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, mainThreadSeconds(pid)]));
    const machineBefore = machineJiffies();
    const loadBefore = os.loadavg();
    const loadStarted = performance.now();
    await Promise.all(
      researchers.map(async (researcher, r) => {
        for (let j = 0, k = r; k < total; j++, k += researcherCount)
          await runOne(clients[r]!, docs[(r + j) % MIX.length]!, attempt(researcher, (r + j) % MIX.length, 'load'), timeoutMs);
      }),
    );
    const wallS = (performance.now() - loadStarted) / 1000;
    const loadAfter = os.loadavg();
    const benchCpu = process.cpuUsage(benchCpuBefore);
    const machineAfter = machineJiffies();
    const threads = Object.entries(pids).map(([name, pid]) => {
      const now = mainThreadSeconds(pid);
      const run = (now.run - threadsBefore[name]!.run) / wallS;
      const wait = (now.wait - threadsBefore[name]!.wait) / wallS;
      return `${name} ${(100 * run).toFixed(0)} % / ${(100 * wait).toFixed(0)} %`;
    });
    const cpu = Object.entries(pids).map(([name, pid]) => `${name} ${(((cpuSeconds(pid) ?? Number.NaN) - cpuBefore[name]!) / wallS).toFixed(2)}`);
    const cpuTotal =
      Object.entries(pids).reduce((sum, [name, pid]) => sum + (cpuSeconds(pid) ?? Number.NaN) - cpuBefore[name]!, 0) + (benchCpu.user + benchCpu.system) / 1e6;

    for (const c of clients) c.close();
    await net.stop();
    const accounting = account(net.dir, attempts);
    const sqlMs = await sqlAloneMs(net.dir, docs, engine);

    const loadAttempts = attempts.filter((a) => a.phase === 'load');
    const latencies = loadAttempts.flatMap((a) => (a.latencyMs === undefined ? [] : [a.latencyMs])).sort((a, b) => a - b);
    const errors = loadAttempts.filter((a) => a.error);
    const errorCodes = new Map<string, number>();
    for (const a of errors) errorCodes.set(a.error!, (errorCodes.get(a.error!) ?? 0) + 1);
    const lost = loadAttempts.filter((a) => a.submitted && a.final?.state !== 'finished' && a.final?.state !== 'failed');
    const baselineErrors = attempts.filter((a) => a.phase === 'baseline' && a.error);
    const server = [...accounting.serverLatencyMs].sort((a, b) => a - b);
    const [p50, p95, p99] = [50, 95, 99].map((p) => percentile(latencies, p)) as [number, number, number];
    const max = latencies[latencies.length - 1] ?? Number.NaN;
    const mean = latencies.reduce((s, x) => s + x, 0) / Math.max(1, latencies.length);
    const slowdowns = loadAttempts.flatMap((a) => (a.latencyMs === undefined ? [] : [a.latencyMs / baselineOf[a.mixIndex]!])).sort((a, b) => a - b);
    const nodeLatency = (n: MinistryNode) => {
      const xs = loadAttempts.flatMap((a) => (a.node === n && a.latencyMs !== undefined ? [a.latencyMs] : [])).sort((a, b) => a - b);
      return `${n} ${ms(percentile(xs, 50))} / ${ms(percentile(xs, 95))}`;
    };

    console.log(
      `\nload: ${NODES.length} ${engine} nodes × ${persons.toLocaleString('en-CA')} persons, ${researcherCount} researchers, ${total.toLocaleString('en-CA')} queries (${MIX.length}-query mix of count/proportion/mean, one node each)`,
    );
    console.log(
      `  baseline (each query of the mix alone, ${baselineRounds} rounds after a warm-up): median ${ms(baseline)} (range ${ms(baselineAll[0] ?? Number.NaN)}–${ms(baselineAll[baselineAll.length - 1] ?? Number.NaN)}; per node ${NODES.map(
        (n) =>
          `${n} ${ms(
            percentile(
              MIX.flatMap((m, i) => (m.node === n ? baselineByQuery[i]! : [])).sort((a, b) => a - b),
              50,
            ),
          )}`,
      ).join(', ')})`,
    );
    console.log(
      `  wall ${wallS.toFixed(1)} s; throughput ${(loadAttempts.length / wallS).toFixed(1)} queries/s (1 / baseline = ${(1000 / baseline).toFixed(1)} queries/s)`,
    );
    console.log(`  latency submit → final: p50 ${ms(p50)}, p95 ${ms(p95)}, p99 ${ms(p99)}, max ${ms(max)}, mean ${ms(mean)}`);
    console.log(
      `  ratios to the baseline median: p50 ${(p50 / baseline).toFixed(2)}, p95 ${(p95 / baseline).toFixed(2)}, p99 ${(p99 / baseline).toFixed(2)}, max ${(max / baseline).toFixed(2)}`,
    );
    console.log(
      `  baseline percentiles of the same mix: p50 ${ms(baseline)}, p95 ${ms(percentile(baselineAll, 95))}, p99 ${ms(percentile(baselineAll, 99))}; load ÷ baseline at the same percentile: p50 ${(p50 / baseline).toFixed(2)}, p95 ${(p95 / percentile(baselineAll, 95)).toFixed(2)}, p99 ${(p99 / percentile(baselineAll, 99)).toFixed(2)}`,
    );
    console.log(
      `  each query's latency ÷ its own query's baseline median: p50 ${percentile(slowdowns, 50).toFixed(2)}, p95 ${percentile(slowdowns, 95).toFixed(2)}, p99 ${percentile(slowdowns, 99).toFixed(2)}`,
    );
    console.log(`  latency under load per target node, p50 / p95: ${NODES.map(nodeLatency).join(', ')}`);
    console.log(
      `  coordinator-recorded latency (submission → node final): p50 ${ms(percentile(server, 50))}, p95 ${ms(percentile(server, 95))}, p99 ${ms(percentile(server, 99))}`,
    );
    const results = loadAttempts.flatMap((a) => (a.resultMs === undefined ? [] : [a.resultMs])).sort((a, b) => a - b);
    console.log(`  result fetch and verification after the final status: p50 ${ms(percentile(results, 50))}, p95 ${ms(percentile(results, 95))}`);
    console.log(
      `  mean queries between submit and final status: ${(latencies.reduce((s, x) => s + x, 0) / 1000 / wallS).toFixed(1)} (Little's law: ${researcherCount} in flight / mean latency = ${((researcherCount * 1000) / mean).toFixed(1)} queries/s)`,
    );
    console.log(`  SQL alone on the node's database (median of 5): ${MIX.map((m, i) => `${m.name} ${ms(sqlMs[i]!)}`).join('; ')}`);
    console.log(
      `  errors: ${errors.length}${errors.length ? ` (${[...errorCodes].map(([c, n]) => `${c} × ${n}`).join(', ')})` : ''}; lost (submitted, never final): ${lost.length}; baseline errors: ${baselineErrors.length}`,
    );
    console.log(
      `  coordinator: ${accounting.coordinatorQueries} queries recorded; of the ${attempts.length} the bench sent (${attempts.length - loadAttempts.length} baseline + ${loadAttempts.length} load): ${accounting.coordinatorFinished} finished, ${accounting.coordinatorNodesFinal} with their node final, ${accounting.loggedInPublicLog} in the public log, ${accounting.unknownAtCoordinator.length} unknown, ${accounting.notFinalAtCoordinator.length} not final; ${accounting.checkpointsLogged} audit checkpoints in the public log`,
    );
    console.log(
      `  audit: ${accounting.auditAccounted} of ${attempts.length} with exactly one answered/refused entry at their node and none elsewhere; ${accounting.redelivered} re-deliveries; ${accounting.auditChains.join('; ')}`,
    );
    for (const line of [
      ...accounting.unknownAtCoordinator.map((id) => `unknown at the coordinator: ${id}`),
      ...accounting.notFinalAtCoordinator,
      ...accounting.auditProblems,
    ].slice(0, 20))
      console.log(`    ${line}`);
    console.log(
      `  CPU during the load (cores): ${cpu.join(', ')}, bench (${researcherCount} clients) ${((benchCpu.user + benchCpu.system) / 1e6 / wallS).toFixed(2)}; all ${(cpuTotal / wallS).toFixed(2)} of ${os.cpus().length}`,
    );
    console.log(`  main thread (event loop) on a CPU / runnable but waiting for one, share of the wall time: ${threads.join(', ')}`);
    console.log(
      `  machine CPU busy during the load: ${((100 * (machineAfter.busy - machineBefore.busy)) / (machineAfter.total - machineBefore.total)).toFixed(0)} % of ${os.cpus().length} cores`,
    );
    console.log(`  load average before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')}`);
    const everyAttempt = [accounting.auditAccounted, accounting.coordinatorNodesFinal, accounting.coordinatorFinished, accounting.loggedInPublicLog];
    const met =
      errors.length === 0 &&
      baselineErrors.length === 0 &&
      lost.length === 0 &&
      accounting.auditChainsIntact &&
      everyAttempt.every((n) => n === attempts.length);
    console.log(`  target (zero errors, zero lost, every query in the audit logs and the coordinator's records): ${met ? 'met' : 'NOT MET'}`);
  } finally {
    // Stopping twice is harmless; this stops the daemons when the bench failed before its own stop.
    await net?.stop();
    tmp.cleanup();
  }
}
