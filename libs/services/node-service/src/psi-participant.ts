import { FedlabError, silentLogger, type Logger } from '@fedlab/model';
import { blake2b, createPsiEngine, openFromPeer, RistrettoPool, sealForPeer } from '@fedlab/crypto';
import { type Identity, type Roster } from '@fedlab/governance';
import { CohortParty, OutcomeParty, type CohortSets, type OutcomeReply, type PsiEngine } from '@fedlab/psi';
import * as pb from '@fedlab/proto';
import { sealEnvelope } from '@fedlab/wire';
import type { LinkagePreparation } from './linkage-preparation';

/** Size of the chunks a sealed payload travels in (well under gRPC's 4 MiB message limit). */
export const PSI_CHUNK_BYTES = 1024 * 1024;

export interface PsiParticipantOptions {
  identity: Identity;
  /** The roster in force (it may be replaced while the node runs). */
  roster: () => Roster;
  /** The preparation of an authorised linkage study, if this node has one, with the hash of its query bytes. */
  preparation: (queryId: string) => { preparation: LinkagePreparation; queryHash: Uint8Array; maxPeerSetSize: number; runs: Set<number> } | undefined;
  /** Records one audit entry per payload this node sent (its digest). */
  audit: (queryId: string, decision: string, digest: Uint8Array) => void;
  pool?: RistrettoPool;
  logger?: Logger;
}

interface Run {
  queryId: string;
  role: 'cohort' | 'outcome';
  peer: string;
  party: CohortParty | OutcomeParty;
  queryHash: Uint8Array;
  /** The step this node waits for next, and its chunks so far. */
  expecting: number;
  chunks: Uint8Array[];
  busy: boolean;
}

/** The header every sealed payload's signature covers (DESIGN.md §4). */
export function psiHeader(queryHash: Uint8Array, runId: string, step: number, from: string, to: string): Uint8Array {
  return Buffer.concat([Buffer.from(`fedlab/v1/psi\0${runId}\0${step}\0${from}\0${to}\0`, 'utf8'), queryHash]);
}

/** The session id that binds every hashed key to one run of one query (H(domain ‖ session ‖ x)). */
export function psiSessionId(queryHash: Uint8Array, runId: string, cohortNode: string, outcomeNode: string): Uint8Array {
  return blake2b(Buffer.concat([Buffer.from(`fedlab/v1/psi-session\0${runId}\0${cohortNode}\0${outcomeNode}\0`, 'utf8'), queryHash]), 32);
}

/**
 * A node's side of the private intersection-sum runs of linkage studies (DESIGN.md §7.4), as driven
 * by the coordinator through the node stream. Payloads to the other node are signed, encrypted to
 * it and chunked; the coordinator relays them and cannot read them. A step the node cannot take is
 * answered with a refusal and the run forgotten.
 */
export class PsiParticipant {
  private readonly runs = new Map<string, Run>();
  private readonly logger: Logger;
  private readonly pool: RistrettoPool;
  private engine: PsiEngine | undefined;

  constructor(private readonly options: PsiParticipantOptions) {
    this.logger = options.logger ?? silentLogger;
    this.pool = options.pool ?? new RistrettoPool();
  }

  /** Forgets every run (the stream to the coordinator was lost). */
  reset(): void {
    this.runs.clear();
  }

  /** Stops the worker threads. */
  close(): Promise<void> {
    return this.pool.close();
  }

  /** Handles one step; resolves to the replies to send (none for an abort or a partial payload). */
  async handle(step: pb.PsiStep): Promise<pb.PsiReply[]> {
    const { queryId, runId } = step;
    const reply = (value: NonNullable<pb.PsiReply['step']>): pb.PsiReply => ({ queryId, runId, step: value });
    const s = step.step;
    try {
      if (!s) throw new FedlabError('INVALID_ARGUMENT', 'psi: empty step');
      if (s.$case === 'abort') {
        this.runs.delete(runId);
        return [];
      }
      if (s.$case === 'begin') return (await this.begin(queryId, runId, s.value)).map((p) => reply({ $case: 'payload', value: p }));
      const run = this.runs.get(runId);
      if (!run || run.queryId !== queryId) throw new FedlabError('PROTOCOL_OUT_OF_ORDER', 'psi: no such run at this node (it never began, or was forgotten)');
      return (await this.payload(runId, run, s.value)).map(reply);
    } catch (error) {
      this.runs.delete(runId);
      const fe = FedlabError.from(error);
      const nodeId = this.options.identity.id;
      if (fe.code === 'INTERNAL') this.logger.error({ queryId, nodeId, err: error }, 'psi step failed');
      else this.logger.warn({ queryId, nodeId, code: fe.code }, `psi step refused: ${fe.message}`);
      return [reply({ $case: 'refused', value: { code: fe.code, message: fe.message } })];
    }
  }

  private get psiEngine(): PsiEngine {
    if (!this.engine) {
      this.engine = createPsiEngine(this.pool);
      // Operators should know which libsodium runs the group operations (the native one is about twice as fast).
      const nodeId = this.options.identity.id;
      this.pool.info().then(
        (info) =>
          this.logger.info(
            {
              nodeId,
              backend: info.name,
              libsodium: info.version,
              workers: this.pool.size,
              ...(info.fallbackReason ? { nativeUnavailable: info.fallbackReason } : {}),
            },
            'psi engine ready',
          ),
        (error: unknown) => this.logger.error({ nodeId, err: error }, 'psi engine failed to start'),
      );
    }
    return this.engine;
  }

  private async begin(queryId: string, runId: string, begin: pb.PsiBegin): Promise<pb.PsiPayload[]> {
    const prepared = this.options.preparation(queryId);
    if (!prepared)
      throw new FedlabError(
        'INVALID_ARGUMENT',
        'psi: this node holds no authorised linkage study for the query (not asked, refused, expired, or restarted since)',
      );
    if (this.runs.has(runId)) throw new FedlabError('PROTOCOL_OUT_OF_ORDER', 'psi: replayed run start');
    const { preparation, queryHash, maxPeerSetSize } = prepared;
    if (begin.role !== preparation.role)
      throw new FedlabError('INVALID_ARGUMENT', `psi: this node is the ${preparation.role} node of the study, not the ${begin.role} node`);
    if (!this.options.roster().get(begin.peer, 'node') || begin.peer === this.options.identity.id)
      throw new FedlabError('INVALID_ARGUMENT', 'psi: the peer is not another node on the roster');
    // One run per outcome source of the study: each run draws fresh noise, and its ρ was debited once.
    if (preparation.role === 'cohort' && preparation.outcomeNodes[begin.outcome] !== begin.peer) {
      throw new FedlabError('INVALID_ARGUMENT', 'psi: the peer is not the outcome node of that outcome source of the study');
    }
    if (preparation.role === 'outcome' && preparation.cohortNode !== begin.peer)
      throw new FedlabError('INVALID_ARGUMENT', 'psi: the peer is not the cohort node of the study');
    if (prepared.runs.has(begin.outcome)) throw new FedlabError('PROTOCOL_OUT_OF_ORDER', 'psi: this outcome source of the study was already linked');
    prepared.runs.add(begin.outcome);
    const me = this.options.identity.id;
    const publicKeys = begin.publicKeys.map((k) => new Uint8Array(k));
    const cohortNode = preparation.role === 'cohort' ? me : begin.peer;
    const outcomeNode = preparation.role === 'cohort' ? begin.peer : me;
    const sessionId = psiSessionId(queryHash, runId, cohortNode, outcomeNode);
    const common = { engine: this.psiEngine, sessionId, passNames: preparation.passNames, publicKeys, maxPeerSetSize };
    if (preparation.role === 'outcome') {
      if (begin.outcome !== preparation.outcome) throw new FedlabError('INVALID_ARGUMENT', 'psi: the run is for another outcome source');
      if (publicKeys.length !== preparation.layout.length)
        throw new FedlabError('TUPLE_WIDTH_MISMATCH', `psi: ${publicKeys.length} public keys for a value vector of ${preparation.layout.length} entries`);
      const party = new OutcomeParty({
        ...common,
        groups: preparation.groups,
        tuples: preparation.tuples,
        values: preparation.values,
        valueBounds: preparation.layout.map((e) => e.max),
        valueSquares: preparation.layout.map((e) => e.stat === 'sumSquares'),
      });
      this.runs.set(runId, { queryId, role: 'outcome', peer: begin.peer, party, queryHash, expecting: 1, chunks: [], busy: false });
      this.logger.info({ queryId, nodeId: me }, 'psi run started (outcome side)');
      return [];
    }
    const party = new CohortParty({ ...common, groups: preparation.groups, noise: (bounds, squares) => preparation.noise.draw(bounds, squares) });
    this.runs.set(runId, { queryId, role: 'cohort', peer: begin.peer, party, queryHash, expecting: 2, chunks: [], busy: false });
    const sets = await party.start();
    this.logger.info({ queryId, nodeId: me }, 'psi run started (cohort side): blinded sets sent');
    return this.seal(queryId, runId, queryHash, 1, begin.peer, pb.PsiCohortSets.encode({ width: sets.width, groups: sets.groups.map(groupToProto) }).finish());
  }

  private async payload(runId: string, run: Run, payload: pb.PsiPayload): Promise<Array<NonNullable<pb.PsiReply['step']>>> {
    const me = this.options.identity.id;
    if (payload.to !== me) throw new FedlabError('PAYLOAD_NOT_FOR_THIS_NODE', `psi: the payload is addressed to "${payload.to}", not to this node`);
    if (payload.from !== run.peer) throw new FedlabError('PAYLOAD_NOT_FOR_THIS_NODE', 'psi: the payload does not come from the other node of the run');
    if (payload.step !== run.expecting || run.busy)
      throw new FedlabError(
        'PROTOCOL_OUT_OF_ORDER',
        `psi: step ${payload.step} arrived while the ${run.role} node expects step ${run.expecting}${run.busy ? ' (replayed)' : ''}`,
      );
    if (payload.chunk !== run.chunks.length || payload.chunks < 1 || payload.chunk >= payload.chunks)
      throw new FedlabError('PROTOCOL_OUT_OF_ORDER', `psi: chunk ${payload.chunk} of ${payload.chunks} arrived out of order`);
    run.chunks.push(payload.sealed);
    if (run.chunks.length < payload.chunks) return [];
    run.busy = true;
    const sealed = Buffer.concat(run.chunks);
    run.chunks = [];
    const sender = this.options.roster().get(run.peer, 'node')!;
    const bytes = openFromPeer(this.options.identity, sender, psiHeader(run.queryHash, runId, payload.step, run.peer, me), sealed);
    if (run.party instanceof OutcomeParty) {
      const reply = await run.party.respond(cohortSetsFromProto(decode(() => pb.PsiCohortSets.decode(bytes))));
      const encoded = pb.PsiOutcomeReply.encode(outcomeReplyToProto(reply)).finish();
      this.runs.delete(runId);
      this.logger.info({ queryId: run.queryId, nodeId: me }, 'psi run: outcome reply sent');
      return (await this.seal(run.queryId, runId, run.queryHash, 2, run.peer, encoded)).map((value) => ({ $case: 'payload', value }));
    }
    const reply = outcomeReplyFromProto(decode(() => pb.PsiOutcomeReply.decode(bytes)));
    const aggregate = await run.party.finish(reply);
    this.runs.delete(runId);
    const prepared = this.options.preparation(run.queryId);
    if (prepared?.preparation.role !== 'cohort')
      throw new FedlabError('INVALID_ARGUMENT', 'psi: this node no longer holds the study (expired or restarted since)');
    const { noise } = prepared.preparation;
    const body = pb.PsiAggregate.encode({
      queryId: run.queryId,
      runId,
      queryHash: Buffer.from(run.queryHash),
      // Noisy counts below zero are released as zero (post-processing).
      groups: aggregate.groups.map((g) => ({ name: g.name, matched: BigInt(Math.max(0, g.matched)), ciphertext: Buffer.from(g.ciphertext) })),
      groupSizes: noise.sizes.map((n) => BigInt(n)),
      noise: JSON.stringify(noise.describe(reply.outcome.valueBounds, reply.outcome.valueSquares)),
    }).finish();
    this.options.audit(run.queryId, 'psi-aggregate', blake2b(body, 32));
    this.logger.info({ queryId: run.queryId, nodeId: me }, 'psi run: encrypted sums sent to the coordinator');
    return [{ $case: 'aggregate', value: sealEnvelope('psi-aggregate', body, this.options.identity) }];
  }

  private async seal(queryId: string, runId: string, queryHash: Uint8Array, step: number, to: string, payload: Uint8Array): Promise<pb.PsiPayload[]> {
    const me = this.options.identity.id;
    const recipient = this.options.roster().get(to, 'node')!;
    const sealed = sealForPeer(this.options.identity, recipient, psiHeader(queryHash, runId, step, me, to), payload);
    this.options.audit(queryId, `psi-payload-${step}`, blake2b(sealed, 32));
    const chunks = Math.max(1, Math.ceil(sealed.length / PSI_CHUNK_BYTES));
    return Array.from({ length: chunks }, (_, chunk) => ({
      from: me,
      to,
      step,
      chunk,
      chunks,
      sealed: Buffer.from(sealed.subarray(chunk * PSI_CHUNK_BYTES, (chunk + 1) * PSI_CHUNK_BYTES)),
    }));
  }
}

function decode<T>(fn: () => T): T {
  try {
    return fn();
  } catch {
    throw new FedlabError('INVALID_ARGUMENT', 'psi: the payload is not a valid protocol message');
  }
}

const groupToProto = (g: { name: string; count: number; tuples: Uint8Array }): pb.PsiBlindedGroup => ({
  name: g.name,
  count: BigInt(g.count),
  tuples: Buffer.from(g.tuples),
});
const groupFromProto = (g: pb.PsiBlindedGroup) => ({ name: g.name, count: Number(g.count), tuples: new Uint8Array(g.tuples) });

function cohortSetsFromProto(m: pb.PsiCohortSets): CohortSets {
  return { width: m.width, groups: m.groups.map(groupFromProto) };
}

function outcomeReplyToProto(r: OutcomeReply): pb.PsiOutcomeReply {
  return {
    width: r.width,
    groups: r.groups.map(groupToProto),
    outcomeCount: BigInt(r.outcome.count),
    outcomeTuples: Buffer.from(r.outcome.tuples),
    valueWidth: r.outcome.valueWidth,
    ciphertexts: Buffer.from(r.outcome.ciphertexts),
    valueBounds: r.outcome.valueBounds,
    valueSquares: r.outcome.valueSquares,
  };
}

function outcomeReplyFromProto(m: pb.PsiOutcomeReply): OutcomeReply {
  return {
    width: m.width,
    groups: m.groups.map(groupFromProto),
    outcome: {
      count: Number(m.outcomeCount),
      tuples: new Uint8Array(m.outcomeTuples),
      valueWidth: m.valueWidth,
      ciphertexts: new Uint8Array(m.ciphertexts),
      valueBounds: [...m.valueBounds],
      valueSquares: [...m.valueSquares],
    },
  };
}
