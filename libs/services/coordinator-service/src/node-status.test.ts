import { describe, expect } from 'vitest';
import { coordinatorTest as test, T0 } from './coordinator-test-fixture';

const MINUTE = 60_000;
const infoOf = (network: { coordinator: { nodeInfos(): Array<{ nodeId: string }> } }, nodeId: string) =>
  network.coordinator.nodeInfos().find((n) => n.nodeId === nodeId)!;

describe('the coordinator’s view of its nodes (AdminService.ListNodes)', () => {
  test('counts each node’s answers and refusals of the last hour, and all of them in total', ({ network }) => {
    const early = network.submit(['health', 'justice']);
    network.answer('health', early);
    network.clock.nowMs = T0 + 5 * MINUTE;
    network.answer('justice', early, { code: 'PURPOSE_NOT_PERMITTED', message: 'no' });
    network.clock.nowMs = T0 + 50 * MINUTE;
    const late = network.submit(['health', 'justice']);
    network.answer('health', late);
    network.answer('justice', late, { code: 'THRESHOLD_NOT_MET', message: 'no' });
    network.clock.nowMs = T0 + 62 * MINUTE;

    const nodes = network.coordinator.listNodes().nodes;
    expect(nodes.map((n) => [n.nodeId, n.queriesAnsweredLastHour, n.queriesRefusedLastHour, n.queriesAnswered, n.queriesRefused])).toEqual([
      ['health', 1n, 0n, 2n, 0n],
      ['justice', 0n, 2n, 0n, 2n],
    ]);
  });

  test('counts an answer recorded exactly an hour ago, and not one a millisecond older', ({ network }) => {
    network.answer('health', network.submit(['health']));
    network.clock.nowMs = T0 + 60 * MINUTE;
    expect(infoOf(network, 'health')).toMatchObject({ queriesAnsweredLastHour: 1n, queriesAnswered: 1n });
    network.clock.nowMs += 1;
    expect(infoOf(network, 'health')).toMatchObject({ queriesAnsweredLastHour: 0n, queriesAnswered: 1n });
  });

  test('does not count queries still pending or that failed at a node', ({ network }) => {
    network.submit(['health']);
    const q = network.submit(['justice']);
    const justice = network.attach('justice');
    network.coordinator.started('justice', q);
    network.coordinator.detach(justice);
    expect(network.store.queries.nodes(q)[0]).toMatchObject({ state: 'failed', code: 'NODE_DISCONNECTED' });
    expect(network.coordinator.nodeInfos().map((n) => [n.nodeId, n.queriesAnsweredLastHour, n.queriesRefusedLastHour])).toEqual([
      ['health', 0n, 0n],
      ['justice', 0n, 0n],
    ]);
  });

  test('calls a node healthy while its last heartbeat is within the heartbeat interval (1 s here)', ({ network }) => {
    network.attach('health', T0);
    network.clock.nowMs = T0 + 1_000;
    expect(infoOf(network, 'health')).toMatchObject({
      connected: true,
      healthy: true,
      lastHeartbeatMs: BigInt(T0),
      connectedSinceMs: BigInt(T0),
      softwareVersion: '0.1.0',
    });
    network.clock.nowMs = T0 + 1_001;
    expect(infoOf(network, 'health')).toMatchObject({ connected: true, healthy: false });
  });

  test('calls a detached node disconnected and unhealthy, with no version or heartbeat', ({ network }) => {
    network.coordinator.detach(network.attach('justice'));
    expect(infoOf(network, 'justice')).toMatchObject({ connected: false, healthy: false, softwareVersion: '', lastHeartbeatMs: 0n, connectedSinceMs: 0n });
  });

  test('reports the audit head of the last checkpoint logged, ignoring an older one sent later', ({ network }) => {
    const head = new Uint8Array(32).fill(0xab);
    network.checkpoint('health', 7, head);
    network.checkpoint('health', 5, new Uint8Array(32).fill(0x01));
    expect(infoOf(network, 'health')).toMatchObject({ auditSeq: 7n, auditHeadHash: Buffer.from(head) });
    expect(infoOf(network, 'justice')).toMatchObject({ auditSeq: 0n, auditHeadHash: Buffer.alloc(0) });
  });

  test('lists the datasets of each node’s last catalog', ({ network }) => {
    const dataset = (name: string) => ({ dataset: name, description: '', approxRows: 100n, maxRecordsPerPerson: 1, columns: [] });
    network.coordinator.catalog('health', { nodeId: 'health', datasets: [dataset('health_visits')] });
    network.coordinator.catalog('health', { nodeId: 'health', datasets: [dataset('health_visits'), dataset('health_diagnoses')] });
    expect(network.coordinator.nodeInfos().map((n) => [n.nodeId, n.datasets])).toEqual([
      ['health', ['health_visits', 'health_diagnoses']],
      ['justice', []],
    ]);
  });

  test('answers with its own clock and the heartbeat interval it asks nodes for', ({ network }) => {
    network.clock.nowMs = T0 + 1234;
    const r = network.coordinator.listNodes();
    expect([r.nowMs, r.heartbeatIntervalMs, r.nodes.map((n) => n.displayName)]).toEqual([
      BigInt(T0 + 1234),
      1_000,
      ['Ministry of Health', 'Ministry of Justice'],
    ]);
  });
});
