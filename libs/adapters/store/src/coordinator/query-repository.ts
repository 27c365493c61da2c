import { statementCache, type Database } from '../database';

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

/** What a new query is stored with; the log index and countersignature come from the callbacks of {@link QueryRepository.insert}. */
export type NewQuery = Omit<StoredQuery, 'state' | 'code' | 'message' | 'logIndex' | 'countersigned' | 'pooledResult'>;

/** Answered and refused queries of one node. */
export interface AnswerCounts {
  answered: number;
  refused: number;
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

const toCounts = (rows: Array<{ node_id: string; answered: number; refused: number }>): Map<string, AnswerCounts> =>
  new Map(rows.map((r) => [r.node_id, { answered: r.answered, refused: r.refused }]));

/**
 * The coordinator's queries (`queries`) and each target node's delivery state (`query_nodes`), DESIGN.md §6.
 * Only storage: which state changes are allowed is decided here only where SQL enforces it (a final node
 * state is never overwritten; a query finishes once); the routing rules live in coordinator-service.
 */
export class QueryRepository {
  /** This repository's statements, prepared once. */
  private readonly statement: ReturnType<typeof statementCache>;

  constructor(private readonly db: Database) {
    this.statement = statementCache(db);
  }

  has(queryId: string): boolean {
    return this.statement('SELECT 1 FROM queries WHERE query_id = ?').get(queryId) !== undefined;
  }

  get(queryId: string): StoredQuery | undefined {
    const row = this.statement('SELECT * FROM queries WHERE query_id = ?').get(queryId) as QueryRow | undefined;
    return row && toQuery(row);
  }

  /**
   * Records a new query, its log entry (`appendToLog`) and a pending row per target node, in one transaction:
   * if the log append, the countersignature or an insert throws, nothing of the query is stored.
   */
  insert(
    q: NewQuery,
    nodeIds: string[],
    appendToLog: () => number,
    countersign: (logIndex: number) => Uint8Array,
    attachment: Uint8Array | null = null,
  ): StoredQuery {
    return this.db.transaction(() => {
      const logIndex = appendToLog();
      const countersigned = countersign(logIndex);
      this.statement(
        `INSERT INTO queries (query_id, researcher_id, envelope, countersigned, log_index, submitted_at_ms, deadline_at_ms, state, project_id, pooled, attachment)
           VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)`,
      ).run(
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
      const insertNode = this.statement(`INSERT INTO query_nodes (query_id, node_id, state, updated_at_ms) VALUES (?, ?, 'pending', ?)`);
      for (const nodeId of nodeIds) insertNode.run(q.queryId, nodeId, q.submittedAtMs);
      return { ...q, logIndex, countersigned, state: 'running' as const, code: '', message: '', pooledResult: null };
    })();
  }

  /** The sealed attachment of an evaluation, until its node answered (then null). */
  attachment(queryId: string): Uint8Array | null {
    const row = this.statement('SELECT attachment FROM queries WHERE query_id = ?').get(queryId) as { attachment: Buffer | null } | undefined;
    return row?.attachment ?? null;
  }

  /** Forgets an evaluation's sealed attachment (the node answered, or the query failed there; see setNodeState). */
  private dropAttachment(queryId: string): void {
    this.statement('UPDATE queries SET attachment = NULL WHERE query_id = ? AND attachment IS NOT NULL').run(queryId);
  }

  /** Every target node's progress on a query, ordered by node id. */
  nodes(queryId: string): StoredNodeProgress[] {
    return (this.statement('SELECT * FROM query_nodes WHERE query_id = ? ORDER BY node_id').all(queryId) as NodeRow[]).map(toNode);
  }

  running(): StoredQuery[] {
    return (this.statement("SELECT * FROM queries WHERE state = 'running'").all() as QueryRow[]).map(toQuery);
  }

  /** Open (not final) work for one node, oldest first. */
  openWorkFor(nodeId: string): StoredQuery[] {
    return (
      this.statement(
        `SELECT q.* FROM queries q JOIN query_nodes n ON n.query_id = q.query_id
           WHERE n.node_id = ? AND n.state IN ('pending', 'running') AND q.state = 'running'
           ORDER BY q.submitted_at_ms`,
      ).all(nodeId) as QueryRow[]
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
    const result = this.statement(
      `UPDATE query_nodes SET state = ?, code = ?, message = ?, updated_at_ms = ?,
           answer = COALESCE(?, answer), dispatched = MAX(dispatched, ?)
         WHERE query_id = ? AND node_id = ? AND state IN ('pending', 'running')`,
    ).run(state, extra.code ?? '', extra.message ?? '', nowMs, extra.answer ? Buffer.from(extra.answer) : null, extra.dispatched ? 1 : 0, queryId, nodeId);
    // An evaluation names one node: once it is final, the sealed client list has nothing left to do here.
    if (result.changes > 0 && FINAL_NODE_STATES.has(state)) this.dropAttachment(queryId);
    return result.changes > 0;
  }

  /** Whether every node of the query reached a final state. */
  allNodesFinal(queryId: string): boolean {
    const open = this.statement("SELECT COUNT(*) AS n FROM query_nodes WHERE query_id = ? AND state IN ('pending', 'running')").get(queryId) as { n: number };
    return open.n === 0;
  }

  /**
   * Marks a per-node query finished when every node is final; returns true if it just finished.
   * Pooled queries finish only with their pooled result (see finishPooled).
   */
  finishIfComplete(queryId: string): boolean {
    if (!this.allNodesFinal(queryId)) return false;
    return this.statement("UPDATE queries SET state = 'finished' WHERE query_id = ? AND state = 'running' AND pooled = 0").run(queryId).changes > 0;
  }

  /** Stores a running pooled query's signed result and final state; false if it was no longer running. */
  finishPooled(queryId: string, result: Uint8Array, state: 'finished' | 'failed', code = '', message = ''): boolean {
    return (
      this.statement("UPDATE queries SET state = ?, code = ?, message = ?, pooled_result = ? WHERE query_id = ? AND state = 'running' AND pooled = 1").run(
        state,
        code,
        message,
        Buffer.from(result),
        queryId,
      ).changes > 0
    );
  }

  /** Answered and refused queries per node, in total. */
  answerCounts(): Map<string, AnswerCounts> {
    return toCounts(
      this.statement(`SELECT node_id, SUM(state = 'done') AS answered, SUM(state = 'refused') AS refused FROM query_nodes GROUP BY node_id`).all() as Array<{
        node_id: string;
        answered: number;
        refused: number;
      }>,
    );
  }

  /**
   * Answered and refused queries per node whose final state was recorded at or after `sinceMs`
   * (a final state is never overwritten, so its `updated_at_ms` is when the node answered).
   */
  answerCountsSince(sinceMs: number): Map<string, AnswerCounts> {
    return toCounts(
      this.statement(
        `SELECT node_id, SUM(state = 'done') AS answered, SUM(state = 'refused') AS refused FROM query_nodes
           WHERE state IN ('done', 'refused') AND updated_at_ms >= ? GROUP BY node_id`,
      ).all(sinceMs) as Array<{ node_id: string; answered: number; refused: number }>,
    );
  }

  /** How many queries of a project went to each node (whatever their outcome). */
  queriesPerNode(projectId: string): Map<string, number> {
    const rows = this.statement(
      'SELECT n.node_id AS node_id, COUNT(*) AS n FROM query_nodes n JOIN queries q ON q.query_id = n.query_id WHERE q.project_id = ? GROUP BY n.node_id',
    ).all(projectId) as Array<{ node_id: string; n: number }>;
    return new Map(rows.map((r) => [r.node_id, r.n]));
  }

  /** The most recently submitted queries that are no longer running, newest first (insertion order is submission order). */
  recentFinished(limit: number): StoredQuery[] {
    return (this.statement("SELECT * FROM queries WHERE state <> 'running' ORDER BY rowid DESC LIMIT ?").all(limit) as QueryRow[]).map(toQuery);
  }
}
