import { describe, expect, it } from 'vitest';
import type { NetworkStatusView, NodeHealthView } from '@fedlab/client';
import { renderNetworkStatus } from './output';

const AT = Date.parse('2026-11-25T09:00:00.000Z');

function node(nodeId: string, overrides: Partial<NodeHealthView>): NodeHealthView {
  return {
    nodeId,
    displayName: nodeId,
    connected: true,
    healthy: true,
    softwareVersion: '0.1.0',
    protocolVersion: 1,
    connectedSinceMs: AT - 11_040_000,
    uptimeMs: 11_040_000,
    lastHeartbeatMs: AT - 400,
    heartbeatAgeMs: 400,
    queriesLastHour: { answered: 0, refused: 0 },
    queriesTotal: { answered: 0, refused: 0 },
    auditHead: null,
    datasets: [],
    rhoSpentByProject: {},
    ...overrides,
  };
}

describe('fedlab status', () => {
  it('renders one row per node: connected, version, uptime, heartbeat age, the last hour’s answers and refusals, audit head, datasets, ρ spent by project', () => {
    const status: NetworkStatusView = {
      atMs: AT,
      heartbeatIntervalMs: 1_000,
      nodes: [
        node('health', {
          queriesLastHour: { answered: 12, refused: 1 },
          queriesTotal: { answered: 40, refused: 3 },
          auditHead: { seq: 42, headHash: 'ab'.repeat(32) },
          datasets: ['health_visits', 'health_diagnoses'],
          rhoSpentByProject: { 'demo-research': 1.05, 'demo-statistics': 0.3 },
        }),
        node('justice', { healthy: false, uptimeMs: 65_000, heartbeatAgeMs: 5_200, datasets: ['justice_offences'] }),
        node('education', {
          connected: false,
          healthy: false,
          softwareVersion: null,
          protocolVersion: null,
          connectedSinceMs: null,
          uptimeMs: null,
          lastHeartbeatMs: null,
          heartbeatAgeMs: null,
        }),
      ],
    };
    expect(renderNetworkStatus(status)).toBe(
      [
        '┌───────────┬─────────────────────┬─────────┬───────────┬────────────────┬──────────────┬─────────────┬──────────────────┬─────────────────────────────────┬─────────────────────────────────────────┐',
        '│ node      │ connected           │ version │ up for    │ last heartbeat │ answered 1 h │ refused 1 h │ audit head       │ datasets                        │ ρ spent by project                      │',
        '├───────────┼─────────────────────┼─────────┼───────────┼────────────────┼──────────────┼─────────────┼──────────────────┼─────────────────────────────────┼─────────────────────────────────────────┤',
        '│ health    │ yes                 │ 0.1.0   │ 3 h 4 min │ 0.4 s ago      │ 12           │ 1           │ #42 abababababab │ health_visits, health_diagnoses │ demo-research 1.05, demo-statistics 0.3 │',
        '├───────────┼─────────────────────┼─────────┼───────────┼────────────────┼──────────────┼─────────────┼──────────────────┼─────────────────────────────────┼─────────────────────────────────────────┤',
        '│ justice   │ yes, heartbeat late │ 0.1.0   │ 1 min 5 s │ 5.2 s ago      │ 0            │ 0           │ —                │ justice_offences                │ —                                       │',
        '├───────────┼─────────────────────┼─────────┼───────────┼────────────────┼──────────────┼─────────────┼──────────────────┼─────────────────────────────────┼─────────────────────────────────────────┤',
        '│ education │ no                  │ —       │ —         │ —              │ 0            │ 0           │ —                │ —                               │ —                                       │',
        '└───────────┴─────────────────────┴─────────┴───────────┴────────────────┴──────────────┴─────────────┴──────────────────┴─────────────────────────────────┴─────────────────────────────────────────┘',
        '1 of 3 nodes healthy (heartbeat within 1.0 s) · coordinator time 2026-11-25T09:00:00.000Z',
      ].join('\n'),
    );
  });
});
