/** What a governance signature is for; the verifier binds each signature to exactly one of these. */
export const SIGNATURE_CONTEXTS = ['roster', 'project', 'approval', 'revocation'] as const;
export type SignatureContext = (typeof SIGNATURE_CONTEXTS)[number];

/**
 * Verifies one detached Ed25519 signature, injected so this library stays free of libsodium.
 *
 * The adapter must bind `context` into what is verified (for example `"fedlab/v1/roster" || 0x00 ||
 * payload`, DESIGN.md §4), so a signature made for one kind of document never verifies as another.
 * It returns false, and does not throw, for a signature or key that does not verify.
 */
export type VerifySignature = (context: SignatureContext, payload: Uint8Array, signature: Uint8Array, publicKey: Uint8Array) => boolean;

const utf8 = new TextEncoder();

/** The bytes a signer signs for a document whose payload is `text`: its UTF-8 encoding, exactly. */
export function signingPayload(text: string): Uint8Array {
  return utf8.encode(text);
}

/** The bytes governance stewards sign for a roster whose payload is `text` (its UTF-8 encoding). */
export function rosterSigningPayload(text: string): Uint8Array {
  return signingPayload(text);
}
