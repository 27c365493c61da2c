import { z } from 'zod';
import { FedlabError, parseDocument } from '@fedlab/model';
import { decodeBase64, encodeBase64, isoTimestamp, participantId, publicKey, quote, text } from './fields';

/** Roles a participant can hold on the roster (DESIGN.md §4). */
export const PARTICIPANT_ROLES = ['node', 'coordinator', 'researcher', 'organisation', 'steward', 'auditor'] as const;
export type ParticipantRole = (typeof PARTICIPANT_ROLES)[number];

/** The public half of an identity: one participant on the roster, keys decoded. */
export interface PublicIdentity {
  id: string;
  role: ParticipantRole;
  displayName: string;
  /** Ed25519 public key (32 bytes). */
  signPublicKey: Uint8Array;
  /** X25519 public key (32 bytes). */
  boxPublicKey: Uint8Array;
  /** For a steward: the node whose approvals and revocations this steward signs. */
  node?: string;
}

/** A participant's Ed25519 signing key and X25519 sealing key with their public halves (DESIGN.md §4). */
export interface Identity extends PublicIdentity {
  signSecretKey: Uint8Array;
  boxSecretKey: Uint8Array;
}

/** The content of a roster: what the stewards sign, and what every party verifies documents against. */
export interface RosterDocument {
  version: number;
  /** When the stewards issued it; a development roster that nobody signs may leave it out. */
  issuedAt?: string;
  participants: readonly PublicIdentity[];
}

/** One participant as written in a roster file (snake_case, base64 keys). */
export interface RosterEntryJson {
  id: string;
  role: ParticipantRole;
  display_name: string;
  sign_public_key: string;
  box_public_key: string;
  /** For a steward: the node it stewards. */
  node?: string;
}

/** The roster a party holds: the document, with participants found by id and role. */
export class Roster implements RosterDocument {
  readonly version: number;
  readonly issuedAt?: string;
  readonly participants: readonly PublicIdentity[];
  private readonly byId: Map<string, PublicIdentity>;

  constructor(doc: RosterDocument) {
    this.version = doc.version;
    if (doc.issuedAt !== undefined) this.issuedAt = doc.issuedAt;
    this.participants = doc.participants;
    this.byId = new Map(doc.participants.map((p) => [p.id, p]));
  }

  /** The participant with this id, if it holds the given role. */
  get(id: string, role?: ParticipantRole): PublicIdentity | undefined {
    const p = this.byId.get(id);
    return p && (role === undefined || p.role === role) ? p : undefined;
  }

  all(role?: ParticipantRole): PublicIdentity[] {
    return this.participants.filter((p) => role === undefined || p.role === role);
  }

  /** The roster file form (snake_case, base64 keys). */
  toJson(): { version: number; issued_at?: string; participants: RosterEntryJson[] } {
    return { version: this.version, ...(this.issuedAt === undefined ? {} : { issued_at: this.issuedAt }), participants: this.all().map(publicIdentityJson) };
  }
}

/** The roster entry form of an identity (base64 keys). */
export function publicIdentityJson(identity: PublicIdentity): RosterEntryJson {
  return {
    id: identity.id,
    role: identity.role,
    display_name: identity.displayName,
    sign_public_key: encodeBase64(identity.signPublicKey),
    box_public_key: encodeBase64(identity.boxPublicKey),
    ...(identity.node ? { node: identity.node } : {}),
  };
}

const MAX_PARTICIPANTS = 10_000;

/** The one roster schema: plain development rosters and the payload of a signed roster alike. */
const rosterSchema = z.strictObject({
  version: z.number().int('expected a whole number').min(1, 'at least 1').default(1),
  issued_at: isoTimestamp.optional(),
  participants: z
    .array(
      z.strictObject({
        id: participantId,
        role: z.enum(PARTICIPANT_ROLES),
        display_name: text(120),
        sign_public_key: publicKey,
        box_public_key: publicKey,
        node: participantId.optional(),
      }),
    )
    .min(1, 'at least 1 participant')
    .max(MAX_PARTICIPANTS, `at most ${MAX_PARTICIPANTS} participants`),
});

/**
 * Validates a roster document (a roster file, or the parsed payload of a signed roster). Refuses,
 * with INVALID_ARGUMENT and the field path: malformed fields and keys, a participant id or key listed
 * twice, a `node` on a participant that is not a steward, and a steward's `node` that is not a node
 * on this roster. Key checks are syntactic (canonical base64 of 32 bytes); curve-point checks
 * belong to the crypto adapter (`parseRoster` in @fedlab/crypto).
 */
export function parseRosterDocument(doc: unknown, source: string): RosterDocument {
  const data = parseDocument(rosterSchema, doc, source, 'INVALID_ARGUMENT');
  const ids = new Map<string, ParticipantRole>();
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
    ...(data.issued_at === undefined ? {} : { issuedAt: data.issued_at }),
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

/** The JSON text of a roster document, in the file's snake_case form, ready for stewards to sign. */
export function formatRosterDocument(roster: RosterDocument): string {
  return JSON.stringify(new Roster(roster).toJson(), null, 2);
}
