import { describe, expect, test } from 'vitest';
import { Utf8Validator } from './utf8-validator';

function validate(...chunks: number[][]) {
  const validator = new Utf8Validator();
  for (const chunk of chunks) {
    const error = validator.push(Uint8Array.from(chunk));
    if (error !== undefined) return error;
  }
  return validator.end();
}

describe('Utf8Validator', () => {
  test('accepts every valid sequence length, also split across chunks', () => {
    const bytes = [...Buffer.from('a\né\n✓\n𝄞\n')];
    expect(validate(bytes)).toBeUndefined();
    for (let cut = 1; cut < bytes.length; cut++) expect(validate(bytes.slice(0, cut), bytes.slice(cut))).toBeUndefined();
  });

  test.each([
    ['a lone continuation byte', [0x80]],
    ['an overlong encoding', [0xc0, 0x80]],
    ['an overlong three-byte encoding', [0xe0, 0x80, 0x80]],
    ['a UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['a byte that never occurs', [0xff]],
    ['a lead byte followed by ASCII', [0xe9, 0x41]],
    ['a three-byte sequence cut short', [0xe2, 0x9c]],
  ])('rejects %s at its line', (_case, bytes) => {
    expect(validate([0x61, 0x0a, 0x62, 0x0a, 0x63, ...bytes, 0x0a])).toEqual({ line: 3, lineStart: 4 });
  });

  test('reports a sequence broken by a newline at the line where it starts', () => {
    expect(validate([0x61, 0x0a, 0xe9], [0x0a, 0x62])).toEqual({ line: 2, lineStart: 2 });
  });
});
