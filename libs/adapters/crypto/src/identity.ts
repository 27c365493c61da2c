import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { FedlabError } from '@fedlab/model';
import { PARTICIPANT_ROLES, type Identity, type ParticipantRole } from '@fedlab/governance';
import { sodium } from './sodium';

/** Creates a fresh identity from 32-byte seeds drawn from node:crypto. */
export function generateIdentity(id: string, role: ParticipantRole, displayName = id): Identity {
  const s = sodium();
  const sign = s.crypto_sign_seed_keypair(new Uint8Array(randomBytes(32)));
  const box = s.crypto_box_seed_keypair(new Uint8Array(randomBytes(32)));
  return {
    id,
    role,
    displayName,
    signPublicKey: sign.publicKey,
    signSecretKey: sign.privateKey,
    boxPublicKey: box.publicKey,
    boxSecretKey: box.privateKey,
  };
}

interface KeyFileSecrets {
  signSecretKey: string;
  boxSecretKey: string;
}

interface KeyFile {
  fedlabKeyFile: 1;
  id: string;
  role: ParticipantRole;
  displayName: string;
  signPublicKey: string;
  boxPublicKey: string;
  secrets?: KeyFileSecrets;
  encrypted?: { salt: string; nonce: string; ciphertext: string; opslimit: number; memlimit: number };
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const unb64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));

/**
 * Writes a key file with mode 0600. With a passphrase, the secret keys are sealed with
 * crypto_pwhash (Argon2id, interactive limits) + crypto_secretbox.
 */
export function writeKeyFile(path: string, identity: Identity, passphrase?: string): void {
  const s = sodium();
  const secrets: KeyFileSecrets = { signSecretKey: b64(identity.signSecretKey), boxSecretKey: b64(identity.boxSecretKey) };
  const file: KeyFile = {
    fedlabKeyFile: 1,
    id: identity.id,
    role: identity.role,
    displayName: identity.displayName,
    signPublicKey: b64(identity.signPublicKey),
    boxPublicKey: b64(identity.boxPublicKey),
  };
  if (passphrase !== undefined) {
    if (passphrase.length === 0) throw new FedlabError('INVALID_ARGUMENT', `${path}: the passphrase must not be empty`);
    const salt = new Uint8Array(randomBytes(s.crypto_pwhash_SALTBYTES));
    const nonce = new Uint8Array(randomBytes(s.crypto_secretbox_NONCEBYTES));
    const opslimit = s.crypto_pwhash_OPSLIMIT_INTERACTIVE;
    const memlimit = s.crypto_pwhash_MEMLIMIT_INTERACTIVE;
    const key = s.crypto_pwhash(s.crypto_secretbox_KEYBYTES, passphrase, salt, opslimit, memlimit, s.crypto_pwhash_ALG_ARGON2ID13);
    const ciphertext = s.crypto_secretbox_easy(Buffer.from(JSON.stringify(secrets)), nonce, key);
    file.encrypted = { salt: b64(salt), nonce: b64(nonce), ciphertext: b64(ciphertext), opslimit, memlimit };
  } else {
    file.secrets = secrets;
  }
  try {
    writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      throw new FedlabError('INVALID_ARGUMENT', `${path} already exists; refusing to overwrite a key file`);
    throw new FedlabError('KEY_FILE_INVALID', `${path}: cannot write the key file`);
  }
  chmodSync(path, 0o600);
}

/**
 * Reads a key file. Refuses files readable by group or others, and checks that the secret keys
 * match the public keys they are stored with. `passphraseSource` names where the passphrase came from
 * in a "wrong passphrase" message.
 */
export function readKeyFile(path: string, passphrase?: string, passphraseSource?: string): Identity {
  let raw: string;
  try {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) {
      throw new FedlabError('KEY_FILE_INVALID', `${path}: permissions ${mode.toString(8)} are too open; run chmod 600`);
    }
    raw = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof FedlabError) throw error;
    throw new FedlabError('KEY_FILE_INVALID', `${path}: cannot read key file`);
  }
  let file: KeyFile;
  try {
    file = JSON.parse(raw) as KeyFile;
  } catch {
    throw new FedlabError('KEY_FILE_INVALID', `${path}: not a fedlab key file (invalid JSON)`);
  }
  if (file === null || typeof file !== 'object' || file.fedlabKeyFile !== 1) throw new FedlabError('KEY_FILE_INVALID', `${path}: not a fedlab key file`);
  if (!PARTICIPANT_ROLES.includes(file.role)) throw new FedlabError('KEY_FILE_INVALID', `${path}: unknown role`);
  try {
    return identityFromKeyFile(path, file, passphrase, passphraseSource);
  } catch (error) {
    if (error instanceof FedlabError) throw error;
    throw new FedlabError('KEY_FILE_INVALID', `${path}: malformed key material`);
  }
}

function identityFromKeyFile(path: string, file: KeyFile, passphrase: string | undefined, passphraseSource: string | undefined): Identity {
  const s = sodium();
  let secrets = file.secrets;
  if (file.encrypted) {
    if (!passphrase) throw new FedlabError('KEY_FILE_INVALID', `${path}: key file is encrypted; a passphrase is required`);
    const e = file.encrypted;
    const key = s.crypto_pwhash(s.crypto_secretbox_KEYBYTES, passphrase, unb64(e.salt), e.opslimit, e.memlimit, s.crypto_pwhash_ALG_ARGON2ID13);
    try {
      secrets = JSON.parse(Buffer.from(s.crypto_secretbox_open_easy(unb64(e.ciphertext), unb64(e.nonce), key)).toString('utf8'));
    } catch {
      throw new FedlabError('KEY_FILE_INVALID', `${path}: wrong passphrase${passphraseSource ? ` (from ${passphraseSource})` : ''}`);
    }
  }
  if (!secrets) throw new FedlabError('KEY_FILE_INVALID', `${path}: key file has no secret keys`);
  const identity: Identity = {
    id: file.id,
    role: file.role,
    displayName: file.displayName ?? file.id,
    signPublicKey: unb64(file.signPublicKey),
    boxPublicKey: unb64(file.boxPublicKey),
    signSecretKey: unb64(secrets.signSecretKey),
    boxSecretKey: unb64(secrets.boxSecretKey),
  };
  // sk_to_pk only copies the stored half; re-derive from the seed to prove the halves belong together.
  const derivedSign = s.crypto_sign_seed_keypair(s.crypto_sign_ed25519_sk_to_seed(identity.signSecretKey)).publicKey;
  const derivedBox = s.crypto_scalarmult_base(identity.boxSecretKey);
  if (!Buffer.from(derivedSign).equals(Buffer.from(identity.signPublicKey)) || !Buffer.from(derivedBox).equals(Buffer.from(identity.boxPublicKey))) {
    throw new FedlabError('KEY_FILE_INVALID', `${path}: secret keys do not match the public keys`);
  }
  return identity;
}

/** Whether a key file holds its secret keys encrypted (false for anything readKeyFile will refuse anyway). */
export function keyFileIsEncrypted(path: string): boolean {
  try {
    const file = JSON.parse(readFileSync(path, 'utf8')) as Partial<KeyFile> | null;
    return typeof file === 'object' && file !== null && file.encrypted !== undefined;
  } catch {
    return false;
  }
}
