import { randomBytes } from 'node:crypto';
import { endianness } from 'node:os';
import type { SecAggCrypto } from '@fedlab/secagg';
import type { Identity, Roster } from '@fedlab/governance';
import { blake2b, signDetached, verifyDetached } from './signing';
import { sodium } from './sodium';

const NONCE_BYTES = 24;
const LITTLE_ENDIAN = endianness() === 'LE';
const random = (bytes: number) => new Uint8Array(randomBytes(bytes));

/** The ESM-only `shamir-secret-sharing` (audited), loaded once. */
let shamir: Promise<typeof import('shamir-secret-sharing')> | undefined;
const loadShamir = () => (shamir ??= import('shamir-secret-sharing'));

/**
 * The libsodium implementation of the secure-aggregation primitives (DESIGN.md §7.2): X25519 with
 * low-order rejection, BLAKE2b, the ChaCha20 keystream as PRG, XChaCha20-Poly1305 with a random
 * 24-byte nonce, Ed25519 signatures under the secagg contexts, and `shamir-secret-sharing`.
 * Randomness comes from node:crypto. `signerKey` resolves a roster id to its Ed25519 public key.
 * Call after `initCrypto()`.
 */
export function createSecAggCrypto(signSecretKey: Uint8Array, signerKey: (signerId: string) => Uint8Array | undefined): SecAggCrypto {
  const s = sodium();
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
      // The keystream is read as little-endian words; on a little-endian host that is a plain view.
      if (LITTLE_ENDIAN && stream.byteOffset % 4 === 0) return new Uint32Array(stream.buffer, stream.byteOffset, words);
      const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
      return Uint32Array.from({ length: words }, (_, i) => view.getUint32(4 * i, true));
    },
    seal(key, plaintext, associatedData) {
      const nonce = random(NONCE_BYTES);
      return Buffer.concat([nonce, s.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, associatedData, null, nonce, key)]);
    },
    open(key, ciphertext, associatedData) {
      if (ciphertext.length < NONCE_BYTES + s.crypto_aead_xchacha20poly1305_ietf_ABYTES) throw new Error('ciphertext too short');
      return s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ciphertext.subarray(NONCE_BYTES), associatedData, ciphertext.subarray(0, NONCE_BYTES), key);
    },
    sign: (context, message) => signDetached(context, message, signSecretKey),
    verify(context, message, signature, signerId) {
      const publicKey = signerKey(signerId);
      return publicKey !== undefined && verifyDetached(context, message, signature, publicKey);
    },
    split: async (secret, shares, threshold) => (await loadShamir()).split(secret, shares, threshold),
    // The library accepts plain Uint8Arrays only; shares decoded from protobuf arrive as Node Buffers.
    combine: async (shares) => (await loadShamir()).combine(shares.map((share) => Uint8Array.from(share))),
    random,
  };
}

/** {@link createSecAggCrypto} for a party with this identity, verifying peers against the nodes of the roster. */
export function createRosterSecAggCrypto(identity: Identity, roster: Roster): SecAggCrypto {
  return createSecAggCrypto(identity.signSecretKey, (id) => roster.get(id, 'node')?.signPublicKey);
}

/**
 * A 32-byte secret for one purpose (`label`), derived from a party's signing key so it is stable
 * across restarts and never stored apart from the key.
 */
export function deriveIdentityKey(identity: Identity, label: string): Uint8Array {
  return blake2b(Buffer.concat([Buffer.from(`fedlab/v1/${label}\0`), identity.signSecretKey]), 32);
}
