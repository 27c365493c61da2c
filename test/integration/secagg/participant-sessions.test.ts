import { beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createRosterSecAggCrypto, generateIdentity, initCrypto } from '@fedlab/crypto';
import { Roster, type Identity } from '@fedlab/governance';
import { distributedGaussianShare, rationalToNumber } from '@fedlab/dp';
import {
  PrivateGlmFitter,
  privateGlmPlan,
  privateRoundLength,
  privateRoundRho,
  privateRoundSensitivitySquared,
  privateRoundVector,
  type PrivateCovariate,
  type PrivateGlmPlan,
} from '@fedlab/glm';
import { SecAggParticipant, type PooledPreparation } from '@fedlab/node-service';
import { nodeMetrics } from '@fedlab/ops';
import type * as pb from '@fedlab/proto';
import { decodeContribution, SecAggServer, type RoundTranscript } from '@fedlab/secagg';
import { modelRows } from '@fedlab/synth';
import { testQuerySpec } from '@fedlab/testing';
import { roundQueryHash, toWire } from '@fedlab/wire';

/*
 * A node joins a pooled query's secure aggregation on its own terms (issue 16, DESIGN.md §7.2): only
 * for exactly the signed query's targets, with a threshold it computes itself, no more sessions than
 * the analysis needs, and — for a model — at coefficients it derives itself from the previous round's
 * transcript. Each test is a dishonest coordinator (a SecAggServer run by the test) driving real node
 * participants over real libsodium keys.
 */
const IDS = ['a', 'b', 'c'];
let nodes: Identity[];
let coordinator: Identity;
let roster: Roster;

beforeAll(async () => {
  await initCrypto();
  nodes = IDS.map((id) => generateIdentity(id, 'node'));
  coordinator = generateIdentity('coordinator', 'coordinator');
  roster = new Roster({ version: 1, participants: [...nodes, coordinator] });
});

const QUERY_HASH = new Uint8Array(32).fill(7);

function tablePreparation(): PooledPreparation {
  return {
    spec: testQuerySpec({ analysis: { kind: 'count', dataset: 'd', groupBy: [] }, pooled: true, targetNodes: IDS }),
    queryHash: QUERY_HASH,
    expiresAtMs: Date.now() + 60_000,
    contribution: {
      kind: 'table',
      layout: {
        kind: 'count',
        dimensions: [],
        keys: [[]],
        plan: { rho: 1, maxRecordsPerPerson: 1, grid: null, components: [{ name: 'count', sensitivitySquared: 1, rho: 1 }] },
      },
      values: [5],
      noise: { variances: { count: 1 }, threshold: 3, honest: 2, colluding: 1, reportDelta: 1e-6 },
    },
  };
}

const COVARIATES: PrivateCovariate[] = [
  { name: 'birth_year', kind: 'numeric', bounds: [1950, 2009], binary: false },
  { name: 'amount', kind: 'numeric', bounds: [0, 50_000], binary: false },
  { name: 'region', kind: 'factor', levels: ['North', 'South', 'West'] },
  { name: 'smoker', kind: 'numeric', bounds: [0, 1], binary: true, binaryLabels: ['false', 'true'] },
];
const PLAN: PrivateGlmPlan = privateGlmPlan({
  family: 'binomial',
  response: 'y',
  responseBounds: undefined,
  covariates: COVARIATES,
  rho: 4,
  maxRecordsPerPerson: 1,
});
const SHARES = Array.from({ length: PLAN.rounds }, (_, i) =>
  distributedGaussianShare(privateRoundSensitivitySquared(PLAN, i + 1), privateRoundRho(PLAN, i + 1), 2, privateRoundLength(PLAN, i + 1)),
);
const MIN_PERSONS = 10;

function modelPreparations(): PooledPreparation[] {
  const spec = testQuerySpec({
    analysis: { kind: 'glm', dataset: 'd', groupBy: [], family: 'binomial', response: 'y', covariates: ['birth_year', 'amount', 'region', 'smoker'] },
    pooled: true,
    targetNodes: IDS,
  });
  return modelRows('binomial', 400, IDS.length, 16).map((rows) => ({
    spec,
    queryHash: QUERY_HASH,
    expiresAtMs: Date.now() + 60_000,
    contribution: {
      kind: 'glm',
      plan: PLAN,
      roundVector: async (round: number, beta: readonly number[] | null) => privateRoundVector(PLAN, rows, round, beta),
      shares: SHARES,
      minPersons: MIN_PERSONS,
      noise: {
        variances: Object.fromEntries(SHARES.map((s, i) => [`round ${i + 1}`, rationalToNumber(s)])),
        threshold: 3,
        honest: 2,
        colluding: 1,
        reportDelta: 1e-6,
      },
    },
  }));
}

interface Audited {
  decision: string;
  reason: string;
}

function participants(preparations: PooledPreparation[], audit: Audited[] = [], metrics?: ReturnType<typeof nodeMetrics>): Map<string, SecAggParticipant> {
  return new Map(
    IDS.map((id, i) => [
      id,
      new SecAggParticipant({
        identity: nodes[i]!,
        roster: () => roster,
        preparation: () => preparations[i],
        authorise: () => undefined,
        forget: () => undefined,
        audit: (_, decision, __, reason) => id === 'a' && audit.push({ decision, reason }),
        ...(metrics && id === 'a' ? { metrics } : {}),
      }),
    ]),
  );
}

type Reply = NonNullable<pb.SecAggReply['step']>;

/** Sends one step to every listed node and returns their replies by node. */
async function broadcast(
  parties: Map<string, SecAggParticipant>,
  roundId: string,
  step: (id: string) => NonNullable<pb.SecAggStep['step']>,
  ids = [...parties.keys()],
) {
  const replies = new Map<string, Reply>();
  for (const id of ids) {
    const reply = await parties.get(id)!.handle({ queryId: 'q-1', roundId, step: step(id) });
    if (reply?.step) replies.set(id, reply.step);
  }
  return replies;
}

const refusalsOf = (replies: Map<string, Reply>) =>
  [...replies.values()].map((r) => (r.$case === 'refused' ? { code: r.value.code, message: r.value.message } : r.$case));

/**
 * The coordinator's side of one round, run by the test: begins with `begin`, and when every node
 * answered with keys, completes the round and returns its sum and transcript.
 */
async function session(parties: Map<string, SecAggParticipant>, roundId: string, begin: pb.SecAggBegin) {
  const keys = await broadcast(parties, roundId, () => ({ $case: 'begin', value: begin }));
  if ([...keys.values()].some((r) => r.$case !== 'keys')) return { started: keys };
  const server = new SecAggServer({
    participants: begin.participants,
    roundId,
    queryHash: roundQueryHash(QUERY_HASH, begin),
    threshold: begin.threshold,
    vectorLength: begin.vectorLength,
    crypto: createRosterSecAggCrypto(coordinator, roster),
  });
  for (const r of keys.values()) if (r.$case === 'keys') server.receiveAdvertisement(r.value);
  const keyList = toWire(server.broadcastKeys());
  for (const r of (await broadcast(parties, roundId, () => ({ $case: 'keyList', value: { keys: keyList } }))).values())
    if (r.$case === 'shareKeys') server.receiveShareKeys(r.value);
  const routed = new Map(server.routeShares().map((r) => [r.to, toWire(r.shares)]));
  for (const r of (await broadcast(parties, roundId, (id) => ({ $case: 'shares', value: { shares: routed.get(id)! } }))).values())
    if (r.$case === 'maskedInput') server.receiveMaskedInput(r.value);
  const consistency = toWire(server.consistencyRequest());
  for (const r of (await broadcast(parties, roundId, () => ({ $case: 'consistency', value: consistency }))).values())
    if (r.$case === 'consistency') server.receiveConsistency(r.value);
  const unmask = toWire(server.unmaskRequest());
  for (const r of (await broadcast(parties, roundId, () => ({ $case: 'unmask', value: unmask }))).values())
    if (r.$case === 'unmask') server.receiveUnmask(r.value);
  return { started: keys, sum: await server.aggregate(), transcript: server.transcript() };
}

const tableBegin = (participants: string[], threshold = 3): pb.SecAggBegin => ({
  participants,
  threshold,
  vectorLength: 2,
  scaleBits: 0,
  task: { $case: 'table', value: true },
});
const modelBegin = (round: number, beta: number[], previous?: RoundTranscript, participants = IDS): pb.SecAggBegin => ({
  participants,
  threshold: participants.length,
  vectorLength: privateRoundLength(PLAN, round) * 2,
  scaleBits: 0,
  task: { $case: 'glm', value: { beta, nullMean: Number.NaN, previous: previous && toWire(previous) } },
});

/** What an honest coordinator derives from round 1's sum: round 2's coefficients. */
function honestBeta(sum: Uint32Array): number[] {
  const fitter = new PrivateGlmFitter({ plan: PLAN, minPersons: MIN_PERSONS });
  fitter.accept(
    decodeContribution(sum, 0),
    IDS.reduce((total) => total + rationalToNumber(SHARES[0]!), 0),
  );
  return fitter.next()!.beta!;
}

describe("a node's secure-aggregation sessions for one pooled table", () => {
  it('sums the table once, destroys the input after unmasking, and refuses (audited, counted, logged) any second session', async () => {
    const preparations = IDS.map(() => tablePreparation());
    const audit: Audited[] = [];
    const registry = new Registry();
    const parties = participants(preparations, audit, nodeMetrics(registry));
    const first = await session(parties, 'q-1/1', tableBegin(IDS));
    // Three nodes' 5s plus their noise shares: σ² = 1 each, so the sum is 15 ± a few.
    const [total] = decodeContribution(first.sum!, 0);
    expect(Math.abs(total! - 15)).toBeLessThan(15);
    expect(preparations.map((p) => (p.contribution.kind === 'table' ? p.contribution.values.length : -1))).toEqual([0, 0, 0]);
    for (const [roundId, ids] of [
      ['q-1/2', IDS],
      ['q-1/3', ['a', 'b']],
    ] as const) {
      const replies = await broadcast(parties, roundId, () => ({ $case: 'begin', value: tableBegin([...ids], ids.length) }), ['a']);
      expect(refusalsOf(replies)).toEqual([
        {
          code: 'SESSION_NOT_ALLOWED',
          message: "secagg: this query's analysis needs 1 secure-aggregation session and this node has joined 1; it joins no more",
        },
      ]);
    }
    expect(audit.map((e) => e.decision)).toEqual(['secagg-session', 'secagg-masked-input', 'secagg-session-refused', 'secagg-session-refused']);
    expect(audit[2]!.reason).toBe(
      "SESSION_NOT_ALLOWED: secagg: this query's analysis needs 1 secure-aggregation session and this node has joined 1; it joins no more",
    );
    expect(await registry.metrics()).toContain('fedlab_secagg_sessions_refused_total{code="SESSION_NOT_ALLOWED",excess="true"} 2');
  });

  it('refuses a session naming a node the signed query does not target, leaving one out, or naming one twice', async () => {
    const refusal = { code: 'SESSION_NOT_ALLOWED', message: 'secagg: a session must name exactly the nodes the signed query targets, each once' };
    for (const ids of [
      ['a', 'b', 'c', 'd'],
      ['a', 'b'],
      ['a', 'b', 'b', 'c'],
    ]) {
      const parties = participants(IDS.map(() => tablePreparation()));
      expect(refusalsOf(await broadcast(parties, 'q-1/1', () => ({ $case: 'begin', value: tableBegin(ids) }), ['a']))).toEqual([refusal]);
    }
  });

  it("refuses a threshold below the node's own", async () => {
    const audit: Audited[] = [];
    const registry = new Registry();
    const parties = participants(
      IDS.map(() => tablePreparation()),
      audit,
      nodeMetrics(registry),
    );
    const replies = await broadcast(parties, 'q-1/1', () => ({ $case: 'begin', value: tableBegin(IDS, 2) }), ['a']);
    expect(refusalsOf(replies)).toEqual([
      { code: 'SESSION_NOT_ALLOWED', message: 'secagg: the session would release with 2 survivors; this node requires at least 3' },
    ]);
    expect(audit).toEqual([
      { decision: 'secagg-session-refused', reason: 'SESSION_NOT_ALLOWED: secagg: the session would release with 2 survivors; this node requires at least 3' },
    ]);
    expect(await registry.metrics()).toContain('fedlab_secagg_sessions_refused_total{code="SESSION_NOT_ALLOWED",excess="false"} 1');
  });
});

describe("a model's rounds at coefficients each node derives itself", () => {
  /** A fresh fit whose first round ran honestly. */
  async function afterRoundOne() {
    const parties = participants(modelPreparations());
    const first = await session(parties, 'q-1/1', modelBegin(1, []));
    expect(refusalsOf(first.started)).toEqual(['keys', 'keys', 'keys']);
    return { parties, sum: first.sum!, transcript: first.transcript! };
  }

  it('joins round 2 at the coefficients the verified transcript of round 1 gives, and sums it', async () => {
    const { parties, sum, transcript } = await afterRoundOne();
    const beta = honestBeta(sum);
    expect(beta).toHaveLength(PLAN.names.length);
    const second = await session(parties, 'q-1/2', modelBegin(2, beta, transcript));
    expect(refusalsOf(second.started)).toEqual(['keys', 'keys', 'keys']);
    expect(decodeContribution(second.sum!, 0)).toHaveLength(privateRoundLength(PLAN, 2));
  });

  it('refuses coefficients the coordinator chose (a count oracle) even with a genuine transcript', async () => {
    const { parties, sum, transcript } = await afterRoundOne();
    const chosen = honestBeta(sum).map((b, j) => (j === 1 ? b + 40 : b));
    const replies = await broadcast(parties, 'q-1/2', () => ({ $case: 'begin', value: modelBegin(2, chosen, transcript) }));
    expect(refusalsOf(replies)).toEqual(
      IDS.map(() => ({ code: 'SESSION_NOT_ALLOWED', message: "secagg: round 2's coefficients are not those the verified sum of round 1 gives" })),
    );
  });

  it('refuses a forged, altered or missing transcript', async () => {
    const cases: Array<[string, (t: RoundTranscript) => RoundTranscript | undefined, string]> = [
      ['missing', () => undefined, 'secagg: round 2 of the model fit needs the transcript of round 1'],
      [
        'altered masked input',
        (t) => ({
          ...t,
          maskedInputs: t.maskedInputs.map((m, i) => (i === 1 ? { ...m, masked: Uint8Array.from(m.masked, (v, k) => (k === 0 ? v ^ 1 : v)) } : m)),
        }),
        "secagg: the previous round's transcript does not verify: receiveMaskedInput: signature of b does not verify",
      ],
      [
        'a survivor left out',
        (t) => ({ ...t, maskedInputs: t.maskedInputs.filter((m) => m.clientId !== 'c') }),
        "secagg: the previous round's transcript does not verify: threshold not met: masked inputs received (U3): 2 of the 3 required",
      ],
      [
        'forged unmask share',
        (t) => ({
          ...t,
          unmaskings: t.unmaskings.map((u) => ({
            ...u,
            selfMaskShares: u.selfMaskShares.map((s) => ({ ...s, share: Uint8Array.from(s.share, (v, k) => (k === 1 ? v ^ 1 : v)) })),
          })),
        }),
        "secagg: the previous round's transcript does not verify: aggregate: reconstructed self-mask seed of a does not match its commitment",
      ],
    ];
    for (const [, tamper, message] of cases) {
      const { parties, sum, transcript } = await afterRoundOne();
      const replies = await broadcast(parties, 'q-1/2', () => ({ $case: 'begin', value: modelBegin(2, honestBeta(sum), tamper(transcript)) }), ['a']);
      expect(refusalsOf(replies)).toEqual([{ code: 'TRANSCRIPT_INVALID', message }]);
    }
  });

  it('follows the fit no further once a round was refused: an honest round after it is refused too', async () => {
    const { parties, sum, transcript } = await afterRoundOne();
    const beta = honestBeta(sum);
    const chosen = beta.map((b, j) => (j === 1 ? b + 40 : b));
    expect(refusalsOf(await broadcast(parties, 'q-1/2', () => ({ $case: 'begin', value: modelBegin(2, chosen, transcript) }), ['a']))[0]).toMatchObject({
      code: 'SESSION_NOT_ALLOWED',
    });
    // The node's fitter took round 1's step while checking; replaying the transcript must not step it twice.
    expect(refusalsOf(await broadcast(parties, 'q-1/3', () => ({ $case: 'begin', value: modelBegin(2, beta, transcript) }), ['a']))).toEqual([
      { code: 'SESSION_NOT_ALLOWED', message: 'secagg: an earlier round of this model fit was refused here; the fit cannot continue' },
    ]);
  });

  it('refuses a session at any scale but 0 bits (the range check would become a probe of the noisy share)', async () => {
    const parties = participants(modelPreparations());
    const scaled = { ...modelBegin(1, []), scaleBits: 12 };
    expect(refusalsOf(await broadcast(parties, 'q-1/1', () => ({ $case: 'begin', value: scaled }), ['a']))).toEqual([
      { code: 'SESSION_NOT_ALLOWED', message: 'secagg: a session sums integers; its scale must be 0 bits' },
    ]);
  });

  it('refuses a changed participant set mid-model and a threshold below every target', async () => {
    const { parties, sum, transcript } = await afterRoundOne();
    const beta = honestBeta(sum);
    expect(refusalsOf(await broadcast(parties, 'q-1/2', () => ({ $case: 'begin', value: modelBegin(2, beta, transcript, ['a', 'b']) }), ['a']))).toEqual([
      { code: 'SESSION_NOT_ALLOWED', message: 'secagg: a session must name exactly the nodes the signed query targets, each once' },
    ]);
    const lowered = { ...modelBegin(2, beta, transcript), threshold: 2 };
    expect(refusalsOf(await broadcast(parties, 'q-1/3', () => ({ $case: 'begin', value: lowered }), ['b']))).toEqual([
      { code: 'SESSION_NOT_ALLOWED', message: 'secagg: the session would release with 2 survivors; this node requires at least 3' },
    ]);
  });
});
