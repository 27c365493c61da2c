import { z } from 'zod';
import { FedlabError, parseDocument } from '@fedlab/model';
import { isoTimestamp, parseSignedJson, participantId, projectId, quote, text } from './fields';
import { verifySignerAndSignature, type SignedDocument } from './signed-document';
import type { RosterDocument } from './roster';
import type { VerifySignature } from './signature';

/** A node steward's withdrawal of that node's approval of a project. Final: a new approval is needed. */
export interface Revocation {
  projectId: string;
  nodeId: string;
  reason: string;
  revokedAt: string;
}

const revocationSchema = z.strictObject({
  project_id: projectId,
  node_id: participantId,
  reason: text(1000),
  revoked_at: isoTimestamp,
});

/** Validates a revocation document (INVALID_ARGUMENT, `${source}: field.path: reason`). */
export function parseRevocation(doc: unknown, source: string): Revocation {
  const r = parseDocument(revocationSchema, doc, source, 'INVALID_ARGUMENT');
  return { projectId: r.project_id, nodeId: r.node_id, reason: r.reason, revokedAt: r.revoked_at };
}

/** The JSON text of a revocation, in the file's snake_case form, ready for the steward to sign. */
export function formatRevocation(revocation: Revocation): string {
  return JSON.stringify({ project_id: revocation.projectId, node_id: revocation.nodeId, reason: revocation.reason, revoked_at: revocation.revokedAt }, null, 2);
}

/**
 * Verifies a signed revocation and returns it: the signer must be a steward on the roster who
 * stewards the revocation's node, and the signature must verify under the "revocation" context
 * (SIGNATURE_INVALID); a malformed payload is INVALID_ARGUMENT.
 */
export function verifySignedRevocation(signed: SignedDocument, roster: RosterDocument, verify: VerifySignature, source = 'revocation'): Revocation {
  const signer = verifySignerAndSignature(signed, roster, verify, 'revocation', 'steward', source);
  const payloadSource = `${source} payload`;
  const revocation = parseRevocation(parseSignedJson(signed.payload, payloadSource), payloadSource);
  if (signer.node !== revocation.nodeId) {
    throw new FedlabError('ROLE_NOT_ALLOWED', `${source}: steward ${quote(signer.id)} does not steward node ${quote(revocation.nodeId)}`);
  }
  return revocation;
}
