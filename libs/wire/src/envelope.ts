import { FedlabError } from '@fedlab/model';
import { assertSignature, signDetached, type Identity, type Roster, type ParticipantRole, type SigningContext } from '@fedlab/crypto';
import type { SignedEnvelope } from '@fedlab/proto';

/** Signs encoded payload bytes into an envelope (DESIGN.md §4). */
export function sealEnvelope(context: SigningContext, payload: Uint8Array, signer: Identity): SignedEnvelope {
  return {
    payload: Buffer.from(payload),
    signature: Buffer.from(signDetached(context, payload, signer.signSecretKey)),
    signerId: signer.id,
  };
}

/**
 * Verifies an envelope's signature over the received bytes against the roster key of a participant
 * with the expected role, and returns the payload bytes (still to be decoded).
 * Throws `unknownCode` when the signer is not on the roster in that role, SIGNATURE_INVALID when the
 * signature does not verify.
 */
export function openEnvelope(
  context: SigningContext,
  envelope: SignedEnvelope | undefined,
  roster: Roster,
  role: ParticipantRole,
  unknownCode: 'UNKNOWN_RESEARCHER' | 'NODE_NOT_ON_ROSTER' | 'SIGNATURE_INVALID',
): { payload: Uint8Array; signerId: string } {
  if (!envelope) throw new FedlabError('INVALID_ARGUMENT', `${context}: missing signed envelope`);
  const signer = roster.get(envelope.signerId, role);
  if (!signer) throw new FedlabError(unknownCode, `${context}: signer is not a ${role} on the roster`);
  assertSignature(context, envelope.payload, envelope.signature, signer.signPublicKey, context);
  return { payload: new Uint8Array(envelope.payload), signerId: envelope.signerId };
}
