import { randomFillSync } from 'node:crypto';
import { createSecAggCrypto, generateIdentity, initCrypto, sodium, useNativeNoiseKernel, type NoiseKernelInfo } from '@fedlab/crypto';
import { SecAggClient, SecAggServer, SessionLedger, verifyTranscript, type SecAggCrypto } from '@fedlab/secagg';
import { cks20DiscreteGaussianSampler, createCryptoRandomSource, distributedGaussianShare, rationalToNumber, useNoiseKernel, type Rational } from '@fedlab/dp';
import { privacyPlan, valueGrid, type NoiseComponentName, type PrivacyPlan } from '@fedlab/query';
import { addComponentNoise, cryptoNoise, MAX_POOLED_CELLS, releaseVectorLength, type NoiseSource } from '@fedlab/sdc';
import { privateGlmPlan, privateRoundLength, privateRoundVector } from '@fedlab/glm';
import { modelRows } from '@fedlab/synth';
import { COVARIATES } from './glm-dp';
import { integerOption } from './options';

/**
 * When the dropped parties leave. `after-masked-input`: they send advertise, shares and their masked input,
 * then vanish before the consistency check (U3 \ U4): their input is in the sum and their pairwise masks
 * cancel, so the server's work is the same as with no dropout. `before-masked-input`: they send advertise
 * and shares, then vanish (U2 \ U3): the server must reconstruct their masking keys and regenerate their
 * pairwise mask with every survivor (Bonawitz et al. §4), the expensive case.
 */
type Stage = 'before-masked-input' | 'after-masked-input';
const STAGES: readonly Stage[] = ['before-masked-input', 'after-masked-input'];

const COORDINATOR = 'coordinator';

/** One configuration's samples, over repeats. */
interface Samples {
  maskMs: number[];
  /** Each party drawing its noise share for every entry (the exact inversion-table sampler, as the node does). */
  noiseMs: number[];
  /** The same draws by CKS20 rejection sampling (the node's sampler before), timed right after, for comparison. */
  cks20NoiseMs: number[];
  /** Everything a party does in the round: advertise, share keys, noise, mask, consistency, unmask. */
  partyMs: number[];
  keystreamPartyMs: number[];
  prgPartyMs: number[];
  aggregateMs: number[];
  keystreamServerMs: number[];
  plainSumMs: number[];
  /** Bytes sent by each party that sent all five messages. */
  fullPartyBytes: number[];
  /** A node's own session rules for the round (SessionLedger.admit), as the node runs them before joining. */
  ledgerMs: number[];
  /** A node verifying the finished round's transcript (what it does before a model's next round). */
  transcriptMs: number[];
  serverKeystreams: number;
  survivors: number;
}

/** Sum of the byteLengths of every Uint8Array in a message (ids, counts and framing are not counted). */
function payloadBytes(value: unknown): number {
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + payloadBytes(item), 0);
  if (value !== null && typeof value === 'object') return Object.values(value).reduce((sum: number, item) => sum + payloadBytes(item), 0);
  return 0;
}

function elapsedMs<T>(run: () => T): [T, number] {
  const t = process.hrtime.bigint();
  const value = run();
  return [value, Number(process.hrtime.bigint() - t) / 1e6];
}

async function elapsedMsAsync<T>(run: () => Promise<T>): Promise<[T, number]> {
  const t = process.hrtime.bigint();
  const value = await run();
  return [value, Number(process.hrtime.bigint() - t) / 1e6];
}

/** `count` raw ChaCha20 keystreams of `words` 32-bit words (fresh random keys, zero nonce): the PRG's floor. */
function timeKeystreams(count: number, words: number): number {
  const s = sodium();
  const nonce = new Uint8Array(s.crypto_stream_chacha20_NONCEBYTES);
  const keys = Array.from({ length: count }, () => randomFillSync(new Uint8Array(s.crypto_stream_chacha20_KEYBYTES)));
  let check = 0;
  const [, ms] = elapsedMs(() => {
    for (const key of keys) check ^= s.crypto_stream_chacha20(words * 4, key, nonce)[words - 1]!;
  });
  if (Number.isNaN(check)) throw new Error('unreachable');
  return ms;
}

/** Σ vectors mod 2^32 (a Uint32Array store wraps), the unmasked baseline. */
function plainSum(vectors: readonly Uint32Array[], length: number): Uint32Array {
  const out = new Uint32Array(length);
  for (const v of vectors) for (let i = 0; i < length; i++) out[i] += v[i]!;
  return out;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Which ids leave: evenly spread over the roster, so both pair signs occur. */
function pickDropped(ids: readonly string[], count: number): string[] {
  return Array.from({ length: count }, (_, i) => ids[Math.floor(((i + 0.5) * ids.length) / count)]!);
}

/** One full round over real identities and libsodium, timing each party's masking and the server's aggregate. */
async function runRound(
  ids: readonly string[],
  cryptos: ReadonlyMap<string, SecAggCrypto>,
  length: number,
  dropped: readonly string[],
  stage: Stage,
  samples: Samples,
  repeat: number,
): Promise<void> {
  const crypto = (id: string) => cryptos.get(id)!;
  const inputs = new Map(ids.map((id) => [id, randomFillSync(new Uint32Array(length))] as const));
  const roundId = `bench-${length}-${dropped.length}-${stage}-${repeat}`;
  const queryHash = crypto(COORDINATOR).hash(new TextEncoder().encode(`query of ${roundId}`));
  const common = { participants: ids, roundId, queryHash };
  const server = new SecAggServer({ ...common, vectorLength: length, crypto: crypto(COORDINATOR) });
  const clients = new Map(ids.map((id) => [id, new SecAggClient({ ...common, id, input: inputs.get(id)!, crypto: crypto(id) })] as const));
  const sent = new Map<string, { bytes: number; messages: number }>(ids.map((id) => [id, { bytes: 0, messages: 0 }]));
  const record = <T>(id: string, message: T): T => {
    const entry = sent.get(id)!;
    entry.bytes += payloadBytes(message);
    entry.messages += 1;
    return message;
  };
  const alive = new Set(ids);
  const live = () => [...clients.values()].filter((client) => alive.has(client.id));

  const partyMs = new Map(ids.map((id) => [id, 0]));
  const timed = <T>(id: string, run: () => T): T => {
    const [value, ms] = elapsedMs(run);
    partyMs.set(id, partyMs.get(id)! + ms);
    return value;
  };
  for (const client of live())
    server.receiveAdvertisement(
      record(
        client.id,
        timed(client.id, () => client.advertiseKeys()),
      ),
    );
  const keyList = server.broadcastKeys();
  for (const client of live()) {
    const [shares, ms] = await elapsedMsAsync(() => client.shareKeys(keyList));
    partyMs.set(client.id, partyMs.get(client.id)! + ms);
    server.receiveShareKeys(record(client.id, shares));
  }
  const bundles = server.routeShares();
  if (stage === 'before-masked-input') dropped.forEach((id) => alive.delete(id));
  const maskers = new Set(live().map((client) => client.id));
  for (const bundle of bundles) {
    const client = clients.get(bundle.to)!;
    if (!alive.has(client.id)) continue;
    // The node's noise share as a pooled count table gets it (addComponentNoise with cryptoNoise, as
    // pooled-contribution.ts): one exact N_Z draw per entry, σ² = 2 (a count's share at ρ = 0.25 for 4 honest nodes).
    const exact = Array.from({ length }, (_, i) => i % 64);
    const exactAgain = exact.slice();
    const [, noiseMs] = elapsedMs(() => addComponentNoise(exact, NOISE_PLAN, length, NOISE_SHARES, cryptoNoise));
    samples.noiseMs.push(noiseMs);
    partyMs.set(client.id, partyMs.get(client.id)! + noiseMs);
    // The baseline: the same with CKS20, the node's sampler before (not part of the party's round).
    const [, cks20Ms] = elapsedMs(() => addComponentNoise(exactAgain, NOISE_PLAN, length, NOISE_SHARES, cks20Noise));
    samples.cks20NoiseMs.push(cks20Ms);
    const [message, ms] = elapsedMs(() => client.maskedInput(bundle.shares));
    partyMs.set(client.id, partyMs.get(client.id)! + ms);
    samples.maskMs.push(ms);
    // The bound for this party, right after it, so that load drift hits both: 1 self mask + n − 1 pairwise masks.
    samples.keystreamPartyMs.push(timeKeystreams(ids.length, length));
    server.receiveMaskedInput(record(client.id, message));
  }
  const consistency = server.consistencyRequest();
  if (stage === 'after-masked-input') dropped.forEach((id) => alive.delete(id));
  for (const client of live())
    server.receiveConsistency(
      record(
        client.id,
        timed(client.id, () => client.consistencyCheck(consistency)),
      ),
    );
  const unmask = server.unmaskRequest();
  for (const client of live())
    server.receiveUnmask(
      record(
        client.id,
        timed(client.id, () => client.unmask(unmask)),
      ),
    );
  for (const id of maskers) if (alive.has(id)) samples.partyMs.push(partyMs.get(id)!);
  const [sum, aggregateMs] = await elapsedMsAsync(() => server.aggregate());

  const survivors = [...maskers];
  const droppedBeforeMasking = ids.length - survivors.length;
  // Server PRG work: one self mask per survivor, one pairwise mask per (dropped-before-masking, survivor) pair.
  samples.serverKeystreams = survivors.length * (1 + droppedBeforeMasking);
  samples.survivors = survivors.length;
  samples.aggregateMs.push(aggregateMs);
  samples.keystreamServerMs.push(timeKeystreams(samples.serverKeystreams, length));
  const all = ids.map((id) => inputs.get(id)!);
  const [, plainMs] = elapsedMs(() => plainSum(all, length));
  samples.plainSumMs.push(plainMs);
  // The PRG as createSecAggCrypto implements it (keystream + conversion to words), for the interpretation.
  const seed = crypto(COORDINATOR).random(32);
  samples.prgPartyMs.push(elapsedMs(() => ids.forEach(() => crypto(COORDINATOR).prg(seed, length)))[1]);

  const expected = plainSum(
    survivors.map((id) => inputs.get(id)!),
    length,
  );
  if (sum.length !== length || sum.some((word, i) => word !== expected[i])) {
    throw new Error(
      `secagg: aggregate differs from the plain sum of the ${survivors.length} masked inputs (length ${length}, ${dropped.length} dropped ${stage})`,
    );
  }
  for (const entry of sent.values()) if (entry.messages === 5) samples.fullPartyBytes.push(entry.bytes);

  // The checks a node adds since issue 16, timed as one party runs them: its session rules before joining …
  const [, ledgerMs] = elapsedMs(() =>
    new SessionLedger({ nodeId: ids[0]!, targets: ids, sessions: 1, threshold: 0 }).admit({ participants: ids, threshold: server.threshold }),
  );
  samples.ledgerMs.push(ledgerMs);
  // … and, before a model's next round, replaying this round's transcript with its own view of the round.
  const [verified, transcriptMs] = await elapsedMsAsync(() =>
    verifyTranscript({ ...common, threshold: server.threshold, vectorLength: length, crypto: crypto(ids[0]!) }, server.transcript()),
  );
  if (verified.some((word, i) => word !== sum[i])) throw new Error('secagg: the transcript replays to another sum');
  samples.transcriptMs.push(transcriptMs);
}

function listOption(args: string[], name: string, fallback: number[]): number[] {
  const raw = args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  if (raw === undefined) return fallback;
  const values = raw.split(',').map(Number);
  if (values.length === 0 || values.some((v) => !Number.isSafeInteger(v) || v < 0))
    throw new Error(`--${name} must be a comma-separated list of non-negative integers, got ${raw}`);
  return values;
}

function stagesOption(args: string[]): Stage[] {
  const raw = args.find((a) => a.startsWith('--stages='))?.slice('--stages='.length);
  if (raw === undefined) return [...STAGES];
  const stages = raw.split(',');
  for (const stage of stages) if (!STAGES.includes(stage as Stage)) throw new Error(`--stages must list ${STAGES.join(' and/or ')}, got ${raw}`);
  return stages as Stage[];
}

const ms = (value: number) => value.toFixed(value < 10 ? 2 : 1);
const ratio = (a: number, b: number) => (a / b).toFixed(2);
const count = (value: number) => value.toLocaleString('en-CA');

/**
 * `--parties` parties with real identities run complete Bonawitz rounds (SecAggClient/SecAggServer over
 * createSecAggCrypto) on random u32 vectors of each `--lengths` length, with each `--dropouts` count of
 * parties leaving at each `--stages` stage. Reports the median `maskedInput` time per party against
 * `crypto_stream_chacha20` generating the same n keystreams in the same run, the server's `aggregate` time
 * against the keystreams it needs and against a plain sum of n vectors, and the bytes each party sends.
 * Every round's aggregate must equal the plain sum of the inputs of the parties that sent masked inputs.
 */
export async function secagg(args: string[]): Promise<void> {
  const parties = integerOption(args, 'parties', 10);
  const lengths = listOption(args, 'lengths', [100_000, 1_048_576]);
  const dropoutCounts = listOption(args, 'dropouts', [0, 1, 3]);
  const repeats = integerOption(args, 'repeats', 3);
  const stages = stagesOption(args);
  if (lengths.some((l) => l < 1)) throw new Error('--lengths must be positive');

  await initCrypto();
  // As a node daemon does: the native noise kernel where it loads (the line below says which);
  // --noise-kernel=typescript times the samplers' own loops, as on a node without the addon.
  const kernelChoice = args.find((a) => a.startsWith('--noise-kernel='))?.slice('--noise-kernel='.length) ?? 'native';
  if (kernelChoice !== 'native' && kernelChoice !== 'typescript') throw new Error(`--noise-kernel must be native or typescript, got ${kernelChoice}`);
  const noiseKernel: NoiseKernelInfo =
    kernelChoice === 'native' ? useNativeNoiseKernel() : (useNoiseKernel(undefined), { name: 'typescript', fallbackReason: 'chosen with --noise-kernel' });
  const ids = Array.from({ length: parties }, (_, i) => `node-${String(i).padStart(2, '0')}`);
  const identities = new Map([...ids, COORDINATOR].map((id) => [id, generateIdentity(id, 'node')] as const));
  const keyOf = (id: string) => identities.get(id)?.signPublicKey;
  const cryptos = new Map([...identities].map(([id, identity]) => [id, createSecAggCrypto(identity.signSecretKey, keyOf)] as const));

  // Warm up (JIT, Shamir import, libsodium) on a small round, not recorded.
  await runRound(ids, cryptos, 1000, [], 'after-masked-input', emptySamples(), 0);

  const configurations = dropoutCounts.flatMap((d): Array<{ dropped: number; stage?: Stage }> =>
    d === 0 ? [{ dropped: 0 }] : stages.map((stage) => ({ dropped: d, stage })),
  );
  const rows: string[][] = [];
  /** Median party round (without the noise) per length, with no dropout, for the pooled-mean line. */
  const roundWithoutNoise = new Map<number, number>();
  const started = Date.now();
  for (const length of lengths) {
    for (const { dropped, stage } of configurations) {
      const samples = emptySamples();
      const droppedIds = pickDropped(ids, dropped);
      for (let repeat = 1; repeat <= repeats; repeat++) {
        await runRound(ids, cryptos, length, droppedIds, stage ?? 'after-masked-input', samples, repeat);
      }
      const mask = median(samples.maskMs);
      const noise = median(samples.noiseMs);
      const cks20Noise = median(samples.cks20NoiseMs);
      const party = median(samples.partyMs);
      if (dropped === 0) roundWithoutNoise.set(length, party - noise);
      // The party's round had it drawn its noise with CKS20, as before.
      const cks20Party = party - noise + cks20Noise;
      const keystream = median(samples.keystreamPartyMs);
      const aggregate = median(samples.aggregateMs);
      const serverKeystream = median(samples.keystreamServerMs);
      const plain = median(samples.plainSumMs);
      const bytes = median(samples.fullPartyBytes);
      const row = [
        count(length),
        dropped === 0 ? '0' : `${dropped} ${stage === 'before-masked-input' ? 'before' : 'after'}`,
        ms(mask),
        ms(keystream),
        ratio(mask, keystream),
        ms(median(samples.prgPartyMs)),
        ms(aggregate),
        `${ms(serverKeystream)} (${samples.serverKeystreams})`,
        ratio(aggregate, serverKeystream),
        ms(plain),
        ratio(aggregate, plain),
        count(bytes),
        ratio(bytes, 4 * length),
        ms(cks20Noise),
        `${((100 * cks20Noise) / cks20Party).toFixed(1)} %`,
        ms(noise),
        `${((100 * noise) / party).toFixed(1)} %`,
        ms(median(samples.ledgerMs)),
        `${((100 * median(samples.ledgerMs)) / party).toFixed(2)} %`,
        ms(median(samples.transcriptMs)),
        `${((100 * median(samples.transcriptMs)) / party).toFixed(1)} %`,
      ];
      rows.push(row);
      console.log(
        `  done: length ${count(length)}, ${row[1]} dropped, ${samples.maskMs.length} maskings, ${((Date.now() - started) / 1000).toFixed(0)} s elapsed`,
      );
    }
  }

  const header = [
    'length',
    'dropped',
    'mask ms',
    `ks×${parties} ms`,
    'mask/ks',
    `prg()×${parties} ms`,
    'aggregate ms',
    'server ks ms (streams)',
    'agg/ks',
    `plain sum×${parties} ms`,
    'agg/plain',
    'bytes/party',
    '÷ 4·length',
    'CKS20 noise ms',
    '÷ party round',
    'table noise ms',
    '÷ party round',
    'rules ms',
    'rules ÷ party',
    'transcript ms',
    'transcript ÷ party',
  ];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => `  ${cells.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')}`;
  console.log(
    `\nsecagg: ${parties} parties, threshold ${Math.floor((2 * parties) / 3) + 1}, ${repeats} repeat(s), every aggregate verified against the plain sum`,
  );
  console.log(
    `  command: npm run bench -- secagg --parties=${parties} --lengths=${lengths.join(',')} --dropouts=${dropoutCounts.join(',')} --repeats=${repeats} --stages=${stages.join(',')}`,
  );
  console.log(`  noise kernel: ${noiseKernel.name}${noiseKernel.fallbackReason ? ` (${noiseKernel.fallbackReason})` : ''}`);
  console.log('  dropped: "before" = after shareKeys, before the masked input (U2 \\ U3, server regenerates pairwise masks);');
  console.log('           "after"  = after the masked input, before the consistency check (U3 \\ U4, masks cancel)');
  console.log(
    '  mask = median SecAggClient.maskedInput over parties and repeats; ks = crypto_stream_chacha20 of the same words, timed right after each masking',
  );
  console.log(
    '  noise = a party adding its share of N_Z(0, 2) to every entry (addComponentNoise): table = cryptoNoise, the exact inversion sampler the node uses,',
  );
  console.log(
    '          CKS20 = the exact rejection sampler it used before, timed right after; party round = its advertise + shareKeys + noise + mask + consistency + unmask',
  );
  console.log(
    "  rules = the node's session rules before it joins (SessionLedger.admit); transcript = verifyTranscript of the finished round (a model's next round only)",
  );
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  pooledTableNoise(lengths, roundWithoutNoise);
  await modelRoundChecks(ids, cryptos, integerOption(args, 'model-rows', 100_000));
  console.log(`  total ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/**
 * A model's round 2 as one node does it: its round vector over its rows (privateRoundVector), its part of
 * the secure-aggregation round, and — since issue 16 — verifying round 1's transcript first. Reports the
 * transcript's share of that node's work for the round.
 */
async function modelRoundChecks(ids: readonly string[], cryptos: ReadonlyMap<string, SecAggCrypto>, rowsPerNode: number): Promise<void> {
  const plan = privateGlmPlan({ family: 'binomial', response: 'y', responseBounds: undefined, covariates: COVARIATES, rho: 4, maxRecordsPerPerson: 1 });
  const rows = modelRows('binomial', rowsPerNode, 1, 7)[0]!;
  const beta = plan.names.map(() => 0.01);
  const vectorMs = median([1, 2, 3].map(() => elapsedMs(() => privateRoundVector(plan, rows, 2, beta))[1]));
  const length = privateRoundLength(plan, 2) * 2;
  const samples = emptySamples();
  for (let repeat = 1; repeat <= 3; repeat++) await runRound(ids, cryptos, length, [], 'after-masked-input', samples, 100 + repeat);
  const party = median(samples.partyMs);
  const transcript = median(samples.transcriptMs);
  const total = vectorMs + party + transcript;
  console.log(
    `  model round 2 (binomial, ${plan.names.length} coefficients, ${count(length)} words, ${count(rowsPerNode)} rows at the node): round vector ${ms(vectorMs)} ms + ` +
      `secagg party ${ms(party)} ms + transcript ${ms(transcript)} ms → the transcript is ${((100 * transcript) / total).toFixed(1)} % of the node's round`,
  );
}

/**
 * The noise of pooled sum, mean and variance tables at one node, as pooled-contribution.ts adds it: per
 * cell a count and the value components (sum; centred sum; centred sum and centred squares), shares for
 * 4 honest nodes at ρ = 0.5 of a column bounded to [0, 1000] (its grid has a half-range of 2^16 steps, so
 * the value components' σ² is far above the inversion table's 2^16 and is drawn by the scaled sampler).
 * At each length, the table with as many cells as its vector has room for, up to the largest pooled table
 * (MAX_POOLED_CELLS); median of 11 after warm-up (see below), against the party's round (no dropout)
 * without noise at that length.
 */
function pooledTableNoise(lengths: readonly number[], roundWithoutNoise: ReadonlyMap<number, number>): void {
  const grid = valueGrid({ name: 'cost', type: 'real', role: 'attribute', nullable: false, bounds: [0, 1000] }, 'visits');
  const noiseMs = (plan: PrivacyPlan, cells: number, shares: ReadonlyMap<NoiseComponentName, Rational>): number => {
    // The vector is laid out before the clock starts (the node builds its exact vector anyway), with
    // exact figures of the size a cell of 40 rows has in grid units: centred squares beyond the small
    // integers (so that component's entries are doubles, as in the node), the rest small integers.
    const vector = new Array<number>(releaseVectorLength(plan, cells));
    let at = 0;
    for (const { name } of plan.components) for (let i = 0; i < cells; i += 1) vector[at++] = EXACT_FIGURE[name];
    return elapsedMs(() => addComponentNoise(vector, plan, cells, shares, cryptoNoise))[1];
  };
  const sharesFor = (plan: PrivacyPlan, cells: number) =>
    new Map<NoiseComponentName, Rational>(plan.components.map((c) => [c.name, distributedGaussianShare(c.sensitivitySquared, c.rho, 4, cells)]));
  // A node's steady state, as the rounds are timed after a warm-up round: the first table in the process
  // (sampler set-up while V8 still compiles its loops) is reported on its own, then 5 more warm it up.
  const warmPlan = privacyPlan('mean', 1, grid, 0.5);
  const warmShares = sharesFor(warmPlan, MAX_POOLED_CELLS);
  const first = noiseMs(warmPlan, MAX_POOLED_CELLS, warmShares);
  for (let i = 0; i < 5; i += 1) noiseMs(warmPlan, MAX_POOLED_CELLS, warmShares);
  console.log(
    `  pooled tables: the first (mean, ${count(MAX_POOLED_CELLS)} cells) in the process took ${ms(first)} ms (sampler set-up, V8 still compiling); 5 more warmed it up`,
  );
  for (const kind of ['sum', 'mean', 'variance'] as const) {
    const plan = privacyPlan(kind, 1, grid, 0.5);
    const width = releaseVectorLength(plan, 1);
    for (const length of lengths) {
      const round = roundWithoutNoise.get(length);
      const cells = Math.floor(length / width);
      if (round === undefined || cells < 1) continue;
      if (cells > MAX_POOLED_CELLS) {
        console.log(
          `  pooled ${kind} table at ${count(length)} words: ${count(cells)} cells, beyond the largest pooled table (${count(MAX_POOLED_CELLS)} cells)`,
        );
        continue;
      }
      const shares = sharesFor(plan, cells);
      // The first call sets up the samplers of this table's σ² (kept per σ² per process); 4 more untimed,
      // then the median of 11 (a few ms each: a pause of the collector or the compiler moves one of 3).
      const setUp = noiseMs(plan, cells, shares);
      for (let i = 0; i < 4; i += 1) noiseMs(plan, cells, shares);
      const noise = median(Array.from({ length: 11 }, () => noiseMs(plan, cells, shares)));
      const sigma2 = [...shares].map(([name, s]) => `${name} σ² = ${rationalToNumber(s).toPrecision(3)}`).join(', ');
      console.log(
        `  pooled ${kind} table, ${count(cells)} cells = ${count(width * cells)} entries (${sigma2}): noise ${ms(noise)} ms → ` +
          `${((100 * noise) / (round + noise)).toFixed(1)} % of the party's round at ${count(length)} words (with this σ²'s set-up: ${ms(setUp)} ms)`,
      );
    }
  }
}

/** An exact figure of each component for a cell of 40 rows, in grid units (half-range 2^16 steps). */
const EXACT_FIGURE: Record<NoiseComponentName, number> = { count: 40, sum: 2_600_000, centred_sum: -12_345, centred_squares: 40 * 2 ** 31, split: 20 };

/** A pooled count table's noise: one component, a share of σ² = 2 per cell. */
const NOISE_PLAN = privacyPlan('count', 1, null, 0.25);
const NOISE_SHARES = new Map<NoiseComponentName, Rational>([['count', { num: 2n, den: 1n }]]);
const cks20Sample = cks20DiscreteGaussianSampler({ num: 2n, den: 1n });
const cks20Random = createCryptoRandomSource();
const cks20Noise: NoiseSource = () => cks20Sample(cks20Random);

function emptySamples(): Samples {
  return {
    maskMs: [],
    noiseMs: [],
    cks20NoiseMs: [],
    partyMs: [],
    keystreamPartyMs: [],
    prgPartyMs: [],
    aggregateMs: [],
    keystreamServerMs: [],
    plainSumMs: [],
    fullPartyBytes: [],
    ledgerMs: [],
    transcriptMs: [],
    serverKeystreams: 0,
    survivors: 0,
  };
}
