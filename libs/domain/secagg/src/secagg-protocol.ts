import { FedlabError } from '@fedlab/model';
import { frame } from './bytes';
import { MAX_PARTIES } from './encoding';
import type { SecAggCrypto } from './secagg-crypto';

/*
 * Messages and derivations shared by SecAggClient and SecAggServer: Bonawitz et al. 2017 (CCS),
 * "Practical Secure Aggregation for Privacy-Preserving Machine Learning", Figure 4 (the protocol,
 * malicious-server variant with signatures and the ConsistencyCheck round). Round numbers follow the
 * paper: 0 AdvertiseKeys, 1 ShareKeys, 2 MaskedInputCollection, 3 ConsistencyCheck, 4 Unmasking.
 * Every message is a plain object with Uint8Array fields, so a harness can drop, delay, replay,
 * reorder or tamper with any of them.
 */

/** Round 0, client → server → all clients: fresh X25519 keys signed with the node identity. */
export interface AdvertiseKeysMessage {
  clientId: string;
  /** Transport key `c_u^PK`: agreed keys encrypt the shares of round 1. */
  cPublic: Uint8Array;
  /** Masking key `s_u^PK`: agreed keys seed the pairwise masks. */
  sPublic: Uint8Array;
  /** 'secagg-keys' signature over frame(roundId, queryHash, cPublic, sPublic). */
  signature: Uint8Array;
}

/** One Shamir share pair `(b_{u,v}, s^SK_{u,v})` from `from` to `to`, sealed under their agreed `c` key. */
export interface EncryptedShare {
  sessionId: Uint8Array;
  from: string;
  to: string;
  /** seal(key, frame(bShare, sShare), associatedData = frame(sessionId, from, to)). */
  ciphertext: Uint8Array;
}

/** Round 1, client → server: one encrypted share per peer in U1, and the commitment to `b_u`. */
export interface ShareKeysMessage {
  clientId: string;
  sessionId: Uint8Array;
  /** H(frame('secagg-b-commit', sessionId, clientId, b_u)); signed with the masked input. */
  commitment: Uint8Array;
  shares: EncryptedShare[];
}

/** Round 1, server → one client of U2: the shares addressed to it. */
export interface SharesForClient {
  to: string;
  shares: EncryptedShare[];
}

/** Round 2, client → server: `y_u` as little-endian u32 bytes, signed. */
export interface MaskedInputMessage {
  clientId: string;
  sessionId: Uint8Array;
  masked: Uint8Array;
  /** 'secagg-input' signature over frame(sessionId, clientId, commitment, H(masked)) ({@link maskedInputPayload}). */
  signature: Uint8Array;
}

/** Round 3, server → clients of U3: the survivor set U3 (those whose masked input arrived). */
export interface ConsistencyRequest {
  sessionId: Uint8Array;
  survivors: string[];
}

/** A client's 'secagg-consistency' signature over frame(sessionId, ...sorted U3). */
export interface ConsistencySignature {
  clientId: string;
  signature: Uint8Array;
}

/** Round 3, client → server. */
export interface ConsistencyMessage extends ConsistencySignature {
  sessionId: Uint8Array;
}

/** Round 4, server → clients of U4: whose self-mask and whose masking key to reveal, with proof of U3. */
export interface UnmaskRequest {
  sessionId: Uint8Array;
  /** U3: reveal shares of `b_v` for these. */
  survivors: string[];
  /** U2 \ U3: reveal shares of `s_v^SK` for these. */
  dropped: string[];
  /** At least t consistency signatures over U3, from members of U3. */
  signatures: ConsistencySignature[];
}

/** A Shamir share of the secret of party `of`. */
export interface PartyShare {
  of: string;
  share: Uint8Array;
}

/** Round 4, client → server. */
export interface UnmaskMessage {
  clientId: string;
  sessionId: Uint8Array;
  /** Shares of `b_v` for every survivor v. */
  selfMaskShares: PartyShare[];
  /** Shares of `s_v^SK` for every dropped v. */
  maskingKeyShares: PartyShare[];
}

/**
 * Everything a finished round's server received that a participant can check: the signed key
 * advertisements, the share messages (with the commitments the masked inputs sign), the signed masked
 * inputs of the survivors, the consistency signatures and the unmask responses. Replaying it
 * ({@link verifyTranscript}) recomputes the round's sum; a forged or altered message fails a signature,
 * a commitment or a public-key check.
 */
export interface RoundTranscript {
  advertisements: AdvertiseKeysMessage[];
  shareKeys: ShareKeysMessage[];
  maskedInputs: MaskedInputMessage[];
  consistency: ConsistencyMessage[];
  unmaskings: UnmaskMessage[];
}

/** Default Shamir threshold t = ⌊2n/3⌋ + 1 (DESIGN.md §7.2; Bonawitz et al. §6.2 need t > 2n/3 against an actively malicious server). */
export function defaultThreshold(n: number): number {
  return Math.floor((2 * n) / 3) + 1;
}

/** The X25519 base point (u = 9): agree(secret, base) is the public key, used to check a reconstructed `s^SK`. */
export const X25519_BASE_POINT = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 9 : 0));

/** Length of `b_u` and of every derived symmetric key, in bytes. */
export const SEED_BYTES = 32;

/** Message of "threshold not met" refusals; the error code is INVALID_ARGUMENT until a THRESHOLD_NOT_MET code exists. */
export function thresholdNotMet(what: string, have: number, threshold: number, details: Record<string, unknown> = {}): FedlabError {
  return new FedlabError('THRESHOLD_NOT_MET', `threshold not met: ${what}: ${have} of the ${threshold} required`, details);
}

/** Validates the roster and threshold shared by client and server; returns the threshold to use. */
export function checkSetup(participants: readonly string[], threshold: number | undefined, roundId: string, queryHash: Uint8Array): number {
  const n = participants.length;
  if (new Set(participants).size !== n || participants.some((id) => id.length === 0)) {
    throw new FedlabError('INVALID_ARGUMENT', 'secagg: participant ids must be distinct and non-empty');
  }
  if (n < 2 || n > MAX_PARTIES) throw new FedlabError('INVALID_ARGUMENT', `secagg: needs 2 to ${MAX_PARTIES} participants, got ${n}`);
  const t = threshold ?? defaultThreshold(n);
  // t > n/2 keeps two disjoint groups from both reaching the threshold; the Shamir library needs t ≥ 2.
  if (!Number.isInteger(t) || t < 2 || t > n || 2 * t <= n) {
    throw new FedlabError('INVALID_ARGUMENT', `secagg: threshold must be an integer with n/2 < t ≤ n and t ≥ 2 (n = ${n}, t = ${t})`);
  }
  if (roundId.length === 0 || queryHash.length === 0) throw new FedlabError('INVALID_ARGUMENT', 'secagg: roundId and queryHash must be non-empty');
  return t;
}

/** Plain code-unit order for ids: the same on every party, unlike localeCompare. */
export function sortIds(ids: Iterable<string>): string[] {
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Bytes signed in round 0. */
export function advertisementPayload(roundId: string, queryHash: Uint8Array, cPublic: Uint8Array, sPublic: Uint8Array): Uint8Array {
  return frame(roundId, queryHash, cPublic, sPublic);
}

/** session_id = H(round_id, query_hash, key list sorted by client id) (DESIGN.md §7.2 step 2). */
export function deriveSessionId(crypto: SecAggCrypto, roundId: string, queryHash: Uint8Array, keys: readonly AdvertiseKeysMessage[]): Uint8Array {
  const sorted = [...keys].sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0));
  return crypto.hash(frame('secagg-session', roundId, queryHash, ...sorted.flatMap((k) => [k.clientId, k.cPublic, k.sPublic])));
}

/** Key sealing the shares between two clients: KDF of their `c` agreement, bound to the session. */
export function shareKey(crypto: SecAggCrypto, agreed: Uint8Array, sessionId: Uint8Array): Uint8Array {
  return crypto.keyedHash(agreed, frame('secagg-share-key', sessionId), SEED_BYTES);
}

/** Associated data of a sealed share: session_id ‖ from ‖ to. */
export function shareAssociatedData(sessionId: Uint8Array, from: string, to: string): Uint8Array {
  return frame(sessionId, from, to);
}

/** seed_uv = keyedHash(key = agree(s_u, s_v), "pair" ‖ session_id ‖ min(u,v) ‖ max(u,v)); symmetric in u and v. */
export function pairSeed(crypto: SecAggCrypto, agreed: Uint8Array, sessionId: Uint8Array, u: string, v: string): Uint8Array {
  const [low, high] = u < v ? [u, v] : [v, u];
  return crypto.keyedHash(agreed, frame('pair', sessionId, low, high), SEED_BYTES);
}

/**
 * Sign of the pairwise mask PRG(seed_uv) in y_u: +1 when u < v, −1 when u > v (code-unit order of the
 * ids), so the two masks of a pair cancel in the sum (Bonawitz et al. §3, "masking with one-time pads").
 */
export function pairSign(u: string, v: string): 1 | -1 {
  return u < v ? 1 : -1;
}

/** Commitment to the self-mask seed b_u, checked by the server after reconstruction. */
export function selfMaskCommitment(crypto: SecAggCrypto, sessionId: Uint8Array, clientId: string, b: Uint8Array): Uint8Array {
  return crypto.hash(frame('secagg-b-commit', sessionId, clientId, b));
}

/**
 * Bytes signed with the masked input (round 2): frame(sessionId, clientId, commitment, H(masked)) with
 * H = BLAKE2b-256. The vector enters through its digest: a collision-resistant hash binds the signer to
 * the vector as firmly as the vector itself, and Ed25519 then hashes 32 bytes with SHA-512 twice instead
 * of the whole vector (4 MiB at 2^20 words).
 */
export function maskedInputPayload(crypto: SecAggCrypto, sessionId: Uint8Array, clientId: string, commitment: Uint8Array, masked: Uint8Array): Uint8Array {
  return frame(sessionId, clientId, commitment, crypto.hash(masked));
}

/** Bytes signed in the consistency check (round 3): the session and the sorted survivor set. */
export function consistencyPayload(sessionId: Uint8Array, survivors: readonly string[]): Uint8Array {
  return frame(sessionId, ...sortIds(survivors));
}
