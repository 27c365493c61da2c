import { describe, expect } from 'vitest';
import { openDatabase } from './database';
import { NODE_MIGRATIONS } from './node-schema';
import { purgeExpiredNonces, rememberNonce } from './nonce-store';
import { test } from '@fedlab/test-kit';

const NONCE = '00112233445566778899aabbccddeeff';
const OTHER = 'ffeeddccbbaa99887766554433221100';

describe('rememberNonce', () => {
  test('accepts a nonce once and refuses its replay until it expires', ({ nodeDb: db }) => {
    expect(rememberNonce(db, NONCE, 2000, 1000)).toBe(true);
    expect(rememberNonce(db, NONCE, 2000, 1500)).toBe(false);
    expect(rememberNonce(db, OTHER, 2000, 1500)).toBe(true);
    expect(rememberNonce(db, NONCE, 3000, 2000)).toBe(true);
    expect(rememberNonce(db, NONCE, 3000, 2999)).toBe(false);
  });

  test('remembers nonces across connections', ({ nodeDb: db, nodeDbFile: dbFile }) => {
    expect(rememberNonce(db, NONCE, 2000, 1000)).toBe(true);
    db.close();
    const reopened = openDatabase(dbFile, NODE_MIGRATIONS);
    expect(rememberNonce(reopened, NONCE, 2000, 1000)).toBe(false);
    reopened.close();
  });

  test('refuses malformed nonces and expiries', ({ nodeDb: db }) => {
    for (const bad of ['', 'abc', NONCE.toUpperCase(), NONCE.slice(2), 'zz'.repeat(16), 'ab'.repeat(65)]) {
      expect(() => rememberNonce(db, bad, 2000, 1000)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'a nonce must be 16 to 64 bytes of lower-case hex' }),
      );
    }
    expect(() => rememberNonce(db, NONCE, 1.5, 1000)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  test('purges expired nonces every 256 calls', ({ nodeDb: db }) => {
    rememberNonce(db, NONCE, 2000, 1000);
    for (let i = 0; i < 254; i++) rememberNonce(db, i.toString(16).padStart(32, '0'), 10_000, 1000);
    expect(db.prepare('SELECT count(*) FROM fedlab_nonces').pluck().get()).toBe(255);
    rememberNonce(db, OTHER, 10_000, 5000);
    expect(db.prepare('SELECT count(*) FROM fedlab_nonces WHERE nonce_hex = ?').pluck().get(NONCE)).toBe(0);
    expect(db.prepare('SELECT count(*) FROM fedlab_nonces').pluck().get()).toBe(255);
  });
});

describe('purgeExpiredNonces', () => {
  test('deletes exactly the nonces expired at the given time', ({ nodeDb: db }) => {
    rememberNonce(db, NONCE, 2000, 1000);
    rememberNonce(db, OTHER, 3000, 1000);
    expect(purgeExpiredNonces(db, 2000)).toBe(1);
    expect(db.prepare('SELECT nonce_hex FROM fedlab_nonces').pluck().all()).toEqual([OTHER]);
  });
});
