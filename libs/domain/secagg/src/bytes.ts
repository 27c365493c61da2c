import { FedlabError } from '@fedlab/model';

const utf8 = new TextEncoder();

/**
 * Unambiguous concatenation: each part (UTF-8 for strings) is prefixed with its 4-byte big-endian
 * length, so `frame('ab', 'c')` and `frame('a', 'bc')` differ. Every signed, hashed or
 * authenticated byte string in the protocol is built with it.
 */
export function frame(...parts: readonly (Uint8Array | string)[]): Uint8Array {
  const bytes = parts.map((part) => (typeof part === 'string' ? utf8.encode(part) : part));
  const out = new Uint8Array(bytes.reduce((total, part) => total + 4 + part.length, 0));
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const part of bytes) {
    view.setUint32(offset, part.length);
    out.set(part, offset + 4);
    offset += 4 + part.length;
  }
  return out;
}

/** Splits what {@link frame} made; throws INVALID_ARGUMENT on a truncated or overlong encoding. */
export function unframe(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 4 > bytes.length) throw new FedlabError('INVALID_ARGUMENT', 'malformed framed bytes');
    const length = view.getUint32(offset);
    if (offset + 4 + length > bytes.length) throw new FedlabError('INVALID_ARGUMENT', 'malformed framed bytes');
    parts.push(bytes.slice(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return parts;
}

/** Whether this host stores 32-bit words little-endian (the wire order). */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** Little-endian bytes of a word vector (independent of the platform's byte order). */
export function wordsToBytes(words: Uint32Array): Uint8Array {
  // On a little-endian host the words' memory already is the wire layout: one copy.
  if (LITTLE_ENDIAN) return new Uint8Array(words.buffer.slice(words.byteOffset, words.byteOffset + words.byteLength));
  const out = new Uint8Array(words.length * 4);
  const view = new DataView(out.buffer);
  words.forEach((word, i) => view.setUint32(4 * i, word, true));
  return out;
}

/**
 * The little-endian bytes of a vector the caller hands over and no longer writes: on a little-endian host
 * its own memory, viewed without a copy; elsewhere {@link wordsToBytes}.
 */
export function wordsAsBytes(words: Uint32Array): Uint8Array {
  return LITTLE_ENDIAN ? new Uint8Array(words.buffer, words.byteOffset, words.byteLength) : wordsToBytes(words);
}

/** Inverse of {@link wordsToBytes}; the length must be a multiple of 4. */
export function bytesToWords(bytes: Uint8Array): Uint32Array {
  if (bytes.length % 4 !== 0) throw new FedlabError('INVALID_ARGUMENT', 'byte length is not a multiple of 4');
  // Copy into a fresh buffer: a Node Buffer's slice() is a view into a shared pool, not a copy.
  if (LITTLE_ENDIAN) return new Uint32Array(Uint8Array.prototype.slice.call(bytes).buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Uint32Array.from({ length: bytes.length / 4 }, (_, i) => view.getUint32(4 * i, true));
}

/** Byte-wise equality (not constant time: used for public values only). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** Lower-case hex, for using public keys as map keys. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
