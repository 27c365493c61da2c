import { FedlabError, type ErrorCode } from '@fedlab/model';
import { bytesEqual, frame, toHex, unframe, wordsAsBytes } from './bytes';
import { addInto, addSignedPairInto, subInto } from './encoding';
import type { SecAggCrypto } from './secagg-crypto';
import {
  type AdvertiseKeysMessage,
  type ConsistencyMessage,
  type ConsistencyRequest,
  type EncryptedShare,
  type MaskedInputMessage,
  type PartyShare,
  type ShareKeysMessage,
  type UnmaskMessage,
  type UnmaskRequest,
  advertisementPayload,
  checkSetup,
  consistencyPayload,
  deriveSessionId,
  maskedInputPayload,
  pairSeed,
  pairSign,
  SEED_BYTES,
  selfMaskCommitment,
  shareAssociatedData,
  shareKey,
  sortIds,
  thresholdNotMet,
} from './secagg-protocol';

/** Configuration of one node's secure-aggregation party. */
export interface SecAggClientOptions {
  id: string;
  /** Roster ids of every party that may take part (n = participants.length). */
  participants: readonly string[];
  roundId: string;
  queryHash: Uint8Array;
  /** Shamir threshold t; default {@link defaultThreshold}(n). */
  threshold?: number;
  /** x_u, already encoded (and range-checked) in Z_2^32. */
  input: Uint32Array;
  /** This node's crypto: signs with its identity, verifies peers against the roster. */
  crypto: SecAggCrypto;
}

/** Where a client is in the protocol; each method is allowed in exactly one phase. */
export type SecAggClientPhase = 'advertiseKeys' | 'shareKeys' | 'maskedInput' | 'consistencyCheck' | 'unmask' | 'done' | 'aborted' | 'busy';

type KeyPair = ReturnType<SecAggCrypto['generateKeyPair']>;

interface Peer {
  cPublic: Uint8Array;
  sPublic: Uint8Array;
  /** Raw X25519 agreements with this peer, computed (and so validated) in round 1. */
  cAgreed?: Uint8Array;
  sAgreed?: Uint8Array;
}

/**
 * One node's side of secure aggregation (Bonawitz et al. 2017, Figure 4, "User" column), as a
 * transport-free state machine: each method takes the messages received in a round and returns the
 * message to send. Any validation failure aborts the client for good (the paper's "abort"); a call
 * out of order or repeated is refused without changing state.
 */
export class SecAggClient {
  readonly id: string;
  readonly threshold: number;
  private readonly crypto: SecAggCrypto;
  private readonly participants: ReadonlySet<string>;
  private readonly roundId: string;
  private readonly queryHash: Uint8Array;
  private readonly input: Uint32Array;
  private current: SecAggClientPhase = 'advertiseKeys';
  private cKeys?: KeyPair;
  private sKeys?: KeyPair;
  private readonly peers = new Map<string, Peer>();
  private sessionId: Uint8Array = new Uint8Array();
  private selfMaskSeed?: Uint8Array;
  private commitment: Uint8Array = new Uint8Array();
  /** Shares this client holds of every U2 member's b and s^SK (its own included). */
  private readonly held = new Map<string, { b: Uint8Array; s: Uint8Array }>();
  private survivors: string[] = [];

  constructor(options: SecAggClientOptions) {
    this.threshold = checkSetup(options.participants, options.threshold, options.roundId, options.queryHash);
    if (!options.participants.includes(options.id)) throw new FedlabError('NODE_NOT_ON_ROSTER', `secagg: ${options.id} is not a participant`);
    if (options.input.length === 0) throw new FedlabError('INVALID_ARGUMENT', 'secagg: the input vector is empty');
    this.id = options.id;
    this.crypto = options.crypto;
    this.participants = new Set(options.participants);
    this.roundId = options.roundId;
    this.queryHash = options.queryHash;
    this.input = Uint32Array.from(options.input);
  }

  /** The current phase (for harnesses and logs). */
  get phase(): SecAggClientPhase {
    return this.current;
  }

  /** The session id derived in round 1 (empty before). */
  get session(): Uint8Array {
    return this.sessionId;
  }

  /** Round 0: fresh `c` and `s` key pairs, signed with the node identity and bound to round and query. */
  advertiseKeys(): AdvertiseKeysMessage {
    return this.step('advertiseKeys', 'shareKeys', () => {
      this.cKeys = this.crypto.generateKeyPair();
      this.sKeys = this.crypto.generateKeyPair();
      const { publicKey: cPublic } = this.cKeys;
      const { publicKey: sPublic } = this.sKeys;
      const signature = this.crypto.sign('secagg-keys', advertisementPayload(this.roundId, this.queryHash, cPublic, sPublic));
      return { clientId: this.id, cPublic, sPublic, signature };
    });
  }

  /**
   * Round 1: verifies the broadcast key list (roster, signatures, distinct keys, ≥ t parties, own keys
   * unchanged), derives session_id, Shamir-splits b_u and s_u^SK t-of-|U1| and seals one share pair
   * per peer (Figure 4, Round 1).
   */
  async shareKeys(advertised: readonly AdvertiseKeysMessage[]): Promise<ShareKeysMessage> {
    this.enter('shareKeys');
    try {
      const sKeys = this.sKeys as KeyPair;
      this.acceptKeyList(advertised, this.cKeys as KeyPair, sKeys);
      this.sessionId = deriveSessionId(this.crypto, this.roundId, this.queryHash, advertised);
      const b = this.crypto.random(SEED_BYTES);
      this.selfMaskSeed = b;
      this.commitment = selfMaskCommitment(this.crypto, this.sessionId, this.id, b);
      const u1 = sortIds(this.peers.keys());
      const bShares = await this.crypto.split(b, u1.length, this.threshold);
      const sShares = await this.crypto.split(sKeys.secretKey, u1.length, this.threshold);
      const shares: EncryptedShare[] = [];
      u1.forEach((to, i) => {
        if (to === this.id) return void this.held.set(to, { b: bShares[i], s: sShares[i] });
        const key = shareKey(this.crypto, this.peer(to).cAgreed as Uint8Array, this.sessionId);
        const ciphertext = this.crypto.seal(key, frame(bShares[i], sShares[i]), shareAssociatedData(this.sessionId, this.id, to));
        shares.push({ sessionId: this.sessionId, from: this.id, to, ciphertext });
      });
      this.current = 'maskedInput';
      return { clientId: this.id, sessionId: this.sessionId, commitment: this.commitment, shares };
    } catch (error) {
      this.current = 'aborted';
      throw error;
    }
  }

  /**
   * Round 2: opens the shares addressed to this client (U2 = their senders and itself, ≥ t) and
   * returns y_u = x_u + PRG(b_u) + Σ_{v ∈ U2\{u}} ±PRG(seed_uv) mod 2^32, signed. The sign is + for
   * u < v and − for u > v ({@link pairSign}), so pairwise masks cancel in the sum (Figure 4, Round 2).
   */
  maskedInput(sharesForMe: readonly EncryptedShare[]): MaskedInputMessage {
    return this.step('maskedInput', 'consistencyCheck', () => {
      for (const share of sharesForMe) this.acceptShare(share);
      if (this.held.size < this.threshold) throw thresholdNotMet('shares received in round 1 (U2)', this.held.size, this.threshold, { clientId: this.id });
      const length = this.input.length;
      const masks: Array<{ seed: Uint8Array; sign: 1 | -1 }> = [{ seed: this.selfMaskSeed as Uint8Array, sign: 1 }];
      for (const v of this.held.keys()) {
        if (v !== this.id)
          masks.push({ seed: pairSeed(this.crypto, this.peer(v).sAgreed as Uint8Array, this.sessionId, this.id, v), sign: pairSign(this.id, v) });
      }
      // Each pass over y adds two masks, so y is read and written once per pair; at most two keystreams are held at a time.
      const y = this.input.slice();
      for (let k = 0; k < masks.length; k += 2) {
        const first = masks[k]!;
        const second = masks[k + 1];
        const firstMask = this.crypto.prg(first.seed, length);
        if (second !== undefined) addSignedPairInto(y, firstMask, first.sign, this.crypto.prg(second.seed, length), second.sign);
        else if (first.sign === 1) addInto(y, firstMask);
        else subInto(y, firstMask);
      }
      // The secrets are shared now; the client never needs them again.
      this.selfMaskSeed = undefined;
      this.sKeys = undefined;
      this.cKeys = undefined;
      // y is this call's own vector and nothing writes to it after this point: send its memory as is.
      const masked = wordsAsBytes(y);
      const signature = this.crypto.sign('secagg-input', maskedInputPayload(this.crypto, this.sessionId, this.id, this.commitment, masked));
      return { clientId: this.id, sessionId: this.sessionId, masked, signature };
    });
  }

  /**
   * Round 3: signs the survivor set U3 once per session, after checking it is a subset of U2 with at
   * least t members that includes this client (Figure 4, Round 3, ConsistencyCheck).
   */
  consistencyCheck(request: ConsistencyRequest): ConsistencyMessage {
    return this.step('consistencyCheck', 'unmask', () => {
      this.checkSession(request.sessionId, 'consistency request');
      const survivors = this.distinct(request.survivors, 'survivor');
      for (const v of survivors) if (!this.held.has(v)) this.fail('INVALID_ARGUMENT', `consistency request lists ${v}, who is not in U2`);
      if (!survivors.includes(this.id)) this.fail('INVALID_ARGUMENT', 'consistency request omits this client, whose masked input was sent');
      if (survivors.length < this.threshold) throw thresholdNotMet('survivors in U3', survivors.length, this.threshold, { clientId: this.id });
      this.survivors = survivors;
      const signature = this.crypto.sign('secagg-consistency', consistencyPayload(this.sessionId, survivors));
      return { clientId: this.id, sessionId: this.sessionId, signature };
    });
  }

  /**
   * Round 4: after ≥ t valid consistency signatures over the same U3, reveals shares of b_v for every
   * survivor and of s_v^SK for every dropped v. Never both for one party: that would let the server
   * unmask v's input (Bonawitz et al. §4, "Handling dropped users"), so such a request aborts.
   */
  unmask(request: UnmaskRequest): UnmaskMessage {
    return this.step('unmask', 'done', () => {
      this.checkSession(request.sessionId, 'unmask request');
      const survivors = this.distinct(request.survivors, 'survivor');
      const dropped = this.distinct(request.dropped, 'dropped party');
      const both = dropped.filter((v) => survivors.includes(v));
      if (both.length > 0) this.fail('INVALID_ARGUMENT', `unmask refused: ${both.join(', ')} listed both as survivor and as dropped`);
      if (survivors.join('\0') !== this.survivors.join('\0'))
        this.fail('INVALID_ARGUMENT', 'unmask refused: the survivor set differs from the one signed in the consistency check');
      for (const v of dropped) {
        if (!this.held.has(v)) this.fail('INVALID_ARGUMENT', `unmask refused: ${v} is not a dropped member of U2`);
      }
      this.checkConsistencySignatures(request);
      const selfMaskShares: PartyShare[] = survivors.map((of) => ({ of, share: this.heldShare(of).b }));
      const maskingKeyShares: PartyShare[] = dropped.map((of) => ({ of, share: this.heldShare(of).s }));
      return { clientId: this.id, sessionId: this.sessionId, selfMaskShares, maskingKeyShares };
    });
  }

  private acceptKeyList(advertised: readonly AdvertiseKeysMessage[], cKeys: KeyPair, sKeys: KeyPair): void {
    const seenKeys = new Set<string>();
    for (const ad of advertised) {
      if (!this.participants.has(ad.clientId)) this.fail('NODE_NOT_ON_ROSTER', `shareKeys: keys advertised by ${ad.clientId}, who is not on the roster`);
      if (this.peers.has(ad.clientId)) this.fail('INVALID_ARGUMENT', `shareKeys: more than one key advertisement from ${ad.clientId}`);
      if (ad.cPublic.length !== 32 || ad.sPublic.length !== 32) this.fail('INVALID_ARGUMENT', `shareKeys: public keys of ${ad.clientId} must be 32 bytes`);
      const payload = advertisementPayload(this.roundId, this.queryHash, ad.cPublic, ad.sPublic);
      if (!this.crypto.verify('secagg-keys', payload, ad.signature, ad.clientId))
        this.fail('SIGNATURE_INVALID', `shareKeys: key signature of ${ad.clientId} does not verify`);
      for (const key of [toHex(ad.cPublic), toHex(ad.sPublic)]) {
        if (seenKeys.has(key)) this.fail('INVALID_ARGUMENT', `shareKeys: duplicate public key (advertised again by ${ad.clientId})`);
        seenKeys.add(key);
      }
      this.peers.set(ad.clientId, { cPublic: ad.cPublic, sPublic: ad.sPublic });
    }
    const own = this.peers.get(this.id);
    if (!own || !bytesEqual(own.cPublic, cKeys.publicKey) || !bytesEqual(own.sPublic, sKeys.publicKey))
      this.fail('INVALID_ARGUMENT', "shareKeys: this client's own keys are missing or altered");
    if (this.peers.size < this.threshold) throw thresholdNotMet('parties advertising keys (U1)', this.peers.size, this.threshold, { clientId: this.id });
    for (const [v, peer] of this.peers) {
      if (v === this.id) continue;
      try {
        peer.cAgreed = this.crypto.agree(cKeys.secretKey, peer.cPublic);
        peer.sAgreed = this.crypto.agree(sKeys.secretKey, peer.sPublic);
      } catch {
        this.fail('INVALID_ARGUMENT', `shareKeys: a public key of ${v} is invalid or of low order`);
      }
    }
  }

  private acceptShare(share: EncryptedShare): void {
    if (!bytesEqual(share.sessionId, this.sessionId)) this.fail('INVALID_ARGUMENT', `maskedInput: share from ${share.from} belongs to another session`);
    if (share.to !== this.id) this.fail('INVALID_ARGUMENT', `maskedInput: share from ${share.from} is addressed to ${share.to}`);
    if (share.from === this.id || !this.peers.has(share.from)) this.fail('INVALID_ARGUMENT', `maskedInput: share from ${share.from}, who is not a peer in U1`);
    if (this.held.has(share.from)) this.fail('INVALID_ARGUMENT', `maskedInput: replayed share from ${share.from}`);
    const key = shareKey(this.crypto, this.peer(share.from).cAgreed as Uint8Array, this.sessionId);
    let parts: Uint8Array[] = [];
    try {
      parts = unframe(this.crypto.open(key, share.ciphertext, shareAssociatedData(this.sessionId, share.from, this.id)));
    } catch {
      this.fail('SIGNATURE_INVALID', `maskedInput: share from ${share.from} does not authenticate (altered, or for another session or sender)`);
    }
    if (parts.length !== 2) this.fail('INVALID_ARGUMENT', `maskedInput: share from ${share.from} is malformed`);
    this.held.set(share.from, { b: parts[0], s: parts[1] });
  }

  private checkConsistencySignatures(request: UnmaskRequest): void {
    const payload = consistencyPayload(this.sessionId, this.survivors);
    const signers = new Set<string>();
    for (const { clientId, signature } of request.signatures) {
      if (!this.survivors.includes(clientId)) this.fail('INVALID_ARGUMENT', `unmask refused: consistency signature from ${clientId}, who is not in U3`);
      if (signers.has(clientId)) this.fail('INVALID_ARGUMENT', `unmask refused: two consistency signatures from ${clientId}`);
      if (!this.crypto.verify('secagg-consistency', payload, signature, clientId))
        this.fail('SIGNATURE_INVALID', `unmask refused: consistency signature of ${clientId} does not verify`);
      signers.add(clientId);
    }
    if (signers.size < this.threshold) throw thresholdNotMet('consistency signatures (U4)', signers.size, this.threshold, { clientId: this.id });
  }

  private checkSession(sessionId: Uint8Array, what: string): void {
    if (!bytesEqual(sessionId, this.sessionId)) this.fail('INVALID_ARGUMENT', `${what} belongs to another session`);
  }

  private distinct(ids: readonly string[], what: string): string[] {
    const sorted = sortIds(ids);
    if (new Set(sorted).size !== sorted.length) this.fail('INVALID_ARGUMENT', `a ${what} is listed twice`);
    return sorted;
  }

  private heldShare(of: string): { b: Uint8Array; s: Uint8Array } {
    return this.held.get(of) as { b: Uint8Array; s: Uint8Array };
  }

  private peer(id: string): Peer {
    return this.peers.get(id) as Peer;
  }

  private fail(code: ErrorCode, message: string): never {
    throw new FedlabError(code, message, { clientId: this.id });
  }

  private outOfOrder(method: string): never {
    throw new FedlabError('INVALID_ARGUMENT', `secagg client ${this.id}: ${method} refused: replayed or out of order (phase is ${this.current})`, {
      clientId: this.id,
    });
  }

  private enter(expected: SecAggClientPhase): void {
    if (this.current !== expected) this.outOfOrder(expected);
    this.current = 'busy';
  }

  private step<T>(expected: SecAggClientPhase, next: SecAggClientPhase, run: () => T): T {
    this.enter(expected);
    try {
      const result = run();
      this.current = next;
      return result;
    } catch (error) {
      this.current = 'aborted';
      throw error;
    }
  }
}
