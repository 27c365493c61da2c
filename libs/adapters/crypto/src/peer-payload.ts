import { randomBytes } from 'node:crypto';
import { FedlabError } from '@fedlab/model';
import type { Identity, PublicIdentity } from '@fedlab/governance';
import { blake2b, signDetached, verifyDetached } from './signing';
import { sodium } from './sodium';

const SIGNATURE_BYTES = 64;

/** How many peers' shared keys are kept per own key (a node or client talks to a few dozen peers). */
const SHARED_KEYS_KEPT = 1024;
const sharedKeys = new WeakMap<Uint8Array, Map<string, Uint8Array>>();

/**
 * crypto_box's precomputed key of an own X25519 secret key and a peer's public key (beforenm: the X25519
 * agreement, the costly part of crypto_box, ~160 µs in WebAssembly), computed once per pair and kept in
 * memory beside the secret key it derives from. `crypto_box_…_easy(m, n, pk, sk)` is by definition
 * `crypto_box_…_easy_afternm(m, n, beforenm(pk, sk))`: the same bytes. Throws where beforenm refuses the
 * peer's key (a low-order point).
 */
function sharedKey(ownSecretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  let keys = sharedKeys.get(ownSecretKey);
  if (keys === undefined) {
    keys = new Map();
    sharedKeys.set(ownSecretKey, keys);
  }
  const peer = Buffer.from(peerPublicKey).toString('hex');
  let key = keys.get(peer);
  if (key === undefined) {
    key = sodium().crypto_box_curve25519xchacha20poly1305_beforenm(peerPublicKey, ownSecretKey);
    if (keys.size >= SHARED_KEYS_KEPT) keys.clear();
    keys.set(peer, key);
  }
  return key;
}

/**
 * Seals a node-to-node payload that the coordinator relays (DESIGN.md §4): an Ed25519 signature
 * (context "fedlab/v1/peer-payload") over the header and the BLAKE2b-256 digest of the payload, then
 * `signature ‖ payload` encrypted to the recipient with crypto_box (X25519 + XChaCha20-Poly1305,
 * authenticated to the sender's X25519 key). The result is `nonce ‖ ciphertext`. The header names
 * the query, run, step, sender and recipient, so a payload cannot be replayed into another step.
 */
export function sealForPeer(sender: Identity, recipient: PublicIdentity, header: Uint8Array, payload: Uint8Array): Uint8Array {
  const s = sodium();
  const signature = signDetached('peer-payload', Buffer.concat([header, blake2b(payload, 32)]), sender.signSecretKey);
  const nonce = new Uint8Array(randomBytes(s.crypto_box_curve25519xchacha20poly1305_NONCEBYTES));
  const plaintext = new Uint8Array(SIGNATURE_BYTES + payload.length);
  plaintext.set(signature, 0);
  plaintext.set(payload, SIGNATURE_BYTES);
  const ciphertext = s.crypto_box_curve25519xchacha20poly1305_easy_afternm(plaintext, nonce, sharedKey(sender.boxSecretKey, recipient.boxPublicKey));
  return Buffer.concat([nonce, ciphertext]);
}

/**
 * Opens what {@link sealForPeer} made.
 *
 * @throws FedlabError PAYLOAD_NOT_FOR_THIS_NODE when it does not decrypt with this node's key and the
 *   sender's (encrypted to another node, or altered); SIGNATURE_INVALID when the sender's signature
 *   does not cover this header and payload.
 */
export function openFromPeer(recipient: Identity, sender: PublicIdentity, header: Uint8Array, sealed: Uint8Array): Uint8Array {
  const s = sodium();
  const nonceBytes = s.crypto_box_curve25519xchacha20poly1305_NONCEBYTES;
  let plaintext: Uint8Array;
  try {
    if (sealed.length < nonceBytes + s.crypto_box_curve25519xchacha20poly1305_MACBYTES + SIGNATURE_BYTES) throw new Error('short');
    plaintext = s.crypto_box_curve25519xchacha20poly1305_open_easy_afternm(
      sealed.subarray(nonceBytes),
      sealed.subarray(0, nonceBytes),
      sharedKey(recipient.boxSecretKey, sender.boxPublicKey),
    );
  } catch {
    throw new FedlabError(
      'PAYLOAD_NOT_FOR_THIS_NODE',
      `the payload from "${sender.id}" could not be decrypted by this node: it is encrypted to another node, or was altered`,
    );
  }
  const payload = plaintext.subarray(SIGNATURE_BYTES);
  if (!verifyDetached('peer-payload', Buffer.concat([header, blake2b(payload, 32)]), plaintext.subarray(0, SIGNATURE_BYTES), sender.signPublicKey)) {
    throw new FedlabError('SIGNATURE_INVALID', `the payload from "${sender.id}" is not signed by it for this step`);
  }
  return payload;
}
