import { FedlabError, type ErrorCode } from '@fedlab/model';
import { bytesEqual, bytesToWords, toHex } from './bytes';
import { addInto, subInto } from './encoding';
import type { SecAggCrypto } from './secagg-crypto';
import {
  type AdvertiseKeysMessage,
  type ConsistencyMessage,
  type ConsistencyRequest,
  type EncryptedShare,
  type MaskedInputMessage,
  type PartyShare,
  type RoundTranscript,
  type ShareKeysMessage,
  type SharesForClient,
  type UnmaskMessage,
  type UnmaskRequest,
  advertisementPayload,
  checkSetup,
  consistencyPayload,
  deriveSessionId,
  maskedInputPayload,
  pairSeed,
  pairSign,
  selfMaskCommitment,
  sortIds,
  thresholdNotMet,
  X25519_BASE_POINT,
} from './secagg-protocol';

/** Configuration of the coordinator's side of one secure-aggregation round. */
export interface SecAggServerOptions {
  participants: readonly string[];
  roundId: string;
  queryHash: Uint8Array;
  /** Shamir threshold t; default {@link defaultThreshold}(n). */
  threshold?: number;
  /** Number of u32 words in every input vector. */
  vectorLength: number;
  /** Verifies node signatures against the roster; also hashes, agrees, expands and recombines. */
  crypto: SecAggCrypto;
}

/** Where the server is: which messages it collects now, or that it finished or aborted. */
export type SecAggServerPhase = 'advertiseKeys' | 'shareKeys' | 'maskedInput' | 'consistencyCheck' | 'unmask' | 'done' | 'aborted';

/**
 * The coordinator's side of secure aggregation (Bonawitz et al. 2017, Figure 4, "Server" column).
 * `receive*` methods collect one round's messages and throw (leaving the state unchanged) for a
 * message that is invalid, out of round or replayed; the round-closing methods (`broadcastKeys`,
 * `routeShares`, `consistencyRequest`, `unmaskRequest`, `aggregate`) fix the alive set U1…U5,
 * abort with "threshold not met: …" when it has fewer than t parties, and return what to send.
 * The server only ever sees masked vectors and the sum: each input stays hidden by its self mask
 * unless b_u is revealed, and survivors' pairwise masks unless s_u^SK is (never both, see §4).
 */
export class SecAggServer {
  readonly threshold: number;
  private readonly crypto: SecAggCrypto;
  private readonly participants: ReadonlySet<string>;
  private readonly roundId: string;
  private readonly queryHash: Uint8Array;
  private readonly vectorLength: number;
  private current: SecAggServerPhase = 'advertiseKeys';
  private sessionId: Uint8Array = new Uint8Array();
  private readonly keys = new Map<string, AdvertiseKeysMessage>();
  private readonly shareMessages = new Map<string, ShareKeysMessage>();
  private readonly maskedInputs = new Map<string, Uint32Array>();
  private readonly maskedMessages = new Map<string, MaskedInputMessage>();
  private readonly consistency = new Map<string, Uint8Array>();
  private readonly unmaskings = new Map<string, UnmaskMessage>();
  private survivors: string[] = [];
  private dropped: string[] = [];

  constructor(options: SecAggServerOptions) {
    this.threshold = checkSetup(options.participants, options.threshold, options.roundId, options.queryHash);
    if (!Number.isInteger(options.vectorLength) || options.vectorLength < 1)
      throw new FedlabError('INVALID_ARGUMENT', 'secagg: vectorLength must be a positive integer');
    this.crypto = options.crypto;
    this.participants = new Set(options.participants);
    this.roundId = options.roundId;
    this.queryHash = options.queryHash;
    this.vectorLength = options.vectorLength;
  }

  /** The current phase. */
  get phase(): SecAggServerPhase {
    return this.current;
  }

  /** The session id, fixed when the key list is broadcast (empty before). */
  get session(): Uint8Array {
    return this.sessionId;
  }

  /** The alive sets so far (Bonawitz et al. notation): U1 keys, U2 shares, U3 inputs, U4 consistency, U5 unmask. */
  get alive(): { u1: string[]; u2: string[]; u3: string[]; u4: string[]; u5: string[] } {
    return {
      u1: sortIds(this.keys.keys()),
      u2: sortIds(this.shareMessages.keys()),
      u3: sortIds(this.maskedInputs.keys()),
      u4: sortIds(this.consistency.keys()),
      u5: sortIds(this.unmaskings.keys()),
    };
  }

  /** Round 0: accepts one signed key advertisement from a roster member with keys no one else used. */
  receiveAdvertisement(message: AdvertiseKeysMessage): void {
    this.expect('advertiseKeys', 'receiveAdvertisement', message.clientId, this.keys);
    if (!this.participants.has(message.clientId)) this.reject('NODE_NOT_ON_ROSTER', `receiveAdvertisement: ${message.clientId} is not on the roster`);
    if (message.cPublic.length !== 32 || message.sPublic.length !== 32)
      this.reject('INVALID_ARGUMENT', `receiveAdvertisement: public keys of ${message.clientId} must be 32 bytes`);
    const payload = advertisementPayload(this.roundId, this.queryHash, message.cPublic, message.sPublic);
    if (!this.crypto.verify('secagg-keys', payload, message.signature, message.clientId))
      this.reject('SIGNATURE_INVALID', `receiveAdvertisement: key signature of ${message.clientId} does not verify`);
    const used = new Set([...this.keys.values()].flatMap((ad) => [toHex(ad.cPublic), toHex(ad.sPublic)]));
    if (used.has(toHex(message.cPublic)) || used.has(toHex(message.sPublic)) || bytesEqual(message.cPublic, message.sPublic)) {
      this.reject('INVALID_ARGUMENT', `receiveAdvertisement: ${message.clientId} reuses a public key`);
    }
    this.keys.set(message.clientId, message);
  }

  /** Closes round 0 (U1 ≥ t), fixes session_id and returns the key list to broadcast to U1. */
  broadcastKeys(): AdvertiseKeysMessage[] {
    this.close('advertiseKeys', 'parties advertising keys (U1)', this.keys.size);
    const list = sortIds(this.keys.keys()).map((id) => this.keys.get(id) as AdvertiseKeysMessage);
    this.sessionId = deriveSessionId(this.crypto, this.roundId, this.queryHash, list);
    this.current = 'shareKeys';
    return list;
  }

  /** Round 1: accepts a member of U1's commitment and exactly one share for every other member of U1. */
  receiveShareKeys(message: ShareKeysMessage): void {
    const from = message.clientId;
    this.expect('shareKeys', 'receiveShareKeys', from, this.shareMessages);
    if (!this.keys.has(from)) this.reject('INVALID_ARGUMENT', `receiveShareKeys: ${from} is not in U1`);
    this.checkSession(message.sessionId, 'receiveShareKeys');
    if (message.commitment.length === 0) this.reject('INVALID_ARGUMENT', `receiveShareKeys: commitment of ${from} is empty`);
    const recipients = sortIds(message.shares.map((share) => share.to));
    const expected = sortIds([...this.keys.keys()].filter((id) => id !== from));
    if (recipients.join('\0') !== expected.join('\0'))
      this.reject('INVALID_ARGUMENT', `receiveShareKeys: ${from} must send exactly one share to every other member of U1`);
    for (const share of message.shares) {
      if (share.from !== from) this.reject('INVALID_ARGUMENT', `receiveShareKeys: a share in the message of ${from} claims sender ${share.from}`);
      this.checkSession(share.sessionId, 'receiveShareKeys');
    }
    this.shareMessages.set(from, message);
  }

  /** Closes round 1 (U2 ≥ t) and returns, for each member of U2, the shares from U2 addressed to it. */
  routeShares(): SharesForClient[] {
    this.close('shareKeys', 'parties sharing keys (U2)', this.shareMessages.size);
    this.current = 'maskedInput';
    const u2 = sortIds(this.shareMessages.keys());
    const all: EncryptedShare[] = u2.flatMap((from) => (this.shareMessages.get(from) as ShareKeysMessage).shares);
    return u2.map((to) => ({ to, shares: all.filter((share) => share.to === to && this.shareMessages.has(share.from)) }));
  }

  /** Round 2: accepts a signed masked vector of the declared length from a member of U2. */
  receiveMaskedInput(message: MaskedInputMessage): void {
    const from = message.clientId;
    this.expect('maskedInput', 'receiveMaskedInput', from, this.maskedInputs);
    const shared = this.shareMessages.get(from);
    if (!shared) this.reject('INVALID_ARGUMENT', `receiveMaskedInput: ${from} is not in U2`);
    this.checkSession(message.sessionId, 'receiveMaskedInput');
    if (message.masked.length !== 4 * this.vectorLength) {
      this.reject('INVALID_ARGUMENT', `receiveMaskedInput: masked vector of ${from} has ${message.masked.length} bytes, expected ${4 * this.vectorLength}`);
    }
    const payload = maskedInputPayload(this.crypto, this.sessionId, from, shared.commitment, message.masked);
    if (!this.crypto.verify('secagg-input', payload, message.signature, from))
      this.reject('SIGNATURE_INVALID', `receiveMaskedInput: signature of ${from} does not verify`);
    this.maskedInputs.set(from, bytesToWords(message.masked));
    this.maskedMessages.set(from, message);
  }

  /** Closes round 2 (U3 ≥ t) and returns the survivor set for every member of U3 to sign. */
  consistencyRequest(): ConsistencyRequest {
    this.close('maskedInput', 'masked inputs received (U3)', this.maskedInputs.size);
    this.current = 'consistencyCheck';
    this.survivors = sortIds(this.maskedInputs.keys());
    this.dropped = sortIds(this.shareMessages.keys()).filter((id) => !this.maskedInputs.has(id));
    return { sessionId: this.sessionId, survivors: [...this.survivors] };
  }

  /** Round 3: accepts a member of U3's signature over U3. */
  receiveConsistency(message: ConsistencyMessage): void {
    const from = message.clientId;
    this.expect('consistencyCheck', 'receiveConsistency', from, this.consistency);
    if (!this.maskedInputs.has(from)) this.reject('INVALID_ARGUMENT', `receiveConsistency: ${from} is not in U3`);
    this.checkSession(message.sessionId, 'receiveConsistency');
    if (!this.crypto.verify('secagg-consistency', consistencyPayload(this.sessionId, this.survivors), message.signature, from)) {
      this.reject('SIGNATURE_INVALID', `receiveConsistency: signature of ${from} does not verify`);
    }
    this.consistency.set(from, message.signature);
  }

  /** Closes round 3 (U4 ≥ t): asks U4 for b shares of U3 and s^SK shares of U2 \ U3, with U4's signatures. */
  unmaskRequest(): UnmaskRequest {
    this.close('consistencyCheck', 'consistency signatures (U4)', this.consistency.size);
    this.current = 'unmask';
    const signatures = sortIds(this.consistency.keys()).map((clientId) => ({ clientId, signature: this.consistency.get(clientId) as Uint8Array }));
    return { sessionId: this.sessionId, survivors: [...this.survivors], dropped: [...this.dropped], signatures };
  }

  /** Round 4: accepts from a member of U4 exactly one b share per survivor and one s^SK share per dropped party. */
  receiveUnmask(message: UnmaskMessage): void {
    const from = message.clientId;
    this.expect('unmask', 'receiveUnmask', from, this.unmaskings);
    if (!this.consistency.has(from)) this.reject('INVALID_ARGUMENT', `receiveUnmask: ${from} is not in U4`);
    this.checkSession(message.sessionId, 'receiveUnmask');
    const covers = (shares: PartyShare[], ids: string[]): boolean => sortIds(shares.map((s) => s.of)).join('\0') === ids.join('\0');
    if (!covers(message.selfMaskShares, this.survivors) || !covers(message.maskingKeyShares, this.dropped)) {
      this.reject('INVALID_ARGUMENT', `receiveUnmask: ${from} must send one b share per survivor and one s share per dropped party`);
    }
    this.unmaskings.set(from, message);
  }

  /**
   * Closes round 4 (U5 ≥ t) and returns Σ_{u ∈ U3} x_u mod 2^32: reconstructs b_u for every survivor
   * (checked against its signed commitment) and s_u^SK for every dropped party (checked against its
   * advertised s_u^PK), then removes the self masks and the survivors' pairwise masks with the dropped
   * parties (Figure 4, Round 4, server side).
   */
  async aggregate(): Promise<Uint32Array> {
    this.close('unmask', 'unmask responses (U5)', this.unmaskings.size);
    try {
      const responses = [...this.unmaskings.values()];
      const sharesOf = (pick: (m: UnmaskMessage) => PartyShare[], id: string): Uint8Array[] =>
        responses.map((m) => (pick(m).find((s) => s.of === id) as PartyShare).share);
      const sum = new Uint32Array(this.vectorLength);
      for (const v of this.survivors) {
        addInto(sum, this.maskedInputs.get(v) as Uint32Array);
        const b = await this.crypto.combine(sharesOf((m) => m.selfMaskShares, v));
        const commitment = (this.shareMessages.get(v) as ShareKeysMessage).commitment;
        if (!bytesEqual(selfMaskCommitment(this.crypto, this.sessionId, v, b), commitment))
          this.abort('INVALID_ARGUMENT', `aggregate: reconstructed self-mask seed of ${v} does not match its commitment`);
        subInto(sum, this.crypto.prg(b, this.vectorLength));
      }
      for (const u of this.dropped) {
        const sSecret = await this.crypto.combine(sharesOf((m) => m.maskingKeyShares, u));
        const sPublic = (this.keys.get(u) as AdvertiseKeysMessage).sPublic;
        if (!bytesEqual(this.crypto.agree(sSecret, X25519_BASE_POINT), sPublic))
          this.abort('INVALID_ARGUMENT', `aggregate: reconstructed masking key of ${u} does not match its public key`);
        for (const v of this.survivors) {
          const agreed = this.crypto.agree(sSecret, (this.keys.get(v) as AdvertiseKeysMessage).sPublic);
          const mask = this.crypto.prg(pairSeed(this.crypto, agreed, this.sessionId, u, v), this.vectorLength);
          // v added pairSign(v, u) · mask to y_v; take it back out.
          if (pairSign(v, u) === 1) subInto(sum, mask);
          else addInto(sum, mask);
        }
      }
      this.current = 'done';
      return sum;
    } catch (error) {
      this.current = 'aborted';
      throw error;
    }
  }

  /**
   * Every signed or checkable message of a finished round ({@link RoundTranscript}): enough for any
   * participant to recompute the sum itself with {@link verifyTranscript} instead of trusting the server.
   */
  transcript(): RoundTranscript {
    if (this.current !== 'done')
      throw new FedlabError('INVALID_ARGUMENT', `secagg server: the transcript exists once the round is done (phase is ${this.current})`);
    const inOrder = <T>(map: ReadonlyMap<string, T>): T[] => sortIds(map.keys()).map((id) => map.get(id) as T);
    return {
      advertisements: inOrder(this.keys),
      shareKeys: inOrder(this.shareMessages),
      maskedInputs: inOrder(this.maskedMessages),
      consistency: sortIds(this.consistency.keys()).map((clientId) => ({
        clientId,
        sessionId: this.sessionId,
        signature: this.consistency.get(clientId) as Uint8Array,
      })),
      unmaskings: inOrder(this.unmaskings),
    };
  }

  private expect(phase: SecAggServerPhase, method: string, from: string, received: ReadonlyMap<string, unknown>): void {
    if (this.current !== phase) this.reject('INVALID_ARGUMENT', `${method}: message from ${from} out of round (phase is ${this.current})`);
    if (received.has(from)) this.reject('INVALID_ARGUMENT', `${method}: replayed message from ${from}`);
  }

  private checkSession(sessionId: Uint8Array, method: string): void {
    if (!bytesEqual(sessionId, this.sessionId)) this.reject('INVALID_ARGUMENT', `${method}: message belongs to another session`);
  }

  private close(phase: SecAggServerPhase, what: string, count: number): void {
    if (this.current !== phase) this.reject('INVALID_ARGUMENT', `secagg server: cannot close round ${phase} in phase ${this.current}`);
    if (count < this.threshold) {
      this.current = 'aborted';
      throw thresholdNotMet(what, count, this.threshold, { round: phase });
    }
  }

  private reject(code: ErrorCode, message: string): never {
    throw new FedlabError(code, message, { phase: this.current });
  }

  private abort(code: ErrorCode, message: string): never {
    this.current = 'aborted';
    throw new FedlabError(code, message);
  }
}
