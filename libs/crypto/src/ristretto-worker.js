'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a plain CommonJS worker, loaded without the TypeScript loader */
// Worker thread of the ristretto255 pool (see psi-engine.ts): batch hashing, blinding, validation and
// ElGamal encryption with libsodium. Plain JavaScript so it loads without the TypeScript loader.
const { parentPort } = require('node:worker_threads');
const { randomBytes } = require('node:crypto');
const _sodium = require('libsodium-wrappers-sumo');

const POINT = 32;
const KEY_DOMAIN = Buffer.from('fedlab/v1/psi-key\0', 'utf8');
let s;
const identity = (bytes, offset) => {
  for (let i = 0; i < POINT; i += 1) if (bytes[offset + i] !== 0) return false;
  return true;
};
const isValid = (bytes, offset) => !identity(bytes, offset) && s.crypto_core_ristretto255_is_valid_point(bytes.subarray(offset, offset + POINT));

function randomScalar() {
  for (;;) {
    const scalar = s.crypto_core_ristretto255_scalar_reduce(randomBytes(64));
    if (scalar.some((b) => b !== 0)) return scalar;
  }
}

function smallScalar(m) {
  const scalar = new Uint8Array(32);
  let v = m;
  for (let i = 0; i < 6 && v > 0; i += 1) {
    scalar[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return scalar;
}

const multiples = new Map();
function multipleOfBase(m) {
  let point = multiples.get(m);
  if (!point) {
    point = s.crypto_scalarmult_ristretto255_base(smallScalar(m));
    if (multiples.size < 65536) multiples.set(m, point);
  }
  return point;
}

class InvalidPoint extends Error {
  constructor(index) {
    super('invalid point');
    this.index = index;
  }
}

const operations = {
  hashBlind({ sessionId, passNames, tuples, scalar }) {
    const width = passNames.length;
    const out = new Uint8Array(tuples.length * width * POINT);
    const prefixes = passNames.map((name) => Buffer.concat([KEY_DOMAIN, Buffer.from(sessionId), Buffer.from(`${name}\0`, 'utf8')]));
    for (let i = 0; i < tuples.length; i += 1) {
      for (let p = 0; p < width; p += 1) {
        const key = tuples[i][p];
        const digest = key === null || key === undefined ? randomBytes(64) : s.crypto_generichash(64, Buffer.concat([prefixes[p], Buffer.from(key, 'utf8')]), null);
        out.set(s.crypto_scalarmult_ristretto255(scalar, s.crypto_core_ristretto255_from_hash(digest)), (i * width + p) * POINT);
      }
    }
    return out;
  },
  blind({ points, scalar, first }) {
    const count = points.length / POINT;
    const out = new Uint8Array(points.length);
    for (let i = 0; i < count; i += 1) {
      if (!isValid(points, i * POINT)) throw new InvalidPoint(first + i);
      out.set(s.crypto_scalarmult_ristretto255(scalar, points.subarray(i * POINT, (i + 1) * POINT)), i * POINT);
    }
    return out;
  },
  validate({ points, first }) {
    const count = points.length / POINT;
    for (let i = 0; i < count; i += 1) if (!isValid(points, i * POINT)) throw new InvalidPoint(first + i);
    return new Uint8Array(0);
  },
  encrypt({ values, publicKeys }) {
    const width = publicKeys.length;
    const count = values.length / width;
    const out = new Uint8Array(count * (1 + width) * POINT);
    for (let i = 0; i < count; i += 1) {
      const r = randomScalar();
      const base = i * (1 + width) * POINT;
      out.set(s.crypto_scalarmult_ristretto255_base(r), base);
      for (let e = 0; e < width; e += 1) {
        const m = values[i * width + e];
        let c2 = s.crypto_scalarmult_ristretto255(r, publicKeys[e]);
        // m = 0 has no m·G (libsodium refuses the zero scalar): the entry is r·pk alone.
        if (m !== 0) c2 = s.crypto_core_ristretto255_add(c2, multipleOfBase(m));
        out.set(c2, base + (1 + e) * POINT);
      }
    }
    return out;
  },
};

parentPort.on('message', async ({ id, op, args }) => {
  try {
    if (!s) {
      await _sodium.ready;
      s = _sodium;
    }
    const result = operations[op](args);
    parentPort.postMessage({ id, result }, [result.buffer]);
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof InvalidPoint ? { invalidPoint: error.index } : { message: String(error && error.message) } });
  }
});
