import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { parse } from 'csv-parse/sync';
import type { FedlabClient, QueryResultView } from '@fedlab/client';
import { createLocalNetwork, startLocalNetwork, type LocalNetwork } from '@fedlab/devnet';
import { parseQueryDocument } from '@fedlab/query';
import { REGIONS } from '@fedlab/synth';
import { it, test } from '@fedlab/test-kit';

/*
 * Secure aggregation under faults, with real processes (issue 4): five regional school-board nodes
 * and a coordinator started from the CLI. FEDLAB_FAILPOINT makes a process kill itself with SIGKILL
 * at an exact protocol step, so each crash happens where the test says.
 */

const BOARDS = REGIONS.map((r) => `education-${r}`);
const POOLED_COUNT = {
  project: 'demo-research',
  purpose: 'research',
  nodes: BOARDS,
  pooled: true,
  privacy: { rho: 0.5 },
  analysis: { kind: 'count', dataset: 'education_enrolments', group_by: ['sex'] },
};

describe('secure aggregation across five regional node processes with crashes', () => {
  let net: LocalNetwork;
  let alice: FedlabClient;
  /** Students by region and sex, from the regional CSV files the nodes imported. */
  const students: Record<string, Record<string, number>> = {};

  test.beforeAll(async ({ fileTempDir }) => {
    net = await createLocalNetwork({
      dir: fileTempDir,
      nodes: [],
      regionalNodes: { dataset: 'education_enrolments', prefix: 'education' },
      persons: 3000,
      seed: 5,
      logLevel: 'warn',
      env: process.env,
    });
    for (const region of REGIONS) {
      const rows = parse(readFileSync(path.join(net.dataDir, 'regional', `education_enrolments-${region}.csv`)), { columns: true }) as Array<
        Record<string, string>
      >;
      students[`education-${region}`] = { F: rows.filter((r) => r.sex === 'F').length, M: rows.filter((r) => r.sex === 'M').length };
    }
    await startLocalNetwork(net);
    alice = await net.client('alice');
  }, 180_000);
  afterAll(async () => {
    alice?.close();
    await net?.stop();
  });

  const expected = (nodes: string[]) => ({ F: nodes.reduce((s, id) => s + students[id]!.F, 0), M: nodes.reduce((s, id) => s + students[id]!.M, 0) });
  const released = (r: QueryResultView) => Object.fromEntries(r.pooled!.table!.cells.filter((c) => c.stats).map((c) => [String(c.key[0]), c.stats!.count]));
  /** The released counts are the survivors' true counts plus noise: within 8 noise SDs (the SD the release states). */
  const expectNoisySum = (r: QueryResultView, nodes: string[]) => {
    const sd = r.pooled!.table!.privacy!.noise[0]!.sd;
    expect(sd).toBeGreaterThan(0);
    const truth = expected(nodes);
    const got = released(r);
    expect(Object.keys(got).sort()).toEqual(['F', 'M']);
    for (const sex of ['F', 'M'] as const) expect(Math.abs(got[sex]! - truth[sex])).toBeLessThan(8 * sd);
  };

  async function pooledCount(): Promise<QueryResultView> {
    const { queryId } = await alice.submit(parseQueryDocument(POOLED_COUNT));
    await alice.watch(queryId);
    return alice.result(queryId);
  }

  async function restartWithFailpoint(nodeIds: string[], failpoint: string): Promise<number[]> {
    for (const id of nodeIds) {
      await net.stopNode(id);
      await net.startNode(id, { FEDLAB_FAILPOINT: failpoint });
    }
    await net.waitForNodes(nodeIds);
    return nodeIds.map((id) => net.nodePids()[id]!);
  }

  async function restartNormally(nodeIds: string[]): Promise<void> {
    for (const id of nodeIds) {
      await net.stopNode(id);
      await net.startNode(id);
    }
    await net.waitForNodes(nodeIds);
  }

  const isAlive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('sums all five boards, with their noise, when every node stays up', async () => {
    const result = await pooledCount();
    expect(result.status.state).toBe('finished');
    expect(result.pooled!.contributingNodes).toEqual([...BOARDS].sort());
    expectNoisySum(result, BOARDS);
  });

  it('gives the five-node sum when one node is killed right after sending its masked input', async () => {
    const [pid] = await restartWithFailpoint(['education-north'], 'after-masked-input');
    const result = await pooledCount();
    expect(isAlive(pid!)).toBe(false);
    expect(result.status.state).toBe('finished');
    // Its masked input arrived, so it is in the sum; the four survivors' shares remove its self mask.
    expect(result.pooled!.contributingNodes).toEqual([...BOARDS].sort());
    expectNoisySum(result, BOARDS);
    await restartNormally(['education-north']);
  });

  it('gives the sum over the other four when one node is killed before sending its masked input', async () => {
    const [pid] = await restartWithFailpoint(['education-south'], 'before-masked-input');
    const result = await pooledCount();
    expect(isAlive(pid!)).toBe(false);
    const survivors = BOARDS.filter((id) => id !== 'education-south');
    expect(result.pooled!.contributingNodes).toEqual([...survivors].sort());
    expectNoisySum(result, survivors);
    await restartNormally(['education-south']);
  });

  it('releases nothing and says THRESHOLD_NOT_MET when three of the five are killed', async () => {
    const victims = ['education-east', 'education-west', 'education-central'];
    await restartWithFailpoint(victims, 'before-masked-input');
    const result = await pooledCount();
    expect(result.status.state).toBe('failed');
    expect(result.pooled!.refusal).toEqual({ code: 'THRESHOLD_NOT_MET', message: 'threshold not met: masked inputs received (U3): 2 of the 4 required' });
    expect(result.pooled!.table).toBeUndefined();
    expect(result.pooled!.contributingNodes).toEqual([]);
    await restartNormally(victims);
  });

  it('fails the round cleanly when the coordinator is killed mid-round, and the query can be resubmitted', async () => {
    await net.stopCoordinator();
    await net.startCoordinator({ FEDLAB_FAILPOINT: 'secagg-after-masked-inputs' });
    await net.waitForNodes(BOARDS);
    const { queryId } = await alice.submit(parseQueryDocument(POOLED_COUNT));
    // The coordinator kills itself once every masked input arrived; start it again.
    await expect(alice.watch(queryId)).rejects.toThrow();
    await net.stopCoordinator();
    await net.startCoordinator();
    await net.waitForNodes(BOARDS);
    const failed = await alice.result(queryId);
    expect(failed.status.state).toBe('failed');
    expect(failed.pooled!.refusal).toEqual({
      code: 'COORDINATOR_RESTARTED',
      message: 'the coordinator restarted during secure aggregation; nothing was released; resubmit the query',
    });
    const again = await pooledCount();
    expect(again.status.state).toBe('finished');
    expectNoisySum(again, BOARDS);
  });
});
