import { FedlabError } from '@fedlab/model';
import { NATIVE_RISTRETTO_ADDON, requireNativeAddon } from './ristretto-pool';
import { sodium } from './sodium';

/**
 * Which libsodium computes Ed25519 signatures (DESIGN.md §4): `native` is the system's libsodium through
 * the addon in libs/adapters/crypto/native (the one the private intersection-sum uses; about twice as
 * fast as WebAssembly), `wasm` is libsodium's WebAssembly build, and `auto` (the default) uses the native
 * one wherever it loads. Both run libsodium's crypto_sign_ed25519_detached and
 * crypto_sign_ed25519_verify_detached: Ed25519 signatures are deterministic, so both give the same bytes,
 * and both refuse the same malformed keys and signatures (signature-backend.test.ts).
 */
export type SignatureBackend = 'auto' | 'native' | 'wasm';

/** The backend in use, its libsodium version, and why `auto` fell back to WebAssembly. */
export interface SignatureBackendInfo {
  name: 'native' | 'wasm';
  version: string;
  fallbackReason?: string;
}

/** The Ed25519 primitives over raw messages (the context framing is signing.ts's). */
export interface Ed25519 {
  /** A 64-byte detached signature of `message` by a 64-byte secret key. */
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** Whether `signature` (64 bytes) is `publicKey`'s (32 bytes) over `message`; false for anything malformed. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

interface NativeAddon {
  signDetached(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  verifyDetached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  version(): string;
}

/** libsodium's WebAssembly build (needs {@link initCrypto} first). */
export const WASM_ED25519: Ed25519 = {
  sign: (message, secretKey) => sodium().crypto_sign_detached(message, secretKey),
  verify: (signature, message, publicKey) => {
    const s = sodium();
    if (signature.length !== s.crypto_sign_BYTES || publicKey.length !== s.crypto_sign_PUBLICKEYBYTES) return false;
    try {
      return s.crypto_sign_verify_detached(signature, message, publicKey);
    } catch {
      return false;
    }
  },
};

/** The system's libsodium through the native addon at `addonPath`, or why it does not load. */
export function loadNativeEd25519(addonPath = NATIVE_RISTRETTO_ADDON): { ed25519: Ed25519; version: string } | { reason: string } {
  const loaded = requireNativeAddon<NativeAddon>(addonPath);
  if (!('addon' in loaded)) return loaded;
  const { signDetached, verifyDetached, version } = loaded.addon;
  if (typeof signDetached !== 'function' || typeof verifyDetached !== 'function' || typeof version !== 'function') {
    return { reason: 'the native addon has no Ed25519 signatures (rebuild it: npm run build:native)' };
  }
  return {
    ed25519: { sign: (message, secretKey) => signDetached(message, secretKey), verify: (s, m, pk) => verifyDetached(s, m, pk) },
    version: version(),
  };
}

let current: { ed25519: Ed25519; info: SignatureBackendInfo } | undefined;

/**
 * Chooses the signature backend for this process (`auto` unless told otherwise; `addonPath` lets tests
 * point at a missing addon). `native` throws CONFIG_INVALID when the native addon does not load.
 */
export function useSignatureBackend(backend: SignatureBackend = 'auto', addonPath = NATIVE_RISTRETTO_ADDON): SignatureBackendInfo {
  if (backend === 'wasm') {
    current = { ed25519: WASM_ED25519, info: { name: 'wasm', version: sodium().sodium_version_string() } };
    return current.info;
  }
  const native = loadNativeEd25519(addonPath);
  if ('ed25519' in native) {
    current = { ed25519: native.ed25519, info: { name: 'native', version: native.version } };
  } else if (backend === 'native') {
    throw new FedlabError('CONFIG_INVALID', `the native Ed25519 backend does not load: ${native.reason}`);
  } else {
    current = { ed25519: WASM_ED25519, info: { name: 'wasm', version: sodium().sodium_version_string(), fallbackReason: native.reason } };
  }
  return current.info;
}

/** The backend signing.ts uses, chosen (`auto`) on first use. */
export function ed25519(): Ed25519 {
  if (current === undefined) useSignatureBackend('auto');
  return current!.ed25519;
}

/** Which backend signs and verifies in this process. */
export function signatureBackendInfo(): SignatureBackendInfo {
  if (current === undefined) useSignatureBackend('auto');
  return current!.info;
}
