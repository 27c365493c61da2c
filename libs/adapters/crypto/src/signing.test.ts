import { createHash } from 'node:crypto';
import { FedlabError } from '@fedlab/model';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Identity } from '@fedlab/governance';
import { generateIdentity } from './identity';
import { assertSignature, blake2b, secureRandom, signDetached, SIGNING_CONTEXTS, verifyDetached } from './signing';
import { initCrypto, sodium } from './sodium';

const payload = new Uint8Array(Buffer.from('query bytes as received', 'utf8'));

function flipBit(bytes: Uint8Array, index: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[index]! ^= 0x01;
  return copy;
}

let alice: Identity;
let bob: Identity;

beforeAll(async () => {
  await initCrypto();
  alice = generateIdentity('alice', 'researcher');
  bob = generateIdentity('bob', 'researcher');
});

describe('initCrypto', () => {
  it('returns the same promise on every call', () => {
    expect(initCrypto()).toBe(initCrypto());
  });

  it('resolves to the instance that sodium() returns', async () => {
    expect(await initCrypto()).toBe(sodium());
  });
});

describe('signDetached and verifyDetached', () => {
  it('produces a 64-byte signature that verifies under the same context and key', () => {
    const signature = signDetached('query', payload, alice.signSecretKey);
    expect(signature).toHaveLength(64);
    expect(verifyDetached('query', payload, signature, alice.signPublicKey)).toBe(true);
  });

  it('verifies a signature over an empty payload', () => {
    const empty = new Uint8Array(0);
    expect(verifyDetached('result', empty, signDetached('result', empty, alice.signSecretKey), alice.signPublicKey)).toBe(true);
  });

  it('signs the context, a NUL byte and the payload', () => {
    const signature = signDetached('countersign', payload, alice.signSecretKey);
    const framed = Buffer.concat([Buffer.from('fedlab/v1/countersign\0', 'utf8'), payload]);
    expect(sodium().crypto_sign_verify_detached(signature, framed, alice.signPublicKey)).toBe(true);
  });

  it('rejects a signature made for context "query" when verified under context "result"', () => {
    const signature = signDetached('query', payload, alice.signSecretKey);
    expect(verifyDetached('result', payload, signature, alice.signPublicKey)).toBe(false);
  });

  it('rejects a signature under every context other than the one it was made for', () => {
    const signature = signDetached('attach', payload, alice.signSecretKey);
    const results = Object.fromEntries(
      (Object.keys(SIGNING_CONTEXTS) as Array<keyof typeof SIGNING_CONTEXTS>).map((c) => [c, verifyDetached(c, payload, signature, alice.signPublicKey)]),
    );
    expect(results).toEqual({
      query: false,
      countersign: false,
      result: false,
      attach: true,
      'attach-run': false,
      sth: false,
      roster: false,
      project: false,
      approval: false,
      revocation: false,
      checkpoint: false,
      read: false,
      'pooled-result': false,
      'secagg-keys': false,
      'secagg-input': false,
      'secagg-consistency': false,
      'peer-payload': false,
      'psi-aggregate': false,
    });
  });

  it('rejects a payload with one flipped bit', () => {
    const signature = signDetached('query', payload, alice.signSecretKey);
    expect(verifyDetached('query', flipBit(payload, 5), signature, alice.signPublicKey)).toBe(false);
  });

  it('rejects a payload with one byte appended', () => {
    const signature = signDetached('query', payload, alice.signSecretKey);
    expect(verifyDetached('query', new Uint8Array([...payload, 0]), signature, alice.signPublicKey)).toBe(false);
  });

  it('rejects a signature with one flipped bit in its first half', () => {
    const signature = signDetached('query', payload, alice.signSecretKey);
    expect(verifyDetached('query', payload, flipBit(signature, 0), alice.signPublicKey)).toBe(false);
  });

  it('rejects a signature with one flipped bit in its last byte', () => {
    const signature = signDetached('query', payload, alice.signSecretKey);
    expect(verifyDetached('query', payload, flipBit(signature, 63), alice.signPublicKey)).toBe(false);
  });

  it("rejects a signature checked against another participant's key", () => {
    const signature = signDetached('query', payload, alice.signSecretKey);
    expect(verifyDetached('query', payload, signature, bob.signPublicKey)).toBe(false);
  });

  it('returns false without throwing for a 63-byte signature', () => {
    const signature = signDetached('query', payload, alice.signSecretKey);
    expect(verifyDetached('query', payload, signature.subarray(0, 63), alice.signPublicKey)).toBe(false);
  });

  it('returns false without throwing for a 65-byte signature', () => {
    const signature = signDetached('query', payload, alice.signSecretKey);
    expect(verifyDetached('query', payload, new Uint8Array([...signature, 0]), alice.signPublicKey)).toBe(false);
  });

  it('returns false without throwing for an empty signature', () => {
    expect(verifyDetached('query', payload, new Uint8Array(0), alice.signPublicKey)).toBe(false);
  });

  it('returns false without throwing for a 31-byte public key', () => {
    const signature = signDetached('query', payload, alice.signSecretKey);
    expect(verifyDetached('query', payload, signature, alice.signPublicKey.subarray(0, 31))).toBe(false);
  });

  it('returns false without throwing for a 64-byte secret key passed as the public key', () => {
    const signature = signDetached('query', payload, alice.signSecretKey);
    expect(verifyDetached('query', payload, signature, alice.signSecretKey)).toBe(false);
  });

  it('returns false without throwing for an all-zero public key', () => {
    const signature = signDetached('query', payload, alice.signSecretKey);
    expect(verifyDetached('query', payload, signature, new Uint8Array(32))).toBe(false);
  });

  it('returns false without throwing for an all-zero signature', () => {
    expect(verifyDetached('query', payload, new Uint8Array(64), alice.signPublicKey)).toBe(false);
  });
});

describe('verifyDetached, a signature verified before', () => {
  it('verifies again only over the very context, payload and key it was verified over', () => {
    const read = new Uint8Array(Buffer.from('read request for q-1', 'utf8'));
    const signature = signDetached('read', read, alice.signSecretKey);
    expect(verifyDetached('read', read, signature, alice.signPublicKey)).toBe(true);
    expect(verifyDetached('read', new Uint8Array(read), new Uint8Array(signature), new Uint8Array(alice.signPublicKey))).toBe(true);
    // The same signature is not valid for anything else, kept or not.
    expect(verifyDetached('read', flipBit(read, 3), signature, alice.signPublicKey)).toBe(false);
    expect(verifyDetached('query', read, signature, alice.signPublicKey)).toBe(false);
    expect(verifyDetached('read', read, signature, bob.signPublicKey)).toBe(false);
    expect(verifyDetached('read', read.subarray(0, 10), signature, alice.signPublicKey)).toBe(false);
    expect(verifyDetached('read', read, flipBit(signature, 7), alice.signPublicKey)).toBe(false);
    expect(verifyDetached('read', read, signature, alice.signPublicKey)).toBe(true);
  });
});

describe('assertSignature', () => {
  it('returns without throwing for a valid signature', () => {
    const signature = signDetached('result', payload, alice.signSecretKey);
    expect(() => assertSignature('result', payload, signature, alice.signPublicKey, 'node answer')).not.toThrow();
  });

  it('throws SIGNATURE_INVALID naming what was checked when the signature does not verify', () => {
    const signature = signDetached('result', payload, alice.signSecretKey);
    let thrown: unknown;
    try {
      assertSignature('result', flipBit(payload, 0), signature, alice.signPublicKey, 'node answer');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FedlabError);
    expect((thrown as FedlabError).code).toBe('SIGNATURE_INVALID');
    expect((thrown as FedlabError).message).toBe('node answer: signature does not verify');
  });

  it('throws SIGNATURE_INVALID rather than a libsodium error for a wrong-length signature', () => {
    let thrown: unknown;
    try {
      assertSignature('query', payload, new Uint8Array(10), alice.signPublicKey, 'query');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FedlabError);
    expect((thrown as FedlabError).code).toBe('SIGNATURE_INVALID');
    expect((thrown as FedlabError).message).toBe('query: signature does not verify');
  });
});

describe('blake2b', () => {
  it('computes BLAKE2b-256 of "abc" as the published test vector by default', () => {
    const digest = blake2b(new Uint8Array(Buffer.from('abc', 'utf8')));
    expect(Buffer.from(digest).toString('hex')).toBe('bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319');
  });

  it('computes BLAKE2b-512 of "abc" as the RFC 7693 test vector', () => {
    const digest = blake2b(new Uint8Array(Buffer.from('abc', 'utf8')), 64);
    expect(Buffer.from(digest).toString('hex')).toBe(
      'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923',
    );
  });

  it('matches node:crypto blake2b512 for a 64-byte output over a longer input', () => {
    const data = new Uint8Array(Buffer.from('fedlab/v1/query\0'.repeat(40), 'utf8'));
    const expected = createHash('blake2b512').update(data).digest('hex');
    expect(Buffer.from(blake2b(data, 64)).toString('hex')).toBe(expected);
  });

  it('returns a 32-byte digest that is not a truncation of the 64-byte digest', () => {
    const data = new Uint8Array(Buffer.from('abc', 'utf8'));
    expect(Buffer.from(blake2b(data)).equals(Buffer.from(blake2b(data, 64).subarray(0, 32)))).toBe(false);
  });
});

describe('secureRandom', () => {
  it('returns a Uint8Array of the requested length', () => {
    const bytes = secureRandom(24);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(bytes).toHaveLength(24);
  });

  it('returns different bytes on each call', () => {
    expect(Buffer.from(secureRandom(32)).equals(Buffer.from(secureRandom(32)))).toBe(false);
  });
});
