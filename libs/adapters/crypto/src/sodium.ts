import _sodium from 'libsodium-wrappers-sumo';

let ready: Promise<typeof _sodium> | undefined;

/** Resolves once libsodium's WebAssembly module is loaded; every other export needs it first. */
export function initCrypto(): Promise<typeof _sodium> {
  ready ??= _sodium.ready.then(() => _sodium);
  return ready;
}

/** The loaded libsodium instance; throws when {@link initCrypto} has not completed. */
export function sodium(): typeof _sodium {
  if (!_sodium.crypto_sign_BYTES) throw new Error('libsodium is not initialised: await initCrypto() first');
  return _sodium;
}
