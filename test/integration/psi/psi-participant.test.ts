import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPsiDecryptor, generateIdentity, initCrypto, RistrettoPool } from '@fedlab/crypto';
import { Roster, type Identity } from '@fedlab/governance';
import { PsiParticipant, studyNoise } from '@fedlab/node-service';
import type * as pb from '@fedlab/proto';
import type { LinkagePreparation } from '@fedlab/node-service';

const QUERY = 'study-0001';
const RUN = `${QUERY}/psi/0`;
const QUERY_HASH = new Uint8Array(32).fill(3);
let health: Identity;
let justice: Identity;
let education: Identity;
let roster: Roster;
let pool: RistrettoPool;
let publicKeys: Buffer[];

const cohortPreparation: LinkagePreparation = {
  role: 'cohort',
  passNames: ['health_number'],
  fingerprints: ['v1:digits'],
  groups: [{ name: 'cohort', tuples: [['1'], ['2'], ['3']] }],
  noise: studyNoise(1000, { outcomeNodes: 1, controlsPerCase: 0, passes: 1 }, [3]),
  outcomeNodes: ['justice'],
};
const outcomePreparation: LinkagePreparation = {
  role: 'outcome',
  outcome: 0,
  cohortNode: 'health',
  passNames: ['health_number'],
  fingerprints: ['v1:digits'],
  layout: [{ measure: 'offence', stat: 'events', max: 1 }],
  tuples: [['2'], ['3'], ['4']],
  values: Uint32Array.from([1, 0, 1]),
  groups: [{ name: 'cohort', minPersons: 3 }],
};

function participant(identity: Identity, preparation: LinkagePreparation) {
  const prepared = { preparation, queryHash: QUERY_HASH, maxPeerSetSize: 1000, runs: new Set<number>() };
  return new PsiParticipant({ identity, roster: () => roster, pool, preparation: () => prepared, audit: () => undefined });
}

const begin = (role: string, peer: string): pb.PsiStep => ({
  queryId: QUERY,
  runId: RUN,
  step: { $case: 'begin', value: { role, peer, outcome: 0, publicKeys } },
});
const relay = (reply: pb.PsiReply): pb.PsiStep => {
  if (reply.step?.$case !== 'payload') throw new Error(`expected a payload, got ${reply.step?.$case}`);
  return { queryId: reply.queryId, runId: reply.runId, step: { $case: 'payload', value: reply.step.value } };
};
const refusalOf = (replies: pb.PsiReply[]) => (replies[0]?.step?.$case === 'refused' ? replies[0].step.value : undefined);

beforeAll(async () => {
  await initCrypto();
  health = generateIdentity('health', 'node');
  justice = generateIdentity('justice', 'node');
  education = generateIdentity('education', 'node');
  roster = new Roster({ version: 1, participants: [health, justice, education] });
  pool = new RistrettoPool(2);
  publicKeys = createPsiDecryptor()
    .generateKeys(1)
    .publicKeys.map((k) => Buffer.from(k));
});
afterAll(() => pool.close());

describe('node side of a linkage run (signed, sealed, chunked payloads through the coordinator)', () => {
  it('completes a run between the cohort and the outcome node and signs the encrypted sums', async () => {
    const c = participant(health, cohortPreparation);
    const o = participant(justice, outcomePreparation);
    expect(await o.handle(begin('outcome', 'health'))).toEqual([]);
    const [sets] = await c.handle(begin('cohort', 'justice'));
    const [reply] = await o.handle(relay(sets!));
    const [aggregate] = await c.handle(relay(reply!));
    expect(aggregate!.step?.$case).toBe('aggregate');
  });

  it('refuses a payload encrypted to another node', async () => {
    const c = participant(health, cohortPreparation);
    const o = participant(justice, outcomePreparation);
    const e = participant(education, outcomePreparation);
    await o.handle(begin('outcome', 'health'));
    await e.handle(begin('outcome', 'health'));
    const [sets] = await c.handle(begin('cohort', 'justice'));
    // The coordinator delivers C's payload for justice to education, readdressed: it cannot be opened there.
    const misrouted = relay(sets!);
    if (misrouted.step?.$case === 'payload') misrouted.step.value = { ...misrouted.step.value, to: 'education' };
    expect(refusalOf(await e.handle(misrouted))).toEqual({
      code: 'PAYLOAD_NOT_FOR_THIS_NODE',
      message: 'the payload from "health" could not be decrypted by this node: it is encrypted to another node, or was altered',
    });
  });

  it('refuses a payload addressed to another node without trying to open it', async () => {
    const c = participant(health, cohortPreparation);
    const e = participant(education, outcomePreparation);
    await e.handle(begin('outcome', 'health'));
    const [sets] = await c.handle(begin('cohort', 'justice'));
    expect(refusalOf(await e.handle(relay(sets!)))).toEqual({
      code: 'PAYLOAD_NOT_FOR_THIS_NODE',
      message: 'psi: the payload is addressed to "justice", not to this node',
    });
  });

  it("links each outcome source once, and only with that source's node: a second run would draw fresh noise on the same debit", async () => {
    const c = participant(health, cohortPreparation);
    expect(refusalOf(await c.handle(begin('cohort', 'education')))).toEqual({
      code: 'INVALID_ARGUMENT',
      message: 'psi: the peer is not the outcome node of that outcome source of the study',
    });
    expect((await c.handle(begin('cohort', 'justice')))[0]!.step?.$case).toBe('payload');
    const again: pb.PsiStep = { ...begin('cohort', 'justice'), runId: `${RUN}-again` };
    expect(refusalOf(await c.handle(again))).toEqual({ code: 'PROTOCOL_OUT_OF_ORDER', message: 'psi: this outcome source of the study was already linked' });
  });

  it("links an outcome source only with the study's cohort node", async () => {
    const o = participant(justice, outcomePreparation);
    expect(refusalOf(await o.handle(begin('outcome', 'education')))).toEqual({
      code: 'INVALID_ARGUMENT',
      message: 'psi: the peer is not the cohort node of the study',
    });
  });

  it('refuses a replayed payload and a step out of order', async () => {
    const c = participant(health, cohortPreparation);
    const o = participant(justice, outcomePreparation);
    await o.handle(begin('outcome', 'health'));
    const [sets] = await c.handle(begin('cohort', 'justice'));
    // C expects step 2 (O's reply); its own step-1 payload sent back to it is out of order.
    const bounced = relay(sets!);
    if (bounced.step?.$case === 'payload') bounced.step.value = { ...bounced.step.value, from: 'justice', to: 'health' };
    expect(refusalOf(await c.handle(bounced))).toEqual({ code: 'PROTOCOL_OUT_OF_ORDER', message: 'psi: step 1 arrived while the cohort node expects step 2' });
    const [reply] = await o.handle(relay(sets!));
    expect(reply!.step?.$case).toBe('payload');
    // O answered and forgot the run: the same payload again is refused.
    expect(refusalOf(await o.handle(relay(sets!)))).toEqual({
      code: 'PROTOCOL_OUT_OF_ORDER',
      message: 'psi: no such run at this node (it never began, or was forgotten)',
    });
  });

  it('refuses a replayed run start', async () => {
    const o = participant(justice, outcomePreparation);
    await o.handle(begin('outcome', 'health'));
    expect(refusalOf(await o.handle(begin('outcome', 'health')))).toEqual({ code: 'PROTOCOL_OUT_OF_ORDER', message: 'psi: replayed run start' });
  });

  it('refuses public keys that do not match its value vector', async () => {
    const o = participant(justice, outcomePreparation);
    const step = begin('outcome', 'health');
    if (step.step?.$case === 'begin') step.step.value.publicKeys = [...publicKeys, ...publicKeys];
    expect(refusalOf(await o.handle(step))).toEqual({ code: 'TUPLE_WIDTH_MISMATCH', message: 'psi: 2 public keys for a value vector of 1 entries' });
  });
});
