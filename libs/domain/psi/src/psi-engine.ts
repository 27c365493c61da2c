/** Bytes of one encoded ristretto255 element. */
export const POINT_BYTES = 32;

/** The ElGamal public keys of one protocol run: one key per value-vector entry (DESIGN.md §7.4). */
export type PublicKeys = readonly Uint8Array[];

/**
 * The group operations the private intersection-sum parties need (DESIGN.md §7.4), injected so the
 * protocol stays pure; `@fedlab/crypto` provides the libsodium ristretto255 implementation, spread
 * over worker threads. Every operation on a received element validates it first: an invalid
 * encoding or the identity element is refused with INVALID_POINT, never used.
 *
 * Ciphertexts are exponential ElGamal with one shared randomness per vector and an independent key
 * per entry (multi-recipient ElGamal, Kurosawa PKC 2002; randomness re-use is safe for ElGamal,
 * Bellare–Boldyreva–Staddon PKC 2003): `(r·G, m₁·G + r·pk₁, …, m_v·G + r·pk_v)`, `1 + v` elements.
 */
export interface PsiEngine {
  /** A fresh non-zero scalar from node:crypto (a per-run blinding key). */
  randomScalar(): Uint8Array;
  /**
   * `scalar · H(session, pass, key)` for every key of every tuple, tuple by tuple, pass by pass
   * (`tuples.length × width` elements). A null key (no identifier for that pass) becomes a random
   * element, so it matches nothing and hides that the identifier was missing.
   */
  hashAndBlind(
    sessionId: Uint8Array,
    passNames: readonly string[],
    tuples: ReadonlyArray<ReadonlyArray<string | null>>,
    scalar: Uint8Array,
  ): Promise<Uint8Array>;
  /** `scalar · P` for every received element P; refuses invalid elements and the identity (INVALID_POINT). */
  blind(points: Uint8Array, scalar: Uint8Array): Promise<Uint8Array>;
  /** Encrypts `count` vectors of `publicKeys.length` non-negative integers (row-major). */
  encrypt(values: Uint32Array, publicKeys: PublicKeys): Promise<Uint8Array>;
  /** Refuses (INVALID_POINT) when any received element is invalid or the identity. */
  validate(points: Uint8Array): Promise<void>;
  /**
   * The homomorphic sum of the selected ciphertexts plus a fresh encryption of zero, so the result
   * is re-randomised (it cannot be linked to the ciphertexts it sums, and is never the identity).
   */
  sumAndRerandomise(ciphertexts: Uint8Array, indices: readonly number[], publicKeys: PublicKeys): Uint8Array;
  /** A uniformly random permutation of 0..n-1 (Fisher–Yates over node:crypto). */
  permutation(n: number): Uint32Array;
}

/** The coordinator's side: per-run ElGamal key pairs and bounded decoding. */
export interface PsiDecryptor {
  /** `count` fresh key pairs. */
  generateKeys(count: number): { publicKeys: Uint8Array[]; secretKeys: Uint8Array[] };
  /**
   * Decrypts entry i of a ciphertext vector to the integer in [0, bounds[i]] it encrypts (baby-step
   * giant-step), or refuses with DECODE_OUT_OF_RANGE: a sum outside the range is never wrapped.
   */
  decrypt(ciphertext: Uint8Array, secretKeys: readonly Uint8Array[], bounds: readonly number[]): number[];
}
