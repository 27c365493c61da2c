import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNativeEd25519, signatureBackendInfo, useSignatureBackend, WASM_ED25519, type Ed25519 } from './signature-backend';
import { signDetached, verifyDetached } from './signing';
import { initCrypto, sodium } from './sodium';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

/** RFC 8032 §7.1, tests 1–3: secret seed, public key, message, signature. */
const RFC8032 = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    seed: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

/** The group order ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const ORDER = bytes('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010');

/** s + ℓ as 32 little-endian bytes (s < ℓ, so no overflow past 2^256): the same scalar, not canonical. */
function plusOrder(s: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  let carry = 0;
  for (let i = 0; i < 32; i++) {
    const sum = s[i]! + ORDER[i]! + carry;
    out[i] = sum & 0xff;
    carry = sum >> 8;
  }
  return out;
}

let native: Ed25519;
const wasm = WASM_ED25519;

beforeAll(async () => {
  await initCrypto();
  const loaded = loadNativeEd25519();
  if (!('ed25519' in loaded)) throw new Error(`the native addon must load for these tests (npm test builds it): ${loaded.reason}`);
  native = loaded.ed25519;
});
afterAll(() => {
  useSignatureBackend('auto');
});

describe('Ed25519 on the native and the WebAssembly libsodium', () => {
  it('the process signs with the native libsodium (1.0.18 or later) where the addon loads, as npm test builds it', () => {
    const info = signatureBackendInfo();
    expect(info.name).toBe('native');
    const [major, minor, patch] = info.version.split('.').map(Number);
    expect(major! * 1_000_000 + minor! * 1000 + patch!).toBeGreaterThanOrEqual(1_000_018);
  });

  it('gives RFC 8032’s signatures for its test vectors on both, and each verifies them', () => {
    for (const v of RFC8032) {
      const keys = sodium().crypto_sign_seed_keypair(bytes(v.seed));
      expect(hex(keys.publicKey)).toBe(v.publicKey);
      for (const backend of [native, wasm]) {
        expect(hex(backend.sign(bytes(v.message), keys.privateKey))).toBe(v.signature);
        expect(backend.verify(bytes(v.signature), bytes(v.message), keys.publicKey)).toBe(true);
      }
    }
  });

  it('gives identical signatures, and each verifies the other’s, over random keys and messages', () => {
    for (let i = 0; i < 50; i++) {
      const keys = sodium().crypto_sign_seed_keypair(new Uint8Array(randomBytes(32)));
      const message = new Uint8Array(randomBytes(i * 37));
      const byNative = native.sign(message, keys.privateKey);
      const byWasm = wasm.sign(message, keys.privateKey);
      expect(hex(byNative)).toBe(hex(byWasm));
      expect(native.verify(byWasm, message, keys.publicKey)).toBe(true);
      expect(wasm.verify(byNative, message, keys.publicKey)).toBe(true);
    }
  });

  it('both refuse the same malformed, tampered and non-canonical signatures and keys', () => {
    const keys = sodium().crypto_sign_seed_keypair(bytes(RFC8032[1]!.seed));
    const message = bytes('72');
    const good = bytes(RFC8032[1]!.signature);
    const flipped = (b: Uint8Array, i: number) => {
      const copy = new Uint8Array(b);
      copy[i]! ^= 0x01;
      return copy;
    };
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const cases: Array<[string, Uint8Array, Uint8Array, Uint8Array]> = [
      ['another message', good, bytes('73'), keys.publicKey],
      ['a bit flipped in R', flipped(good, 3), message, keys.publicKey],
      ['a bit flipped in S', flipped(good, 40), message, keys.publicKey],
      ['another key', good, message, sodium().crypto_sign_seed_keypair(bytes(RFC8032[0]!.seed)).publicKey],
      ['a 63-byte signature', good.subarray(0, 63), message, keys.publicKey],
      ['a 65-byte signature', new Uint8Array([...good, 0]), message, keys.publicKey],
      ['a 31-byte key', good, message, keys.publicKey.subarray(0, 31)],
      ['a 33-byte key', good, message, new Uint8Array([...keys.publicKey, 0])],
      ['an empty signature and key', new Uint8Array(0), message, new Uint8Array(0)],
      ['S + ℓ (not canonical)', new Uint8Array([...good.subarray(0, 32), ...plusOrder(good.subarray(32))]), message, keys.publicKey],
      ['the identity as the key (small order)', good, message, identity],
      ['the all-zero key', good, message, new Uint8Array(32)],
      ['a key whose y is not below p', good, message, new Uint8Array([...new Uint8Array(31).fill(0xff), 0x7f])],
      ['the identity as R (small order)', new Uint8Array([...identity, ...good.subarray(32)]), message, keys.publicKey],
    ];
    for (const [what, signature, m, publicKey] of cases) {
      expect({ what, native: native.verify(signature, m, publicKey), wasm: wasm.verify(signature, m, publicKey) }).toEqual({
        what,
        native: false,
        wasm: false,
      });
    }
    expect(native.verify(good, message, keys.publicKey)).toBe(true);
  });

  it('the native signer refuses a secret key that is not 64 bytes', () => {
    expect(() => native.sign(new Uint8Array(1), new Uint8Array(32))).toThrow(new RangeError('signDetached: the secret key must be 64 bytes'));
  });
});

describe('choosing the backend', () => {
  const missing = path.join(__dirname, 'no-such-addon.node');

  it('auto falls back to WebAssembly where the native addon does not load, and signs the same bytes there', () => {
    const keys = sodium().crypto_sign_seed_keypair(bytes(RFC8032[2]!.seed));
    const payload = bytes('0102030405');
    useSignatureBackend('auto');
    const byNative = signDetached('query', payload, keys.privateKey);
    expect(useSignatureBackend('auto', missing)).toEqual({
      name: 'wasm',
      version: sodium().sodium_version_string(),
      fallbackReason: 'the native addon is not built (npm run build:native)',
    });
    expect(signatureBackendInfo().name).toBe('wasm');
    expect(hex(signDetached('query', payload, keys.privateKey))).toBe(hex(byNative));
    expect(verifyDetached('query', payload, byNative, keys.publicKey)).toBe(true);
    expect(verifyDetached('result', payload, byNative, keys.publicKey)).toBe(false);
    useSignatureBackend('auto');
    expect(signatureBackendInfo().name).toBe('native');
  });

  it('native insists on the addon, and wasm never loads it', () => {
    expect(() => useSignatureBackend('native', missing)).toThrowFedlabError(
      'CONFIG_INVALID',
      'the native Ed25519 backend does not load: the native addon is not built (npm run build:native)',
    );
    expect(useSignatureBackend('wasm', missing)).toEqual({ name: 'wasm', version: sodium().sodium_version_string() });
    expect(useSignatureBackend('native').name).toBe('native');
  });
});
