import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { it } from '@fedlab/test-kit';
import type { PsiEngine } from '@fedlab/psi';
import { createPsiDecryptor, createPsiEngine, randomRistrettoScalar } from './sodium-psi-engine';
import { defaultRistrettoBackend, NATIVE_RISTRETTO_ADDON, RistrettoPool } from './ristretto-pool';
import { initCrypto, sodium } from './sodium';

const SESSION = new Uint8Array(32).fill(3);
const PASSES = ['health_number', 'name_dob', 'given_dob'];
const DOMAIN = 'fedlab/v1/psi-key\0';

let native: RistrettoPool;
let wasm: RistrettoPool;
let nativeEngine: PsiEngine;
let wasmEngine: PsiEngine;

beforeAll(async () => {
  await initCrypto();
  native = new RistrettoPool(2, 'native');
  wasm = new RistrettoPool(2, 'wasm');
  nativeEngine = createPsiEngine(native);
  wasmEngine = createPsiEngine(wasm);
});
afterAll(() => Promise.all([native.close(), wasm.close()]));

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** A valid element: a hash of `label` to the group. */
function element(label: string): Uint8Array {
  const s = sodium();
  return s.crypto_core_ristretto255_from_hash(s.crypto_generichash(64, label, null));
}

describe('the native ristretto255 backend', () => {
  it('loads on this machine, on the system libsodium 1.0.18 or later (npm test installs libsodium23 and builds it)', async () => {
    const info = await native.info();
    expect(info.name).toBe('native');
    const [major, minor, patch] = info.version.split('.').map(Number);
    expect(major! * 1_000_000 + minor! * 1000 + patch!).toBeGreaterThanOrEqual(1_000_018);
    expect(await wasm.info()).toEqual({ name: 'wasm', version: sodium().sodium_version_string() });
  });

  it('hashes and blinds exactly as DESIGN.md §7.4 defines H, on both backends', async () => {
    const s = sodium();
    const scalar = randomRistrettoScalar();
    const tuples = [
      ['1234567890', 'SMITH|J|2001-02-03', 'JOHN|2001-02-03'],
      ['Zoë Ölund', 'ÖLUND|Z|1999-12-31', 'ZOË|1999-12-31'],
    ];
    // The reference, computed here with libsodium's own BLAKE2b: scalar · from_hash(BLAKE2b-512(domain ‖ session ‖ pass ‖ 0 ‖ key)).
    const expected = tuples.flatMap((tuple) =>
      tuple.map((key, p) => {
        const input = Buffer.concat([Buffer.from(DOMAIN), Buffer.from(SESSION), Buffer.from(`${PASSES[p]}\0`), Buffer.from(key, 'utf8')]);
        return hex(s.crypto_scalarmult_ristretto255(scalar, s.crypto_core_ristretto255_from_hash(s.crypto_generichash(64, input, null))));
      }),
    );
    for (const engine of [nativeEngine, wasmEngine]) {
      const out = await engine.hashAndBlind(SESSION, PASSES, tuples, scalar);
      expect(Array.from({ length: 6 }, (_, i) => hex(out.subarray(i * 32, (i + 1) * 32)))).toEqual(expected);
    }
  });

  it('gives byte-identical blinding on both backends, and a missing key a random element that matches nothing', async () => {
    const scalar = randomRistrettoScalar();
    const tuples = Array.from({ length: 301 }, (_, i) => [`h${i}`, i % 7 === 0 ? null : `n${i}`, `g${i}`]);
    const a = await nativeEngine.hashAndBlind(SESSION, PASSES, tuples, scalar);
    const b = await wasmEngine.hashAndBlind(SESSION, PASSES, tuples, scalar);
    const differing = Array.from({ length: a.length / 32 }, (_, i) => i).filter(
      (i) => hex(a.subarray(i * 32, (i + 1) * 32)) !== hex(b.subarray(i * 32, (i + 1) * 32)),
    );
    // Exactly the 43 missing keys (i = 0, 7, …, 294 at pass 1) differ: each backend drew its own random element.
    expect(differing).toEqual(Array.from({ length: 43 }, (_, k) => k * 7 * 3 + 1));
    const second = randomRistrettoScalar();
    expect(hex(await nativeEngine.blind(a, second))).toBe(hex(await wasmEngine.blind(a, second)));
  });

  it('encrypts value vectors that decrypt to the values on both backends, 0 and large values included', async () => {
    const decryptor = createPsiDecryptor();
    const { publicKeys, secretKeys } = decryptor.generateKeys(3);
    const vectors = [
      [0, 0, 0],
      [1, 65_535, 65_536],
      [7, 0, 1_000_000],
      [2 ** 32 - 1, 3, 0],
    ];
    const values = Uint32Array.from(vectors.flat());
    for (const engine of [nativeEngine, wasmEngine]) {
      const ciphertexts = await engine.encrypt(values, publicKeys);
      expect(ciphertexts.length).toBe(4 * 4 * 32);
      // The plaintext element of every entry, c2 − sk·c1, is exactly m·G (the identity for m = 0).
      const s = sodium();
      const plain = (i: number, e: number) => {
        const at = (k: number) => ciphertexts.subarray((i * 4 + k) * 32, (i * 4 + k + 1) * 32);
        return hex(s.crypto_core_ristretto255_sub(at(1 + e), s.crypto_scalarmult_ristretto255(secretKeys[e]!, at(0))));
      };
      const multiple = (m: number) => {
        const scalar = new Uint8Array(32);
        new DataView(scalar.buffer).setUint32(0, m, true);
        return m === 0 ? hex(new Uint8Array(32)) : hex(s.crypto_scalarmult_ristretto255_base(scalar));
      };
      expect(vectors.map((vector, i) => vector.map((_, e) => plain(i, e)))).toEqual(vectors.map((vector) => vector.map(multiple)));
      // And the sum of two vectors decodes through the coordinator's decryptor.
      expect(decryptor.decrypt(engine.sumAndRerandomise(ciphertexts, [1, 2], publicKeys), secretKeys, [10, 70_000, 2_000_000])).toEqual([8, 65_535, 1_065_536]);
      // Encrypting the same vectors again shares no element (fresh randomness per vector).
      const again = await engine.encrypt(values, publicKeys);
      const elements = (c: Uint8Array) => Array.from({ length: c.length / 32 }, (_, k) => hex(c.subarray(k * 32, (k + 1) * 32)));
      const before = new Set(elements(ciphertexts));
      expect(elements(again).filter((e) => before.has(e))).toEqual([]);
    }
  });

  it('refuses the same bad received elements at the same index on both backends: the first bad one of the batch', async () => {
    // 10 elements over 2 workers: elements 5..9 are the second worker's 0..4. Element 7 is spoiled
    // as each case says, and element 9 is always the identity, so the index must be the first bad one.
    const points = new Uint8Array(10 * 32);
    for (let i = 0; i < 10; i += 1) points.set(element(`p${i}`), i * 32);
    const cases: Array<[string, (p: Uint8Array) => void]> = [
      ['the identity', (p) => p.fill(0, 7 * 32, 8 * 32)],
      ['bytes that are no encoding', (p) => p.fill(0xff, 7 * 32, 8 * 32)],
      // 2^255 − 19 + 1, little-endian: a non-canonical field element (x ≥ p).
      ['a non-canonical encoding', (p) => p.set([0xee, ...new Array<number>(30).fill(0xff), 0x7f], 7 * 32)],
      ['a negative field element (odd encoding)', (p) => p.set([1, ...new Array<number>(31).fill(0)], 7 * 32)],
    ];
    for (const [, spoil] of cases) {
      const bad = new Uint8Array(points);
      spoil(bad);
      bad.fill(0, 9 * 32, 10 * 32);
      for (const engine of [nativeEngine, wasmEngine]) {
        for (const attempt of [engine.blind(bad, randomRistrettoScalar()), engine.validate(bad)]) {
          await expect(attempt).rejects.toThrowFedlabError('INVALID_POINT', 'psi: received element 7 is not a valid ristretto255 element or is the identity');
        }
      }
    }
    // The pools still work after a refusal, and an empty batch is an empty answer on both.
    await expect(nativeEngine.validate(points)).resolves.toBeUndefined();
    for (const engine of [nativeEngine, wasmEngine]) {
      expect((await engine.blind(new Uint8Array(0), randomRistrettoScalar())).length).toBe(0);
      expect((await engine.hashAndBlind(SESSION, PASSES, [], randomRistrettoScalar())).length).toBe(0);
    }
  });

  it('refuses wrong arguments in the addon itself, before touching any buffer', () => {
    const addon = createRequire(__filename)(NATIVE_RISTRETTO_ADDON) as Record<string, (...args: unknown[]) => number>;
    const scalar = randomRistrettoScalar();
    expect(() => addon.blind!(new Uint8Array(31), scalar, new Uint8Array(31))).toThrow(new RangeError('blind: wrong buffer sizes'));
    expect(() => addon.blind!(new Uint8Array(32), new Uint8Array(31), new Uint8Array(32))).toThrow(new RangeError('blind: wrong buffer sizes'));
    expect(() => addon.hashBlind!(new Uint8Array(64), scalar, new Uint8Array(64))).toThrow(new RangeError('hashBlind: wrong buffer sizes'));
    expect(() => addon.validate!(new Uint8Array(33))).toThrow(new RangeError('validate: wrong buffer size'));
    expect(() => addon.validate!('not bytes')).toThrow(new TypeError('points must be a Uint8Array'));
    expect(() => addon.blind!(new Uint8Array(32), scalar)).toThrow(new TypeError('wrong number of arguments'));
    const key = sodium().crypto_scalarmult_ristretto255_base(scalar);
    expect(() => addon.encrypt!(new Uint8Array(4), key, new Uint8Array(64), new Uint8Array(64))).toThrow(new TypeError('values must be a Uint32Array'));
    expect(() => addon.encrypt!(new Uint32Array(1), key, new Uint8Array(63), new Uint8Array(64))).toThrow(new RangeError('encrypt: wrong buffer sizes'));
    expect(() => addon.encrypt!(new Uint32Array(1), new Uint8Array(32), new Uint8Array(64), new Uint8Array(64))).toThrow(
      new RangeError('encrypt: a public key is not a valid ristretto255 element'),
    );
  });

  it('falls back to the WebAssembly build under auto when the addon is missing or broken, and refuses under native', async ({ tempDir: dir }) => {
    const broken = path.join(dir, 'fedlab_ristretto.node');
    writeFileSync(broken, 'not a shared object');
    const missing = path.join(dir, 'missing.node');
    const pools = [
      new RistrettoPool(1, 'auto', missing),
      new RistrettoPool(1, 'auto', broken),
      new RistrettoPool(1, 'native', missing),
      new RistrettoPool(1, 'native', broken),
    ];
    try {
      // The reason names the file only, never the folder it is in (it may be sent to the coordinator).
      expect(await pools[0]!.info()).toEqual({
        name: 'wasm',
        version: sodium().sodium_version_string(),
        fallbackReason: 'the addon is not built (npm run build:native)',
      });
      expect((await pools[1]!.info()).fallbackReason).toMatch(/^fedlab_ristretto\.node: (file too short|invalid ELF header)$/);
      for (const pool of pools.slice(0, 2)) {
        expect((await pool.info()).name).toBe('wasm');
        const scalar = randomRistrettoScalar();
        expect(hex(await createPsiEngine(pool).blind(element('x'), scalar))).toBe(hex(sodium().crypto_scalarmult_ristretto255(scalar, element('x'))));
      }
      await expect(pools[2]!.info()).rejects.toThrowFedlabError(
        'CONFIG_INVALID',
        'FEDLAB_PSI_BACKEND is native, but the native ristretto255 backend does not load: the addon is not built (npm run build:native)',
      );
      await expect(pools[3]!.info()).rejects.toThrowFedlabError(
        'CONFIG_INVALID',
        /^FEDLAB_PSI_BACKEND is native, but the native ristretto255 backend does not load: fedlab_ristretto\.node: (file too short|invalid ELF header)$/,
      );
      // Every later batch on that pool is refused the same way, never run on another backend.
      // Any message: only the code is checked here.
      await expect(createPsiEngine(pools[2]!).validate(element('y'))).rejects.toThrowFedlabError('CONFIG_INVALID', /(?:)/);
    } finally {
      await Promise.all(pools.map((pool) => pool.close()));
    }
  });

  it('accepts FEDLAB_PSI_BACKEND auto, native or wasm, and refuses anything else', () => {
    expect(defaultRistrettoBackend({})).toBe('auto');
    expect(defaultRistrettoBackend({ FEDLAB_PSI_BACKEND: 'wasm' })).toBe('wasm');
    expect(() => defaultRistrettoBackend({ FEDLAB_PSI_BACKEND: 'gpu' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: 'FEDLAB_PSI_BACKEND is "gpu"; expected auto, native or wasm' }),
    );
  });
});

describe('a worker pool on random input', () => {
  it('matches the WebAssembly backend on 2,000 random blindings', async () => {
    const points = new Uint8Array(2000 * 32);
    const s = sodium();
    for (let i = 0; i < 2000; i += 1) points.set(s.crypto_core_ristretto255_from_hash(randomBytes(64)), i * 32);
    const scalar = randomRistrettoScalar();
    expect(hex(await nativeEngine.blind(points, scalar))).toBe(hex(await wasmEngine.blind(points, scalar)));
  });
});
