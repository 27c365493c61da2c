import { DEFAULT_MAX_WORK_BYTES, FedlabError, isAggregateAnalysis, silentLogger, type Logger, type NodePolicy, type QuerySpec } from '@fedlab/model';
import { blake2b, deriveIdentityKey, RistrettoPool, sealForPeer, type RistrettoBackend } from '@fedlab/crypto';
import * as pb from '@fedlab/proto';
import type { AuditLog, NodeStore, OutputGate } from '@fedlab/store';
import { answerSealHeader, openEnvelope, openQueryEnvelope, resultTableToProto, sealEnvelope } from '@fedlab/wire';
import { localDataset, type Identity, type Roster } from '@fedlab/governance';
import { verifyQueryInLog, type VerifiedTreeHead } from './log-proof';
import { describePreparation, describePreparationNoise, preparePooled, type PooledPreparation } from './pooled-contribution';
import { authorise, executePrivateAnalysis } from './query-executor';
import { budgetState, checkEvaluationBudget, checkQueryRho, debitBudget, projectBudget, spentBudget, type ProjectBudget } from './privacy-budget';
import { SecAggParticipant, type SecAggFailpoint } from './secagg-participant';
import { prepareLinkage, type LinkagePreparation } from './linkage-preparation';
import { PsiParticipant } from './psi-participant';
import { authoriseEvaluation, openEvaluationList, purgeEvaluations, runEvaluation } from './evaluation-run';
import { evaluationNoise } from '@fedlab/evaluation';
import type { NodeMetrics } from '@fedlab/ops';

export interface NodeAgentOptions {
  identity: Identity;
  /** The roster at start; a newer one the stewards publish replaces it ({@link NodeAgent.replaceRoster}). */
  roster: Roster;
  /** The node's database and datasets. */
  store: NodeStore;
  /** Reloaded on every query, so a steward's edit takes effect on the next query. */
  policy: () => NodePolicy | null;
  /** Allowed clock difference when checking issued_at (default 5 min). */
  clockSkewMs?: number;
  logger?: Logger;
  now?: () => number;
  /** Fault tests only: called at a secure-aggregation failpoint (see SecAggParticipant). */
  failpoint?: (point: SecAggFailpoint) => boolean;
  /** Prometheus series of the node (docs/operations.md); none are recorded without it. */
  metrics?: NodeMetrics;
  /** Largest work item this node accepts (its `max_message_bytes`, default 4 MiB); a larger one is refused, signed. */
  maxWorkBytes?: number;
  /** The libsodium backend of the linkage worker pool (default `auto`: native when it loads). */
  psiBackend?: RistrettoBackend;
}

/**
 * An upper bound on a work item's encoded size without encoding it: its byte and text fields, each proof
 * hash with its tag and length, and 1 KiB for every other tag, length and small field around them.
 */
function workSizeBound(work: pb.QueryWork): number {
  const text = (value: string | undefined) => Buffer.byteLength(value ?? '', 'utf8');
  const envelope = work.countersigned;
  const fields = (envelope?.payload.length ?? 0) + (envelope?.signature.length ?? 0) + text(envelope?.signerId) + work.logLeaf.length + work.attachment.length;
  const head = work.treeHead ? work.treeHead.rootHash.length + work.treeHead.signature.length + text(work.treeHead.signerId) : 0;
  // Each proof hash costs its bytes plus a tag and a length (at most 6 bytes).
  const proofs = [...work.inclusionProof, ...work.consistencyProof].reduce((sum, hash) => sum + hash.length + 6, 0);
  return fields + head + proofs + text(work.queryId) + 1024;
}

const SAFE_QUERY_ID = /^[A-Za-z0-9_-]{1,64}$/;
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/**
 * Answers work from the coordinator (DESIGN.md §4–§5): verifies the coordinator's countersignature
 * and the researcher's signature over the received bytes, checks expiry and replay, applies the
 * steward's policy, runs the analysis under disclosure control, signs the answer (or the refusal)
 * and records one audit entry per received query. Idempotent by query id: a re-delivered query
 * gets the answer already given.
 */
export class NodeAgent {
  private readonly audit: AuditLog;
  private readonly logger: Logger;
  private readonly now: () => number;
  /** Authorised pooled queries waiting for (or in) their secure-aggregation rounds; memory only. */
  private readonly preparations = new Map<string, PooledPreparation>();
  /** This node's side of the secure-aggregation rounds. */
  readonly secagg: SecAggParticipant;
  /** Authorised linkage studies waiting for (or in) their private intersection-sum runs; memory only. */
  private readonly linkage = new Map<
    string,
    { preparation: LinkagePreparation; queryHash: Uint8Array; expiresAtMs: number; maxPeerSetSize: number; runs: Set<number> }
  >();
  /** This node's side of the private intersection-sum runs. */
  readonly psi: PsiParticipant;
  /** Secret of the keyed hashes of cohort members kept for the differencing check. */
  private readonly cohortKey: Uint8Array;
  /** The refusal code of the answer last signed by finish ('' for an answer). */
  private refusalCode = '';
  /** The roster in force. */
  private rosterInForce: Roster;
  /** The work item being answered: the next one starts when it settles. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: NodeAgentOptions) {
    this.audit = options.store.audit;
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.rosterInForce = options.roster;
    this.secagg = new SecAggParticipant({
      identity: options.identity,
      roster: () => this.rosterInForce,
      preparation: (queryId) => this.preparation(queryId),
      authorise: (prepared) => authorise(prepared.spec, this.loadPolicy(prepared.spec.queryId), options.store, this.nodeId, this.now()),
      forget: (queryId) => this.preparations.delete(queryId),
      audit: (queryId, decision, digest, reason) => {
        this.audit.append({ kind: 'secagg', queryId, decision, reason, digest });
      },
      ...(options.metrics ? { metrics: options.metrics } : {}),
      ...(options.failpoint ? { failpoint: options.failpoint } : {}),
      logger: this.logger,
    });
    this.cohortKey = deriveIdentityKey(options.identity, 'cohort-key');
    this.psi = new PsiParticipant({
      identity: options.identity,
      roster: () => this.rosterInForce,
      ...(options.psiBackend ? { pool: new RistrettoPool(undefined, options.psiBackend) } : {}),
      preparation: (queryId) => {
        const now = this.now();
        for (const [id, p] of this.linkage) if (p.expiresAtMs <= now) this.linkage.delete(id);
        return this.linkage.get(queryId);
      },
      audit: (queryId, decision, digest) => {
        this.audit.append({ kind: 'psi', queryId, decision, reason: '', digest });
      },
      logger: this.logger,
    });
  }

  /** Drops a finished study's prepared data (its keys and value vectors). */
  forgetLinkage(queryId: string): void {
    this.linkage.delete(queryId);
  }

  /** The prepared contribution of an authorised pooled query, unless it expired (then it is dropped). */
  private preparation(queryId: string): PooledPreparation | undefined {
    const now = this.now();
    for (const [id, p] of this.preparations) if (p.expiresAtMs <= now) this.preparations.delete(id);
    return this.preparations.get(queryId);
  }

  get nodeId(): string {
    return this.options.identity.id;
  }

  /** What every message of the node waits for: the commits before it on the disk (the store's `outputs`). */
  get outputs(): OutputGate {
    return this.options.store.outputs;
  }

  /** The roster in force: the one the node started with, or the last newer one it verified. */
  get roster(): Roster {
    return this.rosterInForce;
  }

  /** Puts a newer roster in force (the caller verified it against the pinned governance); it applies from the next message. */
  replaceRoster(roster: Roster): void {
    if (roster.version <= this.rosterInForce.version)
      throw new FedlabError('ROSTER_INVALID', `roster version ${roster.version} is not newer than the version ${this.rosterInForce.version} in force`);
    this.rosterInForce = roster;
  }

  /** Deletes evaluation data whose retention period has ended (also done before every work item). */
  purgeEvaluations(): number {
    return purgeEvaluations(this.options.store, this.now());
  }

  /**
   * Handles one work item and returns the signed NodeAnswer envelope to send back. Work items are
   * answered one at a time, in the order received: each one's checks (nonce, cache, budget) and its
   * recorded answer see every earlier answer, though the dataset engine is awaited in between.
   */
  handle(work: pb.QueryWork): Promise<pb.SignedEnvelope> {
    const answered = this.queue.then(() => this.handleNow(work));
    this.queue = answered.catch(() => undefined);
    return answered;
  }

  private async handleNow(work: pb.QueryWork): Promise<pb.SignedEnvelope> {
    const startedMs = performance.now();
    const seen = { analysis: 'unknown', redelivered: false };
    this.refusalCode = '';
    const envelope = await this.answerWork(work, seen);
    if (this.options.metrics) {
      // The code the answer was signed with (finish records it): the envelope is not decoded again for a label.
      const code = this.refusalCode;
      this.options.metrics.queryHandled(
        seen.analysis,
        seen.redelivered ? 'redelivered' : code ? 'refused' : 'answered',
        code,
        (performance.now() - startedMs) / 1000,
      );
    }
    return envelope;
  }

  /** The work of {@link handle}; records in `seen` what the metrics need once the query verified. */
  private async answerWork(work: pb.QueryWork, seen: { analysis: string; redelivered: boolean }): Promise<pb.SignedEnvelope> {
    this.purgeEvaluations();
    const { store } = this.options;
    const queryId = SAFE_QUERY_ID.test(work.queryId) ? work.queryId : 'invalid';
    let queryHashBytes: Uint8Array = new Uint8Array(32);
    let spec: QuerySpec | undefined;
    let nonce: { hex: string; expiresAtMs: number } | undefined;
    let budget: ProjectBudget | undefined;
    /** ρ a refusal still spends (an evaluation refused after it used the justice data). */
    let spentOnRefusal = 0;
    try {
      const outer = openEnvelope('countersign', work.countersigned, this.rosterInForce, 'coordinator', 'SIGNATURE_INVALID');
      const countersigned = decodeOrThrow(() => pb.CountersignedQuery.decode(outer.payload));
      // The log proof comes first: every honest work item advances the node's verified tree head in
      // step with the coordinator, whatever later checks decide about the query itself.
      this.rememberTreeHead(verifyQueryInLog(work, countersigned, this.rosterInForce, this.lastTreeHead()));
      const inner = openQueryEnvelope(countersigned.query, this.rosterInForce);
      queryHashBytes = blake2b(inner.payload, 32);
      spec = inner.spec;
      seen.analysis = spec.analysis.kind;
      if (spec.queryId !== work.queryId) throw new FedlabError('INVALID_QUERY', 'query: id does not match the work item');
      const maxWorkBytes = this.options.maxWorkBytes ?? DEFAULT_MAX_WORK_BYTES;
      if (workSizeBound(work) > maxWorkBytes) {
        // Only an item that may be too large is encoded again to know its exact size.
        const workBytes = pb.QueryWork.encode(work).finish().length;
        if (workBytes > maxWorkBytes)
          throw new FedlabError('MESSAGE_TOO_LARGE', `work item: ${workBytes} bytes, more than the ${maxWorkBytes} this node accepts (max_message_bytes)`);
      }
      if (!spec.targetNodes.includes(this.nodeId)) throw new FedlabError('INVALID_QUERY', 'query: this node is not a target of the query');
      const cached = this.cachedAnswer(spec.queryId, queryHashBytes);
      if (cached) {
        seen.redelivered = true;
        this.audit.append({ kind: 'query', queryId, decision: 'redelivered', reason: '', digest: blake2b(cached.payload, 32) });
        this.logger.info({ queryId, nodeId: this.nodeId }, 're-delivered query answered from the answer cache');
        return cached;
      }
      const now = this.now();
      if (spec.expiresAtMs <= now) throw new FedlabError('QUERY_EXPIRED', `query ${spec.queryId} expired`);
      if (spec.issuedAtMs > now + (this.options.clockSkewMs ?? 300_000)) throw new FedlabError('INVALID_QUERY', 'query: issued in the future');
      if (store.nonces.seen(hex(spec.nonce), now)) throw new FedlabError('REPLAYED_NONCE', 'query: nonce was already used');
      // The nonce is stored with the audit entry and the answer, in one transaction (see finish).
      nonce = { hex: hex(spec.nonce), expiresAtMs: spec.expiresAtMs };
      this.logger.debug(
        { queryId, nodeId: this.nodeId, analysis: spec.analysis.kind, dataset: spec.analysis.dataset },
        'query verified: signatures, log proof, expiry and nonce',
      );
      const policy = this.loadPolicy(queryId);
      if (spec.analysis.kind === 'evaluation') {
        const { identity } = this.options;
        const roster = this.rosterInForce;
        const evaluationSpec = { ...spec, analysis: spec.analysis };
        // The organisation's budget is checked before its list is opened, and debited with the answer,
        // whether the evaluation is released or refused once the justice data was used.
        const evaluationPolicy = authoriseEvaluation(evaluationSpec, policy);
        const checked = checkEvaluationBudget(store, evaluationPolicy, spec.researcherId);
        budget = checked.budget;
        const list = {
          store,
          identity,
          roster,
          policy: policy!,
          evaluation: evaluationPolicy,
          spec: evaluationSpec,
          attachment: work.attachment,
          cohortKey: this.cohortKey,
          nowMs: now,
        };
        // The rules on the organisation's own list come first and spend nothing: no justice data is read.
        const clients = openEvaluationList(list);
        spentOnRefusal = checked.rho;
        const noise = evaluationNoise(checked.rho, { followUpDays: evaluationPolicy.followUpDays });
        const result = await runEvaluation({ ...list, clients, noise });
        const report = this.sealFor(spec, 'evaluation', pb.EvaluationReport.encode({ json: JSON.stringify(result) }).finish());
        return this.finish(queryId, queryHashBytes, report, 'answered', '', true, nonce, { budget, rho: checked.rho, analysis: 'evaluation' });
      }
      const authorised = authorise(spec, policy, store, this.nodeId, now);
      this.logger.debug({ queryId, nodeId: this.nodeId, analysis: spec.analysis.kind }, 'query authorised by the policy and the project approval');
      if (spec.analysis.kind === 'linkage') {
        // A study spends ρ at every node whose data it uses, checked before any protocol message.
        budget = projectBudget(store, policy!.privacy, authorised.approval, localDataset(spec.analysis, this.nodeId));
        const rho = checkQueryRho(spec.rho, budget);
        const preparation = await prepareLinkage(spec.analysis, {
          store,
          schema: authorised.schema,
          nodeId: this.nodeId,
          projectId: spec.projectId,
          queryId: spec.queryId,
          policy: policy!,
          cohortKey: this.cohortKey,
          nowMs: now,
          rho,
        });
        this.logger.debug({ queryId, nodeId: this.nodeId, role: preparation.role }, 'linkage side prepared');
        const ready: pb.LinkageReady = {
          role: preparation.role,
          sdc: policy!.sdc,
          keyFingerprints: preparation.fingerprints,
          layout: preparation.role === 'outcome' ? JSON.stringify(preparation.layout) : '',
          maxPeerSetSize: BigInt(policy!.linkage.maxSetSize),
        };
        const answer = this.finish(queryId, queryHashBytes, { $case: 'linkageReady', value: ready }, 'answered', '', true, nonce, {
          budget,
          rho,
          analysis: 'linkage',
        });
        this.linkage.set(spec.queryId, {
          preparation,
          queryHash: queryHashBytes,
          expiresAtMs: spec.expiresAtMs,
          maxPeerSetSize: policy!.linkage.maxSetSize,
          runs: new Set(),
        });
        return answer;
      }
      // The budget is checked before anything runs, and debited with the answer (see finish).
      budget = projectBudget(store, policy!.privacy, authorised.approval, spec.analysis.dataset);
      const rho = checkQueryRho(spec.rho, budget);
      if (spec.pooled) {
        // A pooled contribution spends its ρ when the node agrees to it: its noisy share may be summed
        // from then on, whether or not the coordinator completes the rounds.
        const contribution = await preparePooled(spec, authorised.schema, store, { rho, policy: policy! });
        const ready = { layout: describePreparation(contribution), sdc: policy!.sdc, noise: describePreparationNoise(contribution) };
        const spend = { budget, rho, analysis: spec.analysis.kind };
        // Kept for the rounds only once the debit is written (finish throws, storing nothing, if it is not).
        const answer = this.finish(queryId, queryHashBytes, { $case: 'pooledReady', value: ready }, 'answered', '', true, nonce, spend);
        this.preparations.set(spec.queryId, { spec, queryHash: queryHashBytes, expiresAtMs: spec.expiresAtMs, contribution });
        return answer;
      }
      if (!isAggregateAnalysis(spec.analysis))
        throw new FedlabError('INVALID_QUERY', 'a glm is fitted over the pooled rows of its nodes; submit it with pooled: true');
      const table = await executePrivateAnalysis(spec.analysis, authorised.schema, policy!, store, rho);
      this.options.metrics?.cellsSuppressed(
        spec.analysis.kind,
        table.cells.flatMap((c) => (c.suppressed ? [c.suppressed.rule] : [])),
      );
      const spend = { budget, rho, analysis: spec.analysis.kind };
      if (table.report.releasedCells === 0) {
        // The noise was drawn and its outcome (nothing releasable) is told: that spends the budget too.
        const refusal = { code: 'ALL_CELLS_SUPPRESSED', message: 'disclosure control released no cells; widen the groups or the filter' };
        return this.finish(queryId, queryHashBytes, { $case: 'refusal', value: refusal }, 'refused', refusal.code, true, nonce, spend);
      }
      return this.finish(
        queryId,
        queryHashBytes,
        this.sealFor(spec, 'table', pb.ResultTable.encode(resultTableToProto(table)).finish()),
        'answered',
        '',
        true,
        nonce,
        spend,
      );
    } catch (error) {
      const fe = FedlabError.from(error);
      if (fe.code === 'INTERNAL') this.logger.error({ queryId, nodeId: this.nodeId, err: error }, 'query failed');
      const refusal: pb.NodeAnswer['outcome'] = { $case: 'refusal', value: { code: fe.code, message: fe.message } };
      return this.finish(
        queryId,
        queryHashBytes,
        refusal,
        'refused',
        fe.code,
        // An item over this node's limit is not cached: raising max_message_bytes lets its re-delivery through.
        spec !== undefined && fe.code !== 'MESSAGE_TOO_LARGE',
        nonce,
        budget && { budget, rho: spentOnRefusal, analysis: spec!.analysis.kind },
      );
    }
  }

  /** Reads the steward's policy; an invalid file refuses the query without telling the researcher its details. */
  private loadPolicy(queryId: string): NodePolicy | null {
    try {
      return this.options.policy();
    } catch (error) {
      const fe = FedlabError.from(error);
      this.logger.error({ queryId, nodeId: this.nodeId, code: fe.code, detail: fe.message }, 'the policy file is invalid; refusing queries');
      throw new FedlabError('NO_POLICY', "this node's policy is invalid and it answers nothing until its steward fixes it");
    }
  }

  /** A signed checkpoint of the audit chain's head, for the coordinator to put in the public log. */
  checkpoint(): pb.SignedEnvelope {
    const head = this.audit.head();
    const payload = pb.AuditCheckpoint.encode({
      nodeId: this.nodeId,
      seq: BigInt(head.seq),
      headHash: Buffer.from(head.hash),
      timeMs: BigInt(this.now()),
    }).finish();
    return sealEnvelope('checkpoint', payload, this.options.identity);
  }

  /** Size of the last transparency-log tree head this node verified (0 if none). */
  knownTreeSize(): number {
    return this.lastTreeHead()?.size ?? 0;
  }

  /** Root of the last tree head this node verified (empty when none): sent on attach with its size. */
  knownTreeRoot(): Uint8Array {
    return this.lastTreeHead()?.rootHash ?? new Uint8Array(0);
  }

  private lastTreeHead(): VerifiedTreeHead | undefined {
    return this.options.store.treeHead.get();
  }

  private rememberTreeHead(head: VerifiedTreeHead): void {
    this.options.store.treeHead.set(head, this.now());
  }

  /**
   * Signs the answer and records it in one transaction with the nonce, the audit entry and, when the
   * query spent privacy budget, its debit (DESIGN.md §5): a crash leaves all of them or none, and a
   * re-delivered query is answered from the cache without spending again. A debit the budget no
   * longer allows (another query spent it meanwhile) throws BUDGET_EXHAUSTED and writes nothing.
   */
  /**
   * A table or evaluation report sealed to the query's researcher (or organisation), so the coordinator
   * stores and relays ciphertext it cannot read (docs/protocol.md "Sealed answers").
   */
  private sealFor(spec: QuerySpec, kind: 'table' | 'evaluation', payload: Uint8Array): pb.NodeAnswer['outcome'] {
    const reader = this.rosterInForce.get(spec.researcherId, kind === 'evaluation' ? 'organisation' : 'researcher');
    if (!reader) throw new FedlabError('UNKNOWN_RESEARCHER', `query: "${spec.researcherId}" is not on the roster to receive the answer`);
    const ciphertext = sealForPeer(this.options.identity, reader, answerSealHeader(spec.queryId, this.nodeId, spec.researcherId), payload);
    return { $case: 'sealed', value: { kind, ciphertext: Buffer.from(ciphertext) } };
  }

  private finish(
    queryId: string,
    queryHash: Uint8Array,
    outcome: pb.NodeAnswer['outcome'],
    decision: string,
    reason: string,
    cache: boolean,
    nonce?: { hex: string; expiresAtMs: number },
    spend?: { budget: ProjectBudget; rho: number; analysis: string },
  ): pb.SignedEnvelope {
    const { store } = this.options;
    this.refusalCode = decision === 'refused' ? reason : '';
    const envelope = store.transaction(() => {
      const now = this.now();
      const budget: pb.BudgetSpend | undefined = spend && {
        projectId: spend.budget.projectId,
        dataset: spend.budget.dataset,
        rhoSpent: spend.rho,
        budget: spend.rho > 0 ? debitBudget(store, spend.budget, queryId, spend.analysis, spend.rho, now) : budgetState(spentBudget(store, spend.budget)),
      };
      const payload = pb.NodeAnswer.encode({
        queryId,
        queryHash: Buffer.from(queryHash),
        nodeId: this.nodeId,
        producedAtMs: BigInt(now),
        outcome,
        budget,
      }).finish();
      const signed = sealEnvelope('result', payload, this.options.identity);
      if (nonce) store.nonces.remember(nonce.hex, nonce.expiresAtMs, now);
      this.audit.append({ kind: 'query', queryId, decision, reason, digest: blake2b(payload, 32) });
      if (cache) store.answers.save(queryId, { queryHash, envelope: pb.SignedEnvelope.encode(signed).finish() }, now);
      return signed;
    });
    this.logger.info({ queryId, nodeId: this.nodeId, decision, code: reason }, 'query handled');
    return envelope;
  }

  private cachedAnswer(queryId: string, queryHash: Uint8Array): pb.SignedEnvelope | undefined {
    const stored = this.options.store.answers.find(queryId);
    if (!stored) return undefined;
    if (!Buffer.from(stored.queryHash).equals(Buffer.from(queryHash)))
      throw new FedlabError('REPLAYED_NONCE', 'query: id was already used for a different query');
    return pb.SignedEnvelope.decode(stored.envelope);
  }
}

function decodeOrThrow<T>(decode: () => T): T {
  try {
    return decode();
  } catch {
    throw new FedlabError('INVALID_ARGUMENT', 'work item: countersigned payload is malformed');
  }
}
