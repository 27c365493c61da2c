import { FedlabError, silentLogger, type Logger } from '@fedlab/model';
import * as pb from '@fedlab/proto';
import { SecAggServer, type RoundTranscript, type SecAggCrypto } from '@fedlab/secagg';
import { toWire } from '@fedlab/wire';

/** Sends one step to a node; false when the node is not connected. */
export type SendStep = (nodeId: string, step: pb.SecAggStep) => boolean;

export interface SecAggRoundOptions {
  queryId: string;
  roundId: string;
  /** The SecAggBegin every participant receives (participants included). */
  begin: pb.SecAggBegin;
  /** Hash binding the session to the query and to `begin` (see roundQueryHash in node-service). */
  queryHash: Uint8Array;
  crypto: SecAggCrypto;
  send: SendStep;
  /** How long each of the five phases waits for replies before closing without the missing nodes. */
  phaseTimeoutMs: number;
  logger?: Logger;
}

type ReplyCase = NonNullable<pb.SecAggReply['step']>['$case'];

interface Phase {
  expects: ReplyCase;
  waiting: Set<string>;
  accept: (nodeId: string, reply: NonNullable<pb.SecAggReply['step']>) => void;
  done: () => void;
}

/**
 * Drives one secure-aggregation round (DESIGN.md §7.2) through the node streams: sends each phase's
 * step, feeds the replies to a {@link SecAggServer}, and closes the phase when every expected node
 * replied, refused or went away, or when the phase timeout passes. A node that misses a phase is a
 * dropout; the server decides whether enough remain (THRESHOLD_NOT_MET otherwise). The coordinator
 * learns the sum over the survivors U3 and nothing else.
 */
export class SecAggRound {
  private readonly server: SecAggServer;
  private readonly logger: Logger;
  private phase: Phase | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Nodes that refused a step of this round, with the reason they gave (public: a code and a message). */
  readonly refusals = new Map<string, { code: string; message: string }>();

  constructor(private readonly options: SecAggRoundOptions) {
    this.logger = options.logger ?? silentLogger;
    this.server = new SecAggServer({
      participants: options.begin.participants,
      roundId: options.roundId,
      queryHash: options.queryHash,
      threshold: options.begin.threshold,
      vectorLength: options.begin.vectorLength,
      crypto: options.crypto,
    });
  }

  /** Passes a node's reply to the phase waiting for it; anything else is ignored (and logged). */
  receive(nodeId: string, reply: pb.SecAggReply): void {
    const phase = this.phase;
    const step = reply.step;
    if (!phase || !step || !phase.waiting.has(nodeId)) {
      this.logger.warn({ queryId: this.options.queryId, nodeId, step: step?.$case ?? '' }, 'secagg reply out of phase ignored');
      return;
    }
    phase.waiting.delete(nodeId);
    if (step.$case === 'refused') {
      this.refusals.set(nodeId, { code: step.value.code, message: step.value.message });
      this.logger.warn({ queryId: this.options.queryId, nodeId, code: step.value.code }, `node left the secagg round: ${step.value.message}`);
    } else if (step.$case !== phase.expects) {
      this.logger.warn({ queryId: this.options.queryId, nodeId, step: step.$case }, 'secagg reply of the wrong kind; node dropped from the round');
    } else {
      try {
        phase.accept(nodeId, step);
      } catch (error) {
        const fe = FedlabError.from(error);
        this.logger.warn({ queryId: this.options.queryId, nodeId, code: fe.code }, `secagg message rejected; node dropped from the round: ${fe.message}`);
      }
    }
    if (phase.waiting.size === 0) phase.done();
  }

  /** A node's stream closed: stop waiting for it. */
  nodeLost(nodeId: string): void {
    const phase = this.phase;
    if (!phase?.waiting.delete(nodeId)) return;
    if (phase.waiting.size === 0) phase.done();
  }

  /**
   * Runs the five phases; resolves to Σ inputs over U3, U3, and the round's transcript (which a model's
   * next round hands to the nodes), or throws (THRESHOLD_NOT_MET …).
   */
  async run(): Promise<{ sum: Uint32Array; survivors: string[]; transcript: RoundTranscript }> {
    const { server } = this;
    const participants = this.options.begin.participants;
    try {
      await this.collect(
        participants,
        () => ({ $case: 'begin', value: this.options.begin }),
        'keys',
        (_, s) => s.$case === 'keys' && server.receiveAdvertisement(s.value),
      );
      const keys = toWire(server.broadcastKeys());
      await this.collect(
        server.alive.u1,
        () => ({ $case: 'keyList', value: { keys } }),
        'shareKeys',
        (_, s) => s.$case === 'shareKeys' && server.receiveShareKeys(s.value),
      );
      const routed = new Map(server.routeShares().map((r) => [r.to, toWire(r.shares)]));
      await this.collect(
        [...routed.keys()],
        (id) => ({ $case: 'shares', value: { shares: routed.get(id)! } }),
        'maskedInput',
        (_, s) => s.$case === 'maskedInput' && server.receiveMaskedInput(s.value),
      );
      const consistency = toWire(server.consistencyRequest());
      await this.collect(
        consistency.survivors,
        () => ({ $case: 'consistency', value: consistency }),
        'consistency',
        (_, s) => s.$case === 'consistency' && server.receiveConsistency(s.value),
      );
      const unmask = toWire(server.unmaskRequest());
      await this.collect(
        server.alive.u4,
        () => ({ $case: 'unmask', value: unmask }),
        'unmask',
        (_, s) => s.$case === 'unmask' && server.receiveUnmask(s.value),
      );
      const sum = await server.aggregate();
      return { sum, survivors: server.alive.u3, transcript: server.transcript() };
    } finally {
      clearTimeout(this.timer);
      this.phase = undefined;
    }
  }

  /** Tells every participant to forget the round (after a failure, or to free a dropped node's state). */
  abort(code: string, message: string): void {
    for (const nodeId of this.options.begin.participants) {
      this.options.send(nodeId, { queryId: this.options.queryId, roundId: this.options.roundId, step: { $case: 'abort', value: { code, message } } });
    }
  }

  private collect(
    recipients: readonly string[],
    step: (nodeId: string) => NonNullable<pb.SecAggStep['step']>,
    expects: ReplyCase,
    accept: Phase['accept'],
  ): Promise<void> {
    return new Promise((resolve) => {
      const waiting = new Set<string>();
      const done = () => {
        clearTimeout(this.timer);
        this.phase = undefined;
        resolve();
      };
      this.phase = { expects, waiting, accept, done };
      for (const nodeId of recipients) waiting.add(nodeId);
      for (const nodeId of recipients) {
        const sent = this.options.send(nodeId, { queryId: this.options.queryId, roundId: this.options.roundId, step: step(nodeId) });
        if (!sent) waiting.delete(nodeId);
      }
      if (waiting.size === 0) return done();
      this.timer = setTimeout(() => {
        this.logger.warn(
          { queryId: this.options.queryId, nodeIds: [...waiting], missing: waiting.size, step: expects },
          'secagg phase timed out; missing nodes dropped',
        );
        done();
      }, this.options.phaseTimeoutMs);
      this.timer.unref();
    });
  }
}
