import { beforeAll, describe, expect, it } from 'vitest';
import { createSecAggCrypto } from './sodium-secagg-crypto';
import { initCrypto, sodium } from './sodium';

describe('the libsodium secure-aggregation primitives', () => {
  beforeAll(async () => {
    await initCrypto();
  });

  it('expands a seed into the ChaCha20 keystream read as little-endian 32-bit words', () => {
    const crypto = createSecAggCrypto(new Uint8Array(64), () => undefined);
    const seed = Uint8Array.from({ length: 32 }, (_, i) => i);
    const stream = sodium().crypto_stream_chacha20(4 * 1000, seed, new Uint8Array(8));
    const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
    expect([...crypto.prg(seed, 1000)]).toEqual(Array.from({ length: 1000 }, (_, i) => view.getUint32(4 * i, true)));
  });

  it('refuses the all-zero and a low-order X25519 public key', () => {
    const crypto = createSecAggCrypto(new Uint8Array(64), () => undefined);
    const { secretKey } = crypto.generateKeyPair();
    expect(() => crypto.agree(secretKey, new Uint8Array(32))).toThrow('X25519: invalid or low-order public key');
    expect(() => crypto.agree(secretKey, Uint8Array.of(1, ...new Uint8Array(31)))).toThrow('X25519: invalid or low-order public key');
  });

  it('opens only what it sealed with the same associated data', () => {
    const crypto = createSecAggCrypto(new Uint8Array(64), () => undefined);
    const key = crypto.random(32);
    const sealed = crypto.seal(key, Uint8Array.of(1, 2, 3), Uint8Array.of(9));
    expect([...crypto.open(key, sealed, Uint8Array.of(9))]).toEqual([1, 2, 3]);
    expect(() => crypto.open(key, sealed, Uint8Array.of(8))).toThrow();
  });
});
