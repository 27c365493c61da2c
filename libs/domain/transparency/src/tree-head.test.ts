import { describe, expect, it } from 'vitest';
import { ENCODED_TREE_HEAD_BYTES, encodeTreeHead } from './index';

const ROOT = new Uint8Array(Buffer.from('5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328', 'hex'));

describe('encodeTreeHead', () => {
  it('lays out domain, size, timestamp and root in 62 fixed bytes', () => {
    const encoded = encodeTreeHead({ size: 8, timestampMs: 1_700_000_000_123, rootHash: ROOT });
    expect(ENCODED_TREE_HEAD_BYTES).toBe(62);
    expect(Buffer.from(encoded).toString('hex')).toBe(
      Buffer.from('fedlab/v1/sth\0').toString('hex') +
        '0000000000000008' +
        '0000018bcfe5687b' +
        '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
    );
  });

  it('encodes sizes and timestamps up to 2^53 - 1 exactly', () => {
    const encoded = encodeTreeHead({ size: Number.MAX_SAFE_INTEGER, timestampMs: 0, rootHash: ROOT });
    expect(Buffer.from(encoded.subarray(14, 30)).toString('hex')).toBe('001fffffffffffff0000000000000000');
  });

  it('refuses sizes, timestamps and roots it cannot encode', () => {
    const head = { size: 1, timestampMs: 1, rootHash: ROOT };
    for (const size of [-1, 1.5, 2 ** 53]) {
      expect(() => encodeTreeHead({ ...head, size })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'a tree head size must be a non-negative integer' }),
      );
    }
    expect(() => encodeTreeHead({ ...head, timestampMs: -5 })).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: 'a tree head timestamp must be a non-negative integer of milliseconds',
      }),
    );
    expect(() => encodeTreeHead({ ...head, rootHash: ROOT.subarray(1) })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'a tree head root hash must be 32 bytes' }),
    );
  });
});
