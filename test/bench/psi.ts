import { createHash, randomBytes, randomInt } from 'node:crypto';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg } from 'node:os';
import {
  blake2b,
  createPsiDecryptor,
  createPsiEngine,
  generateIdentity,
  initCrypto,
  NATIVE_RISTRETTO_ADDON,
  openFromPeer,
  RistrettoPool,
  sealForPeer,
  sodium,
} from '@fedlab/crypto';
import type { KeyTuple } from '@fedlab/linkage';
import { psiHeader, psiSessionId } from '@fedlab/node-service';
import * as pb from '@fedlab/proto';
import { CohortParty, OutcomeParty, type BlindedGroup, type CohortSets, type OutcomeReply, type PsiEngine } from '@fedlab/psi';
import { studyNoise } from '@fedlab/node-service';
import { integerOption } from './options';

/** What one run of the private intersection-sum links: one cohort group against one outcome set. */
export interface PsiRunInput {
  passNames: readonly string[];
  /** The cohort party's tuples (one group, "cohort"). */
  cohort: readonly KeyTuple[];
  /** The outcome party's tuples. */
  outcome: readonly KeyTuple[];
  /** The outcome persons' value vectors, row-major, `valueWidth` entries each. */
  values: Uint32Array;
  valueWidth: number;
  /** Largest value each entry of the decrypted sum may have (the coordinator's decoding bounds). */
  bounds: readonly number[];
}

/** The largest value of each entry over the outcome persons (the per-person bounds O declares). */
function perPersonBounds(input: PsiRunInput): number[] {
  const bounds = new Array<number>(input.valueWidth).fill(0);
  input.values.forEach((v, i) => (bounds[i % input.valueWidth] = Math.max(bounds[i % input.valueWidth]!, v)));
  return bounds;
}

/**
 * Seconds the cohort node spends adding one group's noise (median of 20): drawing it (studyNoise, as the
 * node does) and encrypting it under fresh run keys with the pool's engine; the homomorphic sum then has
 * one more vector, one point addition per entry.
 */
async function timeStudyNoise(pool: RistrettoPool, valueWidth: number): Promise<number> {
  const engine = createPsiEngine(pool);
  const { publicKeys } = createPsiDecryptor().generateKeys(valueWidth);
  const noise = studyNoise(1, { outcomeNodes: 1, controlsPerCase: 0, passes: 3 }, [1000]);
  const bounds = new Array<number>(valueWidth).fill(1);
  const squares = new Array<boolean>(valueWidth).fill(false);
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    const drawn = noise.draw(bounds, squares);
    await engine.encrypt(Uint32Array.from(drawn.shifted), publicKeys);
    times.push((performance.now() - t) / 1000);
  }
  return times.sort((a, b) => a - b)[10]!;
}

/** What one run measured and returned. */
export interface PsiRunResult {
  /** Persons of the cohort group C matched (the count C learns). */
  matched: number;
  /** The decrypted sum of the matched persons' value vectors. */
  sums: number[];
  /** Wall time from creating the parties to the decrypted sums. */
  seconds: number;
  /** CPU time of the process (main thread and workers) over the same interval. */
  cpuSeconds: number;
  /** Elapsed seconds at the end of each step (C's sets sealed; O's reply sealed; C's aggregate; decrypted). */
  steps: { start: number; respond: number; finish: number; decrypt: number };
  /** Seconds spent encoding, sealing, opening and decoding the two payloads on the main thread. */
  wireSeconds: number;
  /** Bytes of the sealed payloads (nonce ‖ crypto_box(signature ‖ protobuf)). */
  sealedBytes: { cohortToOutcome: number; outcomeToCohort: number };
  /** The session id the keys were hashed under, and each party's blinding scalar (recorded for the harness). */
  sessionId: Uint8Array;
  scalars: { cohort: Uint8Array; outcome: Uint8Array };
}

const COHORT_NODE = 'bench-cohort-node';
const OUTCOME_NODE = 'bench-outcome-node';
const RUN_ID = 'bench-run';

const groupToProto = (g: BlindedGroup): pb.PsiBlindedGroup => ({ name: g.name, count: BigInt(g.count), tuples: Buffer.from(g.tuples) });
const groupFromProto = (g: pb.PsiBlindedGroup): BlindedGroup => ({ name: g.name, count: Number(g.count), tuples: new Uint8Array(g.tuples) });

function setsToProto(sets: CohortSets): pb.PsiCohortSets {
  return { width: sets.width, groups: sets.groups.map(groupToProto) };
}

function setsFromProto(m: pb.PsiCohortSets): CohortSets {
  return { width: m.width, groups: m.groups.map(groupFromProto) };
}

function replyToProto(r: OutcomeReply): pb.PsiOutcomeReply {
  const { outcome } = r;
  return {
    width: r.width,
    groups: r.groups.map(groupToProto),
    outcomeCount: BigInt(outcome.count),
    outcomeTuples: Buffer.from(outcome.tuples),
    valueWidth: outcome.valueWidth,
    ciphertexts: Buffer.from(outcome.ciphertexts),
    valueBounds: outcome.valueBounds,
    valueSquares: outcome.valueSquares,
  };
}

function replyFromProto(m: pb.PsiOutcomeReply): OutcomeReply {
  return {
    width: m.width,
    groups: m.groups.map(groupFromProto),
    outcome: {
      count: Number(m.outcomeCount),
      tuples: new Uint8Array(m.outcomeTuples),
      valueWidth: m.valueWidth,
      ciphertexts: new Uint8Array(m.ciphertexts),
      valueBounds: [...m.valueBounds],
      valueSquares: [...m.valueSquares],
    },
  };
}

/**
 * One private intersection-sum run through the code path the nodes take (DESIGN.md §7.4), both parties
 * in this process on `pool`: the coordinator's keys (`createPsiDecryptor`, before timing), then
 * `CohortParty.start` → `PsiCohortSets` encoded and sealed C → O (`sealForPeer`/`openFromPeer`, two
 * generated identities, the nodes' headers and session id) → `OutcomeParty.respond` → `PsiOutcomeReply`
 * sealed O → C → `CohortParty.finish` → decryption. The parties are created in the order the nodes
 * start on `begin`, C's hashing queued first; O's own half starts when it is created. Each party's
 * engine records its blinding scalar, so a harness can recompute the doubly blinded keys. Call after
 * `initCrypto()`.
 */
export async function runPsiProtocol(pool: RistrettoPool, input: PsiRunInput): Promise<PsiRunResult> {
  const engine = createPsiEngine(pool);
  const decryptor = createPsiDecryptor();
  const cohortNode = generateIdentity(COHORT_NODE, 'node');
  const outcomeNode = generateIdentity(OUTCOME_NODE, 'node');
  const queryHash = blake2b(randomBytes(32), 32);
  const sessionId = psiSessionId(queryHash, RUN_ID, COHORT_NODE, OUTCOME_NODE);
  const { publicKeys, secretKeys } = decryptor.generateKeys(input.valueWidth);
  const scalars: Partial<PsiRunResult['scalars']> = {};
  const recording = (side: keyof PsiRunResult['scalars']): PsiEngine => ({ ...engine, randomScalar: () => (scalars[side] = engine.randomScalar()) });
  const common = { sessionId, passNames: input.passNames, publicKeys, maxPeerSetSize: Number.MAX_SAFE_INTEGER };
  const header = (step: number, from: string, to: string) => psiHeader(queryHash, RUN_ID, step, from, to);
  let wire = 0;
  const onWire = <T>(run: () => T): T => {
    const t = performance.now();
    const value = run();
    wire += performance.now() - t;
    return value;
  };

  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const since = () => (performance.now() - t0) / 1000;
  const cohort = new CohortParty({ ...common, engine: recording('cohort'), groups: [{ name: 'cohort', tuples: input.cohort }] });
  const started = cohort.start();
  const outcome = new OutcomeParty({
    ...common,
    engine: recording('outcome'),
    tuples: input.outcome,
    values: input.values,
    valueBounds: perPersonBounds(input),
    valueSquares: new Array<boolean>(input.valueWidth).fill(false),
    groups: [{ name: 'cohort', minPersons: 1 }],
  });
  const sets = await started;
  const sealedSets = onWire(() =>
    sealForPeer(cohortNode, outcomeNode, header(1, COHORT_NODE, OUTCOME_NODE), pb.PsiCohortSets.encode(setsToProto(sets)).finish()),
  );
  const startDone = since();

  const received = onWire(() =>
    setsFromProto(pb.PsiCohortSets.decode(openFromPeer(outcomeNode, cohortNode, header(1, COHORT_NODE, OUTCOME_NODE), sealedSets))),
  );
  const reply = await outcome.respond(received);
  const sealedReply = onWire(() =>
    sealForPeer(outcomeNode, cohortNode, header(2, OUTCOME_NODE, COHORT_NODE), pb.PsiOutcomeReply.encode(replyToProto(reply)).finish()),
  );
  const respondDone = since();

  const replyReceived = onWire(() =>
    replyFromProto(pb.PsiOutcomeReply.decode(openFromPeer(cohortNode, outcomeNode, header(2, OUTCOME_NODE, COHORT_NODE), sealedReply))),
  );
  const aggregate = await cohort.finish(replyReceived);
  const finishDone = since();

  const group = aggregate.groups[0]!;
  const sums = decryptor.decrypt(group.ciphertext, secretKeys, input.bounds);
  const elapsed = since();
  const used = process.cpuUsage(cpu);

  if (!scalars.cohort || !scalars.outcome) throw new Error('psi bench: a party did not draw its blinding scalar');
  return {
    matched: group.matched,
    sums,
    seconds: elapsed,
    cpuSeconds: (used.user + used.system) / 1e6,
    steps: { start: startDone, respond: respondDone, finish: finishDone, decrypt: elapsed },
    wireSeconds: wire / 1000,
    sealedBytes: { cohortToOutcome: sealedSets.length, outcomeToCohort: sealedReply.length },
    sessionId,
    scalars: { cohort: scalars.cohort, outcome: scalars.outcome },
  };
}

/** Single-core libsodium rates (operations per second on the main thread) of the operations the engine runs. */
export interface SodiumRates {
  /** `crypto_scalarmult_ristretto255` (variable base). */
  scalarmult: number;
  /** `crypto_scalarmult_ristretto255_base`. */
  base: number;
  /** Hash to the group as the worker does it: BLAKE2b-512 of domain ‖ key, then `crypto_core_ristretto255_from_hash`. */
  hashToGroup: number;
  /** `crypto_core_ristretto255_is_valid_point`. */
  validate: number;
}

/** Operations per second of `op` over `count` calls, after a short warm-up. */
function rate(count: number, op: (i: number) => void): number {
  for (let i = 0; i < Math.min(200, count); i += 1) op(i);
  const t = performance.now();
  for (let i = 0; i < count; i += 1) op(i);
  return count / ((performance.now() - t) / 1000);
}

/** `count` inputs shaped like the worker's hash inputs (domain ‖ session ‖ pass ‖ key), for the rate measurements. */
const hashInputs = (count: number) =>
  Array.from({ length: count }, () => Buffer.from(`fedlab/v1/psi-key\0session-id-32-bytes-long-padding\0pass\0${randomBytes(8).toString('hex')}`, 'utf8'));

/** Each operation's best round, and the slowest and fastest scalarmult rounds. */
function bestRounds(samples: SodiumRates[]): { rates: SodiumRates; scalarmultRange: [number, number] } {
  const best = (op: keyof SodiumRates) => Math.max(...samples.map((sample) => sample[op]));
  const scalarmults = samples.map((sample) => sample.scalarmult);
  return {
    rates: { scalarmult: best('scalarmult'), base: best('base'), hashToGroup: best('hashToGroup'), validate: best('validate') },
    scalarmultRange: [Math.min(...scalarmults), Math.max(...scalarmults)],
  };
}

/**
 * The single-core libsodium rates of the WebAssembly build on the main thread: `rounds` rounds of
 * `count` calls of each operation, keeping each operation's best round (the one least disturbed by
 * other load on the machine), and the slowest and fastest scalarmult rounds. Call after `initCrypto()`.
 */
export function measureRates(count: number, rounds: number): { rates: SodiumRates; scalarmultRange: [number, number] } {
  const s = sodium();
  const scalar = s.crypto_core_ristretto255_scalar_random();
  const keys = hashInputs(count);
  let point = s.crypto_core_ristretto255_from_hash(randomBytes(64));
  return bestRounds(
    Array.from({ length: rounds }, () => ({
      scalarmult: rate(count, () => {
        point = s.crypto_scalarmult_ristretto255(scalar, point);
      }),
      base: rate(count, () => s.crypto_scalarmult_ristretto255_base(scalar)),
      hashToGroup: rate(count, (i) => s.crypto_core_ristretto255_from_hash(s.crypto_generichash(64, keys[i]!, null))),
      validate: rate(count, () => s.crypto_core_ristretto255_is_valid_point(point)),
    })),
  );
}

/** The native addon's batch interface (libs/adapters/crypto/native/ristretto.c). */
interface NativeRistretto {
  hashBlind(digests: Uint8Array, scalar: Uint8Array, out: Uint8Array): number;
  blind(points: Uint8Array, scalar: Uint8Array, out: Uint8Array): number;
  validate(points: Uint8Array): number;
  encrypt(values: Uint32Array, publicKeys: Uint8Array, randomness: Uint8Array, out: Uint8Array): number;
  version(): string;
}

/**
 * The same single-core rates for the native addon on the main thread. The addon runs batches, so
 * each operation's time is the difference of two batches of `count` items that differ by that
 * operation alone, within one round: validate = `validate`; scalarmult = `blind` (validation +
 * scalarmult) − validate; hash to group = `hashBlind` (from_hash + scalarmult) − scalarmult, plus
 * BLAKE2b-512 from node:crypto as the worker computes it; base = `encrypt` of one zero entry (reduce +
 * base + scalarmult) − scalarmult. scalarmult and validate keep their best round, as
 * {@link measureRates} does; base and hash to group, small differences of two noisy timings, their
 * median round.
 */
export function measureNativeRates(count: number, rounds: number): { rates: SodiumRates; scalarmultRange: [number, number]; version: string } {
  const addon = createRequire(__filename)(NATIVE_RISTRETTO_ADDON) as NativeRistretto;
  const s = sodium();
  const scalar = s.crypto_core_ristretto255_scalar_random();
  const points = new Uint8Array(count * 32);
  for (let i = 0; i < count; i += 1) points.set(s.crypto_core_ristretto255_from_hash(randomBytes(64)), i * 32);
  const digests = randomBytes(count * 64);
  const keys = s.crypto_scalarmult_ristretto255_base(scalar);
  const randomness = randomBytes(count * 64);
  const out = new Uint8Array(count * 2 * 32);
  const inputs = hashInputs(count);
  const batches = {
    validate: () => addon.validate(points),
    blind: () => addon.blind(points, scalar, out.subarray(0, count * 32)),
    hashBlind: () => addon.hashBlind(digests, scalar, out.subarray(0, count * 32)),
    encrypt: () => addon.encrypt(new Uint32Array(count), keys, randomness, out.subarray(0, count * 64)),
  };
  /** Seconds per item of one batch. */
  const perItem = (batch: () => number) => {
    const t = performance.now();
    if (batch() !== -1) throw new Error('psi bench: a native batch failed');
    return (performance.now() - t) / 1000 / count;
  };
  for (const batch of Object.values(batches)) batch();
  const samples = Array.from({ length: rounds }, () => {
    const t = Object.fromEntries(Object.entries(batches).map(([name, batch]) => [name, perItem(batch)])) as Record<keyof typeof batches, number>;
    const blake = 1 / rate(count, (i) => blake2bHash(inputs[i]!));
    const scalarmult = t.blind - t.validate;
    return { scalarmult: 1 / scalarmult, base: 1 / (t.encrypt - scalarmult), hashToGroup: 1 / (t.hashBlind - scalarmult + blake), validate: 1 / t.validate };
  });
  const median = (op: keyof SodiumRates) => {
    const sorted = samples.map((sample) => sample[op]).sort((x, y) => x - y);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  const scalarmults = samples.map((sample) => sample.scalarmult);
  return {
    // scalarmult and validate as for the WebAssembly build (best round; validation is 4 % of blind);
    // the two small differences by their median.
    rates: {
      scalarmult: Math.max(...scalarmults),
      base: median('base'),
      hashToGroup: median('hashToGroup'),
      validate: Math.max(...samples.map((sample) => sample.validate)),
    },
    scalarmultRange: [Math.min(...scalarmults), Math.max(...scalarmults)],
    version: addon.version(),
  };
}

const blake2bHash = (input: Uint8Array) => createHash('blake2b512').update(input).digest();

/** Operations of each kind (one per {@link SodiumRates} entry). */
export type OpCounts = Record<keyof SodiumRates, number>;

/**
 * Group operations per record of each side, counted from the parties and `ristretto-worker.js`
 * (w passes, v value entries). An outcome record costs O: w hash-to-group + w scalarmult (`hashBlind`
 * of its own tuple) and 1 base + v scalarmult (`encrypt`: r·G and r·pk_e; m·G comes from the worker's
 * cache of small multiples); C: w scalarmult (`blind` of O's tuple) and w + 1 + v validations (the
 * tuple in `blind`, the ciphertext in `validate`). A cohort record costs C: w hash-to-group + w
 * scalarmult (`hashBlind`) and w validations (`validate` in `finish`); O: w scalarmult and w
 * validations (`blind`). Point additions, the once-per-run re-randomisation and decryption are not counted.
 */
export function opsPerRecord(passes: number, valueWidth: number): { outcome: OpCounts; cohort: OpCounts } {
  return {
    outcome: { scalarmult: 2 * passes + valueWidth, base: 1, hashToGroup: passes, validate: passes + 1 + valueWidth },
    cohort: { scalarmult: 2 * passes, base: 0, hashToGroup: passes, validate: 2 * passes },
  };
}

/** The ops the brief counts: scalar multiplications (variable and fixed base) and hashes to the group. */
export const countedOps = (ops: OpCounts) => ops.scalarmult + ops.base + ops.hashToGroup;
/** Single-core seconds for `ops`, each operation at its own measured rate. */
const weightedSeconds = (ops: OpCounts, rates: SodiumRates) => (Object.keys(ops) as Array<keyof SodiumRates>).reduce((sum, op) => sum + ops[op] / rates[op], 0);

/** `outcome` random tuples and `cohort` tuples of which `overlap` are copies of distinct outcome tuples. */
function syntheticTuples(
  cohort: number,
  outcome: number,
  overlap: number,
  passes: number,
): { cohortTuples: KeyTuple[]; outcomeTuples: KeyTuple[]; shared: number[] } {
  const key = () => randomBytes(8).toString('hex');
  const outcomeTuples = Array.from({ length: outcome }, () => Array.from({ length: passes }, key));
  const order = Array.from({ length: outcome }, (_, i) => i);
  for (let i = 0; i < overlap; i += 1) {
    const j = randomInt(i, outcome);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const shared = order.slice(0, overlap);
  const cohortTuples = [...shared.map((o) => outcomeTuples[o]!), ...Array.from({ length: cohort - overlap }, () => Array.from({ length: passes }, key))];
  return { cohortTuples, outcomeTuples, shared };
}

/** A comma-separated list of positive integers, e.g. `--workers=2,1`. */
function integerListOption(args: string[], name: string, fallback: number[]): number[] {
  const raw = args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  if (raw === undefined) return fallback;
  const values = raw.split(',').map(Number);
  if (values.some((v) => !Number.isSafeInteger(v) || v < 1)) throw new Error(`--${name} must be a comma-separated list of positive integers, got ${raw}`);
  return values;
}

const count = (value: number) => Math.round(value).toLocaleString('en-CA');
const seconds = (value: number) => value.toFixed(value < 10 ? 2 : 1);

function backendsOption(args: string[]): Array<'native' | 'wasm'> {
  const raw = args.find((a) => a.startsWith('--backends='))?.slice('--backends='.length) ?? 'native,wasm';
  const values = raw.split(',');
  if (values.some((v) => v !== 'native' && v !== 'wasm')) throw new Error(`--backends must be a comma-separated list of native and wasm, got ${raw}`);
  return values as Array<'native' | 'wasm'>;
}

/**
 * `npm run bench -- psi`: a cohort of `--cohort` persons against an outcome set of `--outcome` persons,
 * `--values` random value entries in 0..9, for each number of random keys per person in `--passes`
 * (default 1 and 3; `--overlap-percent` of the cohort, 8 %, are copies of outcome persons). For each
 * of `--backends` (the native addon on the
 * system libsodium, and libsodium's WebAssembly build): that backend's single-core rates on the main
 * thread (`--rate-rounds` rounds of `--rate-ops` calls each, measured first), then one full protocol run
 * (as {@link runPsiProtocol}) per `--workers` pool size, each after a small warm-up run. Reports the
 * end-to-end seconds, outcome and cohort records per second, the sealed payload sizes, the process CPU
 * time, the ideal single-core time from the operation counts of {@link opsPerRecord} at that backend's
 * rates, the ratio measured ÷ ideal, the speed-up from the workers and the bound on this machine's
 * cores. Throws unless the matched count and the decrypted sums equal the planted overlap and its
 * plain sums.
 */
export async function psi(args: string[]): Promise<void> {
  const cohortSize = integerOption(args, 'cohort', 10_000);
  const outcomeSize = integerOption(args, 'outcome', 100_000);
  const passCounts = integerListOption(args, 'passes', [1, 3]);
  const valueWidth = integerOption(args, 'values', 3);
  const overlapPercent = integerOption(args, 'overlap-percent', 8);
  const rateOps = integerOption(args, 'rate-ops', 3000);
  const rateRounds = integerOption(args, 'rate-rounds', 5);
  const workerCounts = integerListOption(args, 'workers', [...new Set([availableParallelism(), 1])]);
  const backends = backendsOption(args);
  const overlap = Math.min(cohortSize, outcomeSize, Math.round((cohortSize * overlapPercent) / 100));
  const cores = availableParallelism();
  const maxValue = 9;
  const target = 4000;

  await initCrypto();
  console.log(
    `psi: cohort ${count(cohortSize)}, outcome ${count(outcomeSize)}, ${passCounts.join(' and ')} passes, ${valueWidth} values in 0..${maxValue}, ${count(overlap)} cohort persons planted in the outcome set`,
  );
  console.log(
    `  command: npm run bench -- psi --cohort=${cohortSize} --outcome=${outcomeSize} --passes=${passCounts.join(',')} --values=${valueWidth} --overlap-percent=${overlapPercent} --rate-ops=${rateOps} --rate-rounds=${rateRounds} --workers=${workerCounts.join(',')} --backends=${backends.join(',')}`,
  );
  console.log(`  load average before: ${loadAverage()}`);

  const rates = new Map<string, SodiumRates>();
  for (const backend of backends) {
    const measured = backend === 'native' ? measureNativeRates(rateOps, rateRounds) : measureRates(rateOps, rateRounds);
    const version = 'version' in measured ? measured.version : sodium().sodium_version_string();
    const r = measured.rates;
    rates.set(backend, r);
    console.log(
      `  ${backend} (libsodium ${version}), single core on the main thread, ${rateRounds} rounds of ${count(rateOps)} (scalarmult rounds ${count(measured.scalarmultRange[0])}–${count(measured.scalarmultRange[1])}/s): ` +
        `scalarmult ${count(r.scalarmult)}/s, base ${count(r.base)}/s, hash to group ${count(r.hashToGroup)}/s, is_valid_point ${count(r.validate)}/s`,
    );
  }

  const rows: string[][] = [];
  const verdicts: string[] = [];
  for (const passes of passCounts) {
    const perRecord = opsPerRecord(passes, valueWidth);
    const totalOps = countedOps(perRecord.outcome) * outcomeSize + countedOps(perRecord.cohort) * cohortSize;
    console.log(
      `  ${passes} pass(es): ops per outcome record ${countedOps(perRecord.outcome)} (${perRecord.outcome.scalarmult} scalarmult + ${perRecord.outcome.base} base + ${perRecord.outcome.hashToGroup} hash to group; plus ${perRecord.outcome.validate} validations), ` +
        `per cohort record ${countedOps(perRecord.cohort)} (${perRecord.cohort.scalarmult} + ${perRecord.cohort.base} + ${perRecord.cohort.hashToGroup}; plus ${perRecord.cohort.validate} validations): ${count(totalOps)} ops`,
    );
    const { cohortTuples, outcomeTuples, shared } = syntheticTuples(cohortSize, outcomeSize, overlap, passes);
    const values = new Uint32Array(outcomeSize * valueWidth).map(() => randomInt(0, maxValue + 1));
    const expected = Array.from({ length: valueWidth }, (_, e) => shared.reduce((sum, o) => sum + values[o * valueWidth + e]!, 0));
    const passNames = Array.from({ length: passes }, (_, p) => `pass_${p}`);
    const bounds = Array.from({ length: valueWidth }, () => maxValue * Math.min(cohortSize, outcomeSize));
    const input = { passNames, cohort: cohortTuples, outcome: outcomeTuples, values, valueWidth, bounds };
    const best = new Map<string, number>();
    for (const backend of backends) {
      const r = rates.get(backend)!;
      const idealSingle = totalOps / r.scalarmult;
      const weightedSingle = weightedSeconds(perRecord.outcome, r) * outcomeSize + weightedSeconds(perRecord.cohort, r) * cohortSize;
      console.log(
        `  ${passes} pass(es), ${backend}: ideal single-core ${count(totalOps)} ÷ ${count(r.scalarmult)}/s = ${seconds(idealSingle)} s; each op at its own rate (validations included) ${seconds(weightedSingle)} s`,
      );
      const measured = new Map<number, number>();
      for (const workers of workerCounts) {
        const pool = new RistrettoPool(workers, backend);
        try {
          // Warm-up (worker start-up, libsodium in each worker, JIT), not recorded.
          await runPsiProtocol(pool, {
            ...input,
            cohort: cohortTuples.slice(0, 200),
            outcome: outcomeTuples.slice(0, 2000),
            values: values.slice(0, 2000 * valueWidth),
          });
          if ((await pool.info()).name !== backend) throw new Error(`psi bench: the pool does not run the ${backend} backend`);
          const run = await runPsiProtocol(pool, input);
          if (run.matched !== overlap || run.sums.some((sum, e) => sum !== expected[e])) {
            throw new Error(
              `psi bench: ${passes} pass(es), ${backend}, ${workers} worker(s) matched ${run.matched} persons summing to [${run.sums.join(', ')}]; planted ${overlap} summing to [${expected.join(', ')}]`,
            );
          }
          measured.set(workers, run.seconds);
          // The study's noise (docs/privacy.md "Linkage studies"): what the cohort node adds per group on top of
          // this run — the draws for the match count and each entry, and one more encrypted vector to sum in.
          const noiseSeconds = await timeStudyNoise(pool, valueWidth);
          console.log(`  noise: ${(noiseSeconds * 1000).toFixed(2)} ms per group = ${((100 * noiseSeconds) / run.seconds).toFixed(3)} % of the run`);
          const { steps } = run;
          console.log(
            `  ${passes} pass(es), ${backend}, ${workers} worker(s): ${seconds(run.seconds)} s (C start + seal ${seconds(steps.start)} s, O respond + seal until ${seconds(steps.respond)} s, C finish until ${seconds(steps.finish)} s, decrypt until ${seconds(steps.decrypt)} s; ` +
              `encode/seal/open/decode ${seconds(run.wireSeconds)} s; process CPU ${seconds(run.cpuSeconds)} s); matched ${count(run.matched)}, sums [${run.sums.join(', ')}] verified; load average ${loadAverage()}`,
          );
          rows.push([
            String(passes),
            backend,
            String(workers),
            seconds(run.seconds),
            count(outcomeSize / run.seconds),
            count(cohortSize / run.seconds),
            count(run.sealedBytes.cohortToOutcome),
            count(run.sealedBytes.outcomeToCohort),
            (run.seconds / idealSingle).toFixed(2),
            (run.seconds / weightedSingle).toFixed(2),
            seconds(run.cpuSeconds),
            (run.cpuSeconds / run.seconds).toFixed(2),
          ]);
        } finally {
          await pool.close();
        }
      }
      const single = measured.get(1);
      const most = Math.max(...workerCounts);
      const parallel = measured.get(most);
      if (single !== undefined && parallel !== undefined && most > 1)
        console.log(`  ${passes} pass(es), ${backend}: speed-up from ${most} workers over 1 worker: ${(single / parallel).toFixed(2)}×`);
      const bound = totalOps / (cores * r.scalarmult);
      console.log(
        `  ${passes} pass(es), ${backend}: on ${cores} cores, every op priced as a scalarmult: ${count(totalOps)} ops ÷ (${cores} × ${count(r.scalarmult)}/s) = ${seconds(bound)} s (${count(outcomeSize / bound)} outcome records/s, a yardstick); ` +
          `the bound, each op at its own rate: ${seconds(weightedSingle / cores)} s, at most ${count(outcomeSize / (weightedSingle / cores))} outcome records/s`,
      );
      best.set(backend, Math.min(...measured.values()));
    }
    const fastest = Math.min(...best.values());
    const speedUp = best.has('native') && best.has('wasm') ? `; native ÷ wasm ${(best.get('wasm')! / best.get('native')!).toFixed(2)}× faster` : '';
    verdicts.push(
      `  ${passes} pass(es): target ≥ ${count(target)} outcome records/s end to end ${outcomeSize / fastest >= target ? 'met' : 'NOT met'} (${count(outcomeSize / fastest)}/s)${speedUp}`,
    );
  }

  const header = [
    'passes',
    'backend',
    'workers',
    'seconds',
    'outcome rec/s',
    'cohort rec/s',
    'C→O bytes',
    'O→C bytes',
    '÷ ideal 1-core (op count)',
    '÷ ideal 1-core (per-op rates)',
    'CPU s',
    'cores used',
  ];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  console.log(`  ${header.map((h, c) => h.padStart(widths[c]!)).join('  ')}`);
  for (const row of rows) console.log(`  ${row.map((cell, c) => cell.padStart(widths[c]!)).join('  ')}`);
  for (const verdict of verdicts) console.log(verdict);
  console.log(`  load average after: ${loadAverage()}`);
}

/** The 1-, 5- and 15-minute load averages, for the report (the machine is shared). */
export function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}
