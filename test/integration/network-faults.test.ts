import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Server, ServerCredentials, credentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { afterEach, describe, expect } from 'vitest';
import { FedlabError, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, type Analysis, type QuerySpec } from '@fedlab/model';
import { generateIdentity, signDetached } from '@fedlab/crypto';
import { type Identity } from '@fedlab/governance';
import * as pb from '@fedlab/proto';
import { NodeAgent, NodeConnection } from '@fedlab/node-service';
import { openNodeStore } from '@fedlab/store';
import { attachContext, attachSignedBytes, newNodeInstance, signAttach } from '@fedlab/wire';
import { CLINIC_SCHEMA, clinicCsv, policyYaml, startTestNetwork, type TestNetwork, testQuerySpec } from '@fedlab/testing';
import { it, waitUntil } from '@fedlab/test-kit';

const countAll: Analysis = { kind: 'count', dataset: 'clinic_visits', groupBy: [] };
const clinicNode = (id = 'clinic') => ({
  id,
  datasets: [{ schema: CLINIC_SCHEMA, csv: clinicCsv() }],
  policy: policyYaml({ datasets: { clinic_visits: ['research'] } }),
});

function spec(overrides: Partial<QuerySpec> = {}): QuerySpec {
  return testQuerySpec({ analysis: countAll, ...overrides });
}

/** Attaches to the coordinator as `identity` over a raw stream and resolves with the first refusal or welcome. */
function rawAttach(address: string, identity: Identity, hello: { protocolVersion?: number; softwareVersion?: string } = {}, instance?: Buffer) {
  const client = new pb.NodeGatewayClient(address, credentials.createInsecure());
  const call = client.attach();
  const work: pb.QueryWork[] = [];
  const outcome = new Promise<{ kind: 'welcome' } | { kind: 'refused'; code: string; message: string }>((resolve) => {
    call.on('data', (r: pb.AttachResponse) => {
      const m = r.message;
      if (m?.$case === 'challenge') {
        // Without `instance`, signed as a node of an earlier release does (no run named), which the coordinator still accepts.
        const signed = attachSignedBytes(m.value.nonce, identity.id, instance, 1n);
        const signature = signDetached(attachContext(instance), signed, identity.signSecretKey);
        call.write({
          message: { $case: 'challengeAnswer', value: { signature: Buffer.from(signature), instance: instance ?? Buffer.alloc(0), attachedAtMs: 1n } },
        });
      } else if (m?.$case === 'welcome') resolve({ kind: 'welcome' });
      else if (m?.$case === 'refused') resolve({ kind: 'refused', code: m.value.code, message: m.value.message });
      else if (m?.$case === 'work') work.push(m.value);
    });
    call.on('error', () => {});
  });
  call.write({
    message: {
      $case: 'hello',
      value: {
        nodeId: identity.id,
        protocolVersion: hello.protocolVersion ?? PROTOCOL_VERSION,
        softwareVersion: hello.softwareVersion ?? 'test',
        knownTreeSize: 0n,
        knownTreeRoot: Buffer.alloc(0),
        rosterVersion: 0n,
      },
    },
  });
  return {
    outcome,
    work,
    close: () => {
      call.cancel();
      client.close();
    },
  };
}

describe('network faults', () => {
  let net: TestNetwork | undefined;
  afterEach(async () => {
    await net?.stop();
    net = undefined;
  });

  it('refuses a node whose id is on the roster but whose key is not', async ({ tempDir }) => {
    net = await startTestNetwork({ dir: tempDir, nodes: [clinicNode()], researchers: ['alice'], connect: false });
    const impostor = rawAttach(net.address, generateIdentity('clinic', 'node'));
    expect(await impostor.outcome).toEqual({
      kind: 'refused',
      code: 'NODE_NOT_ON_ROSTER',
      message: 'the challenge signature does not match the roster key of this node',
    });
    impostor.close();
    const stranger = rawAttach(net.address, generateIdentity('ghost', 'node'));
    expect(await stranger.outcome).toEqual({ kind: 'refused', code: 'NODE_NOT_ON_ROSTER', message: 'node "ghost" is not on the roster' });
    stranger.close();
    expect((await net.client(net.researchers.alice!).nodes()).map((n) => [n.nodeId, n.connected])).toEqual([['clinic', false]]);
  });

  it('refuses a node whose protocol version is outside the compatibility window, naming both versions', async ({ tempDir }) => {
    net = await startTestNetwork({ dir: tempDir, nodes: [clinicNode()], researchers: ['alice'], connect: false });
    const clinic = net.nodes.clinic!.identity;
    const old = rawAttach(net.address, clinic, { protocolVersion: MIN_PROTOCOL_VERSION - 1, softwareVersion: '0.0.9' });
    expect(await old.outcome).toEqual({
      kind: 'refused',
      code: 'VERSION_INCOMPATIBLE',
      message: `node "clinic" speaks protocol version ${MIN_PROTOCOL_VERSION - 1} (software 0.0.9); this coordinator accepts protocol version ${PROTOCOL_VERSION}`,
    });
    old.close();
    const newer = rawAttach(net.address, clinic, { protocolVersion: PROTOCOL_VERSION + 1, softwareVersion: 'x"; injected' });
    expect(await newer.outcome).toEqual({
      kind: 'refused',
      code: 'VERSION_INCOMPATIBLE',
      message: `node "clinic" speaks protocol version ${PROTOCOL_VERSION + 1}; this coordinator accepts protocol version ${PROTOCOL_VERSION}`,
    });
    newer.close();
    const current = rawAttach(net.address, clinic);
    expect(await current.outcome).toEqual({ kind: 'welcome' });
    current.close();
  });

  it('lets a NodeConnection with a foreign key report the refusal', async ({ tempDir }) => {
    net = await startTestNetwork({ dir: tempDir, nodes: [clinicNode()], researchers: ['alice'], connect: false });
    const impostor = generateIdentity('clinic', 'node');
    const store = openNodeStore(path.join(net.dir, 'impostor.db'));
    const connection = new NodeConnection({
      coordinatorAddress: net.address,
      agent: new NodeAgent({ identity: impostor, roster: net.roster, store, policy: () => null }),
      catalog: () => ({ nodeId: 'clinic', datasets: [] }),
      signSecretKey: impostor.signSecretKey,
      initialBackoffMs: 1_000,
    });
    const refused = new Promise<[string, string]>((resolve) => connection.once('refused', (code: string, message: string) => resolve([code, message])));
    connection.start();
    expect(await refused).toEqual(['NODE_NOT_ON_ROSTER', 'the challenge signature does not match the roster key of this node']);
    connection.stop();
    store.close();
  });

  it('closes a replaced stream with NODE_REPLACED: the older connection stops, detached, instead of staying attached', async ({ tempDir }) => {
    net = await startTestNetwork({ dir: tempDir, nodes: [clinicNode()], researchers: ['alice'] });
    const first = net.nodes.clinic!.connection;
    expect(first.attached).toBe(true);
    const replaced = new Promise<string>((resolve) => first.once('replaced', resolve));
    const detached = new Promise<void>((resolve) => first.once('detached', () => resolve()));
    // The same node's key in a second connection (a copy of the node started elsewhere).
    const second = new NodeConnection({
      coordinatorAddress: net.address,
      agent: net.nodes.clinic!.agent,
      catalog: () => ({ nodeId: 'clinic', datasets: [] }),
      signSecretKey: net.nodes.clinic!.identity.signSecretKey,
    });
    const attached = new Promise<void>((resolve) => second.once('attached', () => resolve()));
    second.start();
    await attached;
    expect(await replaced).toBe('a new connection of node "clinic" replaced this one; this connection is closed');
    await detached;
    expect(first.attached).toBe(false);
    // The coordinator serves the new connection: a query is answered through it.
    const client = net.client(net.researchers.alice!);
    const result = await client.watch((await client.submitEnvelope(await client.sign(spec()))).queryId);
    expect(result.nodes.map((n) => [n.nodeId, n.state])).toEqual([['clinic', 'done']]);
    second.stop();
  });

  it("a coordinator cannot stop a node with NODE_REPLACED: only another run's signed, later attach does, after it reconnected through three false ones", async ({
    tempDir,
  }) => {
    net = await startTestNetwork({ dir: tempDir, nodes: [clinicNode()], researchers: ['alice'] });
    const node = net.nodes.clinic!;
    const stranger = generateIdentity('clinic', 'node');
    // A lying coordinator: every attach is welcomed, then closed as replaced with the proof of the attach's turn.
    const answers: pb.ChallengeAnswer[] = [];
    const proofs: Array<(own: pb.AttachProof) => pb.AttachProof | undefined> = [
      () => undefined,
      (own) => own,
      (own) => signAttach(own.challenge, 'clinic', newNodeInstance(), own.attachedAtMs + 1n, stranger.signSecretKey),
      (own) => signAttach(own.challenge, 'clinic', newNodeInstance(), own.attachedAtMs + 1n, node.identity.signSecretKey),
    ];
    const server = new Server();
    server.addService(pb.NodeGatewayService, {
      attach: (call: ServerDuplexStream<pb.AttachRequest, pb.AttachResponse>) => {
        const challenge = randomBytes(32);
        call.on('data', (request: pb.AttachRequest) => {
          const m = request.message;
          if (m?.$case === 'hello') call.write({ message: { $case: 'challenge', value: { nonce: challenge, coordinatorId: '' } } });
          if (m?.$case !== 'challengeAnswer') return;
          answers.push(m.value);
          const own = { challenge, instance: m.value.instance, attachedAtMs: m.value.attachedAtMs, signature: m.value.signature };
          const replacedBy = proofs[Math.min(answers.length, proofs.length) - 1](own);
          call.write({ message: { $case: 'welcome', value: { protocolVersion: PROTOCOL_VERSION, heartbeatIntervalMs: 60_000 } } });
          call.write({ message: { $case: 'refused', value: { code: 'NODE_REPLACED', message: 'replaced', replacedBy } } });
          call.end();
        });
        call.on('error', () => {});
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    const connection = new NodeConnection({
      coordinatorAddress: `127.0.0.1:${port}`,
      agent: node.agent,
      catalog: () => ({ nodeId: 'clinic', datasets: [] }),
      signSecretKey: node.identity.signSecretKey,
      initialBackoffMs: 10,
      maxBackoffMs: 50,
    });
    const replaced = new Promise<number>((resolve) => connection.once('replaced', () => resolve(answers.length)));
    try {
      connection.start();
      // Stopped at the fourth attach, the first whose proof holds; every attach named the same run, later each time.
      expect(await replaced).toBe(4);
      expect(new Set(answers.map((a) => Buffer.from(a.instance).toString('hex'))).size).toBe(1);
      expect(answers.every((a, i) => a.instance.length === 16 && (i === 0 || a.attachedAtMs > answers[i - 1].attachedAtMs))).toBe(true);
    } finally {
      connection.stop();
      server.forceShutdown();
    }
  });

  it('refuses an attach that names its run with other than 16 bytes', async ({ tempDir }) => {
    net = await startTestNetwork({ dir: tempDir, nodes: [clinicNode()], researchers: ['alice'], connect: false });
    const attach = rawAttach(net.address, net.nodes.clinic!.identity, {}, Buffer.alloc(8, 1));
    expect(await attach.outcome).toEqual({
      kind: 'refused',
      code: 'INVALID_ARGUMENT',
      message: "the attach names the node's run with 8 bytes; expected 16 (or none)",
    });
    attach.close();
  });

  it('announces a dataset imported while the node runs, without a restart', async ({ tempDir }) => {
    net = await startTestNetwork({ dir: tempDir, nodes: [clinicNode()], researchers: ['alice'] });
    const client = net.client(net.researchers.alice!);
    const datasets = async () => (await client.catalog()).find((c) => c.nodeId === 'clinic')?.datasets.map((d) => d.dataset);
    expect(await datasets()).toEqual(['clinic_visits']);
    const csvPath = path.join(tempDir, 'clinic-2025.csv');
    writeFileSync(csvPath, clinicCsv());
    // The steward's import goes through its own connection to the node database, as `fedlab node import` does.
    const steward = openNodeStore(path.join(tempDir, 'clinic.db'));
    await steward.datasets.import({ csvPath, schema: { ...CLINIC_SCHEMA, dataset: 'clinic_visits_2025' } });
    steward.close();
    await waitUntil('the new dataset in the catalog', async () => (await datasets())?.length === 2);
    expect(await datasets()).toEqual(['clinic_visits', 'clinic_visits_2025']);
  });

  it('refuses an over-size message with MESSAGE_TOO_LARGE and stores nothing', async ({ tempDir }) => {
    net = await startTestNetwork({ dir: tempDir, nodes: [clinicNode()], researchers: ['alice'], maxMessageBytes: 64 * 1024 });
    const alice = net.client(net.researchers.alice!);
    const huge = Array.from({ length: 900 }, (_, i) => `${'x'.repeat(200)}${i}`);
    const envelope = await alice.sign(spec({ analysis: { ...countAll, filter: { kind: 'cmp', column: 'diagnosis', op: 'in', values: huge } } }));
    const error = await alice.submitEnvelope(envelope).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FedlabError);
    expect((error as FedlabError).code).toBe('MESSAGE_TOO_LARGE');
    expect(net.store.db.prepare('SELECT COUNT(*) AS n FROM queries').get()).toEqual({ n: 0 });
  });

  it('reports NODE_DISCONNECTED for a node that drops mid-query while the other node still answers', async ({ tempDir }) => {
    net = await startTestNetwork({ dir: tempDir, nodes: [clinicNode(), clinicNode('flaky')], researchers: ['alice'], connect: false });
    await net.connectNode('clinic');
    // "flaky" is a real protocol peer with the roster key that accepts work and then drops its stream.
    const flaky = rawAttach(net.address, net.nodes.flaky!.identity);
    expect((await flaky.outcome).kind).toBe('welcome');
    const alice = net.client(net.researchers.alice!);
    const { queryId } = await alice.submitEnvelope(await alice.sign(spec({ targetNodes: ['clinic', 'flaky'] })));
    await waitUntil('the work item at the flaky node', () => flaky.work.length === 1);
    flaky.close();
    const final = await alice.watch(queryId);
    expect(final.state).toBe('finished');
    expect(final.nodes).toEqual([
      { nodeId: 'clinic', state: 'done', code: '', message: '' },
      { nodeId: 'flaky', state: 'failed', code: 'NODE_DISCONNECTED', message: 'the node disconnected before answering' },
    ]);
    const result = await alice.result(queryId);
    expect(result.answers.map((a) => [a.nodeId, a.table?.cells[0]?.stats?.count])).toEqual([['clinic', 406]]);
  });

  it('marks a node that never connects as unreachable at the deadline', async ({ tempDir }) => {
    net = await startTestNetwork({ dir: tempDir, nodes: [clinicNode()], researchers: ['alice'], connect: false, nodeDeadlineMs: 300 });
    const alice = net.client(net.researchers.alice!);
    const { queryId } = await alice.submitEnvelope(await alice.sign(spec()));
    const final = await alice.watch(queryId);
    expect(final.nodes).toEqual([
      { nodeId: 'clinic', state: 'unreachable', code: 'NODE_UNREACHABLE', message: 'the node was not connected before the deadline' },
    ]);
  });

  it('resumes an in-flight query after a coordinator restart and answers it once the node attaches', async ({ tempDir }) => {
    net = await startTestNetwork({ dir: tempDir, nodes: [clinicNode()], researchers: ['alice'], connect: false });
    const alice = net.client(net.researchers.alice!);
    const { queryId } = await alice.submitEnvelope(await alice.sign(spec()));
    await net.restartCoordinator();
    await net.connectNode('clinic');
    const final = await alice.watch(queryId);
    expect(final.nodes.map((n) => [n.nodeId, n.state])).toEqual([['clinic', 'done']]);
    expect((await alice.result(queryId)).answers[0]!.table!.cells[0]!.stats!.count).toBe(406);
  });

  it('tells a researcher watching a running query that the coordinator shut down, instead of a final status', async ({ tempDir }) => {
    net = await startTestNetwork({ dir: tempDir, nodes: [clinicNode()], researchers: ['alice'], connect: false });
    const alice = net.client(net.researchers.alice!);
    const { queryId } = await alice.submitEnvelope(await alice.sign(spec()));
    const watching = alice.watch(queryId).then(
      () => null,
      (error: unknown) => error,
    );
    await waitUntil('the query to run', async () => (await alice.status(queryId)).state === 'running');
    await net.restartCoordinator();
    expect(await watching).toEqual(new FedlabError('COORDINATOR_RESTARTED', 'the coordinator is shutting down; in-flight queries resume when it is back'));
    // Watching again after the restart follows the resumed query to its answer.
    await net.connectNode('clinic');
    expect((await alice.watch(queryId)).nodes.map((n) => n.state)).toEqual(['done']);
  });

  it('fails an in-flight query with COORDINATOR_RESTARTED when its deadline passed during the restart', async ({ tempDir }) => {
    net = await startTestNetwork({ dir: tempDir, nodes: [clinicNode()], researchers: ['alice'], connect: false, nodeDeadlineMs: 200 });
    const alice = net.client(net.researchers.alice!);
    const { queryId } = await alice.submitEnvelope(await alice.sign(spec()));
    // Stop the deadline timer as a crash would, and restart only after the deadline has passed.
    net.coordinator.close();
    await new Promise((r) => setTimeout(r, 250));
    await net.restartCoordinator();
    const status = await alice.status(queryId);
    expect(status.state).toBe('finished');
    expect(status.nodes[0]!.code).toBe('COORDINATOR_RESTARTED');
    expect(status.nodes[0]!.state).toBe('failed');
  });

  it('answers a re-delivered query from the answer cache instead of re-executing it', async ({ tempDir }) => {
    net = await startTestNetwork({ dir: tempDir, nodes: [clinicNode()], researchers: ['alice'] });
    const alice = net.client(net.researchers.alice!);
    const { queryId } = await alice.submitEnvelope(await alice.sign(spec()));
    await alice.watch(queryId);
    const again = await net.nodes.clinic!.agent.handle(net.coordinator.workFor(queryId, net.nodes.clinic!.agent.knownTreeSize()));
    const stored = (net.store.db.prepare('SELECT answer FROM query_nodes WHERE query_id = ?').get(queryId) as { answer: Buffer }).answer;
    expect(Buffer.from(pb.SignedEnvelope.encode(again).finish()).equals(stored)).toBe(true);
    const audit = net.nodes.clinic!.store.audit;
    expect(
      audit
        .entries(1)
        .filter((e) => e.queryId === queryId)
        .map((e) => e.decision),
    ).toEqual(['answered', 'redelivered']);
  });
});

describe('watching queries', () => {
  it('refuses to watch unknown query ids, including event-emitter names, and keeps serving other watchers', async ({ tempDir }) => {
    const net = await startTestNetwork({ dir: tempDir, nodes: [clinicNode()], researchers: ['alice'] });
    try {
      const alice = net.client(net.researchers.alice!);
      for (const id of ['removeListener', 'newListener', 'q-missing-123']) {
        const error = await alice.watch(id).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(FedlabError);
        expect((error as FedlabError).code).toBe('NOT_FOUND');
        expect((error as FedlabError).message).toBe(`query ${id} not found`);
      }
      const { queryId } = await alice.submitEnvelope(await alice.sign(spec()));
      expect((await alice.watch(queryId)).state).toBe('finished');
      const second = await alice.submitEnvelope(await alice.sign(spec()));
      expect((await alice.watch(second.queryId)).nodes.map((n) => n.state)).toEqual(['done']);
    } finally {
      await net.stop();
    }
  });
});

describe('reconnecting', () => {
  it('reattaches a node by itself after a coordinator restart and answers the next query', async ({ tempDir }) => {
    const net = await startTestNetwork({ dir: tempDir, nodes: [clinicNode()], researchers: ['alice'] });
    try {
      const detached = new Promise<void>((resolve) => net.nodes.clinic!.connection.once('detached', () => resolve()));
      const reattached = new Promise<void>((resolve) => net.nodes.clinic!.connection.once('attached', () => resolve()));
      await net.restartCoordinator();
      await detached;
      await reattached;
      const alice = net.client(net.researchers.alice!);
      const { queryId } = await alice.submitEnvelope(await alice.sign(spec()));
      expect((await alice.watch(queryId)).nodes.map((n) => [n.nodeId, n.state])).toEqual([['clinic', 'done']]);
      const infos = await alice.nodes();
      expect(infos.map((n) => [n.nodeId, n.connected, n.softwareVersion])).toEqual([['clinic', true, '0.1.0']]);
    } finally {
      await net.stop();
    }
  });
});
