import { z } from 'zod';
import { FedlabError, parseDocument } from '@fedlab/model';
import { decodeBase64, parseSignedJson, participantId, signature, signedPayload } from './fields';
import type { Governance } from './governance-config';
import { parseRosterDocument, type RosterDocument } from './roster';
import { rosterSigningPayload, type VerifySignature } from './signature';

/** One steward signature over a roster payload. */
export interface StewardSignature {
  steward: string;
  signature: Uint8Array;
}

/** A signed roster file: the exact JSON text of a roster and the stewards' signatures over it. */
export interface SignedRoster {
  payload: string;
  signatures: StewardSignature[];
}

export interface VerifySignedRosterOptions {
  /** The version of the roster already held; an older roster is refused, the same version accepted. */
  minVersion?: number;
  /** Names the roster in error messages (default "roster"). */
  source?: string;
}

const signedRosterSchema = z.strictObject({
  fedlab_signed_roster: z.literal(1, 'expected 1 (the signed roster format version)'),
  payload: signedPayload,
  signatures: z
    .array(z.strictObject({ steward: participantId, signature }))
    .min(1, 'at least 1 signature')
    .max(100, 'at most 100 signatures'),
});

/**
 * Validates the shape of a signed roster file `{ fedlab_signed_roster: 1, payload, signatures }`
 * (INVALID_ARGUMENT with the field path). Signatures are not verified and the payload is not
 * parsed here: see {@link verifySignedRoster}.
 */
export function parseSignedRoster(doc: unknown, source: string): SignedRoster {
  const data = parseDocument(signedRosterSchema, doc, source, 'INVALID_ARGUMENT');
  return {
    payload: data.payload,
    signatures: data.signatures.map((s) => ({ steward: s.steward, signature: decodeBase64(s.signature) })),
  };
}

/**
 * Verifies a signed roster against the pinned governance and returns its content.
 *
 * The signatures are checked over the payload bytes before the payload is parsed. A signature
 * counts only if it is by a pinned steward and verifies; each steward counts once however often it
 * signed. Refuses:
 * - fewer than `threshold` counting signatures: SIGNATURE_INVALID,
 *   `roster has 1 valid steward signature of the 2 required`;
 * - a payload that is not a valid roster document: INVALID_ARGUMENT with the field path;
 * - a version older than `minVersion`: INVALID_ARGUMENT,
 *   `roster version 3 is older than the version 4 already held`.
 */
export function verifySignedRoster(
  signed: SignedRoster,
  governance: Governance,
  verify: VerifySignature,
  options: VerifySignedRosterOptions = {},
): RosterDocument {
  const source = options.source ?? 'roster';
  const bytes = rosterSigningPayload(signed.payload);
  const pinned = new Map(governance.stewards.map((s) => [s.id, s.signPublicKey]));
  const counted = new Set<string>();
  for (const { steward, signature: sig } of signed.signatures) {
    const key = pinned.get(steward);
    if (key === undefined || counted.has(steward)) continue;
    if (verify('roster', bytes, sig, key)) counted.add(steward);
  }
  if (counted.size < governance.threshold) {
    const noun = counted.size === 1 ? 'signature' : 'signatures';
    throw new FedlabError('ROSTER_INVALID', `${source} has ${counted.size} valid steward ${noun} of the ${governance.threshold} required`, {
      valid: counted.size,
      required: governance.threshold,
    });
  }
  const payloadSource = `${source} payload`;
  const roster = parseRosterDocument(parseSignedJson(signed.payload, payloadSource), payloadSource);
  if (roster.issuedAt === undefined) throw new FedlabError('INVALID_ARGUMENT', `${payloadSource}: issued_at: a signed roster states when it was issued`);
  if (options.minVersion !== undefined && roster.version < options.minVersion) {
    throw new FedlabError('ROSTER_INVALID', `roster version ${roster.version} is older than the version ${options.minVersion} already held`, {
      version: roster.version,
      held: options.minVersion,
    });
  }
  return roster;
}
