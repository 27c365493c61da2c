/**
 * The cryptographic operations the secure-aggregation state machines need (DESIGN.md §7.2), injected
 * so the protocol stays pure and testable; `@fedlab/crypto` provides the libsodium implementation.
 * Every method that receives a key, point or signature from a peer must reject invalid input by
 * returning false / throwing, never by producing a weak result.
 */
export interface SecAggCrypto {
  /** A fresh X25519 key pair from 32 random bytes. */
  generateKeyPair(): { publicKey: Uint8Array; secretKey: Uint8Array };
  /** X25519(secret, peerPublic); throws on an invalid or low-order public key (all-zero output). */
  agree(secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array;
  /** BLAKE2b keyed hash: `out` bytes of H(key = key, message). */
  keyedHash(key: Uint8Array, message: Uint8Array, outBytes: number): Uint8Array;
  /** Unkeyed BLAKE2b-256. */
  hash(message: Uint8Array): Uint8Array;
  /** `words` 32-bit words of the ChaCha20 keystream for a 32-byte seed (zero nonce), little-endian. */
  prg(seed: Uint8Array, words: number): Uint32Array;
  /** Authenticated encryption (XChaCha20-Poly1305) under a 32-byte key with associated data. */
  seal(key: Uint8Array, plaintext: Uint8Array, associatedData: Uint8Array): Uint8Array;
  /** Opens what `seal` made; throws when the ciphertext or the associated data was altered. */
  open(key: Uint8Array, ciphertext: Uint8Array, associatedData: Uint8Array): Uint8Array;
  /** Ed25519 signature over `context ‖ 0x00 ‖ message` with the party's identity key. */
  sign(context: 'secagg-keys' | 'secagg-input' | 'secagg-consistency', message: Uint8Array): Uint8Array;
  /** Verifies a peer's signature against its roster key; false for anything malformed. */
  verify(context: 'secagg-keys' | 'secagg-input' | 'secagg-consistency', message: Uint8Array, signature: Uint8Array, signerId: string): boolean;
  /** Shamir t-of-n split of a secret (audited `shamir-secret-sharing`): n shares. */
  split(secret: Uint8Array, shares: number, threshold: number): Promise<Uint8Array[]>;
  /** Recombines at least t shares; throws on malformed shares. */
  combine(shares: Uint8Array[]): Promise<Uint8Array>;
  /** Cryptographically secure random bytes (node:crypto). */
  random(bytes: number): Uint8Array;
}
