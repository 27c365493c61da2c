'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a plain CommonJS worker, loaded without the TypeScript loader */
// Worker thread of the ristretto255 pool (see ristretto-pool.ts and psi-engine.ts): batch hashing,
// blinding, validation and ElGamal encryption. The group operations run on one of two backends with
// the same batch interface, both libsodium: the native addon (libs/adapters/crypto/native, the system's
// libsodium) or libsodium's WebAssembly build. Hashing and randomness come from node:crypto here,
// for both. Plain JavaScript so it loads without the TypeScript loader.
const path = require('node:path');
const { parentPort, workerData } = require('node:worker_threads');
const { createHash, randomBytes } = require('node:crypto');

const POINT = 32;
const DIGEST = 64;
const KEY_DOMAIN = Buffer.from('fedlab/v1/psi-key\0', 'utf8');
/** The native addon (at the path the pool gives, NATIVE_RISTRETTO_ADDON), or the reason it cannot be used. */
function loadNative(file) {
  try {
    const addon = require(file);
    return { backend: { ...addon, name: 'native', version: addon.version() } };
  } catch (error) {
    // The loader's message names the file by its full path; the reason travels to the coordinator in a
    // refusal, so it names the file only.
    const message = String(error && error.message)
      .split(file)
      .join(path.basename(file));
    const reason = error && error.code === 'MODULE_NOT_FOUND' ? 'the addon is not built (npm run build:native)' : message;
    return { reason };
  }
}

/**
 * The same batch operations on libsodium's WebAssembly build. Each returns -1, or the index of the
 * first item that failed (an invalid or identity element received, a zero scalar drawn).
 */
async function loadWasm() {
  const sodium = require('libsodium-wrappers-sumo');
  await sodium.ready;
  const s = sodium;
  const at = (bytes, i, size) => bytes.subarray(i * size, (i + 1) * size);
  const isValid = (p) => p.some((b) => b !== 0) && s.crypto_core_ristretto255_is_valid_point(p);
  // m·G, looked up in a table that lives for one batch (as in the addon: it tells which values occur).
  const multipleOfBase = (multiples, m) => {
    let point = multiples.get(m);
    if (!point) {
      const scalar = new Uint8Array(POINT);
      new DataView(scalar.buffer).setUint32(0, m, true);
      point = s.crypto_scalarmult_ristretto255_base(scalar);
      if (multiples.size < 65536) multiples.set(m, point);
    }
    return point;
  };
  // libsodium-wrappers throws where the C function returns -1.
  const attempt = (fn) => {
    try {
      return fn();
    } catch {
      return undefined;
    }
  };
  return {
    name: 'wasm',
    version: s.sodium_version_string(),
    hashBlind(digests, scalar, out) {
      for (let i = 0; i < digests.length / DIGEST; i += 1) {
        const point = attempt(() => s.crypto_scalarmult_ristretto255(scalar, s.crypto_core_ristretto255_from_hash(at(digests, i, DIGEST))));
        if (!point) return i;
        out.set(point, i * POINT);
      }
      return -1;
    },
    blind(points, scalar, out) {
      for (let i = 0; i < points.length / POINT; i += 1) {
        const point = isValid(at(points, i, POINT)) ? attempt(() => s.crypto_scalarmult_ristretto255(scalar, at(points, i, POINT))) : undefined;
        if (!point) return i;
        out.set(point, i * POINT);
      }
      return -1;
    },
    validate(points) {
      for (let i = 0; i < points.length / POINT; i += 1) if (!isValid(at(points, i, POINT))) return i;
      return -1;
    },
    encrypt(values, keys, randomness, out) {
      const width = keys.length / POINT;
      const count = width === 0 ? 0 : values.length / width;
      // The same refusals as the native addon's.
      if (
        width === 0 ||
        !Number.isInteger(width) ||
        !Number.isInteger(count) ||
        randomness.length !== count * DIGEST ||
        out.length !== count * (1 + width) * POINT
      ) {
        throw new RangeError('encrypt: wrong buffer sizes');
      }
      for (let e = 0; e < width; e += 1) if (!isValid(at(keys, e, POINT))) throw new RangeError('encrypt: a public key is not a valid ristretto255 element');
      const multiples = new Map();
      for (let i = 0; i < count; i += 1) {
        const r = s.crypto_core_ristretto255_scalar_reduce(at(randomness, i, DIGEST));
        if (!r.some((b) => b !== 0)) return i;
        const base = i * (1 + width) * POINT;
        out.set(s.crypto_scalarmult_ristretto255_base(r), base);
        for (let e = 0; e < width; e += 1) {
          const m = values[i * width + e];
          let c2 = attempt(() => s.crypto_scalarmult_ristretto255(r, at(keys, e, POINT)));
          if (!c2) return i;
          // m = 0 has no m·G (libsodium refuses the zero scalar): the entry is r·pk alone.
          if (m !== 0) c2 = s.crypto_core_ristretto255_add(c2, multipleOfBase(multiples, m));
          out.set(c2, base + (1 + e) * POINT);
        }
      }
      return -1;
    },
  };
}

/** Chooses the backend: 'native' and 'wasm' insist on one, 'auto' prefers native. */
async function loadBackend(wanted, nativeAddon) {
  if (wanted === 'wasm') return loadWasm();
  const native = loadNative(nativeAddon);
  if (native.backend) return native.backend;
  if (wanted === 'native') throw new BackendUnavailable(`FEDLAB_PSI_BACKEND is native, but the native ristretto255 backend does not load: ${native.reason}`);
  // auto: fall back, and say why (the node logs it).
  return { ...(await loadWasm()), fallbackReason: native.reason };
}

class BackendUnavailable extends Error {}

class InvalidPoint extends Error {
  constructor(index) {
    super('invalid point');
    this.index = index;
  }
}

/** Runs a batch; maps a failed received element to InvalidPoint(first + index). */
function checked(failedAt, first) {
  if (failedAt >= 0) throw new InvalidPoint(first + failedAt);
}

/** A batch that cannot fail on valid input (our own hashes, our own fresh randomness). */
function certain(failedAt, what) {
  if (failedAt >= 0) throw new Error(`${what} failed at item ${failedAt}`);
}

const operations = {
  info(_args, backend) {
    return new TextEncoder().encode(
      JSON.stringify({ name: backend.name, version: backend.version, ...(backend.fallbackReason ? { fallbackReason: backend.fallbackReason } : {}) }),
    );
  },
  hashBlind({ sessionId, passNames, tuples, scalar }, backend) {
    const width = passNames.length;
    const digests = new Uint8Array(tuples.length * width * DIGEST);
    const prefixes = passNames.map((name) => Buffer.concat([KEY_DOMAIN, Buffer.from(sessionId), Buffer.from(`${name}\0`, 'utf8')]));
    for (let i = 0; i < tuples.length; i += 1) {
      for (let p = 0; p < width; p += 1) {
        const key = tuples[i][p];
        // H(x) = from_hash(BLAKE2b-512(domain ‖ session ‖ pass ‖ x)); a missing key becomes a random element.
        const digest = key === null || key === undefined ? randomBytes(DIGEST) : createHash('blake2b512').update(prefixes[p]).update(key, 'utf8').digest();
        digests.set(digest, (i * width + p) * DIGEST);
      }
    }
    const out = new Uint8Array(tuples.length * width * POINT);
    try {
      certain(backend.hashBlind(digests, scalar, out), 'hashing to the group');
    } finally {
      // The digests are H's preimage side: an unblinded hash of every identifier.
      digests.fill(0);
    }
    return out;
  },
  blind({ points, scalar, first }, backend) {
    const out = new Uint8Array(points.length);
    checked(backend.blind(points, scalar, out), first);
    return out;
  },
  validate({ points, first }, backend) {
    checked(backend.validate(points), first);
    return new Uint8Array(0);
  },
  encrypt({ values, publicKeys }, backend) {
    const width = publicKeys.length;
    const count = values.length / width;
    const keys = new Uint8Array(width * POINT);
    publicKeys.forEach((key, e) => keys.set(key, e * POINT));
    const out = new Uint8Array(count * (1 + width) * POINT);
    const plain = Uint32Array.from(values);
    values.fill(0);
    // A zero scalar (probability 2^-252) or a failed operation: draw fresh randomness and retry once.
    // The randomness determines r, and r decrypts the vector: it is wiped after use, as are the values.
    try {
      for (let attempt = 0; ; attempt += 1) {
        const randomness = randomBytes(count * DIGEST);
        try {
          const failedAt = backend.encrypt(plain, keys, randomness, out);
          if (failedAt < 0) return out;
          if (attempt === 1) certain(failedAt, 'encryption');
        } finally {
          randomness.fill(0);
        }
      }
    } finally {
      plain.fill(0);
    }
  },
};

const backendReady = loadBackend(workerData.backend, workerData.nativeAddon);
// A backend that fails to load is reported with the first message, not as an unhandled rejection.
backendReady.catch(() => undefined);

parentPort.on('message', async ({ id, op, args }) => {
  try {
    const backend = await backendReady;
    const result = operations[op](args, backend);
    parentPort.postMessage({ id, result }, [result.buffer]);
  } catch (error) {
    const reported =
      error instanceof InvalidPoint
        ? { invalidPoint: error.index }
        : error instanceof BackendUnavailable
          ? { backendUnavailable: error.message }
          : { message: String(error && error.message) };
    parentPort.postMessage({ id, error: reported });
  }
});
