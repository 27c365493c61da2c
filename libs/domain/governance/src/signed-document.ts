import { z } from 'zod';
import { FedlabError, parseDocument } from '@fedlab/model';
import { decodeBase64, participantId, quote, signature, signedPayload } from './fields';
import type { ParticipantRole, PublicIdentity, RosterDocument } from './roster';
import { signingPayload, type SignatureContext, type VerifySignature } from './signature';

/**
 * A document signed by one participant: `payload` is the exact JSON text that was signed (its UTF-8
 * bytes), `signer` a roster id, `signature` the base64 Ed25519 signature.
 */
export interface SignedDocument {
  payload: string;
  signer: string;
  signature: string;
}

const signedDocumentSchema = z.strictObject({ payload: signedPayload, signer: participantId, signature });

/** Validates the shape of a signed document (INVALID_ARGUMENT with the field path); verifies nothing. */
export function parseSignedDocument(doc: unknown, source: string): SignedDocument {
  return parseDocument(signedDocumentSchema, doc, source, 'INVALID_ARGUMENT');
}

/**
 * Checks that the signer holds `role` on the roster and that the signature verifies over the
 * payload bytes under `context`; returns the signer. The payload is not parsed until this passed.
 */
export function verifySignerAndSignature(
  signed: SignedDocument,
  roster: RosterDocument,
  verify: VerifySignature,
  context: SignatureContext,
  role: ParticipantRole,
  source: string,
): PublicIdentity {
  const checked = parseSignedDocument(signed, source);
  const signer = roster.participants.find((p) => p.id === checked.signer && p.role === role);
  if (signer === undefined) {
    throw new FedlabError(
      role === 'researcher' ? 'UNKNOWN_RESEARCHER' : 'SIGNATURE_INVALID',
      `${source}: signer ${quote(checked.signer)} is not a ${role} on the roster`,
    );
  }
  if (!verify(context, signingPayload(checked.payload), decodeBase64(checked.signature), signer.signPublicKey)) {
    throw new FedlabError('SIGNATURE_INVALID', `${source}: the signature by ${quote(signer.id)} does not verify`);
  }
  return signer;
}
