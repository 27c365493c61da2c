import { z } from 'zod';
import { FedlabError, IDENTIFIER_NAME } from '@fedlab/model';

/** Participant and node ids, as on the roster. */
export const PARTICIPANT_ID = /^[a-z][a-z0-9_-]{0,62}$/;
/** Project ids: lower case, so they are unambiguous as file names on any file system. */
export const PROJECT_ID = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

const PARTICIPANT_ID_HINT = 'expected an id of lower-case letters, digits, "-" or "_", starting with a letter';
const NAME_HINT = 'expected a lower snake case name (a-z, 0-9, _; at most 63 characters)';

export const participantId = z.string().regex(PARTICIPANT_ID, PARTICIPANT_ID_HINT);
export const projectId = z.string().regex(PROJECT_ID, 'expected a project id of lower-case letters, digits, ".", "-" or "_" (at most 64)');
export const datasetOrColumnName = z.string().regex(IDENTIFIER_NAME, NAME_HINT);

// Canonical base64 only: the last character may not carry non-zero padding bits, so every key and
// signature has exactly one textual form.
const KEY_32_BASE64 = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
const SIGNATURE_64_BASE64 = /^[A-Za-z0-9+/]{85}[AQgw]==$/;

export const publicKey = z.string().regex(KEY_32_BASE64, 'expected a base64-encoded 32-byte key');
export const signature = z.string().regex(SIGNATURE_64_BASE64, 'expected a base64-encoded 64-byte Ed25519 signature');

export const isoTimestamp = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 timestamp such as 2026-01-31T09:00:00Z' });
export const isoDate = z.iso.date({ error: 'expected a calendar date YYYY-MM-DD' });

export function text(maxLength: number) {
  return z.string().max(maxLength, `at most ${maxLength} characters`).regex(/\S/, 'must not be blank');
}

/** A record whose keys must match `key`; a bad key is reported at its own path with `hint`. */
export function recordOf<V extends z.ZodType>(key: RegExp, hint: string, value: V) {
  return z.record(z.string().regex(key), value, { error: (issue) => (issue.code === 'invalid_key' ? hint : undefined) });
}
export const NODE_ID_HINT = PARTICIPANT_ID_HINT.replace('an id', 'a node id');
export const DATASET_HINT = `${NAME_HINT} for a dataset`;

/** An array without repeats; a repeat is reported at its index as `duplicate <label> "<value>"`. */
export function uniqueArray<T extends z.ZodType<string>>(item: T, label: string) {
  return z.array(item).superRefine((values, ctx) => {
    const seen = new Set<string>();
    values.forEach((value, index) => {
      if (seen.has(value)) ctx.addIssue({ code: 'custom', message: `duplicate ${label} ${JSON.stringify(value)}`, path: [index] });
      seen.add(value);
    });
  });
}

/** Decodes base64 that a schema above already checked to be canonical. */
export function decodeBase64(value: string): Uint8Array {
  return Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
}

export function encodeBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A string field that holds the exact JSON text a signature covers. */
export const signedPayload = z
  .string()
  .min(2, 'must not be empty')
  .max(4_000_000, 'at most 4000000 characters')
  // A lone surrogate encodes to U+FFFD, so two different strings would share the signed bytes.
  .refine((value) => !LONE_SURROGATE.test(value), 'is not well-formed Unicode text');

/**
 * Parses the JSON text a signature covered. Called only after the signature verified, so an
 * attacker cannot make the node parse unsigned input.
 */
export function parseSignedJson(payload: string, source: string): unknown {
  try {
    return JSON.parse(payload) as unknown;
  } catch {
    throw new FedlabError('INVALID_ARGUMENT', `${source}: not valid JSON`);
  }
}

/** A name quoted for a one-line message: JSON escaping keeps quotes and newlines out of it. */
export function quote(value: string): string {
  return JSON.stringify(value);
}
