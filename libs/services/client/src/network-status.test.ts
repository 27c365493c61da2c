import { describe, expect, it } from 'vitest';
import { networkStatusView } from './network-status';

const info = (nodeId: string, connected: boolean) => ({
  nodeId,
  displayName: `Ministry ${nodeId}`,
  connected,
  softwareVersion: connected ? '0.1.0' : '',
  protocolVersion: connected ? 1 : 0,
  lastHeartbeatMs: connected ? 9_700n : 0n,
  connectedSinceMs: connected ? 4_000n : 0n,
  queriesAnswered: 5n,
  queriesRefused: 2n,
  queriesAnsweredLastHour: 3n,
  queriesRefusedLastHour: 1n,
  auditSeq: connected ? 9n : 0n,
  auditHeadHash: connected ? Buffer.alloc(32, 0x0f) : Buffer.alloc(0),
  datasets: ['visits'],
  healthy: connected,
  budgets: [
    { projectId: 'p1', nodeId, dataset: 'visits', total: 2, spent: 0.5, remaining: 1.5 },
    { projectId: 'p1', nodeId, dataset: 'stays', total: 1, spent: 0.25, remaining: 0.75 },
    { projectId: 'p2', nodeId, dataset: 'visits', total: 1, spent: 1, remaining: 0 },
  ],
});

describe('networkStatusView', () => {
  it('gives ages and uptimes on the coordinator’s clock, the audit hash in hex, and nulls for a disconnected node', () => {
    expect(networkStatusView({ nowMs: 10_000n, heartbeatIntervalMs: 1_000, nodes: [info('a', true), info('b', false)] })).toEqual({
      atMs: 10_000,
      heartbeatIntervalMs: 1_000,
      nodes: [
        {
          nodeId: 'a',
          displayName: 'Ministry a',
          connected: true,
          healthy: true,
          softwareVersion: '0.1.0',
          protocolVersion: 1,
          connectedSinceMs: 4_000,
          uptimeMs: 6_000,
          lastHeartbeatMs: 9_700,
          heartbeatAgeMs: 300,
          queriesLastHour: { answered: 3, refused: 1 },
          queriesTotal: { answered: 5, refused: 2 },
          auditHead: { seq: 9, headHash: '0f'.repeat(32) },
          datasets: ['visits'],
          rhoSpentByProject: { p1: 0.75, p2: 1 },
        },
        {
          nodeId: 'b',
          displayName: 'Ministry b',
          connected: false,
          healthy: false,
          softwareVersion: null,
          protocolVersion: null,
          connectedSinceMs: null,
          uptimeMs: null,
          lastHeartbeatMs: null,
          heartbeatAgeMs: null,
          queriesLastHour: { answered: 3, refused: 1 },
          queriesTotal: { answered: 5, refused: 2 },
          auditHead: null,
          datasets: ['visits'],
          rhoSpentByProject: { p1: 0.75, p2: 1 },
        },
      ],
    });
  });
});
