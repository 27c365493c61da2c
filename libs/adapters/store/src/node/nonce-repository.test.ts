import { describe, expect } from 'vitest';
import { openDatabase } from '../database';
import { NODE_MIGRATIONS } from '../node-schema';
import { test } from '@fedlab/test-kit';
import { NonceRepository } from './nonce-repository';

const NONCE = '00112233445566778899aabbccddeeff';
const OTHER = 'ffeeddccbbaa99887766554433221100';

describe('NonceRepository.remember', () => {
  test('accepts a nonce once and refuses its replay until it expires', ({ nodeDb: db }) => {
    const nonces = new NonceRepository(db);
    expect(nonces.remember(NONCE, 2000, 1000)).toBe(true);
    expect(nonces.remember(NONCE, 2000, 1500)).toBe(false);
    expect(nonces.remember(OTHER, 2000, 1500)).toBe(true);
    expect(nonces.remember(NONCE, 3000, 2000)).toBe(true);
    expect(nonces.remember(NONCE, 3000, 2999)).toBe(false);
  });

  test('remembers nonces across connections', ({ nodeDb: db, nodeDbFile: dbFile }) => {
    expect(new NonceRepository(db).remember(NONCE, 2000, 1000)).toBe(true);
    db.close();
    const reopened = openDatabase(dbFile, NODE_MIGRATIONS);
    expect(new NonceRepository(reopened).remember(NONCE, 2000, 1000)).toBe(false);
    reopened.close();
  });

  test('refuses malformed nonces and expiries', ({ nodeDb: db }) => {
    const nonces = new NonceRepository(db);
    for (const bad of ['', 'abc', NONCE.toUpperCase(), NONCE.slice(2), 'zz'.repeat(16), 'ab'.repeat(65)]) {
      expect(() => nonces.remember(bad, 2000, 1000)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'a nonce must be 16 to 64 bytes of lower-case hex' }),
      );
    }
    expect(() => nonces.remember(NONCE, 1.5, 1000)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  test('purges expired nonces every 256 calls', ({ nodeDb: db }) => {
    const nonces = new NonceRepository(db);
    nonces.remember(NONCE, 2000, 1000);
    for (let i = 0; i < 254; i++) nonces.remember(i.toString(16).padStart(32, '0'), 10_000, 1000);
    expect(db.prepare('SELECT count(*) FROM fedlab_nonces').pluck().get()).toBe(255);
    nonces.remember(OTHER, 10_000, 5000);
    expect(db.prepare('SELECT count(*) FROM fedlab_nonces WHERE nonce_hex = ?').pluck().get(NONCE)).toBe(0);
    expect(db.prepare('SELECT count(*) FROM fedlab_nonces').pluck().get()).toBe(255);
  });
});

describe('NonceRepository.seen', () => {
  test('sees a remembered nonce until its expiry, and an expired one no more', ({ nodeDb: db }) => {
    const nonces = new NonceRepository(db);
    expect(nonces.seen(NONCE, 1000)).toBe(false);
    nonces.remember(NONCE, 2000, 1000);
    expect(nonces.seen(NONCE, 1999)).toBe(true);
    expect(nonces.seen(NONCE, 2000)).toBe(false);
    expect(nonces.seen(OTHER, 1000)).toBe(false);
  });
});

describe('NonceRepository.purgeExpired', () => {
  test('deletes exactly the nonces expired at the given time', ({ nodeDb: db }) => {
    const nonces = new NonceRepository(db);
    nonces.remember(NONCE, 2000, 1000);
    nonces.remember(OTHER, 3000, 1000);
    expect(nonces.purgeExpired(2000)).toBe(1);
    expect(db.prepare('SELECT nonce_hex FROM fedlab_nonces').pluck().all()).toEqual([OTHER]);
  });
});
