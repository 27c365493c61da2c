import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect } from 'vitest';
import { generateIdentity, governanceFingerprint, initCrypto, sealForPeer, signDetached, sodium, writeKeyFile } from '@fedlab/crypto';
import { parseGovernance, type Identity } from '@fedlab/governance';
import { encodeTreeHead } from '@fedlab/transparency';
import { answerSealHeader } from '@fedlab/wire';
import { it } from '@fedlab/test-kit';

/*
 * docs/protocol.md "Writing a client in another language", checked the way a foreign client would
 * follow it: from raw libsodium calls and the byte layouts the page states, never through fedlab's
 * own helpers on the reading side.
 */
const utf8 = (s: string) => Buffer.from(s, 'utf8');
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
let coordinator: Identity;

beforeAll(async () => {
  await initCrypto();
  coordinator = generateIdentity('coordinator', 'coordinator');
});

describe('the byte layouts docs/protocol.md gives a foreign client', () => {
  it('a signed tree head: the sth context twice, then size, time and root (76 bytes)', () => {
    const head = { size: 1234, timestampMs: 1_765_000_000_000, rootHash: new Uint8Array(32).fill(9) };
    const signature = signDetached('sth', encodeTreeHead(head), coordinator.signSecretKey);
    const be64 = (n: number) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(n));
      return b;
    };
    const message = Buffer.concat([utf8('fedlab/v1/sth\0fedlab/v1/sth\0'), be64(head.size), be64(head.timestampMs), head.rootHash]);
    expect(message).toHaveLength(76);
    expect(sodium().crypto_sign_verify_detached(signature, message, coordinator.signPublicKey)).toBe(true);
  });

  it('a governance fingerprint: BLAKE2b-256 of the lines, stewards in id order, no final newline', () => {
    const stewards = ['gov-b', 'gov-a'].map((id) => generateIdentity(id, 'steward'));
    const governance = parseGovernance(
      { threshold: 2, stewards: stewards.map((s) => ({ id: s.id, sign_public_key: Buffer.from(s.signPublicKey).toString('base64') })) },
      'governance.json',
    );
    const [b, a] = stewards as [Identity, Identity];
    const text = [
      'fedlab/v1/governance',
      '2',
      `gov-a ${Buffer.from(a.signPublicKey).toString('base64')}`,
      `gov-b ${Buffer.from(b.signPublicKey).toString('base64')}`,
    ].join('\n');
    expect(governanceFingerprint(governance)).toBe(Buffer.from(sodium().crypto_generichash(32, utf8(text), null)).toString('hex'));
  });

  it('an encrypted key file: Argon2id key, secretbox of the JSON secrets', ({ tempDir }) => {
    const alice = generateIdentity('alice', 'researcher');
    const file = path.join(tempDir, 'alice.key');
    writeKeyFile(file, alice, 'correct horse');
    const doc = JSON.parse(readFileSync(file, 'utf8')) as {
      fedlabKeyFile: number;
      id: string;
      role: string;
      signPublicKey: string;
      encrypted: { salt: string; nonce: string; ciphertext: string; opslimit: number; memlimit: number };
    };
    expect([doc.fedlabKeyFile, doc.id, doc.role]).toEqual([1, 'alice', 'researcher']);
    const s = sodium();
    const e = doc.encrypted;
    const key = s.crypto_pwhash(32, 'correct horse', b64(e.salt), e.opslimit, e.memlimit, s.crypto_pwhash_ALG_ARGON2ID13);
    const secrets = JSON.parse(Buffer.from(s.crypto_secretbox_open_easy(b64(e.ciphertext), b64(e.nonce), key)).toString('utf8')) as {
      signSecretKey: string;
      boxSecretKey: string;
    };
    // libsodium's 64-byte Ed25519 secret key is seed ‖ public key.
    expect(Buffer.from(b64(secrets.signSecretKey).subarray(32)).equals(Buffer.from(b64(doc.signPublicKey)))).toBe(true);
    expect(Buffer.from(b64(secrets.boxSecretKey)).equals(Buffer.from(alice.boxSecretKey))).toBe(true);
  });

  it('a sealed answer: nonce ‖ box, then signature ‖ payload signed over header ‖ BLAKE2b-256(payload)', () => {
    const node = generateIdentity('clinic', 'node');
    const alice = generateIdentity('alice', 'researcher');
    const payload = utf8('an encoded ResultTable');
    const ciphertext = sealForPeer(node, alice, answerSealHeader('q-12345678', 'clinic', 'alice'), payload);
    const s = sodium();
    const plaintext = s.crypto_box_curve25519xchacha20poly1305_open_easy(
      ciphertext.subarray(24),
      ciphertext.subarray(0, 24),
      node.boxPublicKey,
      alice.boxSecretKey,
    );
    const opened = plaintext.subarray(64);
    expect(Buffer.from(opened).equals(payload)).toBe(true);
    const header = utf8('fedlab/v1/answer\0q-12345678\0clinic\0alice');
    const signed = Buffer.concat([utf8('fedlab/v1/peer-payload\0'), header, s.crypto_generichash(32, opened, null)]);
    expect(s.crypto_sign_verify_detached(plaintext.subarray(0, 64), signed, node.signPublicKey)).toBe(true);
  });
});
