import { copyFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect } from 'vitest';
import { parseQueryDocument } from '@fedlab/query';
import { createLocalNetwork, startLocalNetwork, type LocalNetwork } from '@fedlab/devnet';
import type { FedlabClient, QueryStatusView } from '@fedlab/client';
import { backupCoordinator } from '@fedlab/coordinator-service';
import type { FedlabError } from '@fedlab/model';
import { it, test } from '@fedlab/test-kit';

let root: string;
let network: LocalNetwork;
let client: FedlabClient;

/** Opens a database file read-only next to its running owner and runs SQLite's integrity check. */
function integrity(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

test.beforeAll(async ({ fileTempDir }) => {
  root = fileTempDir;
  network = await createLocalNetwork({ dir: path.join(root, 'net'), nodes: ['health', 'justice'], persons: 5_000, seed: 3, logLevel: 'info' });
  await startLocalNetwork(network);
  client = await network.client('alice');
}, 180_000);

afterAll(async () => {
  client?.close();
  await network?.stop();
});

describe('the coordinator killed with SIGKILL while queries are in flight', () => {
  it('resumes or fails every query with a reason after a restart, and leaves every database intact', { timeout: 120_000 }, async () => {
    const docs = Array.from({ length: 12 }, (_, i) =>
      parseQueryDocument({
        project: 'demo-research',
        purpose: 'research',
        privacy: { rho: 0.05 },
        nodes: [i % 2 === 0 ? 'health' : 'justice'],
        analysis: { kind: 'count', dataset: i % 2 === 0 ? 'health_visits' : 'justice_offences', group_by: ['sex'] },
      }),
    );
    // Justice is down, so its queries are still pending at the coordinator when it is killed.
    await network.stopNode('justice');
    const submitted: string[] = [];
    for (const doc of docs) submitted.push((await client.submit(doc)).queryId);
    expect((await client.status(submitted[1]!)).state).toBe('running');
    await network.stopCoordinator('SIGKILL');
    await network.startCoordinator();
    await network.startNode('justice');
    await network.waitForNodes(['health', 'justice']);

    const finals: QueryStatusView[] = [];
    for (const id of submitted) finals.push(await client.watch(id));
    // The queries in flight were re-delivered after the restart and answered.
    expect(finals.filter((s, i) => i % 2 === 1).map((s) => s.nodes.map((n) => n.state))).toEqual(Array(6).fill(['done']));
    for (const status of finals) {
      expect(status.state, status.queryId).not.toBe('running');
      for (const node of status.nodes) {
        expect(['done', 'refused', 'failed', 'unreachable'], `${status.queryId} ${node.nodeId}`).toContain(node.state);
        // A query that did not complete says why.
        if (node.state !== 'done') expect(node.code, `${status.queryId} ${node.nodeId}`).not.toBe('');
      }
    }
    // Every query was answered by its node exactly once: the node's audit chain has one entry per query.
    for (const nodeId of ['health', 'justice']) {
      const db = new Database(path.join(network.dir, 'nodes', nodeId, 'node.db'), { readonly: true });
      try {
        const answered = db.prepare("SELECT query_id FROM fedlab_audit WHERE kind = 'query' AND decision IN ('answered', 'refused')").pluck().all() as string[];
        const mine = finals.filter((s) => s.nodes.some((n) => n.nodeId === nodeId && n.state === 'done')).map((s) => s.queryId);
        for (const id of mine)
          expect(
            answered.filter((a) => a === id),
            `${nodeId} ${id}`,
          ).toHaveLength(1);
      } finally {
        db.close();
      }
    }
    expect(integrity(path.join(network.dir, 'coordinator', 'coordinator.db'))).toBe('ok');
    for (const nodeId of ['health', 'justice']) expect(integrity(path.join(network.dir, 'nodes', nodeId, 'node.db'))).toBe('ok');
    // The restarted coordinator answers new queries.
    const after = await client.submit(docs[1]!);
    expect((await client.watch(after.queryId)).state).toBe('finished');
  });
});

describe('the coordinator restored from an older backup', () => {
  it("detects it from the nodes' verified tree heads (LOG_ROLLBACK), accepts no query, and recovers from a newer backup", { timeout: 180_000 }, async () => {
    const database = path.join(network.dir, 'coordinator', 'coordinator.db');
    const restore = (backup: string) => {
      for (const suffix of ['-wal', '-shm']) rmSync(`${database}${suffix}`, { force: true });
      copyFileSync(backup, database);
    };
    const count = (dataset: string, node: string) =>
      parseQueryDocument({
        project: 'demo-research',
        purpose: 'research',
        privacy: { rho: 0.05 },
        nodes: [node],
        analysis: { kind: 'count', dataset, group_by: ['sex'] },
      });
    await network.waitForNodes(['health', 'justice']);
    const older = await backupCoordinator(network.coordinatorConfig, path.join(root, 'older.db'));
    // Queries the nodes then verify in the log: their tree heads move past the older backup.
    for (const [dataset, node] of [
      ['health_visits', 'health'],
      ['justice_offences', 'justice'],
    ] as const) {
      expect((await client.watch((await client.submit(count(dataset, node))).queryId)).state).toBe('finished');
    }
    const newer = await backupCoordinator(network.coordinatorConfig, path.join(root, 'newer.db'));
    expect(newer.logEntries).toBeGreaterThan(older.logEntries);

    await network.stopCoordinator('SIGTERM');
    restore(older.file);
    await network.startCoordinator();
    await network.waitForNodes(['health', 'justice']);
    const error = await client.submit(count('health_visits', 'health')).then(
      () => undefined,
      (e: unknown) => e as FedlabError,
    );
    expect(error?.code).toBe('LOG_ROLLBACK');
    // A node that attached first may have logged a checkpoint before the one that verified more attached:
    // then the restored log is either still behind that node's tree, or past its size with another root.
    const rollback =
      /^the coordinator's log has (\d+) entries but (?:node (?:health|justice) has verified a tree of (\d+)|not the tree of (\d+) that node (?:health|justice) verified): this coordinator was restored from an older backup; restore a backup at least as new \(docs\/operations.md "Backup and restore"\); it accepts no query until then$/.exec(
        error?.message ?? '',
      );
    expect(rollback, error?.message).not.toBeNull();
    const own = Number(rollback![1]);
    expect(own).toBeGreaterThanOrEqual(older.logEntries);
    if (rollback![2] !== undefined) expect(own).toBeLessThan(Number(rollback![2]));

    await network.stopCoordinator('SIGTERM');
    restore(newer.file);
    await network.startCoordinator();
    await network.waitForNodes(['health', 'justice']);
    expect((await client.watch((await client.submit(count('health_visits', 'health'))).queryId)).state).toBe('finished');
  });
});

describe('waiting for a local network', () => {
  it('gives up at once, naming the node and its log, when a node process dies instead of attaching', { timeout: 120_000 }, async () => {
    await network.killNode('justice');
    const error = await network.waitForNodes(['health', 'justice']).then(
      () => undefined,
      (e: unknown) => e as FedlabError,
    );
    expect(error?.code).toBe('NODE_UNREACHABLE');
    expect(error?.message).toBe(`node justice exited (SIGKILL) and is not attached; see ${path.join(network.dir, 'logs', 'justice.log')}`);
    await network.startNode('justice');
    await network.waitForNodes(['health', 'justice']);
  });
});
