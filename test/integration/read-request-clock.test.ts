import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import type { Analysis } from '@fedlab/model';
import type { FedlabClient } from '@fedlab/client';
import { CLINIC_SCHEMA, clinicCsv, policyYaml, startTestNetwork, testQuerySpec, type TestNetwork } from '@fedlab/testing';
import { it, test } from '@fedlab/test-kit';

/*
 * A researcher's client reuses the read request it signed for a query for a minute; the coordinator
 * accepts a request dated within 5 minutes of its own clock. On a machine whose clock is minutes behind
 * the coordinator's, a reused request can fall just outside that window: the client signs a new one.
 */
const countByRegion: Analysis = { kind: 'count', dataset: 'clinic_visits', groupBy: ['region'] };
const MINUTE = 60_000;
/** A query that expires well after both clocks' now. */
const query = () => testQuerySpec({ researcherId: 'alice', analysis: countByRegion, expiresAtMs: Date.now() + 30 * MINUTE });

describe('read requests from a client whose clock is behind the coordinator’s', () => {
  let net: TestNetwork;
  let alice: FedlabClient;
  // Both clocks move together by `shift`; the coordinator's is 4.5 minutes ahead of the client's.
  let shift = 0;

  test.beforeAll(async ({ fileTempDir }) => {
    const dir = path.join(fileTempDir, 'network');
    mkdirSync(dir);
    net = await startTestNetwork({
      dir,
      researchers: ['alice'],
      nodes: [{ id: 'clinic', datasets: [{ schema: CLINIC_SCHEMA, csv: clinicCsv() }], policy: policyYaml({ datasets: { clinic_visits: ['research'] } }) }],
      coordinatorNow: () => Date.now() + shift + 4.5 * MINUTE,
    });
    alice = net.client(net.researchers.alice!, { now: () => Date.now() + shift });
  });
  afterAll(async () => {
    await net.stop();
  });

  it('reads a query again after 50 seconds, when the request it signed is 5 minutes 20 seconds old at the coordinator', async () => {
    const { queryId } = await alice.submitEnvelope(await alice.sign(query()));
    const finished = await alice.watch(queryId);
    expect(finished.state).toBe('finished');
    // 50 s later on both clocks: within the client's minute of reuse, beyond the coordinator's 5 minutes.
    shift += 50_000;
    expect((await alice.status(queryId)).state).toBe('finished');
    const result = await alice.result(queryId);
    expect(result.answers.map((a) => a.nodeId)).toEqual(['clinic']);
  });

  it('still refuses a request when the clocks are more than 5 minutes apart, with the coordinator’s code', async () => {
    const late = net.client(net.researchers.alice!, { now: () => Date.now() + shift - MINUTE });
    const { queryId } = await alice.submitEnvelope(await alice.sign(query()));
    await alice.watch(queryId);
    await expect(late.status(queryId)).rejects.toThrowFedlabError('QUERY_EXPIRED', 'read: the signed read request is too old or from the future');
  });
});
