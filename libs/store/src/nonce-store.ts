import { FedlabError } from '@fedlab/model';
import type { Database } from './database';

const NONCE_HEX = /^(?:[0-9a-f]{2}){16,64}$/;
const PURGE_EVERY_CALLS = 256;
const calls = new WeakMap<Database, number>();

/**
 * Remembers a query nonce until `expiresAtMs` (the query's expiry). Returns true the first time a nonce is
 * seen and false for a replay of a nonce that has not expired yet; the check and insert are one statement,
 * so two concurrent callers cannot both get true. A nonce past its expiry counts as unseen, so callers must
 * refuse expired queries before calling. Every 256th call also purges expired nonces.
 *
 * Throws INVALID_ARGUMENT unless `nonceHex` is 16 to 64 bytes of lower-case hex and `expiresAtMs` an integer.
 */
export function rememberNonce(db: Database, nonceHex: string, expiresAtMs: number, nowMs: number): boolean {
  if (!NONCE_HEX.test(nonceHex)) {
    throw new FedlabError('INVALID_ARGUMENT', 'a nonce must be 16 to 64 bytes of lower-case hex');
  }
  if (!Number.isSafeInteger(expiresAtMs)) {
    throw new FedlabError('INVALID_ARGUMENT', 'a nonce expiry must be an integer number of milliseconds');
  }
  const count = (calls.get(db) ?? 0) + 1;
  calls.set(db, count);
  if (count % PURGE_EVERY_CALLS === 0) purgeExpiredNonces(db, nowMs);
  const { changes } = db
    .prepare(
      `INSERT INTO fedlab_nonces (nonce_hex, expires_at_ms) VALUES (?, ?)
       ON CONFLICT (nonce_hex) DO UPDATE SET expires_at_ms = excluded.expires_at_ms
       WHERE fedlab_nonces.expires_at_ms <= ?`,
    )
    .run(nonceHex, expiresAtMs, nowMs);
  return changes === 1;
}

/** Deletes the nonces that expired at or before `nowMs`; returns how many were deleted. */
export function purgeExpiredNonces(db: Database, nowMs: number): number {
  return db.prepare('DELETE FROM fedlab_nonces WHERE expires_at_ms <= ?').run(nowMs).changes;
}
