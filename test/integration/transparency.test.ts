import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FedlabError, type QuerySpec } from '@fedlab/model';
import { LogClient, type FedlabClient } from '@fedlab/client';
import { CLINIC_SCHEMA, clinicCsv, createTempDir, policyYaml, startTestNetwork, type TestNetwork } from '@fedlab/testing';

function spec(overrides: Partial<QuerySpec> = {}): QuerySpec {
  const now = Date.now();
  return {
    queryId: `q-${randomBytes(8).toString('hex')}`,
    projectId: 'proj-log',
    purpose: 'research',
    researcherId: 'alice',
    targetNodes: ['clinic'],
    analysis: { kind: 'count', dataset: 'clinic_visits', groupBy: ['sex'] },
    issuedAtMs: now,
    expiresAtMs: now + 60_000,
    nonce: new Uint8Array(randomBytes(24)),
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<[string, string]> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(FedlabError);
  return [(error as FedlabError).code, (error as FedlabError).message];
}

describe('the public transparency log', () => {
  const tmp = createTempDir();
  let net: TestNetwork;
  let alice: FedlabClient;
  let log: LogClient;
  const submitted: string[] = [];

  beforeAll(async () => {
    net = await startTestNetwork({
      dir: tmp.path,
      researchers: ['alice'],
      nodes: [{ id: 'clinic', datasets: [{ schema: CLINIC_SCHEMA, csv: clinicCsv() }], policy: policyYaml({ datasets: { clinic_visits: ['research'] } }) }],
    });
    alice = net.client(net.researchers.alice!);
    log = new LogClient({ address: net.address, roster: net.roster });
    for (let i = 0; i < 3; i++) {
      const { queryId } = await alice.submitEnvelope(await alice.sign(spec()));
      await alice.watch(queryId);
      submitted.push(queryId);
    }
  });
  afterAll(async () => {
    log.close();
    await net.stop();
    tmp.cleanup();
  });

  it('holds every submitted query, in order, with its public fields, and its root matches the signed head', async () => {
    const { head, entries } = await log.verify();
    expect(head.size).toBe(3);
    expect(entries.map((e) => [e.index, e.kind, e.query?.queryId, e.query?.researcherId, e.query?.purpose])).toEqual(
      submitted.map((id, i) => [i, 'query', id, 'alice', 'research']),
    );
  });

  it('proves the inclusion of one entry against the signed head', async () => {
    const r = await log.proveInclusion(1);
    expect(r.entry.query?.queryId).toBe(submitted[1]);
    expect(r.proof).toHaveLength(2);
  });

  it('proves that the log only grew since an earlier head', async () => {
    const { view: before } = await log.treeHead();
    const { queryId } = await alice.submitEnvelope(await alice.sign(spec()));
    await alice.watch(queryId);
    const { head } = await log.verify(before);
    expect([before.size, head.size]).toEqual([3, 4]);
  });

  it('records the tree head each node verified, so nodes hold the coordinator to the log', async () => {
    const { view } = await log.treeHead();
    expect(net.nodes.clinic!.agent.knownTreeSize()).toBe(view.size);
  });

  it('detects a log whose entries were altered after their tree head was signed', async () => {
    const { view: before } = await log.treeHead();
    const row = net.store.db.prepare('SELECT leaf FROM log_leaves WHERE idx = 0').get() as { leaf: Buffer };
    const altered = Buffer.from(row.leaf);
    altered[altered.length - 1]! ^= 0x01;
    net.store.db.prepare('UPDATE log_leaves SET leaf = ? WHERE idx = 0').run(altered);
    try {
      expect(await failure(log.verify(before))).toEqual(['LOG_INCONSISTENT', `the ${before.size} entries served do not hash to the signed root`]);
    } finally {
      net.store.db.prepare('UPDATE log_leaves SET leaf = ? WHERE idx = 0').run(row.leaf);
    }
  });

  it('detects a rewritten log through the consistency proof from an earlier head', async () => {
    const { view: real } = await log.treeHead();
    const forgedEarlier = { ...real, size: 2, rootHash: 'ab'.repeat(32) };
    expect(await failure(log.verify(forgedEarlier))).toEqual(['LOG_INCONSISTENT', `the log of size ${real.size} is not consistent with the earlier head of size 2`]);
  });

  it('refuses proofs for indexes and sizes outside the tree', async () => {
    expect(await failure(log.proveInclusion(99))).toEqual(['INVALID_ARGUMENT', `log index 99 is not below tree size ${(await log.treeHead()).view.size}`]);
  });
});
