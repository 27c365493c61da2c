import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FedlabError, parseDocument } from '@fedlab/model';
import {
  formatRosterDocument,
  parseGovernance,
  parseSignedRoster,
  verifySignedRoster,
  type Governance,
  type RosterDocument,
  type VerifySignature,
} from '@fedlab/governance';
import { PARTICIPANT_ROLES, publicIdentityJson, type ParticipantRole, type PublicIdentity, type RosterEntryJson } from './identity';
import { blake2b, verifyDetached } from './signing';
import { sodium } from './sodium';

const participantId = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, "-" or "_", starting with a letter');
const base64Key = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'a base64-encoded 32-byte key');

const rosterSchema = z
  .object({
    version: z.number().int().nonnegative().default(1),
    issued_at: z.string().optional(),
    participants: z.array(
      z
        .object({
          id: participantId,
          role: z.enum(PARTICIPANT_ROLES),
          display_name: z.string().min(1).max(120),
          sign_public_key: base64Key,
          box_public_key: base64Key,
          node: participantId.optional(),
        })
        .strict(),
    ),
  })
  .strict();

/** The list of participants with their roles and public keys (DESIGN.md §4). */
export class Roster {
  private readonly byId: Map<string, PublicIdentity>;

  constructor(
    readonly version: number,
    participants: PublicIdentity[],
  ) {
    this.byId = new Map(participants.map((p) => [p.id, p]));
  }

  /** The participant with this id, if it holds the given role. */
  get(id: string, role?: ParticipantRole): PublicIdentity | undefined {
    const p = this.byId.get(id);
    return p && (role === undefined || p.role === role) ? p : undefined;
  }

  all(role?: ParticipantRole): PublicIdentity[] {
    return [...this.byId.values()].filter((p) => role === undefined || p.role === role);
  }

  /** The roster in the form @fedlab/governance verifies documents against. */
  asGovernanceDocument(): RosterDocument {
    return { version: this.version, issuedAt: '', participants: this.all().map((p) => ({ ...p })) };
  }

  toJson(): { version: number; participants: RosterEntryJson[] } {
    return { version: this.version, participants: this.all().map(publicIdentityJson) };
  }
}

/**
 * Validates a roster document: field types, unique ids, and every key a valid curve point that is
 * not of small order. Errors name the field path.
 */
export function parseRoster(doc: unknown, source: string): Roster {
  const data = parseDocument(rosterSchema, doc, source, 'INVALID_ARGUMENT');
  const s = sodium();
  const seen = new Set<string>();
  const participants = data.participants.map((p, i) => {
    if (seen.has(p.id)) throw new FedlabError('INVALID_ARGUMENT', `${source}: participants.${i}.id: duplicate id "${p.id}"`);
    seen.add(p.id);
    const signPublicKey = new Uint8Array(Buffer.from(p.sign_public_key, 'base64'));
    const boxPublicKey = new Uint8Array(Buffer.from(p.box_public_key, 'base64'));
    if (!s.crypto_core_ed25519_is_valid_point(signPublicKey)) {
      throw new FedlabError('INVALID_ARGUMENT', `${source}: participants.${i}.sign_public_key: not a valid Ed25519 public key`);
    }
    if (isLowOrderX25519(boxPublicKey)) {
      throw new FedlabError('INVALID_ARGUMENT', `${source}: participants.${i}.box_public_key: low-order X25519 key`);
    }
    return { id: p.id, role: p.role, displayName: p.display_name, signPublicKey, boxPublicKey, ...(p.node ? { node: p.node } : {}) };
  });
  return new Roster(data.version, participants);
}

/** Verifies governance signatures with libsodium (the adapter behind @fedlab/governance). */
export const verifyGovernanceSignature: VerifySignature = (context, payload, signature, publicKey) => verifyDetached(context, payload, signature, publicKey);

export interface LoadRosterOptions {
  /** Pinned governance: when given, only a roster signed by its threshold of stewards is accepted. */
  governance?: Governance;
  /** The roster version already held; an older signed roster is refused. */
  minVersion?: number;
}

function readDocument(path: string, what: string): unknown {
  try {
    return parseYaml(readFileSync(path, 'utf8'));
  } catch {
    throw new FedlabError('INVALID_ARGUMENT', `${path}: cannot read ${what}`);
  }
}

/**
 * Reads and validates a roster file. A signed roster (`fedlab_signed_roster: 1`) is verified
 * against the pinned governance (m-of-n steward signatures, version not older than the one held);
 * with governance pinned, an unsigned roster is refused. Without governance (development), a plain
 * roster document is accepted.
 */
export function loadRosterFile(path: string, options: LoadRosterOptions = {}): Roster {
  const doc = readDocument(path, 'roster file');
  const signed = typeof doc === 'object' && doc !== null && 'fedlab_signed_roster' in doc;
  if (!signed) {
    if (options.governance) throw new FedlabError('ROSTER_INVALID', `${path}: the roster is not signed by the governance stewards`);
    return parseRoster(doc, path);
  }
  if (!options.governance) throw new FedlabError('ROSTER_INVALID', `${path}: a signed roster needs the pinned governance file to verify it`);
  const roster = verifySignedRoster(parseSignedRoster(doc, path), options.governance, verifyGovernanceSignature, {
    minVersion: options.minVersion,
    source: path,
  });
  return parseRoster(JSON.parse(formatRosterDocument(roster)), path);
}

/** Reads the governance file a node or coordinator pins: `{ threshold, stewards: [{ id, sign_public_key }] }`. */
export function loadGovernanceFile(path: string): Governance {
  return parseGovernance(readDocument(path, 'governance file'), path);
}

/**
 * The fingerprint a node pins for its governance: BLAKE2b-256, hex, over "fedlab/v1/governance", the
 * threshold and each steward's id and signing key in id order — the same for any file naming the same
 * stewards and threshold, different as soon as one steward or key changes.
 */
export function governanceFingerprint(governance: Governance): string {
  const stewards = [...governance.stewards].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const text = [
    'fedlab/v1/governance',
    String(governance.threshold),
    ...stewards.map((s) => `${s.id} ${Buffer.from(s.signPublicKey).toString('base64')}`),
  ].join('\n');
  return Buffer.from(blake2b(Buffer.from(text, 'utf8'), 32)).toString('hex');
}

/**
 * Loads a governance file and checks it against a pinned fingerprint ({@link governanceFingerprint}).
 *
 * @throws FedlabError ROSTER_INVALID when the file names other stewards or another threshold than pinned.
 */
export function loadPinnedGovernance(path: string, pinned: string): Governance {
  const governance = loadGovernanceFile(path);
  const found = governanceFingerprint(governance);
  if (found !== pinned) {
    throw new FedlabError(
      'ROSTER_INVALID',
      `${path}: the governance stewards differ from the ones this node pinned (fingerprint ${found.slice(0, 16)}…, pinned ${pinned.slice(0, 16)}…); a changed governance file is refused`,
    );
  }
  return governance;
}

function isLowOrderX25519(key: Uint8Array): boolean {
  const s = sodium();
  // X25519 with any scalar yields the all-zero output exactly for small-order inputs.
  try {
    const probe = s.crypto_scalarmult(new Uint8Array(32).fill(7), key);
    return probe.every((b) => b === 0);
  } catch {
    return true;
  }
}
