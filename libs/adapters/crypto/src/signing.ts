import { randomBytes, randomFillSync } from 'node:crypto';
import { FedlabError } from '@fedlab/model';
import { ed25519 } from './signature-backend';
import { sodium } from './sodium';

/** Signature contexts, one per message kind (DESIGN.md §4). Each is NUL-terminated when signed. */
export const SIGNING_CONTEXTS = {
  query: 'fedlab/v1/query',
  countersign: 'fedlab/v1/countersign',
  result: 'fedlab/v1/result',
  attach: 'fedlab/v1/attach',
  'attach-run': 'fedlab/v1/attach-run',
  sth: 'fedlab/v1/sth',
  roster: 'fedlab/v1/roster',
  project: 'fedlab/v1/project',
  approval: 'fedlab/v1/approval',
  revocation: 'fedlab/v1/revocation',
  checkpoint: 'fedlab/v1/checkpoint',
  read: 'fedlab/v1/read',
  'pooled-result': 'fedlab/v1/pooled-result',
  'secagg-keys': 'fedlab/v1/secagg-keys',
  'secagg-input': 'fedlab/v1/secagg-input',
  'secagg-consistency': 'fedlab/v1/secagg-consistency',
  'peer-payload': 'fedlab/v1/peer-payload',
  'psi-aggregate': 'fedlab/v1/psi-aggregate',
} as const;
export type SigningContext = keyof typeof SIGNING_CONTEXTS;

function framed(context: SigningContext, payload: Uint8Array): Uint8Array {
  const prefix = Buffer.from(`${SIGNING_CONTEXTS[context]}\0`, 'utf8');
  return Buffer.concat([prefix, payload]);
}

/** Ed25519 signature over `context || 0x00 || payload` (libsodium, native where it loads: signature-backend.ts). */
export function signDetached(context: SigningContext, payload: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return ed25519().sign(framed(context, payload), secretKey);
}

/**
 * Verifies an Ed25519 signature over `context || 0x00 || payload`. Malformed keys and signatures
 * count as invalid; the function never throws for bad input.
 */
export function verifyDetached(context: SigningContext, payload: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  const key = signature.length === 64 ? Buffer.from(signature).toString('base64') : undefined;
  const kept = key === undefined ? undefined : verified.get(key);
  if (kept && kept.context === context && kept.publicKey.equals(publicKey) && kept.payload.equals(payload)) return true;
  const ok = ed25519().verify(signature, framed(context, payload), publicKey);
  if (ok && key !== undefined && payload.length <= MAX_KEPT_PAYLOAD_BYTES) {
    if (verified.size >= VERIFIED_KEPT) verified.clear();
    verified.set(key, { context, payload: Buffer.from(payload), publicKey: Buffer.from(publicKey) });
  }
  return ok;
}

/**
 * Signatures this process verified lately, by signature, with exactly what they were verified over: the
 * same signature over the same context, payload and key verifies again without computing it again (a
 * researcher's read request is checked when it watches a query and again when it fetches the result).
 * Only valid signatures over small payloads are kept; anything else is verified in full.
 */
const verified = new Map<string, { context: SigningContext; payload: Buffer; publicKey: Buffer }>();
const VERIFIED_KEPT = 4096;
const MAX_KEPT_PAYLOAD_BYTES = 4096;

/** Throws SIGNATURE_INVALID unless the signature verifies. */
export function assertSignature(context: SigningContext, payload: Uint8Array, signature: Uint8Array, publicKey: Uint8Array, what: string): void {
  if (!verifyDetached(context, payload, signature, publicKey)) {
    throw new FedlabError('SIGNATURE_INVALID', `${what}: signature does not verify`);
  }
}

/** Unkeyed BLAKE2b (default 32 bytes). */
export function blake2b(data: Uint8Array, outputBytes = 32): Uint8Array {
  return sodium().crypto_generichash(outputBytes, data, null);
}

/** Cryptographically secure random bytes from node:crypto (DESIGN.md §4: not libsodium's slow path). */
export function secureRandom(length: number): Uint8Array {
  return new Uint8Array(randomBytes(length));
}

/** A source of uniform [0, 1) draws from node:crypto, refilled 1,024 words at a time. */
export function secureUniformSource(): () => number {
  const words = new Uint32Array(1024);
  let next = words.length;
  return () => {
    if (next === words.length) {
      randomFillSync(words);
      next = 0;
    }
    return words[next++]! / 2 ** 32;
  };
}
