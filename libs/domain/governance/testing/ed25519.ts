// Test support only (not exported from the library): real Ed25519 through node:crypto, so the
// tests exercise real signatures while the library itself stays free of crypto imports.
import { createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import type { SignatureContext, VerifySignature } from '../src/signature';

/** DER SubjectPublicKeyInfo prefix of an Ed25519 key (RFC 8410); the raw 32-byte key follows it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface TestKeyPair {
  /** Raw 32-byte public key. */
  publicKey: Uint8Array;
  /** Base64 of the raw public key, as written in documents. */
  publicKeyBase64: string;
  privateKey: KeyObject;
}

export function generateTestKeyPair(): TestKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = new Uint8Array(Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url'));
  return { publicKey: raw, publicKeyBase64: Buffer.from(raw).toString('base64'), privateKey };
}

function framed(context: SignatureContext, payload: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`fedlab/v1/${context}\0`, 'utf8'), payload]);
}

/** Signs the UTF-8 bytes of `text` under `context`; returns the base64 signature. */
export function signText(context: SignatureContext, text: string, key: TestKeyPair): string {
  return sign(null, framed(context, Buffer.from(text, 'utf8')), key.privateKey).toString('base64');
}

/** A real Ed25519 `VerifySignature`, binding the context as the crypto adapter does. */
export const verifyEd25519: VerifySignature = (context, payload, signature, publicKey) => {
  const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
  return verify(null, framed(context, payload), key, signature);
};
