import type * as pb from '@fedlab/proto';

/** One node as `fedlab status` shows it; times in ms since the epoch on the coordinator's clock. */
export interface NodeHealthView {
  nodeId: string;
  displayName: string;
  connected: boolean;
  /** Connected, with a heartbeat within the heartbeat interval (nodes send three per interval). */
  healthy: boolean;
  /** Null while disconnected. */
  softwareVersion: string | null;
  protocolVersion: number | null;
  connectedSinceMs: number | null;
  /** Time since the node attached. */
  uptimeMs: number | null;
  lastHeartbeatMs: number | null;
  heartbeatAgeMs: number | null;
  /** Queries answered and refused in the last hour, by the time the answer was recorded. */
  queriesLastHour: { answered: number; refused: number };
  queriesTotal: { answered: number; refused: number };
  /** The node's last audit checkpoint logged since the coordinator started (null before its first). */
  auditHead: { seq: number; headHash: string } | null;
  datasets: string[];
  /** Privacy budget (ρ) spent per project at this node, summed over its datasets, from the node's signed answers. */
  rhoSpentByProject: Record<string, number>;
}

/** The coordinator's view of every roster node (AdminService.ListNodes). */
export interface NetworkStatusView {
  /** The coordinator's clock when it answered. */
  atMs: number;
  heartbeatIntervalMs: number;
  nodes: NodeHealthView[];
}

/** Turns a ListNodes answer into plain numbers, hex hashes and ages relative to the coordinator's clock. */
export function networkStatusView(r: pb.ListNodesResponse): NetworkStatusView {
  const atMs = Number(r.nowMs);
  return {
    atMs,
    heartbeatIntervalMs: r.heartbeatIntervalMs,
    nodes: r.nodes.map((n) => {
      const since = n.connected ? Number(n.connectedSinceMs) : null;
      const heartbeat = n.connected ? Number(n.lastHeartbeatMs) : null;
      return {
        nodeId: n.nodeId,
        displayName: n.displayName,
        connected: n.connected,
        healthy: n.healthy,
        softwareVersion: n.connected ? n.softwareVersion : null,
        protocolVersion: n.connected ? n.protocolVersion : null,
        connectedSinceMs: since,
        uptimeMs: since === null ? null : Math.max(0, atMs - since),
        lastHeartbeatMs: heartbeat,
        heartbeatAgeMs: heartbeat === null ? null : Math.max(0, atMs - heartbeat),
        queriesLastHour: { answered: Number(n.queriesAnsweredLastHour), refused: Number(n.queriesRefusedLastHour) },
        queriesTotal: { answered: Number(n.queriesAnswered), refused: Number(n.queriesRefused) },
        auditHead: n.auditHeadHash.length > 0 ? { seq: Number(n.auditSeq), headHash: Buffer.from(n.auditHeadHash).toString('hex') } : null,
        datasets: n.datasets,
        rhoSpentByProject: n.budgets.reduce<Record<string, number>>((sum, b) => ({ ...sum, [b.projectId]: (sum[b.projectId] ?? 0) + b.spent }), {}),
      };
    }),
  };
}
