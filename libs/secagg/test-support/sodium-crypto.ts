import { randomBytes } from 'node:crypto';
import _sodium from 'libsodium-wrappers-sumo';
import { combine, split } from 'shamir-secret-sharing';
import type { SecAggCrypto } from '../src/secagg-crypto';

/** A party's Ed25519 identity (what the roster pins). */
export interface Identity {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

const utf8 = new TextEncoder();
const NONCE_BYTES = 24;

function random(bytes: number): Uint8Array {
  return new Uint8Array(randomBytes(bytes));
}

/** Loads libsodium's WebAssembly once. */
export async function loadSodium(): Promise<typeof _sodium> {
  await _sodium.ready;
  return _sodium;
}

/** A fresh Ed25519 identity from node:crypto randomness (libsodium must be loaded). */
export function createIdentity(): Identity {
  const { publicKey, privateKey } = _sodium.crypto_sign_seed_keypair(random(32));
  return { publicKey, secretKey: privateKey };
}

/**
 * The real SecAggCrypto (DESIGN.md §7.2) over libsodium, for tests: `identity` signs, `roster`
 * (id → Ed25519 public key) verifies. libsodium must be loaded ({@link loadSodium}).
 */
export function createSodiumCrypto(identity: Identity, roster: ReadonlyMap<string, Uint8Array>): SecAggCrypto {
  const s = _sodium;
  const framed = (context: string, message: Uint8Array): Uint8Array => Buffer.concat([utf8.encode(context), Uint8Array.of(0), message]);
  return {
    generateKeyPair() {
      const secretKey = random(32);
      return { publicKey: s.crypto_scalarmult_base(secretKey), secretKey };
    },
    agree(secretKey, peerPublicKey) {
      if (secretKey.length !== 32 || peerPublicKey.length !== 32) throw new Error('X25519 keys must be 32 bytes');
      let shared: Uint8Array;
      try {
        shared = s.crypto_scalarmult(secretKey, peerPublicKey);
      } catch {
        throw new Error('X25519: invalid or low-order public key');
      }
      if (shared.every((byte) => byte === 0)) throw new Error('X25519: invalid or low-order public key');
      return shared;
    },
    keyedHash: (key, message, outBytes) => s.crypto_generichash(outBytes, message, key),
    hash: (message) => s.crypto_generichash(32, message, null),
    prg(seed, words) {
      const stream = s.crypto_stream_chacha20(words * 4, seed, new Uint8Array(s.crypto_stream_chacha20_NONCEBYTES));
      const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
      return Uint32Array.from({ length: words }, (_, i) => view.getUint32(4 * i, true));
    },
    seal(key, plaintext, associatedData) {
      const nonce = random(NONCE_BYTES);
      const sealed = s.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, associatedData, null, nonce, key);
      return Buffer.concat([nonce, sealed]);
    },
    open(key, ciphertext, associatedData) {
      if (ciphertext.length < NONCE_BYTES + s.crypto_aead_xchacha20poly1305_ietf_ABYTES) throw new Error('ciphertext too short');
      const nonce = ciphertext.subarray(0, NONCE_BYTES);
      return s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ciphertext.subarray(NONCE_BYTES), associatedData, nonce, key);
    },
    sign: (context, message) => s.crypto_sign_detached(framed(context, message), identity.secretKey),
    verify(context, message, signature, signerId) {
      const publicKey = roster.get(signerId);
      if (!publicKey || publicKey.length !== s.crypto_sign_PUBLICKEYBYTES || signature.length !== s.crypto_sign_BYTES) return false;
      try {
        return s.crypto_sign_verify_detached(signature, framed(context, message), publicKey);
      } catch {
        return false;
      }
    },
    split: (secret, shares, threshold) => split(secret, shares, threshold),
    combine: (shares) => combine(shares),
    random,
  };
}

/** Identities for `ids` and one SecAggCrypto per id, all sharing the same roster. */
export async function createSodiumCryptos(ids: readonly string[]): Promise<{ cryptos: Map<string, SecAggCrypto>; identities: Map<string, Identity>; roster: Map<string, Uint8Array> }> {
  await loadSodium();
  const identities = new Map(ids.map((id) => [id, createIdentity()] as const));
  const roster = new Map([...identities].map(([id, identity]) => [id, identity.publicKey] as const));
  const cryptos = new Map([...identities].map(([id, identity]) => [id, createSodiumCrypto(identity, roster)] as const));
  return { cryptos, identities, roster };
}
