import { existsSync } from 'node:fs';
import path from 'node:path';
import { createPsiEngine, defaultRistrettoBackend, initCrypto, RistrettoPool, sodium } from '@fedlab/crypto';
import { computeKeys, matchTuples, selectRecipes, type KeyTuple } from '@fedlab/linkage';
import { tupleKeys } from '@fedlab/psi';
import { loadDatasetSchemaFile } from '@fedlab/store';
import { febrlTruth, loadFebrl4, type FebrlRecord } from './febrl-data';
import { FEBRL4_SCHEMA_PATH, FEBRL_DEFAULT_DIR } from './febrl-plaintext';
import { countedOps, loadAverage, measureNativeRates, measureRates, opsPerRecord, runPsiProtocol } from './psi';

const FILES = ['dataset4a.csv', 'dataset4b.csv'];

/** Recall and precision of `pairs` (`[index in 4a, index in 4b]`) against the entity numbers. */
function quality(a: readonly FebrlRecord[], b: readonly FebrlRecord[], pairs: ReadonlyArray<[number, number]>, truePairs: number) {
  const correct = pairs.filter(([i, j]) => a[i]!.entity === b[j]!.entity).length;
  return { found: pairs.length, correct, recall: correct / truePairs, precision: pairs.length === 0 ? 1 : correct / pairs.length };
}

const samePairs = (x: ReadonlyArray<[number, number]>, y: ReadonlyArray<[number, number]>) => {
  const key = (pairs: ReadonlyArray<[number, number]>) =>
    pairs
      .map(([i, j]) => `${i}:${j}`)
      .sort()
      .join(',');
  return key(x) === key(y);
};

/**
 * `npm run bench -- linkage-quality`: links FEBRL 4 (4a as the cohort node C, 4b as the outcome node O;
 * `FEBRL_DIR` overrides the directory) with the six key recipes of `fixtures/febrl4.schema.yaml`, in
 * schema order, through the real private intersection-sum ({@link runPsiProtocol}: both state machines,
 * protobuf, sealed payloads, decryption), each O person carrying the value 1. The protocol hides the
 * matched pairs from C, so the harness records both parties' blinding scalars, recomputes
 * k_C·k_O·H(key) for both sides' tuples in their original order and matches them with `matchTuples` as
 * C does. Throws unless the protocol's matched count and decrypted sum equal the harness's pair count.
 * Reports recall and precision against the 5,000 true pairs, cumulative recall per pass, whether the
 * pairs equal `matchTuples` on the plaintext keys (the baseline), and the protocol's seconds against
 * the ideal single-core time of its group operations at the libsodium rate measured in the same run.
 * Exits non-zero with a message when the FEBRL files are missing.
 */
export async function linkageQuality(): Promise<void> {
  const dir = process.env.FEBRL_DIR ?? FEBRL_DEFAULT_DIR;
  const missing = FILES.filter((file) => !existsSync(path.join(dir, file)));
  if (missing.length > 0) {
    console.error(
      `linkage-quality: FEBRL 4 is not in ${dir} (missing ${missing.join(', ')}). Put dataset4a.csv and dataset4b.csv there, or set FEBRL_DIR to the directory that holds them.`,
    );
    process.exitCode = 1;
    return;
  }

  await initCrypto();
  const schema = loadDatasetSchemaFile(FEBRL4_SCHEMA_PATH);
  const recipes = selectRecipes(
    schema,
    (schema.linkageKeys ?? []).map((recipe) => recipe.name),
  );
  const passNames = recipes.map((recipe) => recipe.name);
  const data = loadFebrl4(dir);
  const truePairs = febrlTruth(data).length;
  const keys = (records: readonly FebrlRecord[]): KeyTuple[] => records.map((record) => computeKeys(recipes, (column) => record.values[column]));
  const cohort = keys(data.a);
  const outcome = keys(data.b);
  console.log(
    `linkage-quality: FEBRL 4 from ${dir}: C = dataset4a (${data.a.length} records), O = dataset4b (${data.b.length} records), ${truePairs} true pairs`,
  );
  console.log(`  command: npm run bench -- linkage-quality   (FEBRL_DIR=${dir})`);
  console.log(`  passes (schema order): ${passNames.join(', ')}`);
  console.log(`  load average before: ${loadAverage()}`);
  const perRecord = opsPerRecord(passNames.length, 1);
  const ops = countedOps(perRecord.outcome) * outcome.length + countedOps(perRecord.cohort) * cohort.length;

  const pool = new RistrettoPool(undefined, defaultRistrettoBackend(process.env));
  try {
    // The ideal time at the single-core rate of the backend the pool runs.
    const backend = await pool.info();
    const { rates } = backend.name === 'native' ? measureNativeRates(3000, 5) : measureRates(3000, 5);
    const idealSingle = ops / rates.scalarmult;
    const input = { passNames, cohort, outcome, values: new Uint32Array(outcome.length).fill(1), valueWidth: 1, bounds: [outcome.length] };
    // Warm-up (worker start-up, libsodium in each worker, JIT), not recorded.
    await runPsiProtocol(pool, { ...input, cohort: cohort.slice(0, 100), outcome: outcome.slice(0, 100), values: input.values.slice(0, 100) });
    const run = await runPsiProtocol(pool, input);

    // The harness: k_C·k_O·H(key) = (k_C·k_O mod ℓ)·H(key) in the prime-order group, both sides in file order.
    const engine = createPsiEngine(pool);
    const both = sodium().crypto_core_ristretto255_scalar_mul(run.scalars.cohort, run.scalars.outcome);
    const doublyBlinded = async (tuples: readonly KeyTuple[]) =>
      tupleKeys(await engine.hashAndBlind(run.sessionId, passNames, tuples, both), tuples.length, passNames.length);
    const [blindedC, blindedO] = [await doublyBlinded(cohort), await doublyBlinded(outcome)];
    const pairs = matchTuples(blindedC, blindedO);
    if (pairs.length !== run.matched || run.sums[0] !== run.matched) {
      throw new Error(`linkage-quality: the protocol matched ${run.matched} persons (decrypted sum ${run.sums[0]}); the harness found ${pairs.length} pairs`);
    }
    const overall = quality(data.a, data.b, pairs, truePairs);
    const prefix = (tuples: string[][], width: number) => tuples.map((tuple) => tuple.slice(0, width));
    const plaintextSame = samePairs(pairs, matchTuples(cohort, outcome));

    console.log(
      `  protocol: ${run.seconds.toFixed(2)} s end to end (C start ${run.steps.start.toFixed(2)} s, O respond until ${run.steps.respond.toFixed(2)} s, C finish until ${run.steps.finish.toFixed(2)} s, decrypt until ${run.steps.decrypt.toFixed(2)} s), ${pool.size} workers, process CPU ${run.cpuSeconds.toFixed(2)} s`,
    );
    console.log(
      `  ideal single-core: ${ops} ops (scalar multiplications and hashes to the group) ÷ ${Math.round(rates.scalarmult)} scalarmult/s (${backend.name} libsodium ${backend.version}, main thread, best of 5 rounds of 3,000) = ${idealSingle.toFixed(2)} s; measured / ideal ${(run.seconds / idealSingle).toFixed(2)}`,
    );
    console.log(
      `  protocol matched ${run.matched} persons, decrypted sum ${run.sums[0]}; harness pairs ${pairs.length} (equal), same pairs as matchTuples on the plaintext keys: ${plaintextSame ? 'yes' : 'NO'}`,
    );
    console.log('  pass                   cumulative: found  correct  recall  precision');
    passNames.forEach((name, p) => {
      const q = quality(data.a, data.b, matchTuples(prefix(blindedC, p + 1), prefix(blindedO, p + 1)), truePairs);
      console.log(
        `  ${`${p + 1}. ${name}`.padEnd(34)} ${String(q.found).padStart(5)}  ${String(q.correct).padStart(7)}  ${q.recall.toFixed(4)}  ${q.precision.toFixed(4)}`,
      );
    });
    console.log(
      `  pairs found ${overall.found}, correct ${overall.correct} of ${truePairs} true pairs: recall ${overall.recall.toFixed(4)}, precision ${overall.precision.toFixed(4)}`,
    );
    const met = overall.recall >= 0.98 && overall.precision >= 0.999;
    console.log(`  target recall ≥ 0.98 at precision ≥ 0.999: ${met ? 'met' : 'NOT met'}; load average after: ${loadAverage()}`);
  } finally {
    await pool.close();
  }
}
