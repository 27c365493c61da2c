import { DEFAULT_MAX_WORK_BYTES, FedlabError, silentLogger, type Logger, type QuerySpec } from '@fedlab/model';
import { checkAdmission, DEFAULT_MAX_QUERY_LIFETIME_MS } from '@fedlab/query';
import { blake2b } from '@fedlab/crypto';
import { type Identity, type Roster } from '@fedlab/governance';
import * as pb from '@fedlab/proto';
import { encodePublicQuerySummary, openEnvelope, openQueryEnvelope, sealEnvelope } from '@fedlab/wire';
import type { CoordinatorMetrics } from '@fedlab/ops';
import { FINAL_NODE_STATES, type CoordinatorStore, type OutputGate, type NodeStateName, type QueryRepository, type StoredQuery } from '@fedlab/store';
import { admittedQuery, queryHash, type AdmittedQuery } from './admitted-query';
import { LinkageRunner, type LinkageReadyNode } from './linkage-runner';
import { PooledRunner, type ReadyNode } from './pooled-runner';
import { ProjectRegistry } from './project-registry';
import { TransparencyLog } from './transparency-log';

/** A connected node, as the router sees it: something work can be sent to. */
export interface NodeSession {
  nodeId: string;
  softwareVersion: string;
  protocolVersion: number;
  connectedSinceMs: number;
  lastHeartbeatMs: number;
  /** Size of the last tree head the node was sent (or reported on attach). */
  knownTreeSize: number;
  /** Root of that tree, as the node verified it (empty when it verified none). */
  knownTreeRoot?: Uint8Array;
  send(work: pb.QueryWork): void;
  /** Sends a secure-aggregation step of a pooled query. */
  sendSecAgg(step: pb.SecAggStep): void;
  /** Sends a private intersection-sum step of a linkage study. */
  sendPsi(step: pb.PsiStep): void;
  /**
   * The node's signed answer to this connection's challenge (from a node that names its run), shown to an
   * older connection this one replaces.
   */
  attachProof?: pb.AttachProof;
  /** Tells the node why its stream ends (a `refused` message, with the replacing attach for NODE_REPLACED), then ends the stream. */
  close(code: string, message: string, replacedBy?: pb.AttachProof): void;
  /** Sends the node the signed roster in force (RosterUpdate), for it to verify and take. */
  sendRoster(signedRoster: string, version: number): void;
}

export interface CoordinatorOptions {
  identity: Identity;
  roster: Roster;
  store: CoordinatorStore;
  /** How long each node has to answer a query, from submission (default 60 s). */
  nodeDeadlineMs?: number;
  /** Longest validity a researcher may give a query (default 7 days). */
  maxQueryLifetimeMs?: number;
  /** How long each secure-aggregation phase waits for the nodes (default 10 s). */
  secaggPhaseTimeoutMs?: number;
  /** How long one private intersection-sum run of a linkage study may take (default 10 min). */
  linkageRunTimeoutMs?: number;
  /** Fault tests only: called when a round reaches a point; see docs/configuration.md. */
  failpoint?: (point: 'secagg-after-masked-inputs') => void;
  /** The health window: nodes send three heartbeats per interval, and are healthy while the last is at most this old (default 10 s). */
  heartbeatIntervalMs?: number;
  logger?: Logger;
  /** Prometheus series of the coordinator (docs/operations.md); none are recorded without it. */
  metrics?: CoordinatorMetrics;
  now?: () => number;
  /** Largest work item a node accepts (default 4 MiB, the nodes' default max_message_bytes): a query whose item would be larger is refused at submit. */
  maxWorkBytes?: number;
}

const STATE_TO_PB: Record<NodeStateName, pb.NodeState> = {
  pending: pb.NodeState.NODE_STATE_PENDING,
  running: pb.NodeState.NODE_STATE_RUNNING,
  done: pb.NodeState.NODE_STATE_DONE,
  refused: pb.NodeState.NODE_STATE_REFUSED,
  failed: pb.NodeState.NODE_STATE_FAILED,
  unreachable: pb.NodeState.NODE_STATE_UNREACHABLE,
};

export { queryHash } from './admitted-query';

/**
 * The coordinator's query router (DESIGN.md §6): verifies and countersigns researcher queries,
 * logs them, fans them out to attached nodes, tracks per-node progress durably, and enforces
 * per-node deadlines. Transport-free: the gRPC glue feeds it sessions and answers.
 */
export class Coordinator {
  private readonly sessions = new Map<string, NodeSession>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly watchers = new Map<string, Set<() => void>>();
  /** While {@link atomically} runs: the queries whose watchers are told once its transaction committed. */
  private deferredEmits: Set<string> | undefined;
  /** Within {@link atomically}: what to do once the transaction committed (timers, metrics), in order. */
  private afterCommit: Array<() => void> | undefined;
  /** Each node's last logged audit checkpoint since this process started. */
  private readonly auditHeads = new Map<string, { seq: bigint; headHash: Uint8Array }>();
  /** Set when a node has verified a larger log than this coordinator holds: it was restored from an older backup. */
  private rollback: { nodeId: string; nodeSize: number; ownSize: number; forked: boolean } | undefined;
  private readonly store: CoordinatorStore;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly nodeDeadlineMs: number;
  private readonly maxQueryLifetimeMs: number;
  /** The public transparency log (RFC 6962). */
  readonly log: TransparencyLog;
  /** Projects, approvals and revocations. */
  readonly projects: ProjectRegistry;
  /** Secure aggregation of pooled queries. */
  private readonly pooled: PooledRunner;
  /** Pooled queries whose rounds are running in this process. */
  private readonly pooledRunning = new Set<string>();
  /** Private intersection-sum runs of linkage studies. */
  private readonly linkage: LinkageRunner;
  private currentRoster: Roster;

  constructor(private readonly options: CoordinatorOptions) {
    this.store = options.store;
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.nodeDeadlineMs = options.nodeDeadlineMs ?? 60_000;
    this.maxQueryLifetimeMs = options.maxQueryLifetimeMs ?? DEFAULT_MAX_QUERY_LIFETIME_MS;
    this.log = new TransparencyLog(this.store, options.identity);
    this.currentRoster = options.roster;
    this.projects = new ProjectRegistry(this.store, () => this.currentRoster, this.log, this.now);
    this.pooled = new PooledRunner({
      identity: options.identity,
      roster: () => this.currentRoster,
      phaseTimeoutMs: options.secaggPhaseTimeoutMs ?? 10_000,
      logger: this.logger,
      metrics: options.metrics,
      send: (nodeId, step) => {
        const session = this.sessions.get(nodeId);
        if (!session) return false;
        session.sendSecAgg(step);
        if (step.step?.$case === 'consistency') this.options.failpoint?.('secagg-after-masked-inputs');
        return true;
      },
    });
    this.linkage = new LinkageRunner({
      roster: () => this.currentRoster,
      runTimeoutMs: options.linkageRunTimeoutMs ?? 600_000,
      logger: this.logger,
      metrics: options.metrics,
      send: (nodeId, step) => {
        const session = this.sessions.get(nodeId);
        if (!session) return false;
        session.sendPsi(step);
        return true;
      },
    });
  }

  /** What every output of the coordinator waits for: the commits before it on the disk (CoordinatorStore.outputs). */
  get outputs(): OutputGate {
    return this.store.outputs;
  }

  /** The roster in force: the one the coordinator started with, or the last one published to it. */
  get roster(): Roster {
    return this.currentRoster;
  }

  /**
   * Puts a newer roster in force (GovernanceService.PublishRoster: the caller verified it against the
   * pinned governance; `persist` stores it once the checks here passed, before it takes effect). Nodes newly on it may attach at once; streams of nodes no longer
   * on it are ended with NODE_NOT_ON_ROSTER; the nodes still on it are sent `signedRoster` (the file's text), when given, to verify and take.
   */
  replaceRoster(roster: Roster, persist: () => void = () => {}, signedRoster?: string): void {
    if (roster.version <= this.currentRoster.version)
      throw new FedlabError('ROSTER_INVALID', `roster version ${roster.version} is not newer than the version ${this.currentRoster.version} in force`);
    if (!roster.get(this.options.identity.id, 'coordinator'))
      throw new FedlabError('ROSTER_INVALID', `the roster does not name this coordinator ("${this.options.identity.id}"); it would refuse every node`);
    persist();
    this.currentRoster = roster;
    this.logger.info({ rosterVersion: roster.version, participants: roster.participants.length }, 'roster replaced by a published roster');
    for (const [nodeId, session] of [...this.sessions]) {
      if (!roster.get(nodeId, 'node')) session.close('NODE_NOT_ON_ROSTER', `node "${nodeId}" is no longer on the roster (version ${roster.version})`);
      else if (signedRoster !== undefined) session.sendRoster(signedRoster, roster.version);
    }
  }

  /**
   * Resumes queries that were in flight when the coordinator stopped: work not yet answered goes
   * back to pending and is re-delivered when its node attaches (nodes answer idempotently by query
   * id); queries whose deadline passed while the coordinator was down fail with COORDINATOR_RESTARTED.
   */
  recover(): void {
    const now = this.now();
    const queries = this.store.queries;
    for (const q of queries.running().map(admittedQuery)) {
      if (q.pooled && queries.allNodesFinal(q.queryId)) {
        // Its secure-aggregation rounds were under way: their state died with the process.
        this.finishPooled(q, {
          outcome: {
            $case: 'refusal',
            value: { code: 'COORDINATOR_RESTARTED', message: 'the coordinator restarted during secure aggregation; nothing was released; resubmit the query' },
          },
          contributingNodes: [],
          rounds: 0,
        });
        continue;
      }
      for (const n of queries.nodes(q.queryId)) {
        if (FINAL_NODE_STATES.has(n.state)) continue;
        if (q.deadlineAtMs <= now) {
          queries.setNodeState(q.queryId, n.nodeId, 'failed', now, {
            code: 'COORDINATOR_RESTARTED',
            message: 'the coordinator restarted and the node deadline passed before it could re-deliver the query; resubmit it',
          });
        } else if (n.state === 'running') {
          // Back to pending (a state that is not final, so the store allows it), keeping its answer and dispatched flag.
          queries.setNodeState(q.queryId, n.nodeId, 'pending', now, { code: 'COORDINATOR_RESTARTED', message: 're-delivering after a coordinator restart' });
        }
      }
      if (!queries.finishIfComplete(q.queryId)) this.armDeadline(q);
      this.logger.info({ queryId: q.queryId, nodeIds: queries.nodes(q.queryId).map((n) => n.nodeId) }, 'recovered in-flight query');
    }
  }

  /**
   * Verifies, logs, countersigns and dispatches a researcher-signed query, or an organisation-signed
   * evaluation with its sealed client list (`attachment`, which this process cannot open: it checks
   * only that it is the one the organisation signed the digest of, and drops it once the node answered).
   */
  submit(envelope: pb.SignedEnvelope | undefined, attachment: Uint8Array = new Uint8Array(0)): { queryId: string; logIndex: number } {
    const seen: { analysis?: string } = {};
    try {
      const accepted = this.admit(envelope, attachment, seen);
      this.options.metrics?.queryAccepted(seen.analysis ?? 'unknown');
      return accepted;
    } catch (error) {
      this.options.metrics?.queryRefused(seen.analysis ?? 'unknown', FedlabError.from(error).code);
      throw error;
    }
  }

  /** The checks and effects of {@link submit}; records the analysis kind in `seen` once the envelope verified. */
  private admit(envelope: pb.SignedEnvelope | undefined, attachment: Uint8Array, seen: { analysis?: string }): { queryId: string; logIndex: number } {
    if (this.rollback) throw this.rollbackError(this.rollback);
    const { spec, signerId } = openQueryEnvelope(envelope, this.roster);
    seen.analysis = spec.analysis.kind;
    const now = this.now();
    checkAdmission(spec, {
      nowMs: now,
      isNode: (id) => this.roster.get(id, 'node') !== undefined,
      attachmentBytes: attachment.length,
      maxLifetimeMs: this.maxQueryLifetimeMs,
    });
    if (spec.analysis.kind === 'evaluation' && !Buffer.from(blake2b(attachment, 32)).equals(Buffer.from(spec.analysis.attachmentDigest))) {
      throw new FedlabError('SIGNATURE_INVALID', 'attachment: not the client list whose digest the organisation signed');
    }
    if (this.store.queries.has(spec.queryId)) throw new FedlabError('REPLAYED_NONCE', `query ${spec.queryId} was already submitted`);
    const hash = queryHash(envelope!.payload);
    const summary = encodePublicQuerySummary(spec, hash);
    this.checkWorkSize(spec, envelope!, summary, attachment, now);
    const deadlineAtMs = Math.min(now + this.nodeDeadlineMs, spec.expiresAtMs);
    const envelopeBytes = pb.SignedEnvelope.encode(envelope!).finish();
    const stored = this.store.queries.insert(
      // A linkage study is composed at the coordinator like a pooled query.
      {
        queryId: spec.queryId,
        projectId: spec.projectId,
        researcherId: signerId,
        envelope: envelopeBytes,
        submittedAtMs: now,
        deadlineAtMs,
        pooled: spec.pooled || spec.analysis.kind === 'linkage',
      },
      spec.targetNodes,
      // The public log holds the query's hash and public summary, never its values (DESIGN.md §7.6).
      () => this.log.append('query', summary, now).index,
      (logIndex) =>
        pb.SignedEnvelope.encode(
          sealEnvelope(
            'countersign',
            pb.CountersignedQuery.encode({ query: envelope, logIndex: BigInt(logIndex), receivedAtMs: BigInt(now) }).finish(),
            this.options.identity,
          ),
        ).finish(),
      attachment.length > 0 ? attachment : null,
    );
    const q: AdmittedQuery = { ...stored, signed: envelope!, spec, hash };
    this.logger.info({ queryId: spec.queryId, nodeIds: spec.targetNodes, nodes: spec.targetNodes.length, analysis: spec.analysis.kind }, 'query accepted');
    this.armDeadline(q);
    for (const nodeId of spec.targetNodes) this.dispatch(q, nodeId);
    this.emit(spec.queryId);
    return { queryId: spec.queryId, logIndex: q.logIndex };
  }

  /**
   * Registers an authenticated node stream, replacing an older one, and re-delivers its open work. A
   * node that has verified a larger log than this coordinator holds shows the coordinator was restored
   * from an older backup: from then on every submission is refused with LOG_ROLLBACK (and no work is
   * sent: every node would refuse it with LOG_INCONSISTENT) until the operator restores a newer backup.
   */
  attach(session: NodeSession): void {
    const replaced = this.sessions.get(session.nodeId);
    this.sessions.set(session.nodeId, session);
    if (replaced && replaced !== session) {
      // The older stream is ended, with the reason, rather than left open: its node would otherwise
      // believe itself attached while the coordinator sends it nothing (docs/operations.md).
      this.detachReplaced(replaced);
      replaced.close('NODE_REPLACED', `a new connection of node "${session.nodeId}" replaced this one; this connection is closed`, session.attachProof);
      this.logger.warn({ nodeId: session.nodeId }, 'node stream replaced by a new connection of the same node');
    }
    this.logger.info({ nodeId: session.nodeId, version: session.softwareVersion }, 'node attached');
    const ownSize = this.log.size;
    const root = session.knownTreeRoot;
    // Behind what the node verified, or (after logging since a restore) holding another tree at that size.
    const forked =
      session.knownTreeSize > 0 &&
      session.knownTreeSize <= ownSize &&
      root?.length === 32 &&
      !Buffer.from(this.log.rootAt(session.knownTreeSize)).equals(Buffer.from(root));
    if (session.knownTreeSize > ownSize || forked) {
      if (!this.rollback || session.knownTreeSize > this.rollback.nodeSize)
        this.rollback = { nodeId: session.nodeId, nodeSize: session.knownTreeSize, ownSize, forked };
      const error = this.rollbackError(this.rollback);
      // Nothing more enters the log (no query, checkpoint or project): it would only diverge further.
      this.log.freeze(error);
      this.logger.error({ nodeId: session.nodeId, nodeTreeSize: session.knownTreeSize, treeSize: ownSize, code: 'LOG_ROLLBACK' }, error.message);
    }
    if (this.rollback) return;
    for (const q of this.store.queries.openWorkFor(session.nodeId)) this.dispatch(admittedQuery(q), session.nodeId);
  }

  /** Whether (and why) this coordinator found itself restored from an older backup. */
  get rolledBack(): { nodeId: string; nodeSize: number; ownSize: number; forked: boolean } | undefined {
    return this.rollback && { ...this.rollback };
  }

  private rollbackError(r: { nodeId: string; nodeSize: number; ownSize: number; forked: boolean }): FedlabError {
    const found = r.forked
      ? `the coordinator's log has ${r.ownSize} entries but not the tree of ${r.nodeSize} that node ${r.nodeId} verified`
      : `the coordinator's log has ${r.ownSize} entries but node ${r.nodeId} has verified a tree of ${r.nodeSize}`;
    return new FedlabError(
      'LOG_ROLLBACK',
      `${found}: this coordinator was restored from an older backup; ` +
        'restore a backup at least as new (docs/operations.md "Backup and restore"); it accepts no query until then',
    );
  }

  /** Protocol rounds in progress on a replaced stream cannot finish on it; its open work is re-delivered on the new one. */
  private detachReplaced(session: NodeSession): void {
    this.pooled.nodeLost(session.nodeId);
    this.linkage.nodeLost(session.nodeId);
  }

  /** Forgets a node stream; work it had started fails with NODE_DISCONNECTED so the rest of the answer still arrives. */
  detach(session: NodeSession): void {
    if (this.sessions.get(session.nodeId) !== session) return;
    this.sessions.delete(session.nodeId);
    this.logger.warn({ nodeId: session.nodeId }, 'node detached');
    this.pooled.nodeLost(session.nodeId);
    this.linkage.nodeLost(session.nodeId);
    const now = this.now();
    for (const q of this.store.queries.openWorkFor(session.nodeId)) {
      const progress = this.store.queries.nodes(q.queryId).find((n) => n.nodeId === session.nodeId);
      if (progress?.dispatched) {
        this.update(admittedQuery(q), session.nodeId, 'failed', now, {
          code: 'NODE_DISCONNECTED',
          message: 'the node disconnected before answering',
        });
      }
    }
  }

  connectedNodes(): NodeSession[] {
    return [...this.sessions.values()];
  }

  /** A node's message in a secure-aggregation round. */
  secaggReply(nodeId: string, reply: pb.SecAggReply): void {
    this.pooled.receive(nodeId, reply);
  }

  /** A node's message in a private intersection-sum run. */
  psiReply(nodeId: string, reply: pb.PsiReply): void {
    this.linkage.receive(nodeId, reply);
  }

  /** A node reports that it began executing a query. */
  started(nodeId: string, queryId: string): void {
    // Not a final state: nothing finishes or starts a pooled round, so the query need not be read (see update).
    if (this.store.queries.setNodeState(queryId, nodeId, 'running', this.now(), { dispatched: true })) this.emit(queryId);
  }

  /** Verifies a node's signed answer and records it as done or refused. */
  answer(nodeId: string, message: pb.QueryAnswer): void {
    const stored = this.store.queries.get(message.queryId);
    if (!stored) {
      this.logger.warn({ queryId: message.queryId, nodeId }, 'answer for an unknown query ignored');
      return;
    }
    const q = admittedQuery(stored);
    const now = this.now();
    let decoded: pb.NodeAnswer;
    try {
      const { payload, signerId } = openEnvelope('result', message.answer, this.roster, 'node', 'NODE_NOT_ON_ROSTER');
      decoded = pb.NodeAnswer.decode(payload);
      if (signerId !== nodeId || decoded.nodeId !== nodeId || decoded.queryId !== q.queryId) {
        throw new FedlabError('SIGNATURE_INVALID', 'answer: signed for another node or query');
      }
      if (!Buffer.from(decoded.queryHash).equals(Buffer.from(q.hash))) {
        throw new FedlabError('SIGNATURE_INVALID', 'answer: bound to different query bytes');
      }
    } catch (error) {
      const fe = FedlabError.from(error);
      this.logger.warn({ nodeId, queryId: q.queryId, code: fe.code }, 'node answer rejected');
      this.update(q, nodeId, 'failed', now, { code: fe.code, message: `the node's answer was rejected: ${fe.message}` });
      return;
    }
    const envelopeBytes = pb.SignedEnvelope.encode(message.answer!).finish();
    const budget = decoded.budget;
    const outcome = decoded.outcome;
    const record = () => {
      if (budget?.budget && budget.projectId === q.projectId) this.store.budgets.record(q.projectId, nodeId, { dataset: budget.dataset, ...budget.budget });
      if (outcome?.$case === 'refusal') {
        this.update(q, nodeId, 'refused', now, { code: outcome.value.code, message: outcome.value.message, answer: envelopeBytes });
      } else {
        this.update(q, nodeId, 'done', now, { answer: envelopeBytes });
      }
    };
    // The budget, the node's answer and the query's end are one transaction, where no pooled protocol can
    // start from within (a pooled query's records stay one statement each, as before).
    if (q.pooled) record();
    else this.atomically(record);
  }

  /**
   * Runs `writes` in one transaction of the coordinator database and tells the watchers of the queries it
   * changed once it committed (nothing, when it rolled back).
   */
  private atomically(writes: () => void): void {
    if (this.deferredEmits) {
      this.store.transaction(writes);
      return;
    }
    const emits = new Set<string>();
    const actions: Array<() => void> = [];
    this.deferredEmits = emits;
    this.afterCommit = actions;
    try {
      this.store.transaction(writes);
    } finally {
      this.deferredEmits = undefined;
      this.afterCommit = undefined;
    }
    for (const action of actions) action();
    for (const queryId of emits) this.emit(queryId);
  }

  /** Runs `action` now, or once the transaction of {@link atomically} in progress committed (never if it rolls back). */
  private whenCommitted(action: () => void): void {
    if (this.afterCommit) this.afterCommit.push(action);
    else action();
  }

  /**
   * Logs a node's signed audit checkpoint (when its sequence moved), so anyone can later check the
   * node's audit chain against the public log.
   */
  checkpoint(nodeId: string, envelope: pb.SignedEnvelope): void {
    try {
      const { payload, signerId } = openEnvelope('checkpoint', envelope, this.roster, 'node', 'NODE_NOT_ON_ROSTER');
      const checkpoint = pb.AuditCheckpoint.decode(payload);
      if (signerId !== nodeId || checkpoint.nodeId !== nodeId) throw new FedlabError('SIGNATURE_INVALID', 'checkpoint: signed for another node');
      const last = this.auditHeads.get(nodeId)?.seq;
      if (last !== undefined && checkpoint.seq <= last) return;
      this.log.append('checkpoint', pb.SignedEnvelope.encode(envelope).finish(), this.now());
      this.auditHeads.set(nodeId, { seq: checkpoint.seq, headHash: checkpoint.headHash });
    } catch (error) {
      this.logger.warn({ nodeId, code: FedlabError.from(error).code }, 'audit checkpoint rejected');
    }
  }

  catalog(nodeId: string, catalog: pb.NodeCatalog): void {
    this.store.catalogs.save(nodeId, pb.NodeCatalog.encode({ ...catalog, nodeId }).finish(), this.now());
  }

  /**
   * Checks that a read of a query's status or answers is signed by the researcher who submitted it,
   * recently (5 minutes either way): results go to their researcher only, never to the public. Returns the
   * query as it read it, for {@link status} and {@link result}.
   */
  authoriseRead(queryId: string, auth: pb.SignedEnvelope | undefined): StoredQuery {
    const { signerId, q } = this.openRead(queryId, auth, ['organisation', 'researcher']);
    if (signerId !== q.researcherId) throw new FedlabError('RESEARCHER_NOT_ALLOWED', `only the researcher who submitted query ${queryId} may read it`);
    return q;
  }

  /**
   * The full researcher-signed query behind a public log entry (TransparencyService.GetQueryEnvelope):
   * for an auditor on the roster, or the query's own researcher. The public log holds only its summary.
   */
  queryEnvelope(queryId: string, auth: pb.SignedEnvelope | undefined): pb.GetQueryEnvelopeResponse {
    const { signerId, role, q } = this.openRead(queryId, auth, ['auditor', 'organisation', 'researcher']);
    if (role !== 'auditor' && signerId !== q.researcherId) {
      throw new FedlabError('ROLE_NOT_ALLOWED', `only an auditor on the roster, or the researcher who submitted query ${queryId}, may read the full query`);
    }
    return { query: admittedQuery(q).signed, logIndex: BigInt(q.logIndex) };
  }

  /** Opens a signed, recent (5 minutes either way) read request for `queryId` by a roster member of one of `roles`. */
  private openRead(queryId: string, auth: pb.SignedEnvelope | undefined, roles: ReadonlyArray<'auditor' | 'organisation' | 'researcher'>) {
    const q = this.query(queryId);
    const role = roles.find((r) => this.roster.get(auth?.signerId ?? '', r)) ?? 'researcher';
    const { payload, signerId } = openEnvelope('read', auth, this.roster, role, 'UNKNOWN_RESEARCHER');
    const read = pb.ReadAuthorisation.decode(payload);
    if (read.queryId !== queryId) throw new FedlabError('RESEARCHER_NOT_ALLOWED', `the signed read request is for another query than ${queryId}`);
    if (Math.abs(Number(read.issuedAtMs) - this.now()) > 300_000)
      throw new FedlabError('QUERY_EXPIRED', 'read: the signed read request is too old or from the future');
    return { signerId, role, q };
  }

  /** The stored query, or NOT_FOUND. */
  private query(queryId: string): StoredQuery {
    const q = this.store.queries.get(queryId);
    if (!q) throw new FedlabError('NOT_FOUND', `query ${queryId} not found`);
    return q;
  }

  /** The status of a query read from the store (see {@link authoriseRead}): its state, and its nodes' progress as of now. */
  status(q: StoredQuery): pb.QueryStatus {
    return {
      queryId: q.queryId,
      state:
        q.state === 'running'
          ? pb.QueryState.QUERY_STATE_RUNNING
          : q.state === 'finished'
            ? pb.QueryState.QUERY_STATE_FINISHED
            : pb.QueryState.QUERY_STATE_FAILED,
      nodes: this.store.queries.nodes(q.queryId).map((n) => ({
        nodeId: n.nodeId,
        state: STATE_TO_PB[n.state],
        code: n.code,
        message: n.message,
        updatedAtMs: BigInt(n.updatedAtMs),
      })),
      submittedAtMs: BigInt(q.submittedAtMs),
      code: q.code,
      message: q.message,
    };
  }

  /** The status, signed query, node answers and pooled result of a query read from the store (see {@link authoriseRead}). */
  result(q: StoredQuery): pb.GetQueryResultResponse {
    const answers = this.store.queries
      .nodes(q.queryId)
      .filter((n) => n.answer !== null)
      .map((n) => pb.SignedEnvelope.decode(n.answer!));
    return {
      status: this.status(q),
      query: admittedQuery(q).signed,
      answers,
      pooled: q.pooledResult ? pb.SignedEnvelope.decode(q.pooledResult) : undefined,
    };
  }

  /** Calls `listener` with the current status and on every change; returns an unsubscribe function. */
  watch(queryId: string, listener: (status: pb.QueryStatus) => void): () => void {
    // Throws NOT_FOUND before anything is registered, so unknown ids leave no state behind.
    const first = this.status(this.query(queryId));
    const handler = () => listener(this.status(this.query(queryId)));
    const set = this.watchers.get(queryId) ?? new Set();
    set.add(handler);
    this.watchers.set(queryId, set);
    listener(first);
    return () => {
      set.delete(handler);
      if (set.size === 0 && this.watchers.get(queryId) === set) this.watchers.delete(queryId);
    };
  }

  catalogs(): pb.NodeCatalog[] {
    return this.store.catalogs.all().map((c) => pb.NodeCatalog.decode(c.catalog));
  }

  /** The operators' view of the network (AdminService.ListNodes): every roster node, as of now. */
  listNodes(): pb.ListNodesResponse {
    const nowMs = this.now();
    return { nodes: this.nodeInfos(nowMs), nowMs: BigInt(nowMs), heartbeatIntervalMs: this.heartbeatIntervalMs };
  }

  /** The interval nodes are asked to send heartbeats at. */
  get heartbeatIntervalMs(): number {
    return this.options.heartbeatIntervalMs ?? 10_000;
  }

  /** Every roster node: connection, health, queries answered and refused (in total and in the hour before `nowMs`), audit head, datasets. */
  nodeInfos(nowMs = this.now()): pb.NodeInfo[] {
    const counts = this.store.queries.answerCounts();
    const lastHour = this.store.queries.answerCountsSince(nowMs - 3_600_000);
    const datasets = new Map(this.catalogs().map((c) => [c.nodeId, c.datasets.map((d) => d.dataset)]));
    const budgets = this.store.budgets.list();
    return this.roster.all('node').map((p) => {
      const s = this.sessions.get(p.id);
      const c = counts.get(p.id);
      const h = lastHour.get(p.id);
      const audit = this.auditHeads.get(p.id);
      return {
        nodeId: p.id,
        displayName: p.displayName,
        connected: s !== undefined,
        softwareVersion: s?.softwareVersion ?? '',
        protocolVersion: s?.protocolVersion ?? 0,
        lastHeartbeatMs: BigInt(s?.lastHeartbeatMs ?? 0),
        connectedSinceMs: BigInt(s?.connectedSinceMs ?? 0),
        queriesAnswered: BigInt(c?.answered ?? 0),
        queriesRefused: BigInt(c?.refused ?? 0),
        queriesAnsweredLastHour: BigInt(h?.answered ?? 0),
        queriesRefusedLastHour: BigInt(h?.refused ?? 0),
        auditSeq: audit?.seq ?? 0n,
        auditHeadHash: Buffer.from(audit?.headHash ?? new Uint8Array(0)),
        datasets: datasets.get(p.id) ?? [],
        healthy: s !== undefined && nowMs - s.lastHeartbeatMs <= this.heartbeatIntervalMs,
        budgets: budgets.filter((b) => b.nodeId === p.id),
      };
    });
  }

  /** Stops deadline timers (the store is closed by its owner). */
  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.watchers.clear();
  }

  /**
   * Sends a query to an attached node with the proof that it is in the public log: the leaf, a
   * fresh signed tree head, the inclusion proof, and a consistency proof from the last tree head
   * the node verified.
   */
  private dispatch(q: AdmittedQuery, nodeId: string): void {
    const session = this.sessions.get(nodeId);
    if (!session) return;
    let work: pb.QueryWork;
    try {
      work = this.workItem(q, session.knownTreeSize);
    } catch (error) {
      this.logger.error({ queryId: q.queryId, nodeId, err: error }, 'could not build the work item');
      this.update(q, nodeId, 'failed', this.now(), { code: 'INTERNAL', message: 'the coordinator could not prove this query is in its log' });
      return;
    }
    this.store.queries.setNodeState(q.queryId, nodeId, 'pending', this.now(), { dispatched: true });
    session.send(work);
    this.logger.debug({ queryId: q.queryId, nodeId, treeSize: Number(work.treeHead!.size) }, 'work sent to the node with its log proof');
    session.knownTreeSize = Number(work.treeHead!.size);
  }

  /**
   * Refuses, before anything is logged, a query whose work item could exceed what a node accepts: the
   * item is built as it would be sent, with the largest log index, tree size and proofs possible.
   */
  private checkWorkSize(spec: QuerySpec, envelope: pb.SignedEnvelope, summary: Uint8Array, attachment: Uint8Array, now: number): void {
    const max = this.options.maxWorkBytes ?? DEFAULT_MAX_WORK_BYTES;
    const hash = Buffer.alloc(32);
    const signature = Buffer.alloc(64);
    const largest = BigInt(Number.MAX_SAFE_INTEGER);
    // Placeholders of the real sizes: nothing is signed just to be measured.
    const countersigned: pb.SignedEnvelope = {
      payload: Buffer.from(pb.CountersignedQuery.encode({ query: envelope, logIndex: largest, receivedAtMs: BigInt(now) }).finish()),
      signature,
      signerId: this.options.identity.id,
    };
    const work: pb.QueryWork = {
      queryId: spec.queryId,
      countersigned,
      logLeaf: Buffer.from(pb.LogEntry.encode({ kind: 'query', payload: Buffer.from(summary), loggedAtMs: BigInt(now) }).finish()),
      treeHead: { size: largest, rootHash: hash, timestampMs: BigInt(now), signature, signerId: this.options.identity.id },
      inclusionProof: Array.from({ length: 64 }, () => hash),
      consistencyFrom: largest,
      consistencyProof: Array.from({ length: 64 }, () => hash),
      attachment: Buffer.from(attachment),
    };
    const bytes = pb.AttachResponse.encode({ message: { $case: 'work', value: work } }).finish().length;
    if (bytes > max) {
      throw new FedlabError(
        'MESSAGE_TOO_LARGE',
        `query: its work item for the nodes would be up to ${bytes} bytes; a node accepts at most ${max} (make the query smaller)`,
      );
    }
  }

  /** The work item for a stored query, with log proofs relative to a node's last known tree size. */
  workFor(queryId: string, knownTreeSize: number): pb.QueryWork {
    return this.workItem(this.query(queryId), knownTreeSize);
  }

  private workItem(q: StoredQuery, knownTreeSize: number): pb.QueryWork {
    const head = this.log.treeHead(this.now());
    const size = Number(head.size);
    // A node claiming a larger tree than ours gets no consistency proof and will refuse, as it should.
    const from = knownTreeSize <= size ? knownTreeSize : 0;
    return {
      queryId: q.queryId,
      countersigned: pb.SignedEnvelope.decode(q.countersigned),
      logLeaf: Buffer.from(this.log.leaf(q.logIndex)),
      treeHead: head,
      inclusionProof: this.log.inclusionProof(q.logIndex, size).map((h) => Buffer.from(h)),
      consistencyFrom: BigInt(from),
      consistencyProof: this.log.consistencyProof(from, size).map((h) => Buffer.from(h)),
      attachment: Buffer.from(this.store.queries.attachment(q.queryId) ?? new Uint8Array(0)),
    };
  }

  /**
   * Records a node's progress on a query and what follows from it: a final state may start the pooled
   * protocol or finish the query. `q` is the query as this operation read (or admitted) it.
   */
  private update(q: AdmittedQuery, nodeId: string, state: NodeStateName, nowMs: number, extra: Parameters<QueryRepository['setNodeState']>[4]): void {
    const { queryId } = q;
    if (!this.store.queries.setNodeState(queryId, nodeId, state, nowMs, extra)) return;
    if (FINAL_NODE_STATES.has(state)) {
      this.whenCommitted(() => {
        this.logger.info({ queryId, nodeId, state, code: extra?.code ?? '' }, 'node progress');
        this.options.metrics?.nodeResult(nodeId, state, extra?.code ?? '');
      });
      this.startPooledIfReady(q);
    }
    if (this.store.queries.finishIfComplete(queryId)) {
      const nodeIds = this.store.queries.nodes(queryId).map((n) => n.nodeId);
      // Only once the end is committed does the deadline go: a rolled-back end leaves the query to time out.
      this.whenCommitted(() => {
        clearTimeout(this.timers.get(queryId));
        this.timers.delete(queryId);
        this.logger.info({ queryId, nodeIds }, 'query finished');
        this.countFinished(q, 'finished');
      });
    }
    this.emit(queryId);
  }

  /**
   * Once every node of a pooled query answered (ready, refused or failed), runs its secure
   * aggregation over the ready nodes and stores the signed pooled result.
   */
  private startPooledIfReady(q: AdmittedQuery): void {
    const { queryId, spec } = q;
    if (this.pooledRunning.has(queryId)) return;
    // q.state is as read: a pooled query stops running only once all its nodes are final, and then no
    // node's state changes any more, so update() never gets here for one that stopped since.
    if (!q.pooled || q.state !== 'running' || !this.store.queries.allNodesFinal(queryId)) return;
    clearTimeout(this.timers.get(queryId));
    this.timers.delete(queryId);
    const ready: ReadyNode[] = [];
    const linkageReady: LinkageReadyNode[] = [];
    for (const n of this.store.queries.nodes(queryId)) {
      if (n.state !== 'done' || !n.answer) continue;
      const answer = pb.NodeAnswer.decode(pb.SignedEnvelope.decode(n.answer).payload);
      if (answer.outcome?.$case === 'pooledReady') ready.push({ nodeId: n.nodeId, ready: answer.outcome.value });
      if (answer.outcome?.$case === 'linkageReady') linkageReady.push({ nodeId: n.nodeId, ready: answer.outcome.value });
    }
    this.pooledRunning.add(queryId);
    const running = spec.analysis.kind === 'linkage' ? this.linkage.run(spec, spec.analysis, q.hash, linkageReady) : this.pooled.run(spec, q.hash, ready);
    const nodeIds = [...ready, ...linkageReady].map((r) => r.nodeId);
    this.logger.info({ queryId, nodeIds, nodes: nodeIds.length, analysis: spec.analysis.kind }, 'composed query: protocol starts');
    void running
      .then((outcome) => this.finishPooled(q, outcome))
      .catch((error: unknown) => {
        this.logger.error({ queryId, nodeIds, err: error }, 'pooled query failed');
        this.finishPooled(q, { outcome: { $case: 'refusal', value: { code: 'INTERNAL', message: 'internal error' } }, contributingNodes: [], rounds: 0 });
      })
      .finally(() => this.pooledRunning.delete(queryId));
  }

  /** Signs and stores a pooled query's result, tells its nodes to forget their contribution, and notifies watchers. */
  private finishPooled(q: AdmittedQuery, result: { outcome: NonNullable<pb.PooledResult['outcome']>; contributingNodes: string[]; rounds: number }): void {
    const { queryId } = q;
    const payload = pb.PooledResult.encode({
      queryId,
      queryHash: Buffer.from(q.hash),
      contributingNodes: result.contributingNodes,
      producedAtMs: BigInt(this.now()),
      rounds: result.rounds,
      outcome: result.outcome,
    }).finish();
    const envelope = pb.SignedEnvelope.encode(sealEnvelope('pooled-result', payload, this.options.identity)).finish();
    const refused = result.outcome.$case === 'refusal' ? result.outcome.value : undefined;
    const state = refused ? 'failed' : 'finished';
    if (this.store.queries.finishPooled(queryId, envelope, state, refused?.code, refused?.message)) this.countFinished(q, state);
    this.logger.info(
      { queryId, nodeIds: result.contributingNodes, nodes: result.contributingNodes.length, code: refused?.code ?? '' },
      'pooled query finished',
    );
    for (const n of this.store.queries.nodes(queryId)) {
      const session = this.sessions.get(n.nodeId);
      session?.sendSecAgg({ queryId, roundId: '', step: { $case: 'abort', value: { code: 'QUERY_FINISHED', message: 'the pooled query is finished' } } });
      session?.sendPsi({ queryId, runId: '', step: { $case: 'abort', value: { code: 'QUERY_FINISHED', message: 'the linkage study is finished' } } });
    }
    this.emit(queryId);
  }

  /** Records a query that just reached its final `state` in the latency histogram. */
  private countFinished(q: AdmittedQuery, state: 'finished' | 'failed'): void {
    this.options.metrics?.queryFinished(q.spec.analysis.kind, state, Math.max(0, this.now() - q.submittedAtMs) / 1000);
  }

  private armDeadline(q: AdmittedQuery): void {
    const delay = Math.max(0, q.deadlineAtMs - this.now());
    const timer = setTimeout(() => this.expire(q), delay);
    timer.unref();
    this.timers.set(q.queryId, timer);
  }

  private expire(q: AdmittedQuery): void {
    this.timers.delete(q.queryId);
    const now = this.now();
    for (const n of this.store.queries.nodes(q.queryId)) {
      if (FINAL_NODE_STATES.has(n.state)) continue;
      if (n.dispatched) {
        this.update(q, n.nodeId, 'failed', now, { code: 'DEADLINE_EXCEEDED', message: 'the node did not answer before the deadline' });
      } else {
        this.update(q, n.nodeId, 'unreachable', now, { code: 'NODE_UNREACHABLE', message: 'the node was not connected before the deadline' });
      }
    }
  }

  private emit(queryId: string): void {
    if (this.deferredEmits) {
      this.deferredEmits.add(queryId);
      return;
    }
    for (const handler of [...(this.watchers.get(queryId) ?? [])]) {
      try {
        handler();
      } catch (error) {
        this.logger.warn({ queryId, err: error }, 'status watcher failed');
      }
    }
  }
}
