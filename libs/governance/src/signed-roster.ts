import { z } from 'zod';
import { FedlabError, parseDocument } from '@fedlab/model';
import { decodeBase64, encodeBase64, isoTimestamp, parseSignedJson, participantId, publicKey, quote, signature, signedPayload, text } from './fields';
import type { Governance } from './governance-config';
import { rosterSigningPayload, type VerifySignature } from './signature';

/** Roles a participant can hold on a governance roster. */
export const ROSTER_ROLES = ['node', 'coordinator', 'researcher', 'organisation', 'steward', 'auditor'] as const;
export type RosterRole = (typeof ROSTER_ROLES)[number];

/** One participant on the roster, keys decoded. */
export interface RosterParticipant {
  id: string;
  role: RosterRole;
  displayName: string;
  /** Ed25519 public key (32 bytes). */
  signPublicKey: Uint8Array;
  /** X25519 public key (32 bytes). */
  boxPublicKey: Uint8Array;
  /** For a steward: the node whose approvals and revocations this steward signs. */
  node?: string;
}

/** The content of a roster, as the stewards signed it. */
export interface RosterDocument {
  version: number;
  issuedAt: string;
  participants: RosterParticipant[];
}

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

const MAX_PARTICIPANTS = 10_000;

const rosterSchema = z.strictObject({
  version: z.number().int('expected a whole number').min(1, 'at least 1'),
  issued_at: isoTimestamp,
  participants: z
    .array(
      z.strictObject({
        id: participantId,
        role: z.enum(ROSTER_ROLES),
        display_name: text(120),
        sign_public_key: publicKey,
        box_public_key: publicKey,
        node: participantId.optional(),
      }),
    )
    .min(1, 'at least 1 participant')
    .max(MAX_PARTICIPANTS, `at most ${MAX_PARTICIPANTS} participants`),
});

const signedRosterSchema = z.strictObject({
  fedlab_signed_roster: z.literal(1, 'expected 1 (the signed roster format version)'),
  payload: signedPayload,
  signatures: z
    .array(z.strictObject({ steward: participantId, signature }))
    .min(1, 'at least 1 signature')
    .max(100, 'at most 100 signatures'),
});

/**
 * Validates a roster document (the parsed payload of a signed roster). Refuses, with
 * INVALID_ARGUMENT and the field path: malformed fields and keys, a participant id or key listed
 * twice, a `node` on a participant that is not a steward, and a steward's `node` that is not a node
 * on this roster. Key checks are syntactic (canonical base64 of 32 bytes); curve-point checks
 * belong to the crypto adapter.
 */
export function parseRosterDocument(doc: unknown, source: string): RosterDocument {
  const data = parseDocument(rosterSchema, doc, source, 'INVALID_ARGUMENT');
  const ids = new Map<string, RosterRole>();
  const keys = new Map<string, string>();
  const fail = (path: string, reason: string) => new FedlabError('INVALID_ARGUMENT', `${source}: participants.${path}: ${reason}`);
  data.participants.forEach((p, i) => {
    if (ids.has(p.id)) throw fail(`${i}.id`, `duplicate id ${quote(p.id)}`);
    ids.set(p.id, p.role);
    for (const field of ['sign_public_key', 'box_public_key'] as const) {
      const holder = keys.get(p[field]);
      if (holder !== undefined) throw fail(`${i}.${field}`, `key already used by participant ${quote(holder)}`);
      keys.set(p[field], p.id);
    }
  });
  data.participants.forEach((p, i) => {
    if (p.node === undefined) return;
    if (p.role !== 'steward') throw fail(`${i}.node`, 'only a steward names the node it stewards');
    if (ids.get(p.node) !== 'node') throw fail(`${i}.node`, `${quote(p.node)} is not a node on this roster`);
  });
  return {
    version: data.version,
    issuedAt: data.issued_at,
    participants: data.participants.map((p) => ({
      id: p.id,
      role: p.role,
      displayName: p.display_name,
      signPublicKey: decodeBase64(p.sign_public_key),
      boxPublicKey: decodeBase64(p.box_public_key),
      ...(p.node === undefined ? {} : { node: p.node }),
    })),
  };
}

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
  if (options.minVersion !== undefined && roster.version < options.minVersion) {
    throw new FedlabError('ROSTER_INVALID', `roster version ${roster.version} is older than the version ${options.minVersion} already held`, {
      version: roster.version,
      held: options.minVersion,
    });
  }
  return roster;
}

/** The JSON text of a roster document, in the file's snake_case form, ready for stewards to sign. */
export function formatRosterDocument(roster: RosterDocument): string {
  return JSON.stringify(
    {
      version: roster.version,
      issued_at: roster.issuedAt,
      participants: roster.participants.map((p) => ({
        id: p.id,
        role: p.role,
        display_name: p.displayName,
        sign_public_key: encodeBase64(p.signPublicKey),
        box_public_key: encodeBase64(p.boxPublicKey),
        ...(p.node === undefined ? {} : { node: p.node }),
      })),
    },
    null,
    2,
  );
}
