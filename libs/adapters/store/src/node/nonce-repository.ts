import { FedlabError } from '@fedlab/model';
import type { Database } from '../database';

const NONCE_HEX = /^(?:[0-9a-f]{2}){16,64}$/;
const PURGE_EVERY_CALLS = 256;

/** Query nonces already seen (`fedlab_nonces`, the replay store), each kept until its query expires. */
export class NonceRepository {
  readonly #seen;
  readonly #remember;
  readonly #purge;
  #calls = 0;

  constructor(db: Database) {
    this.#seen = db.prepare<[string, number]>('SELECT 1 FROM fedlab_nonces WHERE nonce_hex = ? AND expires_at_ms > ?').pluck();
    this.#remember = db.prepare<[string, number, number]>(
      `INSERT INTO fedlab_nonces (nonce_hex, expires_at_ms) VALUES (?, ?)
       ON CONFLICT (nonce_hex) DO UPDATE SET expires_at_ms = excluded.expires_at_ms
       WHERE fedlab_nonces.expires_at_ms <= ?`,
    );
    this.#purge = db.prepare<[number]>('DELETE FROM fedlab_nonces WHERE expires_at_ms <= ?');
  }

  /** Whether `nonceHex` was remembered and has not expired at `nowMs`. */
  seen(nonceHex: string, nowMs: number): boolean {
    return this.#seen.get(nonceHex, nowMs) !== undefined;
  }

  /**
   * Remembers a query nonce until `expiresAtMs` (the query's expiry). Returns true the first time a nonce is
   * seen and false for a replay of a nonce that has not expired yet; the check and insert are one statement,
   * so two concurrent callers cannot both get true. A nonce past its expiry counts as unseen, so callers must
   * refuse expired queries before calling. Every 256th call also purges expired nonces.
   *
   * Throws INVALID_ARGUMENT unless `nonceHex` is 16 to 64 bytes of lower-case hex and `expiresAtMs` an integer.
   */
  remember(nonceHex: string, expiresAtMs: number, nowMs: number): boolean {
    if (!NONCE_HEX.test(nonceHex)) {
      throw new FedlabError('INVALID_ARGUMENT', 'a nonce must be 16 to 64 bytes of lower-case hex');
    }
    if (!Number.isSafeInteger(expiresAtMs)) {
      throw new FedlabError('INVALID_ARGUMENT', 'a nonce expiry must be an integer number of milliseconds');
    }
    this.#calls += 1;
    if (this.#calls % PURGE_EVERY_CALLS === 0) this.purgeExpired(nowMs);
    return this.#remember.run(nonceHex, expiresAtMs, nowMs).changes === 1;
  }

  /** Deletes the nonces that expired at or before `nowMs`; returns how many were deleted. */
  purgeExpired(nowMs: number): number {
    return this.#purge.run(nowMs).changes;
  }
}
