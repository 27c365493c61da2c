import { describe, expect, it } from 'vitest';
import {
  SecAggClient,
  advertisementPayload,
  decodeIntegers,
  defaultThreshold,
  encodeIntegers,
  type AdvertiseKeysMessage,
  type SecAggCrypto,
  type SharesForClient,
  type UnmaskRequest,
} from '@fedlab/secagg';
import { createRound, runRound, type Round } from './secagg-harness';
import { createOutsider } from './sodium-crypto';

const IDS = ['n1', 'n2', 'n3', 'n4', 'n5'];
const VALUES: Record<string, number[]> = {
  n1: [10, -3, 1_000_000],
  n2: [20, -4, -2_000_000],
  n3: [30, 5, 7],
  n4: [-40, 6, 0],
  n5: [50, -7, 123_456],
};

function fiveParties(roundId?: string): Promise<Round> {
  return createRound(new Map(IDS.map((id) => [id, encodeIntegers(VALUES[id], { limbs: 1 })])), { roundId });
}

function plainSum(ids: string[]): number[] {
  return [0, 1, 2].map((i) => ids.reduce((total, id) => total + VALUES[id][i], 0));
}

function client(round: Round, id: string): SecAggClient {
  return round.clients.get(id) as SecAggClient;
}

/** Runs rounds 0 and 1 honestly for every client. */
async function shareAll(round: Round): Promise<{ keyList: AdvertiseKeysMessage[]; bundles: SharesForClient[] }> {
  for (const c of round.clients.values()) round.server.receiveAdvertisement(c.advertiseKeys());
  const keyList = round.server.broadcastKeys();
  for (const c of round.clients.values()) round.server.receiveShareKeys(await c.shareKeys(keyList));
  return { keyList, bundles: round.server.routeShares() };
}

function sharesFor(bundles: SharesForClient[], id: string): SharesForClient['shares'] {
  return (bundles.find((bundle) => bundle.to === id) as SharesForClient).shares;
}

/** Runs rounds 0–3 honestly for every client and returns the honest unmask request. */
async function throughConsistency(round: Round): Promise<UnmaskRequest> {
  const { bundles } = await shareAll(round);
  for (const c of round.clients.values()) round.server.receiveMaskedInput(c.maskedInput(sharesFor(bundles, c.id)));
  const request = round.server.consistencyRequest();
  for (const c of round.clients.values()) round.server.receiveConsistency(c.consistencyCheck(request));
  return round.server.unmaskRequest();
}

/** A round-0 advertisement by `signer` claiming to be `clientId`, over arbitrary keys. */
function forgedAdvertisement(round: Round, signer: SecAggCrypto, clientId: string, cPublic: Uint8Array, sPublic: Uint8Array): AdvertiseKeysMessage {
  return { clientId, cPublic, sPublic, signature: signer.sign('secagg-keys', advertisementPayload('round-1', round.queryHash, cPublic, sPublic)) };
}

/** The honest advertisements of all five clients, in roster order. */
function advertiseAll(round: Round): AdvertiseKeysMessage[] {
  return [...round.clients.values()].map((c) => c.advertiseKeys());
}

describe('SecAgg end to end (Bonawitz et al. 2017, Figure 4)', () => {
  it('defaults the threshold to floor(2n/3) + 1', () => {
    expect([3, 4, 5, 6, 7, 10].map(defaultThreshold)).toEqual([3, 3, 4, 5, 5, 7]);
  });

  it('returns the exact sum of five parties, negative values included', async () => {
    const round = await fiveParties();
    const sum = await runRound(round);
    expect(decodeIntegers(sum, { limbs: 1 })).toEqual([70, -3, -876_537]);
    expect(round.server.alive.u5).toEqual(IDS);
  });

  it('includes a party that dropped after sending its masked input, removing its self mask from its b shares', async () => {
    const round = await fiveParties();
    const sum = await runRound(round, { afterMaskedInput: ['n5'] });
    expect(decodeIntegers(sum, { limbs: 1 })).toEqual(plainSum(IDS));
    expect(round.server.alive).toEqual({ u1: IDS, u2: IDS, u3: IDS, u4: IDS.slice(0, 4), u5: IDS.slice(0, 4) });
  });

  it('returns the sum of the other four when a party dropped before its masked input, removing its pairwise masks', async () => {
    const round = await fiveParties();
    const sum = await runRound(round, { beforeMaskedInput: ['n3'] });
    expect(decodeIntegers(sum, { limbs: 1 })).toEqual(plainSum(['n1', 'n2', 'n4', 'n5']));
    expect(round.server.alive.u3).toEqual(['n1', 'n2', 'n4', 'n5']);
  });

  it('returns the sum of the other four when a party dropped right after advertising keys', async () => {
    const round = await fiveParties();
    const sum = await runRound(round, { afterAdvertise: ['n2'] });
    expect(decodeIntegers(sum, { limbs: 1 })).toEqual(plainSum(['n1', 'n3', 'n4', 'n5']));
  });

  it('fails with "threshold not met" and releases nothing when 3 of 5 drop', async () => {
    const round = await fiveParties();
    await expect(runRound(round, { beforeMaskedInput: ['n1', 'n2', 'n3'] })).rejects.toThrowFedlabError(
      'THRESHOLD_NOT_MET',
      'threshold not met: masked inputs received (U3): 2 of the 4 required',
    );
    expect(round.server.phase).toBe('aborted');
    expect(() => round.server.unmaskRequest()).toThrow('cannot close round consistencyCheck in phase aborted');
    expect(client(round, 'n4').phase).toBe('consistencyCheck');
    expect(client(round, 'n5').phase).toBe('consistencyCheck');
  });

  it('refuses to unmask when fewer than t parties signed the survivor set', async () => {
    const round = await fiveParties();
    const honest = await throughConsistency(round);
    const forged = { ...honest, signatures: honest.signatures.slice(0, 3) };
    expect(() => client(round, 'n1').unmask(forged)).toThrow('threshold not met: consistency signatures (U4): 3 of the 4 required');
    expect(client(round, 'n1').phase).toBe('aborted');
  });
});

describe('SecAgg against a malicious server', () => {
  it('refuses to reveal both the b share and the s share of one party, and stays refused', async () => {
    const round = await fiveParties();
    const honest = await throughConsistency(round);
    const n1 = client(round, 'n1');
    expect(() => n1.unmask({ ...honest, dropped: ['n3'] })).toThrowFedlabError('INVALID_ARGUMENT', 'unmask refused: n3 listed both as survivor and as dropped');
    expect(n1.phase).toBe('aborted');
    expect(() => n1.unmask(honest)).toThrow('secagg client n1: unmask refused: replayed or out of order (phase is aborted)');
  });

  it('answers an unmask request only once', async () => {
    const round = await fiveParties();
    const request = await throughConsistency(round);
    const n2 = client(round, 'n2');
    expect(n2.unmask(request).selfMaskShares.map((s) => s.of)).toEqual(IDS);
    expect(() => n2.unmask(request)).toThrow('secagg client n2: unmask refused: replayed or out of order (phase is done)');
  });

  it('refuses an unmask request whose survivor set differs from the signed one', async () => {
    const round = await fiveParties();
    const honest = await throughConsistency(round);
    expect(() => client(round, 'n1').unmask({ ...honest, survivors: ['n1', 'n2', 'n3', 'n4'], dropped: ['n5'] })).toThrow(
      'unmask refused: the survivor set differs from the one signed in the consistency check',
    );
  });

  it('signs the survivor set only once per session', async () => {
    const round = await fiveParties();
    const { bundles } = await shareAll(round);
    for (const c of round.clients.values()) round.server.receiveMaskedInput(c.maskedInput(sharesFor(bundles, c.id)));
    const request = round.server.consistencyRequest();
    client(round, 'n1').consistencyCheck(request);
    expect(() => client(round, 'n1').consistencyCheck({ ...request, survivors: IDS.slice(0, 4) })).toThrow(
      'consistencyCheck refused: replayed or out of order',
    );
  });
});

describe('SecAgg rejects malformed keys and signatures in round 1', () => {
  it.each([
    ['all-zero', new Uint8Array(32)],
    ['order-8', Uint8Array.from(Buffer.from('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex'))],
  ])('rejects a %s (low-order) masking public key', async (_name, badKey) => {
    const round = await fiveParties();
    const n5 = round.cryptos.get('n5') as SecAggCrypto;
    const list = advertiseAll(round);
    list[4] = forgedAdvertisement(round, n5, 'n5', list[4].cPublic, badKey);
    await expect(client(round, 'n1').shareKeys(list)).rejects.toThrowFedlabError(
      'INVALID_ARGUMENT',
      'shareKeys: a public key of n5 is invalid or of low order',
    );
    expect(client(round, 'n1').phase).toBe('aborted');
  });

  it('rejects a public key of the wrong length', async () => {
    const round = await fiveParties();
    const n5 = round.cryptos.get('n5') as SecAggCrypto;
    const list = advertiseAll(round);
    list[4] = forgedAdvertisement(round, n5, 'n5', list[4].cPublic, list[4].sPublic.slice(1));
    await expect(client(round, 'n1').shareKeys(list)).rejects.toThrow('shareKeys: public keys of n5 must be 32 bytes');
    expect(() => round.server.receiveAdvertisement(list[4])).toThrow('receiveAdvertisement: public keys of n5 must be 32 bytes');
  });

  it('rejects keys signed by an identity that is not on the roster', async () => {
    const round = await fiveParties();
    const mallory = createOutsider('mallory');
    const list = advertiseAll(round);
    list[1] = forgedAdvertisement(round, mallory, 'n2', list[1].cPublic, list[1].sPublic);
    await expect(client(round, 'n1').shareKeys(list)).rejects.toThrowFedlabError('SIGNATURE_INVALID', 'shareKeys: key signature of n2 does not verify');
    expect(() => round.server.receiveAdvertisement(list[1])).toThrow('receiveAdvertisement: key signature of n2 does not verify');
  });

  it('rejects keys advertised under an id that is not on the roster', async () => {
    const round = await fiveParties();
    const mallory = createOutsider('mallory');
    const list = advertiseAll(round);
    const extra = forgedAdvertisement(
      round,
      mallory,
      'mallory',
      list[0].sPublic.map((b) => b ^ 1),
      list[0].cPublic.map((b) => b ^ 1),
    );
    await expect(client(round, 'n1').shareKeys([...list, extra])).rejects.toThrowFedlabError(
      'NODE_NOT_ON_ROSTER',
      'shareKeys: keys advertised by mallory, who is not on the roster',
    );
    expect(() => round.server.receiveAdvertisement(extra)).toThrow('receiveAdvertisement: mallory is not on the roster');
  });

  it("rejects a key list in which a party reuses another party's public key", async () => {
    const round = await fiveParties();
    const n2 = round.cryptos.get('n2') as SecAggCrypto;
    const list = advertiseAll(round);
    list[1] = forgedAdvertisement(round, n2, 'n2', list[1].cPublic, list[0].sPublic);
    await expect(client(round, 'n3').shareKeys(list)).rejects.toThrow('shareKeys: duplicate public key (advertised again by n2)');
    round.server.receiveAdvertisement(list[0]);
    expect(() => round.server.receiveAdvertisement(list[1])).toThrow('receiveAdvertisement: n2 reuses a public key');
  });

  it('rejects a key list that repeats a party', async () => {
    const round = await fiveParties();
    const list = advertiseAll(round);
    await expect(client(round, 'n1').shareKeys([...list, list[2]])).rejects.toThrow('shareKeys: more than one key advertisement from n3');
  });

  it('rejects a key list with fewer than t parties', async () => {
    const round = await fiveParties();
    const list = advertiseAll(round);
    await expect(client(round, 'n1').shareKeys(list.slice(0, 3))).rejects.toThrow('threshold not met: parties advertising keys (U1): 3 of the 4 required');
  });

  it('rejects a key list in which its own keys were replaced', async () => {
    const round = await fiveParties();
    const list = advertiseAll(round);
    await expect(client(round, 'n1').shareKeys(list.filter((ad) => ad.clientId !== 'n1'))).rejects.toThrow(
      "shareKeys: this client's own keys are missing or altered",
    );
  });
});

describe('SecAgg rejects misrouted, tampered and replayed messages', () => {
  it('rejects a share from another session', async () => {
    const [a, b] = [await fiveParties('round-a'), await fiveParties('round-b')];
    const [{ bundles: bundlesA }, { bundles: bundlesB }] = [await shareAll(a), await shareAll(b)];
    const fromA = sharesFor(bundlesA, 'n1')[0];
    const ownB = sharesFor(bundlesB, 'n1').filter((share) => share.from !== fromA.from);
    expect(() => client(b, 'n1').maskedInput([...ownB, fromA])).toThrow(`maskedInput: share from ${fromA.from} belongs to another session`);
  });

  it('rejects a share whose session id was rewritten to the current session', async () => {
    const [a, b] = [await fiveParties('round-a'), await fiveParties('round-b')];
    const [{ bundles: bundlesA }, { bundles: bundlesB }] = [await shareAll(a), await shareAll(b)];
    const sharesB = sharesFor(bundlesB, 'n1');
    const forged = { ...sharesFor(bundlesA, 'n1')[0], sessionId: sharesB[0].sessionId };
    expect(() => client(b, 'n1').maskedInput([forged, ...sharesB.slice(1)])).toThrowFedlabError(
      'SIGNATURE_INVALID',
      `maskedInput: share from ${forged.from} does not authenticate (altered, or for another session or sender)`,
    );
  });

  it('rejects a share relabelled with another sender', async () => {
    const round = await fiveParties();
    const shares = sharesFor((await shareAll(round)).bundles, 'n1');
    // n3's share to n1, presented as n2's (in place of the real one).
    const relabelled = shares.filter((share) => share.from !== 'n2').map((share) => (share.from === 'n3' ? { ...share, from: 'n2' } : share));
    expect(() => client(round, 'n1').maskedInput(relabelled)).toThrow('maskedInput: share from n2 does not authenticate');
  });

  it('rejects a replayed share', async () => {
    const round = await fiveParties();
    const shares = sharesFor((await shareAll(round)).bundles, 'n4');
    expect(() => client(round, 'n4').maskedInput([...shares, shares[1]])).toThrow(`maskedInput: replayed share from ${shares[1].from}`);
  });

  it('rejects a masked vector of the wrong length and then accepts the right one', async () => {
    const round = await fiveParties();
    const { bundles } = await shareAll(round);
    const message = client(round, 'n1').maskedInput(sharesFor(bundles, 'n1'));
    expect(() => round.server.receiveMaskedInput({ ...message, masked: message.masked.slice(4) })).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'receiveMaskedInput: masked vector of n1 has 8 bytes, expected 12',
    );
    round.server.receiveMaskedInput(message);
    expect(round.server.alive.u3).toEqual(['n1']);
  });

  it('rejects a tampered masked vector', async () => {
    const round = await fiveParties();
    const { bundles } = await shareAll(round);
    const message = client(round, 'n1').maskedInput(sharesFor(bundles, 'n1'));
    const masked = message.masked.slice();
    masked[0] ^= 1;
    expect(() => round.server.receiveMaskedInput({ ...message, masked })).toThrowFedlabError(
      'SIGNATURE_INVALID',
      'receiveMaskedInput: signature of n1 does not verify',
    );
  });

  it('rejects a masked vector altered in its last word, which the signature covers through its BLAKE2b digest', async () => {
    const round = await fiveParties();
    const { bundles } = await shareAll(round);
    const message = client(round, 'n3').maskedInput(sharesFor(bundles, 'n3'));
    const masked = message.masked.slice();
    masked[masked.length - 1] ^= 0x80;
    expect(() => round.server.receiveMaskedInput({ ...message, masked })).toThrowFedlabError(
      'SIGNATURE_INVALID',
      'receiveMaskedInput: signature of n3 does not verify',
    );
    round.server.receiveMaskedInput(message);
    expect(round.server.alive.u3).toEqual(['n3']);
  });

  it('rejects a replayed masked input at the server and a repeated call at the client', async () => {
    const round = await fiveParties();
    const { bundles } = await shareAll(round);
    const message = client(round, 'n2').maskedInput(sharesFor(bundles, 'n2'));
    round.server.receiveMaskedInput(message);
    expect(() => round.server.receiveMaskedInput(message)).toThrow('receiveMaskedInput: replayed message from n2');
    expect(() => client(round, 'n2').maskedInput(sharesFor(bundles, 'n2'))).toThrow(
      'secagg client n2: maskedInput refused: replayed or out of order (phase is consistencyCheck)',
    );
  });

  it('rejects a message from the wrong round', async () => {
    const round = await fiveParties();
    const ad = client(round, 'n1').advertiseKeys();
    round.server.receiveAdvertisement(ad);
    expect(() => round.server.receiveAdvertisement(ad)).toThrow('receiveAdvertisement: replayed message from n1');
    expect(() => client(round, 'n1').advertiseKeys()).toThrow('advertiseKeys refused: replayed or out of order');
  });

  it('detects a reconstructed self mask that does not match its commitment', async () => {
    const round = await fiveParties();
    const request = await throughConsistency(round);
    for (const c of round.clients.values()) {
      const message = c.unmask(request);
      // Every responder corrupts its share of b_n3: the recombined seed is wrong.
      const selfMaskShares = message.selfMaskShares.map((s) => (s.of === 'n3' ? { of: s.of, share: s.share.map((b, i) => (i === 0 ? b ^ 1 : b)) } : s));
      round.server.receiveUnmask({ ...message, selfMaskShares });
    }
    await expect(round.server.aggregate()).rejects.toThrow('aggregate: reconstructed self-mask seed of n3 does not match its commitment');
  });
});
