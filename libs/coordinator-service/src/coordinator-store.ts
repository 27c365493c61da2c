import type { NodeBudget } from '@fedlab/proto';
import type { Database } from 'better-sqlite3';
import { COORDINATOR_MIGRATIONS, openDatabase } from '@fedlab/store';

/** Per-node progress of one query, as stored. */
export type NodeStateName = 'pending' | 'running' | 'done' | 'refused' | 'failed' | 'unreachable';
export const FINAL_NODE_STATES: ReadonlySet<NodeStateName> = new Set(['done', 'refused', 'failed', 'unreachable']);

export interface StoredNodeProgress {
  nodeId: string;
  state: NodeStateName;
  code: string;
  message: string;
  updatedAtMs: number;
  dispatched: boolean;
  answer: Uint8Array | null;
}

export interface StoredQuery {
  queryId: string;
  projectId: string;
  researcherId: string;
  envelope: Uint8Array;
  countersigned: Uint8Array;
  logIndex: number;
  submittedAtMs: number;
  deadlineAtMs: number;
  state: 'running' | 'finished' | 'failed';
  code: string;
  message: string;
  pooled: boolean;
  /** The signed PooledResult envelope, once produced. */
  pooledResult: Uint8Array | null;
}

interface QueryRow {
  query_id: string;
  project_id: string;
  researcher_id: string;
  envelope: Buffer;
  countersigned: Buffer;
  log_index: number;
  submitted_at_ms: number;
  deadline_at_ms: number;
  state: StoredQuery['state'];
  code: string;
  message: string;
  pooled: number;
  pooled_result: Buffer | null;
}

interface NodeRow {
  node_id: string;
  state: NodeStateName;
  code: string;
  message: string;
  updated_at_ms: number;
  dispatched: number;
  answer: Buffer | null;
}

const toQuery = (r: QueryRow): StoredQuery => ({
  queryId: r.query_id,
  projectId: r.project_id,
  researcherId: r.researcher_id,
  envelope: r.envelope,
  countersigned: r.countersigned,
  logIndex: r.log_index,
  submittedAtMs: r.submitted_at_ms,
  deadlineAtMs: r.deadline_at_ms,
  state: r.state,
  code: r.code,
  message: r.message,
  pooled: r.pooled === 1,
  pooledResult: r.pooled_result,
});

const toNode = (r: NodeRow): StoredNodeProgress => ({
  nodeId: r.node_id,
  state: r.state,
  code: r.code,
  message: r.message,
  updatedAtMs: r.updated_at_ms,
  dispatched: r.dispatched === 1,
  answer: r.answer,
});

/** Durable query state of the coordinator (DESIGN.md §6). */
export class CoordinatorStore {
  readonly db: Database;

  constructor(file: string) {
    this.db = openDatabase(file, COORDINATOR_MIGRATIONS);
  }

  close(): void {
    this.db.close();
  }

  hasQuery(queryId: string): boolean {
    return this.db.prepare('SELECT 1 FROM queries WHERE query_id = ?').get(queryId) !== undefined;
  }

  /** The sealed attachment of an evaluation, until its node answered (then null). */
  attachment(queryId: string): Uint8Array | null {
    const row = this.db.prepare('SELECT attachment FROM queries WHERE query_id = ?').get(queryId) as { attachment: Buffer | null } | undefined;
    return row?.attachment ?? null;
  }

  /** Forgets an evaluation's sealed attachment (the node answered, or the query failed there; see setNodeState). */
  private dropAttachment(queryId: string): void {
    this.db.prepare('UPDATE queries SET attachment = NULL WHERE query_id = ? AND attachment IS NOT NULL').run(queryId);
  }

  /** Records a new query, its log entry (`appendToLog`) and a pending row per target node, in one transaction. */
  insertQuery(
    q: Omit<StoredQuery, 'state' | 'code' | 'message' | 'logIndex' | 'countersigned' | 'pooledResult'>,
    nodeIds: string[],
    appendToLog: () => number,
    countersign: (logIndex: number) => Uint8Array,
    attachment: Uint8Array | null = null,
  ): StoredQuery {
    return this.db.transaction(() => {
      const logIndex = appendToLog();
      const countersigned = countersign(logIndex);
      this.db
        .prepare(
          `INSERT INTO queries (query_id, researcher_id, envelope, countersigned, log_index, submitted_at_ms, deadline_at_ms, state, project_id, pooled, attachment)
           VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)`,
        )
        .run(
          q.queryId,
          q.researcherId,
          Buffer.from(q.envelope),
          Buffer.from(countersigned),
          logIndex,
          q.submittedAtMs,
          q.deadlineAtMs,
          q.projectId,
          q.pooled ? 1 : 0,
          attachment && Buffer.from(attachment),
        );
      const insertNode = this.db.prepare(`INSERT INTO query_nodes (query_id, node_id, state, updated_at_ms) VALUES (?, ?, 'pending', ?)`);
      for (const nodeId of nodeIds) insertNode.run(q.queryId, nodeId, q.submittedAtMs);
      return { ...q, logIndex, countersigned, state: 'running' as const, code: '', message: '', pooledResult: null };
    })();
  }

  getQuery(queryId: string): StoredQuery | undefined {
    const row = this.db.prepare('SELECT * FROM queries WHERE query_id = ?').get(queryId) as QueryRow | undefined;
    return row && toQuery(row);
  }

  nodes(queryId: string): StoredNodeProgress[] {
    return (this.db.prepare('SELECT * FROM query_nodes WHERE query_id = ? ORDER BY node_id').all(queryId) as NodeRow[]).map(toNode);
  }

  runningQueries(): StoredQuery[] {
    return (this.db.prepare("SELECT * FROM queries WHERE state = 'running'").all() as QueryRow[]).map(toQuery);
  }

  /** Open (not final) work for one node, oldest first. */
  openWorkFor(nodeId: string): StoredQuery[] {
    return (
      this.db
        .prepare(
          `SELECT q.* FROM queries q JOIN query_nodes n ON n.query_id = q.query_id
           WHERE n.node_id = ? AND n.state IN ('pending', 'running') AND q.state = 'running'
           ORDER BY q.submitted_at_ms`,
        )
        .all(nodeId) as QueryRow[]
    ).map(toQuery);
  }

  /**
   * Moves one node's progress to a new state unless it is already final; returns whether it changed.
   * Final states are never overwritten, so late or duplicate answers cannot rewrite history.
   */
  setNodeState(
    queryId: string,
    nodeId: string,
    state: NodeStateName,
    nowMs: number,
    extra: { code?: string; message?: string; answer?: Uint8Array; dispatched?: boolean } = {},
  ): boolean {
    const result = this.db
      .prepare(
        `UPDATE query_nodes SET state = ?, code = ?, message = ?, updated_at_ms = ?,
           answer = COALESCE(?, answer), dispatched = MAX(dispatched, ?)
         WHERE query_id = ? AND node_id = ? AND state IN ('pending', 'running')`,
      )
      .run(state, extra.code ?? '', extra.message ?? '', nowMs, extra.answer ? Buffer.from(extra.answer) : null, extra.dispatched ? 1 : 0, queryId, nodeId);
    // An evaluation names one node: once it is final, the sealed client list has nothing left to do here.
    if (result.changes > 0 && FINAL_NODE_STATES.has(state)) this.dropAttachment(queryId);
    return result.changes > 0;
  }

  /**
   * Records the budget a node's verified answer states for a project and dataset. A node's ledger only
   * grows, so the state with the most spent is the latest, whatever order answers arrive in.
   */
  recordBudget(projectId: string, nodeId: string, budget: { dataset: string; total: number; spent: number; remaining: number }): void {
    this.db
      .prepare(
        `INSERT INTO privacy_budgets (project_id, node_id, dataset, total, spent, remaining) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (project_id, node_id, dataset) DO UPDATE SET total = excluded.total, spent = excluded.spent, remaining = excluded.remaining
         WHERE excluded.spent >= privacy_budgets.spent`,
      )
      .run(projectId, nodeId, budget.dataset, budget.total, budget.spent, budget.remaining);
  }

  /** Recorded budgets, of one project or of all, ordered by project, node and dataset. */
  budgets(projectId?: string): NodeBudget[] {
    const rows = this.db
      .prepare(
        `SELECT project_id, node_id, dataset, total, spent, remaining FROM privacy_budgets${projectId === undefined ? '' : ' WHERE project_id = ?'} ORDER BY project_id, node_id, dataset`,
      )
      .all(...(projectId === undefined ? [] : [projectId])) as Array<{
      project_id: string;
      node_id: string;
      dataset: string;
      total: number;
      spent: number;
      remaining: number;
    }>;
    return rows.map((r) => ({ projectId: r.project_id, nodeId: r.node_id, dataset: r.dataset, total: r.total, spent: r.spent, remaining: r.remaining }));
  }

  /** Whether every node of the query reached a final state. */
  allNodesFinal(queryId: string): boolean {
    const open = this.db.prepare("SELECT COUNT(*) AS n FROM query_nodes WHERE query_id = ? AND state IN ('pending', 'running')").get(queryId) as { n: number };
    return open.n === 0;
  }

  /**
   * Marks a per-node query finished when every node is final; returns true if it just finished.
   * Pooled queries finish only with their pooled result (see finishPooled).
   */
  finishIfComplete(queryId: string): boolean {
    if (!this.allNodesFinal(queryId)) return false;
    return this.db.prepare("UPDATE queries SET state = 'finished' WHERE query_id = ? AND state = 'running' AND pooled = 0").run(queryId).changes > 0;
  }

  /** Stores a running pooled query's signed result and final state; false if it was no longer running. */
  finishPooled(queryId: string, result: Uint8Array, state: 'finished' | 'failed', code = '', message = ''): boolean {
    return (
      this.db
        .prepare("UPDATE queries SET state = ?, code = ?, message = ?, pooled_result = ? WHERE query_id = ? AND state = 'running' AND pooled = 1")
        .run(state, code, message, Buffer.from(result), queryId).changes > 0
    );
  }

  saveCatalog(nodeId: string, catalog: Uint8Array, nowMs: number): void {
    this.db
      .prepare(
        'INSERT INTO node_catalogs (node_id, catalog, updated_at_ms) VALUES (?, ?, ?) ON CONFLICT(node_id) DO UPDATE SET catalog = excluded.catalog, updated_at_ms = excluded.updated_at_ms',
      )
      .run(nodeId, Buffer.from(catalog), nowMs);
  }

  catalogs(): Array<{ nodeId: string; catalog: Uint8Array }> {
    return (this.db.prepare('SELECT node_id, catalog FROM node_catalogs ORDER BY node_id').all() as Array<{ node_id: string; catalog: Buffer }>).map((r) => ({
      nodeId: r.node_id,
      catalog: r.catalog,
    }));
  }

  answerCounts(): Map<string, { answered: number; refused: number }> {
    const rows = this.db
      .prepare(`SELECT node_id, SUM(state = 'done') AS answered, SUM(state = 'refused') AS refused FROM query_nodes GROUP BY node_id`)
      .all() as Array<{ node_id: string; answered: number; refused: number }>;
    return new Map(rows.map((r) => [r.node_id, { answered: r.answered, refused: r.refused }]));
  }

  /**
   * Answered and refused queries per node whose final state was recorded at or after `sinceMs`
   * (a final state is never overwritten, so its `updated_at_ms` is when the node answered).
   */
  answerCountsSince(sinceMs: number): Map<string, { answered: number; refused: number }> {
    const rows = this.db
      .prepare(
        `SELECT node_id, SUM(state = 'done') AS answered, SUM(state = 'refused') AS refused FROM query_nodes
         WHERE state IN ('done', 'refused') AND updated_at_ms >= ? GROUP BY node_id`,
      )
      .all(sinceMs) as Array<{ node_id: string; answered: number; refused: number }>;
    return new Map(rows.map((r) => [r.node_id, { answered: r.answered, refused: r.refused }]));
  }

  /** The most recently submitted queries that are no longer running, newest first (insertion order is submission order). */
  recentFinishedQueries(limit: number): StoredQuery[] {
    return (this.db.prepare("SELECT * FROM queries WHERE state <> 'running' ORDER BY rowid DESC LIMIT ?").all(limit) as QueryRow[]).map(toQuery);
  }
}
