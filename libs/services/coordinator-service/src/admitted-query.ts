import type { QuerySpec } from '@fedlab/model';
import { blake2b } from '@fedlab/crypto';
import * as pb from '@fedlab/proto';
import type { StoredQuery } from '@fedlab/store';
import { decodeQuerySpec } from '@fedlab/wire';

/** Hash binding a node answer to the exact researcher-signed query bytes. */
export function queryHash(queryPayload: Uint8Array): Uint8Array {
  return blake2b(queryPayload, 32);
}

/**
 * A stored query with its researcher-signed envelope decoded once. The coordinator obtains one per
 * operation (admission builds it from what it verified; an answer, a read or a recovery decodes the stored
 * row) and hands it to its helpers instead of the query id. Its state fields are those of the moment it
 * was read: a helper that changes the state learns the new one from the store's answer.
 */
export interface AdmittedQuery extends StoredQuery {
  /** The researcher-signed envelope (`envelope` decoded). */
  signed: pb.SignedEnvelope;
  /** The signed query. */
  spec: QuerySpec;
  /** {@link queryHash} of the signed bytes: what node answers and the pooled result are bound to. */
  hash: Uint8Array;
}

/** Decodes a stored query's envelope: the one place the coordinator decodes a stored query. */
export function admittedQuery(stored: StoredQuery): AdmittedQuery {
  const signed = pb.SignedEnvelope.decode(stored.envelope);
  return { ...stored, signed, spec: decodeQuerySpec(signed.payload), hash: queryHash(signed.payload) };
}
