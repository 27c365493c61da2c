import { beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity, initCrypto, Roster, type Identity } from '@fedlab/crypto';
import { SecAggParticipant, type PooledPreparation } from '@fedlab/node-service';
import type * as pb from '@fedlab/proto';
import { testQuerySpec } from '@fedlab/testing';

/*
 * A node joins a pooled query's secure aggregation on its own terms (issue 15 review): a table's noisy
 * vector is summed in one round only — two sums over different participants would differ by one node's
 * vector with only its own share of the noise — and a model's rounds keep the participants of its first.
 */
let nodes: Identity[];
let roster: Roster;

beforeAll(async () => {
  await initCrypto();
  nodes = ['a', 'b', 'c'].map((id) => generateIdentity(id, 'node'));
  roster = new Roster(1, nodes);
});

function tablePreparation(): PooledPreparation {
  return {
    spec: testQuerySpec({ analysis: { kind: 'count', dataset: 'd', groupBy: [] }, pooled: true, targetNodes: ['a', 'b', 'c'] }),
    queryHash: new Uint8Array(32),
    expiresAtMs: Date.now() + 60_000,
    rounds: 0,
    contribution: {
      kind: 'table',
      layout: { kind: 'count', dimensions: [], keys: [[]], plan: { rho: 1, maxRecordsPerPerson: 1, grid: null, components: [{ name: 'count', sensitivitySquared: 1, rho: 1 }] } },
      values: [5],
      noise: { variances: { count: 1 }, threshold: 3, honest: 2, colluding: 1, reportDelta: 1e-6 },
    },
  };
}

const begin = (roundId: string, participants: string[]): pb.SecAggStep => ({
  queryId: 'q-1',
  roundId,
  step: { $case: 'begin', value: { participants, threshold: participants.length, vectorLength: 2, scaleBits: 0, task: { $case: 'table', value: true } } },
});

describe("a node's secure-aggregation sessions for one pooled table", () => {
  it('joins the first round and refuses any second one, over the same or fewer participants', async () => {
    const prepared = tablePreparation();
    const participant = new SecAggParticipant({ identity: nodes[0]!, roster, preparation: () => prepared, authorise: () => undefined, forget: () => undefined, audit: () => undefined });
    expect((await participant.handle(begin('q-1/1', ['a', 'b', 'c'])))?.step?.$case).toBe('keys');
    for (const [roundId, participants] of [['q-1/2', ['a', 'b', 'c']], ['q-1/3', ['a', 'b']]] as const) {
      expect((await participant.handle(begin(roundId, [...participants])))?.step).toEqual({ $case: 'refused', value: { code: 'INVALID_ARGUMENT', message: 'secagg: a table query is summed in one round only' } });
    }
  });

  it('refuses a round naming a participant the signed query does not target, or one twice', async () => {
    const participant = new SecAggParticipant({ identity: nodes[0]!, roster, preparation: tablePreparation, authorise: () => undefined, forget: () => undefined, audit: () => undefined });
    const refusal = { $case: 'refused', value: { code: 'INVALID_ARGUMENT', message: 'secagg: the round names a participant the query does not target, or one twice' } };
    expect((await participant.handle(begin('q-1/1', ['a', 'b', 'c', 'd'])))?.step).toEqual(refusal);
    expect((await participant.handle(begin('q-1/2', ['a', 'b', 'b'])))?.step).toEqual(refusal);
  });
});
