import { randomBytes, randomFillSync } from 'node:crypto';
import { FedlabError } from '@fedlab/model';
import { POINT_BYTES, type PsiDecryptor, type PsiEngine } from '@fedlab/psi';
import { concatBytes, RistrettoPool } from './ristretto-pool';
import { sodium } from './sodium';

const IDENTITY = new Uint8Array(POINT_BYTES);
const isIdentity = (point: Uint8Array) => Buffer.from(point).equals(IDENTITY);

/** A fresh non-zero ristretto255 scalar from node:crypto (64 bytes reduced mod ℓ). */
export function randomRistrettoScalar(): Uint8Array {
  const s = sodium();
  for (;;) {
    const scalar = s.crypto_core_ristretto255_scalar_reduce(randomBytes(64));
    if (scalar.some((byte) => byte !== 0)) return scalar;
  }
}

/** A received element that is a valid ristretto255 encoding and not the identity; otherwise INVALID_POINT. */
export function checkPoint(point: Uint8Array, what: string): Uint8Array {
  if (point.length !== POINT_BYTES || isIdentity(point) || !sodium().crypto_core_ristretto255_is_valid_point(point)) {
    throw new FedlabError('INVALID_POINT', `psi: ${what} is not a valid ristretto255 element or is the identity`);
  }
  return point;
}

/** Uniform integer in [0, n) from a buffer of node:crypto words (rejection sampling, no modulo bias). */
function uniformIndex(): (n: number) => number {
  const words = new Uint32Array(4096);
  let next = words.length;
  const word = () => {
    if (next === words.length) {
      randomFillSync(words);
      next = 0;
    }
    return words[next++]!;
  };
  return (n) => {
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const w = word();
      if (w < limit) return w % n;
    }
  };
}

/**
 * The libsodium ristretto255 implementation of {@link PsiEngine}: batches run on a
 * {@link RistrettoPool} of worker threads; small operations run here. Call after `initCrypto()`.
 */
export function createPsiEngine(pool: RistrettoPool): PsiEngine {
  const s = sodium();
  const pointSlice = (points: Uint8Array) => (start: number, end: number) => ({ points: points.slice(start * POINT_BYTES, end * POINT_BYTES), first: start });
  const transferPoints = (args: Record<string, unknown>) => [(args.points as Uint8Array).buffer as ArrayBuffer];
  const pointCount = (points: Uint8Array, what: string) => {
    if (points.length % POINT_BYTES !== 0) throw new FedlabError('INVALID_POINT', `psi: ${what} is not a whole number of 32-byte elements`);
    return points.length / POINT_BYTES;
  };
  return {
    randomScalar: randomRistrettoScalar,
    async hashAndBlind(sessionId, passNames, tuples, scalar) {
      return concatBytes(
        await pool.map('hashBlind', tuples.length, (start, end) => ({ sessionId, passNames: [...passNames], tuples: tuples.slice(start, end), scalar })),
      );
    },
    async blind(points, scalar) {
      return concatBytes(
        await pool.map('blind', pointCount(points, 'a tuple list'), (start, end) => ({ ...pointSlice(points)(start, end), scalar }), transferPoints),
      );
    },
    async validate(points) {
      await pool.map('validate', pointCount(points, 'a ciphertext list'), pointSlice(points), transferPoints);
    },
    async encrypt(values, publicKeys) {
      const width = publicKeys.length;
      publicKeys.forEach((key, i) => checkPoint(key, `public key ${i}`));
      return concatBytes(
        await pool.map('encrypt', values.length / width, (start, end) => ({ values: values.slice(start * width, end * width), publicKeys: [...publicKeys] })),
      );
    },
    sumAndRerandomise(ciphertexts, indices, publicKeys) {
      const size = (1 + publicKeys.length) * POINT_BYTES;
      const r = randomRistrettoScalar();
      const sum = [s.crypto_scalarmult_ristretto255_base(r), ...publicKeys.map((key) => s.crypto_scalarmult_ristretto255(r, checkPoint(key, 'a public key')))];
      for (const index of indices) {
        for (let e = 0; e < sum.length; e += 1) {
          const offset = index * size + e * POINT_BYTES;
          sum[e] = s.crypto_core_ristretto255_add(sum[e]!, ciphertexts.subarray(offset, offset + POINT_BYTES));
        }
      }
      return concatBytes(sum);
    },
    permutation(n) {
      const perm = new Uint32Array(n);
      for (let i = 0; i < n; i += 1) perm[i] = i;
      const index = uniformIndex();
      for (let i = n - 1; i > 0; i -= 1) {
        const j = index(i + 1);
        const t = perm[i]!;
        perm[i] = perm[j]!;
        perm[j] = t;
      }
      return perm;
    },
  };
}

/** Largest bound a sum may be decoded up to: 2^40 (baby-step giant-step with ~2^20 steps each way). */
export const MAX_DECODE_BOUND = 2 ** 40;

/**
 * The coordinator's exponential-ElGamal side (DESIGN.md §7.4): fresh per-run key pairs, and decoding
 * of each entry by baby-step giant-step over [0, bound]. Baby-step tables are cached per size.
 */
export function createPsiDecryptor(): PsiDecryptor {
  const s = sodium();
  const tables = new Map<number, { step: Uint8Array; baby: Map<string, number> }>();
  const babySteps = (m: number) => {
    let table = tables.get(m);
    if (!table) {
      const baby = new Map<string, number>();
      let point: Uint8Array = new Uint8Array(IDENTITY);
      const generator = s.crypto_scalarmult_ristretto255_base(scalarOf(1));
      for (let j = 0; j < m; j += 1) {
        baby.set(Buffer.from(point).toString('latin1'), j);
        point = s.crypto_core_ristretto255_add(point, generator);
      }
      table = { step: point, baby };
      tables.set(m, table);
    }
    return table;
  };
  return {
    generateKeys(count) {
      const secretKeys = Array.from({ length: count }, randomRistrettoScalar);
      return { secretKeys, publicKeys: secretKeys.map((sk) => s.crypto_scalarmult_ristretto255_base(sk)) };
    },
    decrypt(ciphertext, secretKeys, bounds) {
      if (ciphertext.length !== (1 + secretKeys.length) * POINT_BYTES) {
        throw new FedlabError(
          'TUPLE_WIDTH_MISMATCH',
          `psi: the encrypted sum has ${ciphertext.length} bytes; ${secretKeys.length} entries need ${(1 + secretKeys.length) * POINT_BYTES}`,
        );
      }
      const c1 = checkPoint(ciphertext.subarray(0, POINT_BYTES), 'the encrypted sum');
      return secretKeys.map((sk, i) => {
        const bound = bounds[i]!;
        if (!Number.isSafeInteger(bound) || bound < 0 || bound > MAX_DECODE_BOUND)
          throw new FedlabError('DECODE_OUT_OF_RANGE', `psi: entry ${i} has a bound of ${bound}; at most ${MAX_DECODE_BOUND} can be decoded`);
        const c2 = checkPoint(ciphertext.subarray((1 + i) * POINT_BYTES, (2 + i) * POINT_BYTES), 'the encrypted sum');
        let point = s.crypto_core_ristretto255_sub(c2, s.crypto_scalarmult_ristretto255(sk, c1));
        const m = Math.ceil(Math.sqrt(bound + 1));
        const { step, baby } = babySteps(m);
        for (let giant = 0; giant * m <= bound; giant += 1) {
          const j = baby.get(Buffer.from(point).toString('latin1'));
          if (j !== undefined && giant * m + j <= bound) return giant * m + j;
          point = s.crypto_core_ristretto255_sub(point, step);
        }
        throw new FedlabError('DECODE_OUT_OF_RANGE', `psi: entry ${i} of the encrypted sum is not in [0, ${bound}]; nothing was released`);
      });
    },
  };
}

function scalarOf(m: number): Uint8Array {
  const scalar = new Uint8Array(32);
  let v = m;
  for (let i = 0; i < 8 && v > 0; i += 1) {
    scalar[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return scalar;
}
