import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import type { ChannelCredentials, ClientDuplexStream } from '@grpc/grpc-js';
import { DEFAULT_MAX_WORK_BYTES, FedlabError, PROTOCOL_VERSION, SOFTWARE_VERSION, silentLogger, type Logger } from '@fedlab/model';
import * as pb from '@fedlab/proto';
import { createPlaintextChannelCredentials, fromServiceError, newNodeInstance, provesReplacement, signAttach } from '@fedlab/wire';
import type { NodeMetrics } from '@fedlab/ops';
import type { Roster } from '@fedlab/governance';
import type { NodeAgent } from './node-agent';

/** The most the node's stream takes in one message; the node's own limit (max_message_bytes) is enforced on top, with a signed refusal. */
const TRANSPORT_MAX_BYTES = 64 * 1_048_576;

export interface NodeConnectionOptions {
  coordinatorAddress: string;
  agent: NodeAgent;
  /** The catalog to publish after each attach. */
  catalog: () => pb.NodeCatalog;
  signSecretKey: Uint8Array;
  /** TLS credentials (wire's `createChannelCredentials`); without them, plaintext to a loopback address only. */
  credentials?: ChannelCredentials;
  /** First reconnect delay; doubles per failure up to maxBackoffMs, with full jitter. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  maxMessageBytes?: number;
  logger?: Logger;
  /**
   * Verifies a roster the coordinator sent (RosterUpdate) and keeps it (node-setup's `acceptRosterUpdate`):
   * returns it when it is newer than the one in force, which the agent then uses. Without it, sent rosters are ignored.
   */
  acceptRoster?: (signedRoster: string) => Roster | undefined;
  /** Counts reconnects (docs/operations.md); nothing is recorded without it. */
  metrics?: Pick<NodeMetrics, 'reconnect'>;
}

/** Under load, a node sends its audit checkpoint at least every this many answers, or this often. */
const CHECKPOINT_EVERY_ANSWERS = 32;
const CHECKPOINT_EVERY_MS = 1_000;

/**
 * The node's outbound, long-lived stream to the coordinator (DESIGN.md §3): attaches, proves its
 * identity by signing the coordinator's challenge, publishes its catalog, answers work, sends
 * heartbeats, and reconnects with exponential backoff and jitter.
 *
 * Events: `attached`, `detached`, `refused` (code, message), `answered` (queryId), `roster` (version): a newer
 * signed roster from the coordinator was verified and put in force; `replaced` (message):
 * another connection of this node took its place at the coordinator (its key is in use elsewhere);
 * the connection then stops instead of taking the place back, and the daemon exits with the reason.
 */
export class NodeConnection extends EventEmitter {
  private client: pb.NodeGatewayClient | undefined;
  private call: ClientDuplexStream<pb.AttachRequest, pb.AttachResponse> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  /** This run's name and the time of its latest attach, which a replacing connection's proof must postdate. */
  private readonly instance = newNodeInstance();
  private attachedAtMs = 0n;
  /** Work items being answered, answers since the last audit checkpoint sent, and when that was. */
  private answering = 0;
  private uncheckpointed = 0;
  private checkpointedAtMs = 0;
  attached = false;

  constructor(private readonly options: NodeConnectionOptions) {
    super();
  }

  private get logger(): Logger {
    return this.options.logger ?? silentLogger;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Closes the stream and stops reconnecting. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.heartbeat);
    this.call?.end();
    this.call?.cancel();
    this.client?.close();
  }

  /**
   * Whether to send the audit chain's head after an answer (DESIGN.md §5: periodic signed checkpoints):
   * when no other work item is being answered (so a node that answers one query at a time checkpoints
   * each answer), and under load at least every {@link CHECKPOINT_EVERY_ANSWERS} answers or
   * {@link CHECKPOINT_EVERY_MS} ms, instead of one signature and one public-log entry per answer.
   */
  private checkpointDue(): boolean {
    return this.answering === 0 || this.uncheckpointed >= CHECKPOINT_EVERY_ANSWERS || Date.now() - this.checkpointedAtMs >= CHECKPOINT_EVERY_MS;
  }

  /** Sends the catalog unless it is byte for byte the one announced last; returns what was announced. */
  private announceCatalog(write: (message: pb.AttachRequest['message']) => void, previous?: string): string {
    const catalog = this.options.catalog();
    const encoded = Buffer.from(pb.NodeCatalog.encode(catalog).finish()).toString('base64');
    if (encoded === previous) return previous;
    write({ $case: 'catalog', value: catalog });
    if (previous !== undefined) this.logger.info({ nodeId: this.options.agent.nodeId }, 'catalog changed: announced to the coordinator');
    return encoded;
  }

  /** Whether `proof` is another run of this node attaching after this one, signed by the node's key (its own, or the roster's for its id). */
  private replacementProven(proof: pb.AttachProof | undefined): boolean {
    const nodeId = this.options.agent.nodeId;
    const keys = [this.options.signSecretKey.subarray(32)];
    const listed = this.options.agent.roster.get(nodeId, 'node');
    if (listed) keys.push(listed.signPublicKey);
    return provesReplacement(proof, nodeId, { instance: this.instance, attachedAtMs: this.attachedAtMs }, keys);
  }

  /** Verifies a roster the coordinator sent and puts it in force when newer; a roster that does not verify is logged and ignored. */
  private takeRoster(signedRoster: string): void {
    const nodeId = this.options.agent.nodeId;
    if (!this.options.acceptRoster) return;
    try {
      const roster = this.options.acceptRoster(signedRoster);
      if (!roster) return;
      this.options.agent.replaceRoster(roster);
      this.logger.info(
        { nodeId, rosterVersion: roster.version, participants: roster.participants.length },
        "roster replaced: the coordinator's newer roster verified against the pinned governance and written to roster_file",
      );
      this.emit('roster', roster.version);
    } catch (error) {
      const { code, message } = error instanceof FedlabError ? error : { code: 'INTERNAL', message: String(error) };
      this.logger.warn({ nodeId, code }, `roster from the coordinator not taken; the roster in force stays: ${message}`);
    }
  }

  private setDetached(): void {
    if (!this.attached) return;
    this.attached = false;
    this.emit('detached');
  }

  private connect(): void {
    const nodeId = this.options.agent.nodeId;
    this.client ??= new pb.NodeGatewayClient(
      this.options.coordinatorAddress,
      this.options.credentials ?? createPlaintextChannelCredentials(this.options.coordinatorAddress),
      {
        // The transport takes up to 64 MiB, so an item over this node's own limit arrives and is refused with a
        // signed answer (MESSAGE_TOO_LARGE, by the agent) instead of breaking the stream.
        'grpc.max_receive_message_length': Math.max(this.options.maxMessageBytes ?? DEFAULT_MAX_WORK_BYTES, TRANSPORT_MAX_BYTES),
        'grpc.keepalive_time_ms': 30_000,
        'grpc.initial_reconnect_backoff_ms': 200,
        'grpc.max_reconnect_backoff_ms': 2_000,
      },
    );
    const call = this.client.attach();
    this.call = call;
    // Every message leaves once the commits before it are on the disk (an answer once its audit entry,
    // budget debit and nonce are), in the order written, and only on the stream it was written for.
    const outputs = this.options.agent.outputs;
    // Nothing is written once the stream was replaced or the connection stopped (stop ends the stream).
    const open = () => this.call === call && !this.stopped;
    const write = (message: pb.AttachRequest['message'], flushed?: () => void) =>
      outputs.after(() => {
        if (open()) call.write({ message }, flushed);
      });
    // A message that shows nothing committed (a heartbeat, a receipt) keeps its place but waits for no sync of its own.
    const writeInOrder = (message: pb.AttachRequest['message']) =>
      outputs.inOrder(() => {
        if (open()) call.write({ message });
      });
    const sendCheckpoint = () => {
      write({ $case: 'checkpoint', value: this.options.agent.checkpoint() });
      this.uncheckpointed = 0;
      this.checkpointedAtMs = Date.now();
    };
    call.on('data', (response: pb.AttachResponse) => {
      const m = response.message;
      if (!m) return;
      switch (m.$case) {
        case 'challenge': {
          // Strictly later than this run's previous attach, even if the clock stepped back.
          this.attachedAtMs = BigInt(Math.max(Date.now(), Number(this.attachedAtMs) + 1));
          const { signature, instance, attachedAtMs } = signAttach(m.value.nonce, nodeId, this.instance, this.attachedAtMs, this.options.signSecretKey);
          write({ $case: 'challengeAnswer', value: { signature, instance, attachedAtMs } });
          break;
        }
        case 'welcome': {
          this.failures = 0;
          this.attached = true;
          let announced = this.announceCatalog(write);
          write({ $case: 'checkpoint', value: this.options.agent.checkpoint() });
          clearInterval(this.heartbeat);
          // Three heartbeats per interval: a node that stops is seen unhealthy within one interval. With
          // each, a catalog that changed (a dataset imported while the daemon runs) is announced again.
          this.heartbeat = setInterval(
            () => {
              writeInOrder({ $case: 'heartbeat', value: { sentAtMs: BigInt(Date.now()) } });
              // Answers given while a long work item (a model fit) runs are checkpointed by the next heartbeat at the latest.
              if (this.uncheckpointed > 0 && Date.now() - this.checkpointedAtMs >= CHECKPOINT_EVERY_MS) sendCheckpoint();
              try {
                announced = this.announceCatalog(write, announced);
              } catch (error) {
                this.logger.warn({ nodeId, err: error }, 'could not read the catalog; announcing it again with the next heartbeat');
              }
            },
            Math.max(50, Math.floor((m.value.heartbeatIntervalMs || 10_000) / 3)),
          );
          this.heartbeat.unref();
          this.logger.info({ nodeId }, 'attached to coordinator');
          this.emit('attached');
          break;
        }
        case 'refused':
          this.logger.error({ nodeId, code: m.value.code }, `coordinator refused the node: ${m.value.message}`);
          if (m.value.code === 'NODE_REPLACED' && this.call === call) {
            if (this.replacementProven(m.value.replacedBy)) {
              // Reconnecting would replace the other connection in turn, without end: stop and say why.
              this.stop();
              this.setDetached();
              this.emit('replaced', m.value.message);
            } else {
              // Anyone on the path can say NODE_REPLACED; only another run's signed attach makes the node stop.
              this.logger.warn(
                { nodeId, code: 'NODE_REPLACED' },
                "the coordinator closed this connection as replaced without another run's signed attach; treated as a lost stream",
              );
            }
          }
          this.emit('refused', m.value.code, m.value.message);
          break;
        case 'roster':
          this.takeRoster(m.value.signedRoster);
          break;
        case 'work': {
          const queryId = m.value.queryId;
          writeInOrder({ $case: 'queryStarted', value: queryId });
          // An answer of a stream that ended meanwhile is not sent (write checks the stream): the
          // coordinator re-delivers the work on the next attach, and the node answers it from its cache.
          this.answering += 1;
          this.options.agent.handle(m.value).then(
            (answer) => {
              this.answering -= 1;
              write({ $case: 'answer', value: { queryId, answer } });
              this.uncheckpointed += 1;
              if (this.checkpointDue()) sendCheckpoint();
              this.emit('answered', queryId);
            },
            (error: unknown) => {
              this.answering -= 1;
              if (this.answering === 0 && this.uncheckpointed > 0) sendCheckpoint();
              // Recording the answer failed (e.g. the database is locked or full): send nothing, so
              // the coordinator's deadline reports the failure, and keep the node running.
              this.logger.error({ nodeId, queryId, err: error }, 'could not record an answer; the query will time out');
            },
          );
          break;
        }
        case 'secagg':
          void this.options.agent.secagg.handle(m.value).then((reply) => {
            if (reply) write({ $case: 'secagg', value: reply }, () => this.options.agent.secagg.sent(reply));
          });
          break;
        case 'psi':
          if (m.value.step?.$case === 'abort' && m.value.step.value.code === 'QUERY_FINISHED') this.options.agent.forgetLinkage(m.value.queryId);
          void this.options.agent.psi.handle(m.value).then((replies) => {
            for (const reply of replies) write({ $case: 'psi', value: reply });
          });
          break;
        default:
          break;
      }
    });
    const lost = (error?: unknown) => {
      if (this.call !== call) return;
      this.call = undefined;
      clearInterval(this.heartbeat);
      // Rounds in progress cannot finish without this stream; the coordinator counts this node as dropped.
      this.options.agent.secagg.reset();
      this.options.agent.psi.reset();
      this.setDetached();
      if (this.stopped) return;
      this.failures += 1;
      const ceiling = Math.min(this.options.maxBackoffMs ?? 30_000, (this.options.initialBackoffMs ?? 500) * 2 ** Math.min(this.failures - 1, 16));
      const delay = Math.round(ceiling / 2 + randomInt(0, Math.max(1, Math.floor(ceiling / 2))));
      // The reason is the gRPC status turned into a FedlabError: for a TLS failure, only the handshake's explanation.
      this.logger.warn({ nodeId, retryInMs: delay, ...(error ? { reason: fromServiceError(error).message } : {}) }, 'coordinator stream lost; reconnecting');
      this.options.metrics?.reconnect();
      this.retry = setTimeout(() => this.connect(), delay);
    };
    call.on('error', lost);
    call.on('end', lost);
    call.on('close', lost);
    write({
      $case: 'hello',
      value: {
        nodeId,
        protocolVersion: PROTOCOL_VERSION,
        softwareVersion: SOFTWARE_VERSION,
        knownTreeSize: BigInt(this.options.agent.knownTreeSize()),
        knownTreeRoot: Buffer.from(this.options.agent.knownTreeRoot()),
        rosterVersion: BigInt(this.options.agent.roster.version),
      },
    });
  }
}
