import { FedlabError } from '@fedlab/model';
import { isMerkleHash } from './merkle-hash';

/** A tree head: the log's size and root at a moment. Callers sign {@link encodeTreeHead}'s bytes. */
export interface TreeHead {
  size: number;
  rootHash: Uint8Array;
  timestampMs: number;
}

/** The domain string that starts every encoded tree head, NUL-terminated as all fedlab signing contexts. */
export const TREE_HEAD_DOMAIN = 'fedlab/v1/sth';

const DOMAIN_BYTES = new TextEncoder().encode(`${TREE_HEAD_DOMAIN}\0`);

/** Length in bytes of an encoded tree head: 14 + 8 + 8 + 32. */
export const ENCODED_TREE_HEAD_BYTES = DOMAIN_BYTES.length + 8 + 8 + 32;

/**
 * The canonical bytes of a tree head, the message a signed tree head signs. Fixed layout, 62 bytes:
 *
 * | offset | bytes | field |
 * |---|---|---|
 * | 0  | 14 | ASCII `fedlab/v1/sth` followed by 0x00 |
 * | 14 | 8  | size, unsigned big-endian |
 * | 22 | 8  | timestampMs (Unix epoch milliseconds), unsigned big-endian |
 * | 30 | 32 | rootHash |
 *
 * Throws INVALID_ARGUMENT unless size and timestampMs are non-negative safe integers and rootHash is 32 bytes.
 */
export function encodeTreeHead(head: TreeHead): Uint8Array {
  const { size, timestampMs, rootHash } = head;
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new FedlabError('INVALID_ARGUMENT', 'a tree head size must be a non-negative integer');
  }
  if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) {
    throw new FedlabError('INVALID_ARGUMENT', 'a tree head timestamp must be a non-negative integer of milliseconds');
  }
  if (!isMerkleHash(rootHash)) throw new FedlabError('INVALID_ARGUMENT', 'a tree head root hash must be 32 bytes');
  const bytes = new Uint8Array(ENCODED_TREE_HEAD_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(DOMAIN_BYTES, 0);
  view.setBigUint64(DOMAIN_BYTES.length, BigInt(size));
  view.setBigUint64(DOMAIN_BYTES.length + 8, BigInt(timestampMs));
  bytes.set(rootHash, DOMAIN_BYTES.length + 16);
  return bytes;
}
