import { randomBytes } from 'node:crypto';
import {
  Server,
  type ServerDuplexStream,
  type ServerWritableStream,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerCredentials as Creds,
} from '@grpc/grpc-js';
import { FedlabError, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, silentLogger, type Logger } from '@fedlab/model';
import { verifyDetached } from '@fedlab/crypto';
import * as pb from '@fedlab/proto';
import { INSTANCE_BYTES, attachContext, attachSignedBytes, createPlaintextServerCredentials, isLoopbackAddress, toServiceError } from '@fedlab/wire';
import { currentRoster, publishRoster, signedRosterText, type RosterPublication } from './roster-publication';
import { addHealthAndReflection, listenError, type GrpcHealth } from '@fedlab/ops';
import type { Coordinator, NodeSession } from './coordinator';
import type { OutputGate } from '@fedlab/store';

export interface CoordinatorServerOptions {
  /** host:port to listen on; port 0 picks a free port. */
  listen: string;
  /** Largest message accepted from clients and nodes (default 4 MiB). */
  maxMessageBytes?: number;
  heartbeatIntervalMs?: number;
  /** TLS credentials (wire's `createServerCredentials`); without them, plaintext on a loopback `listen` only. */
  credentials?: Creds;
  logger?: Logger;
  /** Where published rosters are verified and kept; without it PublishRoster and GetRoster refuse. */
  rosterPublication?: RosterPublication;
}

/**
 * Who may read the operators' node list (versions, datasets, hourly counts, audit heads): a caller on
 * the coordinator's own host (a loopback peer, IPv4-mapped included), or one that presented a client
 * certificate the server verified (mutual TLS). `peer` is gRPC's `ipv4:host:port` / `ipv6:[host]:port`.
 */
export function mayListNodes(peer: string, auth: { sslPeerCertificate?: { subject?: unknown } } | undefined): boolean {
  const address = peer.replace(/^ipv[46]:/, '').replace(/^\[::ffff:(127(?:\.\d{1,3}){3})\]/, '$1');
  return isLoopbackAddress(address) || auth?.sslPeerCertificate?.subject !== undefined;
}

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void;

/** What the handlers need besides the coordinator: where to log, and what every reply waits for. */
interface HandlerContext {
  logger: Logger;
  /** The commits a reply may show are on the disk before it is sent (the coordinator's store's gate). */
  outputs: OutputGate;
}

/**
 * Wraps a handler with the server error policy (only FedlabErrors reach the client; others become INTERNAL
 * and are logged locally) and sends its reply, or its error, once the commits before it are on the disk.
 */
function unary<Req, Res>(ctx: HandlerContext, handler: (req: Req) => Res): Unary<Req, Res> {
  return (call, callback) => {
    let reply: Res;
    try {
      reply = handler(call.request);
    } catch (error) {
      if (!(error instanceof FedlabError)) ctx.logger.error({ err: error }, 'unexpected error in handler');
      ctx.outputs.after(() => callback(toServiceError(error) as never, null));
      return;
    }
    ctx.outputs.after(() => callback(null, reply));
  };
}

/** A stream's writes and end, each sent once the commits before it are on the disk, and never after the stream ended. */
function gatedStream<T>(call: { write(message: T): unknown; end(): unknown; writableEnded: boolean; destroyed: boolean }, outputs: OutputGate) {
  const open = () => !call.writableEnded && !call.destroyed;
  return {
    write: (message: T) => outputs.after(() => open() && call.write(message)),
    end: () => outputs.after(() => open() && call.end()),
  };
}

/** Starts the coordinator's gRPC server (ResearchService, AdminService, NodeGateway). */
export async function startCoordinatorServer(
  coordinator: Coordinator,
  options: CoordinatorServerOptions,
): Promise<{ server: Server; port: number; health: GrpcHealth; stop(): Promise<void> }> {
  const logger = options.logger ?? silentLogger;
  const maxMessageBytes = options.maxMessageBytes ?? 4 * 1024 * 1024;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 10_000;
  const server = new Server({
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  });
  const ctx: HandlerContext = { logger, outputs: coordinator.outputs };
  const streams = new Set<ServerDuplexStream<pb.AttachRequest, pb.AttachResponse> | ServerWritableStream<pb.WatchQueryRequest, pb.WatchQueryResponse>>();

  server.addService(pb.ResearchServiceService, {
    submitQuery: unary<pb.SubmitQueryRequest, pb.SubmitQueryResponse>(ctx, (req) => {
      const r = coordinator.submit(req.query, req.attachment);
      return { queryId: r.queryId, logIndex: BigInt(r.logIndex) };
    }),
    getQueryStatus: unary<pb.GetQueryStatusRequest, pb.GetQueryStatusResponse>(ctx, (req) => {
      return { status: coordinator.status(coordinator.authoriseRead(req.queryId, req.auth)) };
    }),
    getQueryResult: unary<pb.GetQueryResultRequest, pb.GetQueryResultResponse>(ctx, (req) => {
      return coordinator.result(coordinator.authoriseRead(req.queryId, req.auth));
    }),
    getCatalog: unary<pb.GetCatalogRequest, pb.GetCatalogResponse>(ctx, () => ({ nodes: coordinator.catalogs() })),
    watchQuery: (call: ServerWritableStream<pb.WatchQueryRequest, pb.WatchQueryResponse>) => {
      let done = false;
      let unsubscribe = () => {};
      const out = gatedStream<pb.WatchQueryResponse>(call, ctx.outputs);
      const onStatus = (s: pb.QueryStatus) => {
        if (done) return;
        out.write({ status: s });
        if (s.state !== pb.QueryState.QUERY_STATE_RUNNING) {
          done = true;
          out.end();
          unsubscribe();
        }
      };
      try {
        coordinator.authoriseRead(call.request.queryId, call.request.auth);
        unsubscribe = coordinator.watch(call.request.queryId, onStatus);
      } catch (error) {
        ctx.outputs.after(() => call.emit('error', toServiceError(error)));
        return;
      }
      if (done) return unsubscribe();
      streams.add(call);
      const close = () => {
        done = true;
        unsubscribe();
        streams.delete(call);
      };
      call.on('cancelled', close);
      call.on('close', close);
    },
  });

  const log = coordinator.log;
  const sizeOrCurrent = (size: bigint) => (size === 0n ? log.size : Number(size));
  server.addService(pb.TransparencyServiceService, {
    getTreeHead: unary<pb.GetTreeHeadRequest, pb.GetTreeHeadResponse>(ctx, () => ({ treeHead: log.treeHead(Date.now()) })),
    getInclusionProof: unary<pb.GetInclusionProofRequest, pb.GetInclusionProofResponse>(ctx, (req) => {
      const size = sizeOrCurrent(req.treeSize);
      const index = Number(req.index);
      return {
        index: req.index,
        treeSize: BigInt(size),
        proof: log.inclusionProof(index, size).map((h) => Buffer.from(h)),
        leaf: Buffer.from(log.leaf(index)),
      };
    }),
    getConsistencyProof: unary<pb.GetConsistencyProofRequest, pb.GetConsistencyProofResponse>(ctx, (req) => {
      const newSize = sizeOrCurrent(req.newSize);
      return { oldSize: req.oldSize, newSize: BigInt(newSize), proof: log.consistencyProof(Number(req.oldSize), newSize).map((h) => Buffer.from(h)) };
    }),
    getLogEntries: unary<pb.GetLogEntriesRequest, pb.GetLogEntriesResponse>(ctx, (req) => {
      const start = Number(req.start);
      const end = Math.min(Number(req.end), start + 1000, log.size);
      return { leaves: log.leaves(start, end).map((l) => Buffer.from(l)) };
    }),
    getQueryEnvelope: unary<pb.GetQueryEnvelopeRequest, pb.GetQueryEnvelopeResponse>(ctx, (req) => coordinator.queryEnvelope(req.queryId, req.auth)),
  });

  const projects = coordinator.projects;
  server.addService(pb.GovernanceServiceService, {
    submitProject: unary<pb.SubmitProjectRequest, pb.SubmitProjectResponse>(ctx, (req) => ({ logIndex: BigInt(projects.submitProject(req.document)) })),
    submitApproval: unary<pb.SubmitApprovalRequest, pb.SubmitApprovalResponse>(ctx, (req) => ({ logIndex: BigInt(projects.submitApproval(req.document)) })),
    submitRevocation: unary<pb.SubmitRevocationRequest, pb.SubmitRevocationResponse>(ctx, (req) => ({
      logIndex: BigInt(projects.submitRevocation(req.document)),
    })),
    getProject: unary<pb.GetProjectRequest, pb.GetProjectResponse>(ctx, (req) => ({ record: projects.record(req.projectId) })),
    listProjects: unary<pb.ListProjectsRequest, pb.ListProjectsResponse>(ctx, () => ({ records: projects.records() })),
    publishRoster: unary<pb.PublishRosterRequest, pb.PublishRosterResponse>(ctx, (req) =>
      publishRoster(coordinator, options.rosterPublication, req.signedRoster),
    ),
    getRoster: unary<pb.GetRosterRequest, pb.GetRosterResponse>(ctx, () => currentRoster(coordinator, options.rosterPublication)),
  });

  server.addService(pb.AdminServiceService, {
    listNodes: (call: ServerUnaryCall<pb.ListNodesRequest, pb.ListNodesResponse>, callback: sendUnaryData<pb.ListNodesResponse>) => {
      if (!mayListNodes(call.getPeer(), call.getAuthContext())) {
        callback(
          toServiceError(
            new FedlabError(
              'ROLE_NOT_ALLOWED',
              'the node list is for operators: ask on the coordinator host (loopback) or with a client certificate (mutual TLS)',
            ),
          ) as never,
          null,
        );
        return;
      }
      unary<pb.ListNodesRequest, pb.ListNodesResponse>(ctx, () => coordinator.listNodes())(call, callback);
    },
  });

  server.addService(pb.NodeGatewayService, {
    attach: (call: ServerDuplexStream<pb.AttachRequest, pb.AttachResponse>) =>
      attachNode(coordinator, call, {
        heartbeatIntervalMs,
        logger,
        outputs: ctx.outputs,
        streams,
        signedRoster: () => signedRosterText(options.rosterPublication),
      }),
  });

  // grpc.health.v1 and server reflection (DESIGN.md §8); SERVING once bound, NOT_SERVING from stop().
  const health = addHealthAndReflection(server);

  const credentials = options.credentials ?? createPlaintextServerCredentials(options.listen);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.listen, credentials, (error, boundPort) => (error ? reject(listenError(error, 'listen', options.listen)) : resolve(boundPort))),
  );
  health.setServing(true);
  return {
    server,
    port,
    health,
    stop: () =>
      new Promise<void>((resolve) => {
        health.setServing(false);
        // Watchers and nodes learn why their stream ended: a watcher must not take it for a finished query.
        const shuttingDown = toServiceError(
          new FedlabError('COORDINATOR_RESTARTED', 'the coordinator is shutting down; in-flight queries resume when it is back'),
        );
        // Behind what the streams still wait to send (a final status), each once the commits before it are on the disk.
        for (const s of streams) ctx.outputs.after(() => s.emit('error', shuttingDown));
        const force = setTimeout(() => server.forceShutdown(), 2_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

/**
 * One node's attach stream: Hello → Challenge → signed answer → Welcome, then work, answers,
 * catalog updates and heartbeats (DESIGN.md §3). A node whose key is not on the roster, or whose
 * challenge signature fails, is refused and the stream closed.
 */
function attachNode(
  coordinator: Coordinator,
  call: ServerDuplexStream<pb.AttachRequest, pb.AttachResponse>,
  ctx: HandlerContext & { heartbeatIntervalMs: number; streams: Set<unknown>; signedRoster: () => string | undefined },
): void {
  ctx.streams.add(call);
  // Work carries signed tree heads over the log: like every message, it leaves once the commits before it are on the disk.
  const out = gatedStream<pb.AttachResponse>(call, ctx.outputs);
  let hello: pb.Hello | undefined;
  let challenge: Uint8Array | undefined;
  let session: NodeSession | undefined;
  const refuse = (code: string, message: string, replacedBy?: pb.AttachProof) => {
    out.write({ message: { $case: 'refused', value: { code, message, replacedBy } } });
    out.end();
  };
  call.on('data', (request: pb.AttachRequest) => {
    const m = request.message;
    if (!m) return;
    if (!session) {
      if (m.$case === 'hello' && !hello) {
        hello = m.value;
        if (!coordinator.roster.get(hello.nodeId, 'node')) {
          // Said here too: a node that is new on a roster this coordinator has not read yet retries in a loop.
          ctx.logger.warn(
            { nodeId: hello.nodeId, code: 'NODE_NOT_ON_ROSTER', rosterVersion: coordinator.roster.version },
            'attach refused: the node is not on the roster this coordinator holds (the stewards publish one naming it with fedlab roster publish --coordinator)',
          );
          return refuse('NODE_NOT_ON_ROSTER', `node "${hello.nodeId}" is not on the roster`);
        }
        if (hello.protocolVersion < MIN_PROTOCOL_VERSION || hello.protocolVersion > PROTOCOL_VERSION) {
          // Refused before the challenge, so nothing about this coordinator's software is said; the
          // node's own software version is echoed only when it is a plain version string.
          const software = /^[0-9A-Za-z.+-]{1,32}$/.test(hello.softwareVersion) ? ` (software ${hello.softwareVersion})` : '';
          const window = MIN_PROTOCOL_VERSION === PROTOCOL_VERSION ? `${PROTOCOL_VERSION}` : `${MIN_PROTOCOL_VERSION} to ${PROTOCOL_VERSION}`;
          ctx.logger.warn({ nodeId: hello.nodeId, protocolVersion: hello.protocolVersion }, 'attach refused: incompatible protocol version');
          return refuse(
            'VERSION_INCOMPATIBLE',
            `node "${hello.nodeId}" speaks protocol version ${hello.protocolVersion}${software}; this coordinator accepts protocol version ${window}`,
          );
        }
        challenge = new Uint8Array(randomBytes(32));
        out.write({ message: { $case: 'challenge', value: { nonce: Buffer.from(challenge), coordinatorId: '' } } });
      } else if (m.$case === 'challengeAnswer' && hello && challenge) {
        const node = coordinator.roster.get(hello.nodeId, 'node')!;
        const { signature, instance, attachedAtMs } = m.value;
        if (instance.length !== 0 && instance.length !== INSTANCE_BYTES) {
          return refuse('INVALID_ARGUMENT', `the attach names the node's run with ${instance.length} bytes; expected ${INSTANCE_BYTES} (or none)`);
        }
        const signed = attachSignedBytes(challenge, hello.nodeId, instance, attachedAtMs);
        if (!verifyDetached(attachContext(instance), signed, signature, node.signPublicKey)) {
          ctx.logger.warn({ nodeId: hello.nodeId }, 'attach refused: challenge signature invalid');
          return refuse('NODE_NOT_ON_ROSTER', 'the challenge signature does not match the roster key of this node');
        }
        const now = Date.now();
        session = {
          nodeId: hello.nodeId,
          softwareVersion: hello.softwareVersion,
          protocolVersion: hello.protocolVersion,
          connectedSinceMs: now,
          lastHeartbeatMs: now,
          knownTreeSize: Number(hello.knownTreeSize),
          knownTreeRoot: new Uint8Array(hello.knownTreeRoot),
          send: (work) => out.write({ message: { $case: 'work', value: work } }),
          sendSecAgg: (step) => out.write({ message: { $case: 'secagg', value: step } }),
          sendPsi: (step) => out.write({ message: { $case: 'psi', value: step } }),
          attachProof: instance.length > 0 ? { challenge: Buffer.from(challenge), instance, attachedAtMs, signature } : undefined,
          close: (code, message, replacedBy) => refuse(code, message, replacedBy),
          sendRoster: (signedRoster, version) => out.write({ message: { $case: 'roster', value: { signedRoster, version: BigInt(version) } } }),
        };
        out.write({ message: { $case: 'welcome', value: { protocolVersion: PROTOCOL_VERSION, heartbeatIntervalMs: ctx.heartbeatIntervalMs } } });
        // A node holding an older roster gets the signed one in force, to verify against its own pinned governance.
        const signedRoster = Number(hello.rosterVersion) < coordinator.roster.version ? ctx.signedRoster() : undefined;
        if (signedRoster !== undefined) session.sendRoster(signedRoster, coordinator.roster.version);
        coordinator.attach(session);
      } else {
        refuse('INVALID_ARGUMENT', 'unexpected message before authentication');
      }
      return;
    }
    switch (m.$case) {
      case 'heartbeat':
        session.lastHeartbeatMs = Date.now();
        break;
      case 'catalog':
        coordinator.catalog(session.nodeId, m.value);
        break;
      case 'queryStarted':
        coordinator.started(session.nodeId, m.value);
        break;
      case 'answer':
        coordinator.answer(session.nodeId, m.value);
        break;
      case 'checkpoint':
        coordinator.checkpoint(session.nodeId, m.value);
        break;
      case 'psi':
        coordinator.psiReply(session.nodeId, m.value);
        break;
      case 'secagg':
        coordinator.secaggReply(session.nodeId, m.value);
        break;
      default:
        break;
    }
  });
  const finish = () => {
    ctx.streams.delete(call);
    if (session) coordinator.detach(session);
    session = undefined;
  };
  call.on('end', () => {
    finish();
    out.end();
  });
  call.on('error', finish);
  call.on('cancelled', finish);
  call.on('close', finish);
}
