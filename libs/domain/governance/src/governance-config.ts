import { z } from 'zod';
import { FedlabError, parseDocument } from '@fedlab/model';
import { decodeBase64, participantId, publicKey, quote } from './fields';

/** The threshold a governance document gets when it names none: 2 signatures (2-of-3 by default). */
export const DEFAULT_GOVERNANCE_THRESHOLD = 2;

/** One governance steward pinned at node init. */
export interface PinnedSteward {
  id: string;
  signPublicKey: Uint8Array;
}

/**
 * The governance a node pins at init (DESIGN.md §4): a roster is accepted only with valid
 * signatures from at least `threshold` distinct `stewards`.
 */
export interface Governance {
  threshold: number;
  stewards: PinnedSteward[];
}

const governanceSchema = z.strictObject({
  threshold: z.number().int('expected a whole number').min(1, 'at least 1').default(DEFAULT_GOVERNANCE_THRESHOLD),
  stewards: z
    .array(z.strictObject({ id: participantId, sign_public_key: publicKey }))
    .min(1, 'at least 1 steward')
    .max(100, 'at most 100 stewards'),
});

/**
 * Validates a governance document `{ threshold, stewards: [{ id, sign_public_key }] }`.
 * Refuses (INVALID_ARGUMENT, `${source}: field.path: reason`) a threshold above the number of
 * stewards, and a steward id or key listed twice: one key must never count as two stewards.
 */
export function parseGovernance(doc: unknown, source: string): Governance {
  const data = parseDocument(governanceSchema, doc, source, 'INVALID_ARGUMENT');
  if (data.threshold > data.stewards.length) {
    throw new FedlabError(
      'INVALID_ARGUMENT',
      `${source}: threshold: ${data.threshold} signatures required but only ${data.stewards.length} stewards are pinned`,
    );
  }
  const ids = new Set<string>();
  const keys = new Map<string, string>();
  data.stewards.forEach((steward, index) => {
    if (ids.has(steward.id)) throw new FedlabError('INVALID_ARGUMENT', `${source}: stewards.${index}.id: duplicate id ${quote(steward.id)}`);
    ids.add(steward.id);
    const holder = keys.get(steward.sign_public_key);
    if (holder !== undefined) {
      throw new FedlabError('INVALID_ARGUMENT', `${source}: stewards.${index}.sign_public_key: same key as steward ${quote(holder)}`);
    }
    keys.set(steward.sign_public_key, steward.id);
  });
  return {
    threshold: data.threshold,
    stewards: data.stewards.map((s) => ({ id: s.id, signPublicKey: decodeBase64(s.sign_public_key) })),
  };
}
