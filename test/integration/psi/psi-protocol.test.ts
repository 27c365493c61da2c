import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPsiDecryptor, createPsiEngine, initCrypto, RistrettoPool } from '@fedlab/crypto';
import { CohortParty, OutcomeParty, POINT_BYTES, tupleKeys, type BlindedGroup, type GroupRule, type PsiDecryptor, type PsiEngine } from '@fedlab/psi';

const SESSION = new Uint8Array(32).fill(7);
const PASSES = ['health_number', 'name_dob'];
let pool: RistrettoPool;
let engine: PsiEngine;
let decryptor: PsiDecryptor;

/** The groups of the study the cohort side below runs: a cohort and one control per case. */
const STUDY_GROUPS: GroupRule[] = [
  { name: 'cohort', minPersons: 2 },
  { name: 'comparison', minPersons: 2, perCase: { of: 'cohort', most: 1 } },
];
const COHORT_ONLY: GroupRule[] = [{ name: 'cohort', minPersons: 1 }];

/** Outcome persons o0..o9: health number hN for all, name key nN for even N; values [N % 2, N]. */
function outcomeSide(publicKeys: Uint8Array[], maxPeerSetSize = 1000, groups = STUDY_GROUPS) {
  const tuples = Array.from({ length: 10 }, (_, n) => [`h${n}`, n % 2 === 0 ? `n${n}` : null]);
  const values = Uint32Array.from(Array.from({ length: 10 }, (_, n) => [n % 2, n]).flat());
  return new OutcomeParty({
    engine,
    sessionId: SESSION,
    passNames: PASSES,
    tuples,
    values,
    publicKeys,
    valueBounds: publicKeys.map(() => 1),
    valueSquares: publicKeys.map(() => false),
    maxPeerSetSize,
    groups,
  });
}

function cohortSide(publicKeys: Uint8Array[], maxPeerSetSize = 1000) {
  return new CohortParty({
    engine,
    sessionId: SESSION,
    passNames: PASSES,
    // cohort: o1 (by health number), o2 (by name only: its health number is mistyped), o3 and
    // o3 again under a second tuple (counts once), and two strangers; comparison: o4, o5.
    groups: [
      {
        name: 'cohort',
        tuples: [
          ['h1', null],
          ['typo', 'n2'],
          ['h3', null],
          ['h3', 'x'],
          ['h99', null],
          [null, null],
        ],
      },
      {
        name: 'comparison',
        tuples: [
          ['h4', null],
          ['h5', 'n5'],
        ],
      },
    ],
    publicKeys,
    maxPeerSetSize,
  });
}

// Every case runs on both libsodium backends: the native addon and the WebAssembly build.
describe.each(['native', 'wasm'] as const)('private intersection-sum with the libsodium engine (%s backend)', (backend) => {
  beforeAll(async () => {
    await initCrypto();
    pool = new RistrettoPool(2, backend);
    expect((await pool.info()).name).toBe(backend);
    engine = createPsiEngine(pool);
    decryptor = createPsiDecryptor();
  });
  afterAll(() => pool.close());

  it('sums the value vectors of matched persons per group, each person once, and reveals only counts to C', async () => {
    const { publicKeys, secretKeys } = decryptor.generateKeys(2);
    const c = cohortSide(publicKeys);
    const o = outcomeSide(publicKeys);
    const aggregate = await c.finish(await o.respond(await c.start()));
    const byName = new Map(aggregate.groups.map((g) => [g.name, g]));
    // h3 occurs in two cohort tuples, so pass 0 ignores it as ambiguous: o3 is not linked.
    expect(byName.get('cohort')!.matched).toBe(2);
    expect(decryptor.decrypt(byName.get('cohort')!.ciphertext, secretKeys, [2, 20])).toEqual([1 + 0, 1 + 2]);
    expect(byName.get('comparison')!.matched).toBe(2);
    expect(decryptor.decrypt(byName.get('comparison')!.ciphertext, secretKeys, [2, 20])).toEqual([0 + 1, 4 + 5]);
  });

  it('returns C its groups re-blinded and shuffled, so C cannot tell which of its persons matched', async () => {
    const { publicKeys } = decryptor.generateKeys(1);
    const tuples = Array.from({ length: 64 }, (_, n) => [`h${n}`, null]);
    const c = new CohortParty({ engine, sessionId: SESSION, passNames: PASSES, groups: [{ name: 'cohort', tuples }], publicKeys, maxPeerSetSize: 1000 });
    const sets = await c.start();
    const kO = engine.randomScalar();
    const o = new OutcomeParty({
      engine: { ...engine, randomScalar: () => kO },
      sessionId: SESSION,
      passNames: PASSES,
      tuples: [],
      values: new Uint32Array(0),
      publicKeys,
      valueBounds: publicKeys.map(() => 1),
      valueSquares: publicKeys.map(() => false),
      maxPeerSetSize: 1000,
      groups: COHORT_ONLY,
    });
    const reply = await o.respond(sets);
    const inSentOrder = tupleKeys(await engine.blind(sets.groups[0]!.tuples, kO), 64, 2).map((t) => t.join());
    const returned = tupleKeys(reply.groups[0]!.tuples, 64, 2).map((t) => t.join());
    expect([...returned].sort()).toEqual([...inSentOrder].sort());
    expect(returned).not.toEqual(inSentOrder);
  });

  it('decrypts an empty intersection to zeros (the sum starts from a fresh encryption of zero)', async () => {
    const { publicKeys, secretKeys } = decryptor.generateKeys(2);
    const c = new CohortParty({
      engine,
      sessionId: SESSION,
      passNames: PASSES,
      groups: [{ name: 'cohort', tuples: [['nobody', null]] }],
      publicKeys,
      maxPeerSetSize: 1000,
    });
    const aggregate = await c.finish(await outcomeSide(publicKeys, 1000, COHORT_ONLY).respond(await c.start()));
    expect(aggregate.groups[0]!.matched).toBe(0);
    expect(decryptor.decrypt(aggregate.groups[0]!.ciphertext, secretKeys, [1, 1])).toEqual([0, 0]);
  });

  it('refuses an invalid point in the cohort sets', async () => {
    const { publicKeys } = decryptor.generateKeys(2);
    const sets = await cohortSide(publicKeys).start();
    sets.groups[0]!.tuples.fill(0xff, 0, POINT_BYTES);
    await expect(outcomeSide(publicKeys).respond(sets)).rejects.toThrowFedlabError(
      'INVALID_POINT',
      'psi: received element 0 is not a valid ristretto255 element or is the identity',
    );
  });

  it('refuses the identity element in the cohort sets', async () => {
    const { publicKeys } = decryptor.generateKeys(2);
    const sets = await cohortSide(publicKeys).start();
    sets.groups[1]!.tuples.fill(0, POINT_BYTES, 2 * POINT_BYTES);
    await expect(outcomeSide(publicKeys).respond(sets)).rejects.toThrowFedlabError(
      'INVALID_POINT',
      'psi: received element 1 is not a valid ristretto255 element or is the identity',
    );
  });

  it('refuses an identity element among the outcome ciphertexts', async () => {
    const { publicKeys } = decryptor.generateKeys(2);
    const c = cohortSide(publicKeys);
    const reply = await outcomeSide(publicKeys).respond(await c.start());
    reply.outcome.ciphertexts.fill(0, 5 * POINT_BYTES, 6 * POINT_BYTES);
    await expect(c.finish(reply)).rejects.toThrowFedlabError('INVALID_POINT', 'psi: received element 5 is not a valid ristretto255 element or is the identity');
  });

  it('refuses tuples of the wrong width', async () => {
    const { publicKeys } = decryptor.generateKeys(2);
    const sets = await cohortSide(publicKeys).start();
    await expect(outcomeSide(publicKeys).respond({ ...sets, width: 3 })).rejects.toThrowFedlabError(
      'TUPLE_WIDTH_MISMATCH',
      'psi: the cohort sets have tuples of 3 elements; this run uses 2 passes',
    );
    const sets2 = await cohortSide(publicKeys).start();
    sets2.groups[0] = { ...sets2.groups[0]!, tuples: sets2.groups[0]!.tuples.subarray(POINT_BYTES) };
    await expect(outcomeSide(publicKeys).respond(sets2)).rejects.toThrowFedlabError(
      'TUPLE_WIDTH_MISMATCH',
      'psi: group "cohort" has 352 bytes; 6 tuples of 2 elements need 384',
    );
  });

  it('refuses a cohort set larger than the outcome node policy allows, and an outcome set larger than the cohort node allows', async () => {
    const { publicKeys } = decryptor.generateKeys(2);
    await expect(outcomeSide(publicKeys, 7).respond(await cohortSide(publicKeys).start())).rejects.toThrowFedlabError(
      'SET_TOO_LARGE',
      "psi: the cohort sets hold 8 persons; this node's policy accepts at most 7",
    );
    const c = cohortSide(publicKeys, 9);
    await expect(c.finish(await outcomeSide(publicKeys).respond(await c.start()))).rejects.toThrowFedlabError(
      'SET_TOO_LARGE',
      "psi: the outcome set has 10 persons; this node's policy accepts at most 9",
    );
  });

  it("refuses cohort sets that are not the signed study's groups: an extra group, a missing one, one below the minimum, too many controls", async () => {
    const { publicKeys } = decryptor.generateKeys(2);
    const sets = await cohortSide(publicKeys).start();
    const [cohort, comparison] = sets.groups as [BlindedGroup, BlindedGroup];
    // The attack: one group per person tells a cohort node which of its persons have a record.
    const onePerson = { name: 'person-1', count: 1, tuples: cohort.tuples.subarray(0, 2 * POINT_BYTES) };
    const exactly = 'psi: the cohort sets must hold exactly the groups of the signed study (cohort, comparison)';
    await expect(outcomeSide(publicKeys).respond({ ...sets, groups: [cohort, comparison, onePerson] })).rejects.toThrowFedlabError('INVALID_ARGUMENT', exactly);
    await expect(outcomeSide(publicKeys).respond({ ...sets, groups: [cohort] })).rejects.toThrowFedlabError('INVALID_ARGUMENT', exactly);
    await expect(outcomeSide(publicKeys).respond({ ...sets, groups: [{ ...onePerson, name: 'cohort' }, comparison] })).rejects.toThrowFedlabError(
      'COHORT_TOO_SMALL',
      'psi: group "cohort" holds fewer persons than this node\'s minimum of 2',
    );
    await expect(
      outcomeSide(publicKeys).respond({
        ...sets,
        groups: [
          { ...comparison, name: 'cohort' },
          { ...cohort, name: 'comparison' },
        ],
      }),
    ).rejects.toThrowFedlabError(
      'INVALID_ARGUMENT',
      'psi: group "comparison" holds more persons than the signed study allows (1 per person of group "cohort")',
    );
  });

  it('refuses a group that lists the same person twice (copies standing in for the minimum)', async () => {
    const { publicKeys } = decryptor.generateKeys(2);
    const sets = await cohortSide(publicKeys).start();
    const [cohort, comparison] = sets.groups as [BlindedGroup, BlindedGroup];
    const first = cohort.tuples.subarray(0, 2 * POINT_BYTES);
    const copies = { ...cohort, tuples: Buffer.concat(Array.from({ length: cohort.count }, () => first)) };
    await expect(outcomeSide(publicKeys).respond({ ...sets, groups: [copies, comparison] })).rejects.toThrowFedlabError(
      'INVALID_ARGUMENT',
      'psi: group "cohort" lists the same person (key tuple) more than once',
    );
  });

  it('refuses replayed and reordered steps', async () => {
    const { publicKeys } = decryptor.generateKeys(2);
    const c = cohortSide(publicKeys);
    const o = outcomeSide(publicKeys);
    const early = await outcomeSide(publicKeys).respond(await cohortSide(publicKeys).start());
    await expect(c.finish(early)).rejects.toThrowFedlabError('PROTOCOL_OUT_OF_ORDER', 'psi: the outcome reply arrived before the cohort sets were sent');
    const sets = await c.start();
    await expect(c.start()).rejects.toThrowFedlabError('PROTOCOL_OUT_OF_ORDER', 'psi: the cohort sets were already sent in this run');
    const reply = await o.respond(sets);
    await expect(o.respond(sets)).rejects.toThrowFedlabError('PROTOCOL_OUT_OF_ORDER', 'psi: the cohort sets were already answered in this run (replayed)');
    await c.finish(reply);
    await expect(c.finish(reply)).rejects.toThrowFedlabError('PROTOCOL_OUT_OF_ORDER', 'psi: the outcome reply was already processed in this run (replayed)');
  });

  it('refuses to decode a sum outside the declared range instead of wrapping', async () => {
    const { publicKeys, secretKeys } = decryptor.generateKeys(2);
    const c = cohortSide(publicKeys);
    const aggregate = await c.finish(await outcomeSide(publicKeys).respond(await c.start()));
    const cohort = aggregate.groups.find((g) => g.name === 'cohort')!;
    expect(() => decryptor.decrypt(cohort.ciphertext, secretKeys, [2, 2])).toThrow(
      expect.objectContaining({ code: 'DECODE_OUT_OF_RANGE', message: 'psi: entry 1 of the encrypted sum is not in [0, 2]; nothing was released' }),
    );
  });
});
