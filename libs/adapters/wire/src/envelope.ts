import { FedlabError, type QuerySpec } from '@fedlab/model';
import { decodeQuerySpec } from './query-codec';
import { assertSignature, signDetached, type SigningContext } from '@fedlab/crypto';
import { type Identity, type Roster, type ParticipantRole } from '@fedlab/governance';
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

/**
 * Opens a submitted query (context "fedlab/v1/query"): a researcher signs queries, an organisation
 * signs evaluations (DESIGN.md §7.5), and nobody else signs either. The signer must be the spec's
 * `researcher_id` (the submitter).
 *
 * @throws UNKNOWN_RESEARCHER when the signer is on the roster in neither role; ROLE_NOT_ALLOWED when a
 *   researcher submits an evaluation or an organisation anything else; SIGNATURE_INVALID when the
 *   signature does not verify or the signer is not the spec's submitter.
 */
export function openQueryEnvelope(envelope: SignedEnvelope | undefined, roster: Roster): { payload: Uint8Array; signerId: string; spec: QuerySpec } {
  if (!envelope) throw new FedlabError('INVALID_ARGUMENT', 'query: missing signed envelope');
  const signer = roster.get(envelope.signerId, 'researcher') ?? roster.get(envelope.signerId, 'organisation');
  if (!signer) throw new FedlabError('UNKNOWN_RESEARCHER', 'query: signer is not a researcher on the roster');
  assertSignature('query', envelope.payload, envelope.signature, signer.signPublicKey, 'query');
  const payload = new Uint8Array(envelope.payload);
  const spec = decodeQuerySpec(payload);
  if (spec.researcherId !== envelope.signerId) throw new FedlabError('SIGNATURE_INVALID', 'query: researcher_id does not match the signer');
  const evaluation = spec.analysis.kind === 'evaluation';
  if (evaluation && signer.role !== 'organisation') {
    throw new FedlabError('ROLE_NOT_ALLOWED', `participant "${signer.id}" is a ${signer.role}: only an organisation on the roster submits an evaluation`);
  }
  if (!evaluation && signer.role !== 'researcher') {
    throw new FedlabError('ROLE_NOT_ALLOWED', `participant "${signer.id}" is an organisation: organisations submit evaluations only`);
  }
  return { payload, signerId: envelope.signerId, spec };
}

/**
 * The header an organisation's sealed client list is signed under (see `sealForPeer`): it names the
 * evaluation, the organisation and the node, so a list cannot be replayed into another evaluation or
 * opened as if sent to another node.
 */
/**
 * Header of a node's answer sealed to the query's researcher (or organisation): sealForPeer signs it
 * with the payload digest, so an answer cannot be replayed for another query, node or reader.
 */
export function answerSealHeader(queryId: string, nodeId: string, researcherId: string): Uint8Array {
  return Buffer.from(`fedlab/v1/answer\0${queryId}\0${nodeId}\0${researcherId}`, 'utf8');
}

export function evaluationAttachmentHeader(queryId: string, organisationId: string, nodeId: string): Uint8Array {
  return Buffer.from(`fedlab/v1/evaluation-clients\0${queryId}\0${organisationId}\0${nodeId}`, 'utf8');
}
