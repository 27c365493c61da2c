import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import type { FedlabClient } from '@fedlab/client';
import { createLocalNetwork, startLocalNetwork, type LocalNetwork } from '@fedlab/devnet';
import { parseQueryDocument } from '@fedlab/query';
import { it, test } from '@fedlab/test-kit';

/**
 * A node daemon on the DuckDB engine (issue 19): `fedlab node serve` with `engine: duckdb` holds its
 * datasets in DuckDB files, announces them, and answers federated queries through the coordinator
 * beside a node on SQLite.
 */
describe('a node daemon on the DuckDB engine', () => {
  let net: LocalNetwork;
  let alice: FedlabClient;

  test.beforeAll(async ({ fileTempDir }) => {
    net = await createLocalNetwork({
      dir: fileTempDir,
      nodes: ['health', 'education'],
      persons: 800,
      seed: 11,
      logLevel: 'warn',
      engine: (id) => (id === 'health' ? { kind: 'duckdb', threads: 1 } : 'sqlite'),
    });
    await startLocalNetwork(net);
    alice = await net.client('alice');
  }, 180_000);
  afterAll(async () => {
    alice?.close();
    await net?.stop();
  });

  it('keeps its datasets in DuckDB files and announces them in its catalog', { timeout: 60_000 }, async () => {
    const folder = path.dirname(net.nodeConfigs.health!);
    expect(readFileSync(net.nodeConfigs.health!, 'utf8')).toContain('kind: duckdb');
    expect(readdirSync(path.join(folder, 'datasets')).filter((f) => f.startsWith('health_visits-') && f.endsWith('.duckdb'))).toHaveLength(1);
    expect((await alice.nodes()).find((n) => n.nodeId === 'health')?.datasets).toEqual(['health_visits']);
    const visits = (await alice.catalog()).find((n) => n.nodeId === 'health')?.datasets.find((d) => d.dataset === 'health_visits');
    expect(visits?.approxRows).toBeGreaterThan(0);
    expect(visits?.columns.map((c) => c.name)).toContain('health_number');
  });

  it('answers a count and a mean on DuckDB and a count on SQLite in one query each, every table signed and verified', { timeout: 60_000 }, async () => {
    const run = async (node: string, analysis: Record<string, unknown>) => {
      const doc = parseQueryDocument({ project: 'demo-research', purpose: 'research', privacy: { rho: 0.1 }, nodes: [node], analysis });
      const { queryId } = await alice.submit(doc);
      await alice.watch(queryId);
      return (await alice.result(queryId)).answers;
    };
    const count = await run('health', { kind: 'count', dataset: 'health_visits', group_by: ['sex'] });
    expect(count.map((a) => [a.nodeId, a.verified, a.refusal?.code])).toEqual([['health', true, undefined]]);
    expect(count[0]!.table!.cells.map((c) => c.key)).toEqual([['F'], ['M']]);
    const mean = await run('health', { kind: 'mean', dataset: 'health_visits', column: 'cost', group_by: ['region'] });
    expect(mean[0]!.verified).toBe(true);
    expect(mean[0]!.table!.cells.length).toBeGreaterThan(0);
    const education = await run('education', { kind: 'count', dataset: 'education_enrolments', group_by: ['sex'] });
    expect(education.map((a) => [a.nodeId, a.verified])).toEqual([['education', true]]);
  });
});
