import type { ChannelCredentials } from '@grpc/grpc-js';
import { FedlabError, type QuerySpec } from '@fedlab/model';
import { blake2b, initCrypto, verifyDetached } from '@fedlab/crypto';
import { type Identity, type Roster } from '@fedlab/governance';
import * as pb from '@fedlab/proto';
import { createPlaintextChannelCredentials, openQueryEnvelope, publicQuerySummary, sealEnvelope } from '@fedlab/wire';
import { MemoryMerkleStore, MerkleTree, encodeTreeHead, leafHash, verifyConsistency, verifyInclusion } from '@fedlab/transparency';
import { unaryCall, type UnaryMethod } from './unary-call';

/** A tree head whose signature was checked against the roster. */
export interface TreeHeadView {
  size: number;
  rootHash: string;
  timestampMs: number;
  signerId: string;
}

/** One decoded log entry, with what it says in public terms. */
export interface LogEntryView {
  index: number;
  kind: string;
  loggedAtMs: number;
  signerId: string;
  /** For queries: the public summary the log holds (never a filter value or the query itself). */
  query?: QuerySummaryView;
  /** For node audit checkpoints: the node and the head of its audit chain. */
  checkpoint?: { nodeId: string; seq: number; headHash: string };
  /** Whether the checkpoint's node signature verified against the roster (when one was given); a query's researcher signature is checked by an auditor with {@link LogClient.auditQuery}. */
  signatureValid?: boolean;
}

/** A query's entry in the public log: the hash of the exact signed query and its public fields. */
export interface QuerySummaryView {
  /** BLAKE2b-256 of the researcher-signed query bytes, hex. */
  queryHash: string;
  queryId: string;
  projectId: string;
  purpose: string;
  researcherId: string;
  targetNodes: string[];
  analysis: string;
  pooled: boolean;
  datasets: string[];
  /** Every column the analysis names, as dataset.column. */
  columns: string[];
  issuedAtMs: number;
  expiresAtMs: number;
}

/** What an auditor (or the query's researcher) reads behind a log entry: the full query, checked. */
export interface AuditedQueryView {
  logIndex: number;
  summary: QuerySummaryView;
  /** The researcher-signed query, decoded. */
  spec: QuerySpec;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Reads and verifies the coordinator's public transparency log. Anyone may use it (an auditor, a
 * researcher, a steward): it needs the roster to check the coordinator's signature, and nothing else.
 */
export class LogClient {
  private readonly client: pb.TransparencyServiceClient;

  constructor(private readonly options: { address: string; roster: Roster; credentials?: ChannelCredentials; callTimeoutMs?: number }) {
    this.client = new pb.TransparencyServiceClient(options.address, options.credentials ?? createPlaintextChannelCredentials(options.address), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
  }

  /** The current signed tree head, verified; throws TREE_HEAD_INVALID when the signature is wrong. */
  async treeHead(): Promise<{ view: TreeHeadView; signed: pb.SignedTreeHead }> {
    await initCrypto();
    const r = await this.call<pb.GetTreeHeadRequest, pb.GetTreeHeadResponse>((q, m, o, cb) => this.client.getTreeHead(q, m, o, cb), {});
    const head = r.treeHead;
    if (!head) throw new FedlabError('TREE_HEAD_INVALID', 'tree head: none returned');
    const signer = this.options.roster.get(head.signerId, 'coordinator');
    const encoded = encodeTreeHead({ size: Number(head.size), rootHash: head.rootHash, timestampMs: Number(head.timestampMs) });
    if (!signer || !verifyDetached('sth', encoded, head.signature, signer.signPublicKey))
      throw new FedlabError('TREE_HEAD_INVALID', 'tree head: signature does not verify');
    return { view: { size: Number(head.size), rootHash: hex(head.rootHash), timestampMs: Number(head.timestampMs), signerId: head.signerId }, signed: head };
  }

  /** Proves entry `index` is in the tree of the verified current head; returns the entry. */
  async proveInclusion(index: number): Promise<{ head: TreeHeadView; entry: LogEntryView; proof: string[] }> {
    const { view, signed } = await this.treeHead();
    const r = await this.call<pb.GetInclusionProofRequest, pb.GetInclusionProofResponse>((q, m, o, cb) => this.client.getInclusionProof(q, m, o, cb), {
      index: BigInt(index),
      treeSize: signed.size,
    });
    if (!verifyInclusion(leafHash(r.leaf), index, view.size, r.proof, signed.rootHash)) {
      throw new FedlabError('INCLUSION_PROOF_INVALID', `log entry ${index}: the inclusion proof does not match the signed tree head`);
    }
    return { head: view, entry: describeLeaf(index, r.leaf), proof: r.proof.map(hex) };
  }

  /**
   * Downloads every entry, recomputes the Merkle root and compares it with the signed head; with an
   * earlier head, also checks that the log only grew since (consistency proof).
   */
  async verify(since?: TreeHeadView): Promise<{ head: TreeHeadView; entries: LogEntryView[] }> {
    const { view, signed } = await this.treeHead();
    const tree = new MerkleTree(new MemoryMerkleStore());
    const entries: LogEntryView[] = [];
    for (let start = 0; start < view.size;) {
      const r = await this.call<pb.GetLogEntriesRequest, pb.GetLogEntriesResponse>((q, m, o, cb) => this.client.getLogEntries(q, m, o, cb), {
        start: BigInt(start),
        end: BigInt(view.size),
      });
      if (r.leaves.length === 0) throw new FedlabError('LOG_INCONSISTENT', `the log returned no entries from ${start} although its head has ${view.size}`);
      for (const leaf of r.leaves) {
        entries.push(describeLeaf(start, leaf, this.options.roster));
        tree.append(leaf);
        start += 1;
      }
    }
    if (hex(tree.rootHash(view.size)) !== view.rootHash) {
      throw new FedlabError('LOG_INCONSISTENT', `the ${view.size} entries served do not hash to the signed root`);
    }
    if (since && since.size > 0) {
      if (since.size > view.size) throw new FedlabError('LOG_INCONSISTENT', `the log shrank from ${since.size} to ${view.size} entries`);
      const r = await this.call<pb.GetConsistencyProofRequest, pb.GetConsistencyProofResponse>((q, m, o, cb) => this.client.getConsistencyProof(q, m, o, cb), {
        oldSize: BigInt(since.size),
        newSize: signed.size,
      });
      const oldRoot = Buffer.from(since.rootHash, 'hex');
      const ok = since.size === view.size ? since.rootHash === view.rootHash : verifyConsistency(since.size, view.size, oldRoot, signed.rootHash, r.proof);
      if (!ok) throw new FedlabError('LOG_INCONSISTENT', `the log of size ${view.size} is not consistent with the earlier head of size ${since.size}`);
    }
    return { head: view, entries };
  }

  /**
   * Reads the full query behind a log entry, as an auditor on the roster (or the query's own researcher):
   * checks the researcher's signature, that its hash is the one the log entry commits to, and that the
   * entry is in the signed tree. Needs a signing identity.
   *
   * @throws FedlabError ROLE_NOT_ALLOWED / RESEARCHER_NOT_ALLOWED from the coordinator, SIGNATURE_INVALID
   *   when the researcher's signature does not verify, LOG_INCONSISTENT when the query is not the one the
   *   log entry commits to.
   */
  async auditQuery(queryId: string, identity: Identity): Promise<AuditedQueryView> {
    await initCrypto();
    const auth = sealEnvelope('read', pb.ReadAuthorisation.encode({ queryId, issuedAtMs: BigInt(Date.now()) }).finish(), identity);
    const r = await this.call<pb.GetQueryEnvelopeRequest, pb.GetQueryEnvelopeResponse>((q, m, o, cb) => this.client.getQueryEnvelope(q, m, o, cb), {
      queryId,
      auth,
    });
    const { spec } = openQueryEnvelope(r.query, this.options.roster);
    const logIndex = Number(r.logIndex);
    const { entry } = await this.proveInclusion(logIndex);
    // Every public field, not only the hash: the entry must be exactly the summary of this signed query.
    const expected = summaryView(publicQuerySummary(spec, blake2b(r.query!.payload, 32)));
    if (entry.query?.queryId !== queryId || JSON.stringify(entry.query) !== JSON.stringify(expected)) {
      throw new FedlabError('LOG_INCONSISTENT', `log entry ${logIndex} does not commit to the query the coordinator returned for ${queryId}`);
    }
    return { logIndex, summary: entry.query, spec };
  }

  close(): void {
    this.client.close();
  }

  private call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    return unaryCall(method, request, this.options.callTimeoutMs);
  }
}

function summaryView(s: pb.PublicQuerySummary): QuerySummaryView {
  return {
    queryHash: hex(s.queryHash),
    queryId: s.queryId,
    projectId: s.projectId,
    purpose: s.purpose,
    researcherId: s.researcherId,
    targetNodes: s.targetNodes,
    analysis: s.analysis,
    pooled: s.pooled,
    datasets: s.datasets,
    columns: s.columns,
    issuedAtMs: Number(s.issuedAtMs),
    expiresAtMs: Number(s.expiresAtMs),
  };
}

/** One line describing a query's log entry (CLI and demo). */
export function formatQuerySummary(q: QuerySummaryView): string {
  const on = q.datasets.length > 0 ? q.datasets.join(', ') : 'its sealed list';
  return `${q.queryId} by ${q.researcherId} for ${q.purpose}${q.projectId ? ` (project ${q.projectId})` : ''}: ${q.pooled ? 'pooled ' : ''}${q.analysis} on ${on} at ${q.targetNodes.join(', ')}${q.columns.length > 0 ? `; columns ${q.columns.join(', ')}` : ''}`;
}

/**
 * Decodes a log leaf into its public description; with a roster, also checks the signature of
 * checkpoint entries.
 *
 * @throws FedlabError LOG_INCONSISTENT naming the entry when it cannot be read.
 */
export function describeLeaf(index: number, leaf: Uint8Array, roster?: Roster): LogEntryView {
  let kind = 'unknown kind';
  try {
    const entry = pb.LogEntry.decode(leaf);
    kind = entry.kind || kind;
    return describeEntry(index, entry, roster);
  } catch (error) {
    if (error instanceof FedlabError) throw error;
    throw new FedlabError(
      'LOG_INCONSISTENT',
      `log entry ${index} (${kind}) cannot be read: it is not a valid ${kind === 'query' ? 'query summary' : 'log entry'}`,
      { index },
    );
  }
}

function describeEntry(index: number, entry: pb.LogEntry, roster?: Roster): LogEntryView {
  const view: LogEntryView = { index, kind: entry.kind, loggedAtMs: Number(entry.loggedAtMs), signerId: '' };
  if (entry.kind === 'query') {
    const s = pb.PublicQuerySummary.decode(entry.payload);
    view.signerId = s.researcherId;
    view.query = summaryView(s);
  }
  if (entry.kind === 'checkpoint') {
    const envelope = pb.SignedEnvelope.decode(entry.payload);
    const c = pb.AuditCheckpoint.decode(envelope.payload);
    view.signerId = envelope.signerId;
    if (roster) view.signatureValid = signedBy(roster, 'checkpoint', 'node', envelope) && envelope.signerId === c.nodeId;
    view.checkpoint = { nodeId: c.nodeId, seq: Number(c.seq), headHash: hex(c.headHash) };
  }
  return view;
}

function signedBy(roster: Roster, context: 'checkpoint', role: 'node', envelope: pb.SignedEnvelope): boolean {
  const signer = roster.get(envelope.signerId, role);
  return signer !== undefined && verifyDetached(context, envelope.payload, envelope.signature, signer.signPublicKey);
}

/** One entry of a node's audit chain, as the cross-check needs it. */
export interface AuditedQuery {
  seq: number;
  kind: string;
  queryId: string | null;
  decision: string;
  hash: Uint8Array;
}

/** The result of checking a node's audit chain against the public log. */
export interface AuditCrossCheck {
  ok: boolean;
  queriesInLog: number;
  queriesAudited: number;
  checkpointsChecked: number;
  discrepancies: string[];
}

/**
 * Proves that every query a node answered is in the public log and that every logged query for the
 * node reached its audit chain, and that every checkpoint the node published still matches its chain
 * (so entries were neither rewritten nor deleted after the checkpoint). Names each discrepancy.
 */
export function crossCheckAudit(nodeId: string, entries: LogEntryView[], audit: AuditedQuery[]): AuditCrossCheck {
  const discrepancies: string[] = [];
  // Entries whose signature failed are forgeries by whoever wrote the log: reported, never trusted.
  for (const e of entries) {
    if (e.signatureValid === false && (e.query?.targetNodes.includes(nodeId) || e.checkpoint?.nodeId === nodeId)) {
      discrepancies.push(`log entry ${e.index} (${e.kind}) is not validly signed by its node; it was ignored`);
    }
  }
  const log = entries.filter((e) => e.signatureValid !== false);
  const logged = new Map(log.filter((e) => e.query?.targetNodes.includes(nodeId)).map((e) => [e.query!.queryId, e.index]));
  const audited = new Map<string, AuditedQuery>();
  for (const a of audit) if (a.kind === 'query' && a.queryId && a.queryId !== 'invalid' && !audited.has(a.queryId)) audited.set(a.queryId, a);
  for (const [queryId, a] of audited) {
    if (!logged.has(queryId) && a.decision === 'answered')
      discrepancies.push(`query ${queryId} was answered by the node (audit entry ${a.seq}) but is not in the public log`);
  }
  for (const [queryId, index] of logged) {
    if (!audited.has(queryId))
      discrepancies.push(`query ${queryId} is in the public log (entry ${index}) but not in the node's audit chain (never received, or the entry was removed)`);
  }
  const bySeq = new Map(audit.map((a) => [a.seq, a]));
  const checkpoints = log.filter((e) => e.checkpoint?.nodeId === nodeId);
  for (const e of checkpoints) {
    const c = e.checkpoint!;
    if (c.seq === 0) continue;
    const entry = bySeq.get(c.seq);
    if (!entry) discrepancies.push(`checkpoint in log entry ${e.index} names audit entry ${c.seq}, which the node's chain no longer has`);
    else if (hex(entry.hash) !== c.headHash)
      discrepancies.push(`checkpoint in log entry ${e.index} does not match audit entry ${c.seq}: the chain was rewritten after it was published`);
  }
  return { ok: discrepancies.length === 0, queriesInLog: logged.size, queriesAudited: audited.size, checkpointsChecked: checkpoints.length, discrepancies };
}
