import { randomBytes, randomUUID } from 'node:crypto';
import type { ChannelCredentials, ClientReadableStream } from '@grpc/grpc-js';
import {
  FedlabError,
  MAX_EVALUATION_ATTACHMENT_BYTES,
  isAggregateAnalysis,
  type ColumnRole,
  type ColumnType,
  type ComparisonSpec,
  type QuerySpec,
  type ResultTable,
} from '@fedlab/model';
import type { ReleasedStudy } from '@fedlab/study';
import { blake2b, initCrypto, openFromPeer, sealForPeer } from '@fedlab/crypto';
import { type Identity, type Roster } from '@fedlab/governance';
import { EVALUATION_RESULT_SCHEMA, type EvaluationResult } from '@fedlab/evaluation';
import * as pb from '@fedlab/proto';
import { rhoForStandardError, valueGrid, type QueryDocument, type ValueGrid } from '@fedlab/query';
import {
  answerSealHeader,
  createPlaintextChannelCredentials,
  encodeQuerySpec,
  evaluationAttachmentHeader,
  fromServiceError,
  openEnvelope,
  openQueryEnvelope,
  resultTableFromProto,
  sealEnvelope,
} from '@fedlab/wire';
import { unaryCall, type UnaryMethod } from './unary-call';
import { networkStatusView, type NetworkStatusView } from './network-status';

export type NodeStateName = 'pending' | 'running' | 'done' | 'refused' | 'failed' | 'unreachable';
export type QueryStateName = 'running' | 'finished' | 'failed';

export interface NodeStatusView {
  nodeId: string;
  state: NodeStateName;
  code: string;
  message: string;
}

export interface QueryStatusView {
  queryId: string;
  state: QueryStateName;
  nodes: NodeStatusView[];
  submittedAtMs: number;
}

/** One node's answer: a disclosure-controlled table or a refusal, with its provenance checked. */
export interface NodeResultView {
  nodeId: string;
  table?: ResultTable;
  refusal?: { code: string; message: string };
  /** Pooled queries: the node prepared its contribution and took part in secure aggregation. */
  pooledReady?: boolean;
  /** Evaluations: the released report (schema "fedlab.evaluation.v1", see docs/evaluation.md). */
  evaluation?: EvaluationResult;
  /** True when the node's signature and the binding to this query's bytes were verified against the roster. */
  verified: boolean;
  /** The privacy budget the answer spent at the node and what the project has left there for the dataset. */
  budget?: { projectId: string; dataset: string; rhoSpent: number; total: number; spent: number; remaining: number };
}

/** A linkage study as the coordinator released it: the study's definition and its disclosure-controlled figures. */
/** The noise a study's figures carry (docs/privacy.md "Linkage studies"): SDs of the counts and sums behind them. */
export interface StudyPrivacyView {
  rho: number | null;
  note: string;
  groupPersonsSd: number;
  outcomes: Array<{ name: string; matchedSd: number; denominatorSd: number; measureSds: Record<string, number> }>;
}

export type StudyView = ReleasedStudy & { schema: string; cohortNode: string; keys: string[]; comparison: ComparisonSpec | null; privacy?: StudyPrivacyView };

function parseEvaluation(json: string): EvaluationResult {
  let parsed: EvaluationResult;
  try {
    parsed = JSON.parse(json) as EvaluationResult;
  } catch {
    throw new FedlabError('SIGNATURE_INVALID', 'result: the evaluation report is malformed');
  }
  if (parsed.schema !== EVALUATION_RESULT_SCHEMA) throw new FedlabError('INVALID_ARGUMENT', `result: unknown evaluation schema "${String(parsed.schema)}"`);
  return parsed;
}

/** What an organisation submits for an impact evaluation (DESIGN.md §7.5). */
export interface EvaluationSubmission {
  /** The node that holds the justice data. */
  node: string;
  /** The organisation's name for its program, shown in the report. */
  programme: string;
  /** The validated client list, encoded (libs/domain/evaluation `encodeClientList`). */
  clientList: Uint8Array;
}

function parseStudy(study: pb.StudyResult): StudyView {
  if (study.schema !== 'fedlab.study.v1') throw new FedlabError('INVALID_ARGUMENT', `result: unknown study schema "${study.schema}"`);
  try {
    return JSON.parse(study.json) as StudyView;
  } catch {
    throw new FedlabError('SIGNATURE_INVALID', 'result: the study result is malformed');
  }
}

/** The coordinator's pooled result: disclosure-controlled sums over the contributing nodes, or why nothing was released. */
export interface PooledResultView {
  contributingNodes: string[];
  rounds: number;
  table?: ResultTable;
  model?: pb.GlmResult;
  refusal?: { code: string; message: string };
  /** A linkage study's released figures (schema "fedlab.study.v1", see docs/linkage.md). */
  study?: StudyView;
  /** True when the coordinator's signature and the binding to this query's bytes were verified against the roster. */
  verified: boolean;
}

export interface QueryResultView {
  status: QueryStatusView;
  answers: NodeResultView[];
  pooled?: PooledResultView;
}

export interface FedlabClientOptions {
  /** host:port of the coordinator. */
  address: string;
  /** The researcher's identity; needed to submit. */
  identity?: Identity;
  /** The roster; when given, every node answer's signature is verified end to end. */
  roster?: Roster;
  /** TLS credentials (wire's `createChannelCredentials`); without them, plaintext to a loopback address only. */
  credentials?: ChannelCredentials;
  maxMessageBytes?: number;
  /** Deadline for unary calls (default 30 s). */
  callTimeoutMs?: number;
  /** The clock read requests are dated by (default `Date.now`; tests move it). */
  now?: () => number;
}

const NODE_STATES: Record<number, NodeStateName> = {
  [pb.NodeState.NODE_STATE_PENDING]: 'pending',
  [pb.NodeState.NODE_STATE_RUNNING]: 'running',
  [pb.NodeState.NODE_STATE_DONE]: 'done',
  [pb.NodeState.NODE_STATE_REFUSED]: 'refused',
  [pb.NodeState.NODE_STATE_FAILED]: 'failed',
  [pb.NodeState.NODE_STATE_UNREACHABLE]: 'unreachable',
};

function statusView(s: pb.QueryStatus | undefined): QueryStatusView {
  if (!s) throw new FedlabError('INTERNAL', 'coordinator returned no status');
  return {
    queryId: s.queryId,
    state: s.state === pb.QueryState.QUERY_STATE_RUNNING ? 'running' : s.state === pb.QueryState.QUERY_STATE_FINISHED ? 'finished' : 'failed',
    nodes: s.nodes.map((n) => ({ nodeId: n.nodeId, state: NODE_STATES[n.state] ?? 'pending', code: n.code, message: n.message })),
    submittedAtMs: Number(s.submittedAtMs),
  };
}

/** How long a client reuses its signed read request of a query, and for how many queries it keeps them. */
const READ_AUTH_REUSE_MS = 60_000;
const READ_AUTHS_KEPT = 1024;

/**
 * The researcher's TypeScript client (the CLI uses it): signs and submits queries, follows their
 * progress, and fetches results whose node signatures it verifies against the roster.
 */
export class FedlabClient {
  private readonly research: pb.ResearchServiceClient;
  private readonly admin: pb.AdminServiceClient;
  /** The read requests signed lately, by query (see readAuth). */
  private readonly readAuths = new Map<string, { auth: pb.SignedEnvelope; issuedAtMs: number }>();

  constructor(private readonly options: FedlabClientOptions) {
    const channelOptions = { 'grpc.max_receive_message_length': options.maxMessageBytes ?? 64 * 1024 * 1024 };
    const creds = options.credentials ?? createPlaintextChannelCredentials(options.address);
    this.research = new pb.ResearchServiceClient(options.address, creds, channelOptions);
    this.admin = new pb.AdminServiceClient(options.address, creds, channelOptions);
  }

  /** Builds, signs and submits a query from a parsed query document. */
  async submit(
    doc: QueryDocument,
    overrides: Partial<Pick<QuerySpec, 'queryId' | 'issuedAtMs' | 'expiresAtMs' | 'nonce'>> = {},
  ): Promise<{ queryId: string; logIndex: number }> {
    const identity = this.requireIdentity();
    const issuedAtMs = overrides.issuedAtMs ?? Date.now();
    const spec: QuerySpec = {
      queryId: overrides.queryId ?? `q-${randomUUID()}`,
      projectId: doc.projectId,
      purpose: doc.purpose,
      researcherId: identity.id,
      targetNodes: doc.nodes,
      analysis: doc.analysis,
      pooled: doc.pooled,
      issuedAtMs,
      expiresAtMs: overrides.expiresAtMs ?? issuedAtMs + doc.expiresInMinutes * 60_000,
      nonce: overrides.nonce ?? new Uint8Array(randomBytes(24)),
    };
    const rho = await this.resolveRho(doc);
    return this.submitEnvelope(await this.sign(rho === undefined ? spec : { ...spec, rho }));
  }

  /**
   * The ρ a query document spends: as stated, or derived from the standard error the researcher
   * asks for with the dataset's public contribution bounds from the catalog (the first target node's).
   */
  async resolveRho(doc: QueryDocument): Promise<number | undefined> {
    if (!doc.privacy) return undefined;
    if ('rho' in doc.privacy) return doc.privacy.rho;
    const analysis = doc.analysis;
    if (!isAggregateAnalysis(analysis))
      throw new FedlabError('INVALID_QUERY', 'privacy.standard_error: only aggregate queries derive rho from a standard error; state rho');
    const node = doc.nodes[0]!;
    const dataset = (await this.catalog()).find((c) => c.nodeId === node)?.datasets.find((d) => d.dataset === analysis.dataset);
    if (!dataset) throw new FedlabError('UNKNOWN_DATASET', `dataset "${analysis.dataset}" is not in the catalog of node "${node}"`);
    let grid: ValueGrid | null = null;
    if ('column' in analysis && analysis.kind !== 'histogram') {
      const column = dataset.columns.find((c) => c.name === analysis.column);
      if (!column) throw new FedlabError('UNKNOWN_COLUMN', `unknown column "${analysis.column}" in dataset "${analysis.dataset}"`);
      const bounds = column.bounds.length === 2 ? { bounds: [column.bounds[0]!, column.bounds[1]!] as [number, number] } : {};
      grid = valueGrid(
        { name: column.name, type: column.type as ColumnType, role: column.role as ColumnRole, nullable: column.nullable, ...bounds },
        analysis.dataset,
      );
    }
    return rhoForStandardError(analysis.kind, dataset.maxRecordsPerPerson || 1, grid, doc.privacy.standardError);
  }

  /** Signs a query spec with the researcher's key (context "fedlab/v1/query"). */
  async sign(spec: QuerySpec): Promise<pb.SignedEnvelope> {
    await initCrypto();
    return sealEnvelope('query', encodeQuerySpec(spec), this.requireIdentity());
  }

  /**
   * Submits an impact evaluation: seals the client list to the node's key (signed by the organisation,
   * so only that node can open it and the coordinator only relays it), signs the query naming the
   * sealed list's digest, and submits both. Needs the roster (the node's public keys).
   */
  async submitEvaluation(
    submission: EvaluationSubmission,
    overrides: Partial<Pick<QuerySpec, 'queryId' | 'issuedAtMs' | 'expiresAtMs' | 'nonce'>> & { sealTo?: string } = {},
  ): Promise<{ queryId: string; logIndex: number }> {
    await initCrypto();
    const identity = this.requireIdentity();
    const roster = this.options.roster;
    if (!roster) throw new FedlabError('INVALID_ARGUMENT', 'the roster is needed to seal the client list to the node: pass --roster FILE or set FEDLAB_ROSTER');
    // `sealTo` exists for tests of a list sealed to the wrong node; it is not a CLI option.
    const recipient = roster.get(overrides.sealTo ?? submission.node, 'node');
    if (!recipient) throw new FedlabError('INVALID_ARGUMENT', `node "${overrides.sealTo ?? submission.node}" is not a node on the roster`);
    const queryId = overrides.queryId ?? `e-${randomUUID()}`;
    const sealed = sealForPeer(identity, recipient, evaluationAttachmentHeader(queryId, identity.id, submission.node), submission.clientList);
    if (sealed.length > MAX_EVALUATION_ATTACHMENT_BYTES) {
      throw new FedlabError(
        'MESSAGE_TOO_LARGE',
        `the sealed client list is ${(sealed.length / 1_048_576).toFixed(1)} MiB; at most ${MAX_EVALUATION_ATTACHMENT_BYTES / 1_048_576} MiB (about 30,000 people) fit in one evaluation`,
      );
    }
    const issuedAtMs = overrides.issuedAtMs ?? Date.now();
    const spec: QuerySpec = {
      queryId,
      projectId: '',
      purpose: 'program_evaluation',
      researcherId: identity.id,
      targetNodes: [submission.node],
      analysis: { kind: 'evaluation', dataset: '', groupBy: [], programme: submission.programme, attachmentDigest: blake2b(sealed, 32) },
      pooled: false,
      issuedAtMs,
      expiresAtMs: overrides.expiresAtMs ?? issuedAtMs + 24 * 3600_000,
      nonce: overrides.nonce ?? new Uint8Array(randomBytes(24)),
    };
    return this.submitEnvelope(await this.sign(spec), sealed);
  }

  /** Submits an already signed query envelope. */
  async submitEnvelope(envelope: pb.SignedEnvelope, attachment: Uint8Array = new Uint8Array(0)): Promise<{ queryId: string; logIndex: number }> {
    const response = await this.unary<pb.SubmitQueryRequest, pb.SubmitQueryResponse>((r, m, o, cb) => this.research.submitQuery(r, m, o, cb), {
      query: envelope,
      attachment: Buffer.from(attachment),
    });
    return { queryId: response.queryId, logIndex: Number(response.logIndex) };
  }

  async status(queryId: string): Promise<QueryStatusView> {
    const r = await this.withReadAuth(queryId, (auth) =>
      this.unary<pb.GetQueryStatusRequest, pb.GetQueryStatusResponse>((q, m, o, cb) => this.research.getQueryStatus(q, m, o, cb), { queryId, auth }),
    );
    return statusView(r.status);
  }

  /** Fetches a query's answers so far and verifies each node's signature and binding to the query. */
  async result(queryId: string): Promise<QueryResultView> {
    await initCrypto();
    const r = await this.withReadAuth(queryId, (auth) =>
      this.unary<pb.GetQueryResultRequest, pb.GetQueryResultResponse>((q, m, o, cb) => this.research.getQueryResult(q, m, o, cb), { queryId, auth }),
    );
    const expectedHash = r.query ? blake2b(r.query.payload, 32) : new Uint8Array();
    const answers = r.answers.map((envelope) => this.readAnswer(envelope, queryId, expectedHash));
    if (this.options.roster) {
      // The query bytes come from the coordinator too: they must carry a researcher's signature and
      // name this query, and each answer must come from a distinct target node.
      const { spec } = openQueryEnvelope(r.query, this.options.roster);
      const seen = new Set<string>();
      for (const a of answers) {
        if (spec.queryId !== queryId || !spec.targetNodes.includes(a.nodeId) || seen.has(a.nodeId)) {
          throw new FedlabError('SIGNATURE_INVALID', `result: the answer of ${a.nodeId} does not belong to query ${queryId}`);
        }
        seen.add(a.nodeId);
      }
    }
    return { status: statusView(r.status), answers, ...(r.pooled ? { pooled: this.readPooled(r.pooled, queryId, expectedHash) } : {}) };
  }

  /** Streams status changes to `onStatus` until the query is finished; resolves with the final status. */
  async watch(queryId: string, onStatus: (status: QueryStatusView) => void = () => {}): Promise<QueryStatusView> {
    return this.withReadAuth(queryId, (auth) => this.watchWith(queryId, auth, onStatus));
  }

  private watchWith(queryId: string, auth: pb.SignedEnvelope, onStatus: (status: QueryStatusView) => void): Promise<QueryStatusView> {
    return new Promise((resolve, reject) => {
      const stream: ClientReadableStream<pb.WatchQueryResponse> = this.research.watchQuery({ queryId, auth });
      let last: QueryStatusView | undefined;
      stream.on('data', (m: pb.WatchQueryResponse) => {
        last = statusView(m.status);
        onStatus(last);
      });
      stream.on('error', (e) => reject(fromServiceError(e)));
      stream.on('end', () => {
        if (!last) reject(new FedlabError('INTERNAL', 'watch ended without a status'));
        else if (last.state === 'running')
          reject(new FedlabError('COORDINATOR_RESTARTED', `the coordinator ended the watch of query ${queryId} while it was still running; watch it again`));
        else resolve(last);
      });
    });
  }

  async catalog(): Promise<pb.NodeCatalog[]> {
    const r = await this.unary<pb.GetCatalogRequest, pb.GetCatalogResponse>((q, m, o, cb) => this.research.getCatalog(q, m, o, cb), {});
    return r.nodes;
  }

  async nodes(): Promise<pb.NodeInfo[]> {
    const r = await this.unary<pb.ListNodesRequest, pb.ListNodesResponse>((q, m, o, cb) => this.admin.listNodes(q, m, o, cb), {});
    return r.nodes;
  }

  /** Every roster node as the coordinator sees it: connection, health, recent queries, audit head, datasets. */
  async networkStatus(): Promise<NetworkStatusView> {
    return networkStatusView(await this.unary<pb.ListNodesRequest, pb.ListNodesResponse>((q, m, o, cb) => this.admin.listNodes(q, m, o, cb), {}));
  }

  close(): void {
    this.research.close();
    this.admin.close();
  }

  private readAnswer(envelope: pb.SignedEnvelope, queryId: string, expectedHash: Uint8Array): NodeResultView {
    let payload = envelope.payload;
    let verified = false;
    if (this.options.roster) {
      payload = Buffer.from(openEnvelope('result', envelope, this.options.roster, 'node', 'NODE_NOT_ON_ROSTER').payload);
      verified = true;
    }
    let answer: pb.NodeAnswer;
    try {
      answer = pb.NodeAnswer.decode(payload);
    } catch {
      throw new FedlabError('SIGNATURE_INVALID', 'result: an answer payload is malformed');
    }
    if (verified && (answer.nodeId !== envelope.signerId || answer.queryId !== queryId || !Buffer.from(answer.queryHash).equals(Buffer.from(expectedHash)))) {
      throw new FedlabError('SIGNATURE_INVALID', `result: the answer signed by ${envelope.signerId} is not bound to query ${queryId}`);
    }
    const outcome = answer.outcome?.$case === 'sealed' ? this.openSealed(answer, queryId) : answer.outcome;
    const b = answer.budget;
    return {
      nodeId: answer.nodeId,
      verified,
      ...(b
        ? {
            budget: {
              projectId: b.projectId,
              dataset: b.dataset,
              rhoSpent: b.rhoSpent,
              total: b.budget?.total ?? 0,
              spent: b.budget?.spent ?? 0,
              remaining: b.budget?.remaining ?? 0,
            },
          }
        : {}),
      ...(outcome?.$case === 'table' ? { table: resultTableFromProto(outcome.value) } : {}),
      ...(outcome?.$case === 'refusal' ? { refusal: outcome.value } : {}),
      ...(outcome?.$case === 'pooledReady' ? { pooledReady: true } : {}),
      ...(outcome?.$case === 'evaluation' ? { evaluation: parseEvaluation(outcome.value.json) } : {}),
    };
  }

  /** Opens a table or evaluation report a node sealed to this researcher (docs/protocol.md "Sealed answers"). */
  private openSealed(answer: pb.NodeAnswer, queryId: string): pb.NodeAnswer['outcome'] {
    const sealed = answer.outcome?.$case === 'sealed' ? answer.outcome.value : undefined;
    const identity = this.requireIdentity();
    const node = this.options.roster?.get(answer.nodeId, 'node');
    if (!sealed || !node)
      throw new FedlabError(
        'INVALID_ARGUMENT',
        `result: the answer of ${answer.nodeId} is sealed to you; opening it needs the roster with that node's key (pass --roster or set FEDLAB_ROSTER)`,
      );
    const bytes = openFromPeer(identity, node, answerSealHeader(queryId, answer.nodeId, identity.id), sealed.ciphertext);
    try {
      if (sealed.kind === 'table') return { $case: 'table', value: pb.ResultTable.decode(bytes) };
      if (sealed.kind === 'evaluation') return { $case: 'evaluation', value: pb.EvaluationReport.decode(bytes) };
    } catch {
      throw new FedlabError('SIGNATURE_INVALID', `result: the sealed answer of ${answer.nodeId} is malformed`);
    }
    throw new FedlabError('SIGNATURE_INVALID', `result: the sealed answer of ${answer.nodeId} holds an unknown kind`);
  }

  private readPooled(envelope: pb.SignedEnvelope, queryId: string, expectedHash: Uint8Array): PooledResultView {
    let payload = envelope.payload;
    const verified = this.options.roster !== undefined;
    if (this.options.roster) payload = Buffer.from(openEnvelope('pooled-result', envelope, this.options.roster, 'coordinator', 'SIGNATURE_INVALID').payload);
    let result: pb.PooledResult;
    try {
      result = pb.PooledResult.decode(payload);
    } catch {
      throw new FedlabError('SIGNATURE_INVALID', 'result: the pooled result is malformed');
    }
    if (result.queryId !== queryId || (verified && !Buffer.from(result.queryHash).equals(Buffer.from(expectedHash)))) {
      throw new FedlabError('SIGNATURE_INVALID', `result: the pooled result is not bound to query ${queryId}`);
    }
    const outcome = result.outcome;
    return {
      contributingNodes: result.contributingNodes,
      rounds: result.rounds,
      verified,
      ...(outcome?.$case === 'table' ? { table: resultTableFromProto(outcome.value) } : {}),
      ...(outcome?.$case === 'glm' ? { model: outcome.value } : {}),
      ...(outcome?.$case === 'refusal' ? { refusal: outcome.value } : {}),
      ...(outcome?.$case === 'study' ? { study: parseStudy(outcome.value) } : {}),
    };
  }

  /**
   * Proves to the coordinator that the reader is the query's researcher (context "fedlab/v1/read"): runs
   * `call` with a signed read request for `queryId`, the one signed for it in the last minute if there is
   * one (watching a query and then fetching its result is one signature, and one verification at the
   * coordinator), else a new one. The coordinator accepts a request dated within 5 minutes of its own
   * time; one reused from the last minute can fall just outside that when this machine's clock is some
   * minutes behind the coordinator's, so a reused request refused as QUERY_EXPIRED is signed afresh once.
   */
  private async withReadAuth<T>(queryId: string, call: (auth: pb.SignedEnvelope) => Promise<T>): Promise<T> {
    const { auth, reused } = await this.readAuth(queryId);
    try {
      return await call(auth);
    } catch (error) {
      if (!reused || !(error instanceof FedlabError) || error.code !== 'QUERY_EXPIRED') throw error;
      this.readAuths.delete(queryId);
      return call((await this.readAuth(queryId)).auth);
    }
  }

  /** The read request of `queryId` signed in the last minute, else a new one. */
  private async readAuth(queryId: string): Promise<{ auth: pb.SignedEnvelope; reused: boolean }> {
    await initCrypto();
    const now = (this.options.now ?? Date.now)();
    const kept = this.readAuths.get(queryId);
    if (kept && now - kept.issuedAtMs >= 0 && now - kept.issuedAtMs < READ_AUTH_REUSE_MS) return { auth: kept.auth, reused: true };
    const auth = sealEnvelope('read', pb.ReadAuthorisation.encode({ queryId, issuedAtMs: BigInt(now) }).finish(), this.requireIdentity());
    if (this.readAuths.size >= READ_AUTHS_KEPT) this.readAuths.clear();
    this.readAuths.set(queryId, { auth, issuedAtMs: now });
    return { auth, reused: false };
  }

  private requireIdentity(): Identity {
    if (!this.options.identity) throw new FedlabError('INVALID_ARGUMENT', 'a researcher key is required to sign queries and to read their results');
    return this.options.identity;
  }

  private unary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    return unaryCall(method, request, this.options.callTimeoutMs);
  }
}
