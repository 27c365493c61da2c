import { randomBytes } from 'node:crypto';
import type { Analysis } from '@fedlab/model';
import { generateIdentity, initCrypto, parseRoster } from '@fedlab/crypto';
import { publicIdentityJson, type Identity } from '@fedlab/governance';
import * as pb from '@fedlab/proto';
import { encodeQuerySpec, sealEnvelope } from '@fedlab/wire';
import { test } from '@fedlab/test-kit';
import { Coordinator, queryHash, type NodeSession } from './coordinator';
import type { CoordinatorStore } from '@fedlab/store';

/**
 * Tests only: a coordinator over a real SQLite store (the test kit's `coordinatorStore`, in the test's
 * temporary folder), with roster nodes "health" and "justice", researcher "alice", a clock the test
 * moves, and a 1 s heartbeat interval. No network: the test plays the nodes by calling the coordinator
 * as the gRPC glue would.
 */
export interface FakeNetwork {
  coordinator: Coordinator;
  store: CoordinatorStore;
  nodes: Record<'health' | 'justice', Identity>;
  clock: { nowMs: number };
  /** Signs and submits a query from alice at the current clock; returns its id. */
  submit(targetNodes: string[], analysis?: Analysis): string;
  /** A node's signed answer: a (empty) table, or a refusal with a code and message. */
  answer(nodeId: 'health' | 'justice', queryId: string, refusal?: { code: string; message: string }): void;
  /** Attaches a node session whose last heartbeat is `lastHeartbeatMs`. */
  attach(nodeId: 'health' | 'justice', lastHeartbeatMs?: number): NodeSession;
  /** A signed audit checkpoint from a node. */
  checkpoint(nodeId: 'health' | 'justice', seq: number, headHash: Uint8Array): void;
}

export const T0 = Date.parse('2026-11-25T09:00:00.000Z');

export const coordinatorTest = test.extend<{ network: FakeNetwork }>({
  network: async ({ coordinatorStore: store }, use) => {
    await initCrypto();
    const coordinatorIdentity = generateIdentity('coordinator', 'coordinator');
    const alice = generateIdentity('alice', 'researcher');
    const nodes = { health: generateIdentity('health', 'node', 'Ministry of Health'), justice: generateIdentity('justice', 'node', 'Ministry of Justice') };
    const roster = parseRoster({ version: 1, participants: [coordinatorIdentity, alice, nodes.health, nodes.justice].map(publicIdentityJson) }, 'test roster');
    const clock = { nowMs: T0 };
    const coordinator = new Coordinator({ identity: coordinatorIdentity, roster, store, heartbeatIntervalMs: 1_000, now: () => clock.nowMs });
    const payloads = new Map<string, Uint8Array>();
    const network: FakeNetwork = {
      coordinator,
      store,
      nodes,
      clock,
      submit(targetNodes, analysis = { kind: 'count', dataset: 'visits', groupBy: [] }) {
        const queryId = `q-${randomBytes(6).toString('hex')}`;
        const envelope = sealEnvelope(
          'query',
          encodeQuerySpec({
            queryId,
            projectId: 'p',
            purpose: 'research',
            researcherId: 'alice',
            targetNodes,
            analysis,
            pooled: false,
            issuedAtMs: clock.nowMs,
            expiresAtMs: clock.nowMs + 86_400_000,
            nonce: new Uint8Array(randomBytes(24)),
          }),
          alice,
        );
        payloads.set(queryId, envelope.payload);
        return coordinator.submit(envelope).queryId;
      },
      answer(nodeId, queryId, refusal) {
        const payload = pb.NodeAnswer.encode({
          queryId,
          queryHash: Buffer.from(queryHash(payloads.get(queryId)!)),
          nodeId,
          producedAtMs: BigInt(clock.nowMs),
          outcome: refusal ? { $case: 'refusal', value: refusal } : { $case: 'table', value: pb.ResultTable.create() },
          budget: undefined,
        }).finish();
        coordinator.answer(nodeId, { queryId, answer: sealEnvelope('result', payload, nodes[nodeId]) });
      },
      attach(nodeId, lastHeartbeatMs = clock.nowMs) {
        const session: NodeSession = {
          nodeId,
          softwareVersion: '0.1.0',
          protocolVersion: 1,
          connectedSinceMs: clock.nowMs,
          lastHeartbeatMs,
          knownTreeSize: 0,
          send: () => {},
          sendSecAgg: () => {},
          sendPsi: () => {},
          close: () => {},
          sendRoster: () => {},
        };
        coordinator.attach(session);
        return session;
      },
      checkpoint(nodeId, seq, headHash) {
        const payload = pb.AuditCheckpoint.encode({ nodeId, seq: BigInt(seq), headHash: Buffer.from(headHash), timeMs: BigInt(clock.nowMs) }).finish();
        coordinator.checkpoint(nodeId, sealEnvelope('checkpoint', payload, nodes[nodeId]));
      },
    };
    await use(network);
    coordinator.close();
  },
});
