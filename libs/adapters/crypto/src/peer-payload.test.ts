import { beforeAll, describe, expect, it } from 'vitest';
import type { Identity } from '@fedlab/governance';
import { generateIdentity } from './identity';
import { openFromPeer, sealForPeer } from './peer-payload';
import { blake2b, signDetached } from './signing';
import { initCrypto, sodium } from './sodium';

let health: Identity;
let researcher: Identity;
let justice: Identity;

beforeAll(async () => {
  await initCrypto();
  health = generateIdentity('health', 'node');
  researcher = generateIdentity('researcher-01', 'researcher');
  justice = generateIdentity('justice', 'node');
});

const header = new Uint8Array(Buffer.from('q-1/result/health/researcher-01', 'utf8'));
const payload = new Uint8Array(Buffer.from('a signed answer', 'utf8'));

describe('sealing to a peer with a precomputed crypto_box key', () => {
  it('is crypto_box itself: what it seals opens with crypto_box_open_easy, and what crypto_box_easy seals opens with it', () => {
    const s = sodium();
    for (let i = 0; i < 3; i++) {
      // Repeated seals reuse the kept key for the pair; each must still be plain crypto_box.
      const sealed = sealForPeer(health, researcher, header, payload);
      const plaintext = s.crypto_box_curve25519xchacha20poly1305_open_easy(
        sealed.subarray(24),
        sealed.subarray(0, 24),
        health.boxPublicKey,
        researcher.boxSecretKey,
      );
      expect(Buffer.from(plaintext.subarray(64)).toString('utf8')).toBe('a signed answer');
      expect(openFromPeer(researcher, health, header, sealed)).toEqual(payload);
    }
    const signature = signDetached('peer-payload', Buffer.concat([header, blake2b(payload, 32)]), justice.signSecretKey);
    const nonce = new Uint8Array(24).fill(9);
    const byBox = s.crypto_box_curve25519xchacha20poly1305_easy(Buffer.concat([signature, payload]), nonce, researcher.boxPublicKey, justice.boxSecretKey);
    expect(openFromPeer(researcher, justice, header, Buffer.concat([nonce, byBox]))).toEqual(payload);
  });

  it('refuses a payload sealed for another recipient, from another sender, or to a low-order key, naming the sender', () => {
    const sealed = sealForPeer(health, researcher, header, payload);
    const message = (id: string) => `the payload from "${id}" could not be decrypted by this node: it is encrypted to another node, or was altered`;
    expect(() => openFromPeer(justice, health, header, sealed)).toThrowFedlabError('PAYLOAD_NOT_FOR_THIS_NODE', message('health'));
    expect(() => openFromPeer(researcher, justice, header, sealed)).toThrowFedlabError('PAYLOAD_NOT_FOR_THIS_NODE', message('justice'));
    const lowOrder = { ...health, boxPublicKey: new Uint8Array(32) };
    expect(() => openFromPeer(researcher, lowOrder, header, sealed)).toThrowFedlabError('PAYLOAD_NOT_FOR_THIS_NODE', message('health'));
    expect(() => openFromPeer(researcher, health, new Uint8Array([...header, 0]), sealed)).toThrowFedlabError(
      'SIGNATURE_INVALID',
      'the payload from "health" is not signed by it for this step',
    );
  });
});
