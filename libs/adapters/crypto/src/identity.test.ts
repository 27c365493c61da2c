import { chmodSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect } from 'vitest';
import { it } from '@fedlab/test-kit';
import { publicIdentityJson, type Identity } from '@fedlab/governance';
import { generateIdentity, readKeyFile, writeKeyFile } from './identity';
import { signDetached, verifyDetached } from './signing';
import { initCrypto, sodium } from './sodium';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function rewrite(file: string, edit: (json: Record<string, unknown>) => void): void {
  const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(json);
  writeFileSync(file, JSON.stringify(json));
}

let identity: Identity;

beforeAll(async () => {
  await initCrypto();
  identity = generateIdentity('node-a', 'node', 'Node A');
});

describe('generateIdentity', () => {
  it('keeps the id, role and display name it was given', () => {
    expect({ id: identity.id, role: identity.role, displayName: identity.displayName }).toEqual({
      id: 'node-a',
      role: 'node',
      displayName: 'Node A',
    });
  });

  it('uses the id as display name when none is given', () => {
    expect(generateIdentity('steward-1', 'steward').displayName).toBe('steward-1');
  });

  it('produces key lengths of 32/64 bytes for Ed25519 and 32/32 for X25519', () => {
    expect([identity.signPublicKey.length, identity.signSecretKey.length, identity.boxPublicKey.length, identity.boxSecretKey.length]).toEqual([
      32, 64, 32, 32,
    ]);
  });

  it('derives the Ed25519 public key from the seed of the signing secret key', () => {
    const seed = sodium().crypto_sign_ed25519_sk_to_seed(identity.signSecretKey);
    expect(hex(sodium().crypto_sign_seed_keypair(seed).publicKey)).toBe(hex(identity.signPublicKey));
  });

  it('derives the X25519 public key from the box secret key', () => {
    expect(hex(sodium().crypto_scalarmult_base(identity.boxSecretKey))).toBe(hex(identity.boxPublicKey));
  });

  it('produces a signing key pair whose signatures verify', () => {
    const message = new Uint8Array([1, 2, 3]);
    expect(verifyDetached('attach', message, signDetached('attach', message, identity.signSecretKey), identity.signPublicKey)).toBe(true);
  });

  it('produces different keys on every call', () => {
    const other = generateIdentity('node-a', 'node');
    expect(hex(other.signPublicKey)).not.toBe(hex(identity.signPublicKey));
    expect(hex(other.boxPublicKey)).not.toBe(hex(identity.boxPublicKey));
  });
});

describe('publicIdentityJson', () => {
  it('returns the roster entry with base64 keys and no secret keys', () => {
    expect(publicIdentityJson(identity)).toStrictEqual({
      id: 'node-a',
      role: 'node',
      display_name: 'Node A',
      sign_public_key: Buffer.from(identity.signPublicKey).toString('base64'),
      box_public_key: Buffer.from(identity.boxPublicKey).toString('base64'),
    });
  });
});

describe('writeKeyFile', () => {
  it('creates the file with mode 0600', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    writeKeyFile(file, identity);
    expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
  });

  it('creates an encrypted file with mode 0600', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    writeKeyFile(file, identity, 'correct horse');
    expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
  });

  it('refuses to overwrite an existing file and leaves it unchanged', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    writeFileSync(file, 'existing', { mode: 0o600 });
    expect(() => writeKeyFile(file, identity)).toThrowFedlabError('INVALID_ARGUMENT', `${file} already exists; refusing to overwrite a key file`);
    expect(readFileSync(file, 'utf8')).toBe('existing');
  });

  it('refuses to write into a folder that does not exist', ({ tempDir: dir }) => {
    const file = path.join(dir, 'missing', 'node.key');
    expect(() => writeKeyFile(file, identity)).toThrowFedlabError('KEY_FILE_INVALID', `${file}: cannot write the key file`);
  });

  it('stores the public keys and the secret keys in base64 when there is no passphrase', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    writeKeyFile(file, identity);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toStrictEqual({
      fedlabKeyFile: 1,
      id: 'node-a',
      role: 'node',
      displayName: 'Node A',
      signPublicKey: Buffer.from(identity.signPublicKey).toString('base64'),
      boxPublicKey: Buffer.from(identity.boxPublicKey).toString('base64'),
      secrets: {
        signSecretKey: Buffer.from(identity.signSecretKey).toString('base64'),
        boxSecretKey: Buffer.from(identity.boxSecretKey).toString('base64'),
      },
    });
  });

  it('stores no plaintext secret keys when a passphrase is given', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    writeKeyFile(file, identity, 'correct horse');
    const text = readFileSync(file, 'utf8');
    const json = JSON.parse(text) as Record<string, unknown>;
    expect(json.secrets).toBeUndefined();
    expect(Object.keys(json.encrypted as object).sort()).toEqual(['ciphertext', 'memlimit', 'nonce', 'opslimit', 'salt']);
    expect(text).not.toContain(Buffer.from(identity.signSecretKey).toString('base64'));
    expect(text).not.toContain(Buffer.from(identity.boxSecretKey).toString('base64'));
  });
});

describe('readKeyFile', () => {
  it('reads back exactly the identity that was written', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    writeKeyFile(file, identity);
    expect(readKeyFile(file)).toStrictEqual(identity);
  });

  it('reads back exactly the identity that was written with a passphrase', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    writeKeyFile(file, identity, 'correct horse');
    expect(readKeyFile(file, 'correct horse')).toStrictEqual(identity);
  });

  it('refuses an encrypted file with the wrong passphrase', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    writeKeyFile(file, identity, 'correct horse');
    expect(() => readKeyFile(file, 'battery staple')).toThrowFedlabError('KEY_FILE_INVALID', `${file}: wrong passphrase`);
  });

  it('refuses an encrypted file when no passphrase is given', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    writeKeyFile(file, identity, 'correct horse');
    expect(() => readKeyFile(file)).toThrowFedlabError('KEY_FILE_INVALID', `${file}: key file is encrypted; a passphrase is required`);
  });

  it('refuses an encrypted file whose ciphertext was altered, as a wrong passphrase', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    writeKeyFile(file, identity, 'correct horse');
    rewrite(file, (json) => {
      const encrypted = json.encrypted as { ciphertext: string };
      const bytes = Buffer.from(encrypted.ciphertext, 'base64');
      bytes[0]! ^= 0x01;
      encrypted.ciphertext = bytes.toString('base64');
    });
    expect(() => readKeyFile(file, 'correct horse')).toThrowFedlabError('KEY_FILE_INVALID', `${file}: wrong passphrase`);
  });

  it('refuses a file with mode 0644 and tells the user to run chmod 600', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    writeKeyFile(file, identity);
    chmodSync(file, 0o644);
    expect(() => readKeyFile(file)).toThrowFedlabError('KEY_FILE_INVALID', `${file}: permissions 644 are too open; run chmod 600`);
  });

  it('refuses a file that only its group can read (mode 0640)', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    writeKeyFile(file, identity);
    chmodSync(file, 0o640);
    expect(() => readKeyFile(file)).toThrowFedlabError('KEY_FILE_INVALID', `${file}: permissions 640 are too open; run chmod 600`);
  });

  it('accepts a file with mode 0400', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    writeKeyFile(file, identity);
    chmodSync(file, 0o400);
    expect(readKeyFile(file).id).toBe('node-a');
  });

  it('refuses a file that does not exist', ({ tempDir: dir }) => {
    const file = path.join(dir, 'missing.key');
    expect(() => readKeyFile(file)).toThrowFedlabError('KEY_FILE_INVALID', `${file}: cannot read key file`);
  });

  it('refuses a file that is not JSON', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    writeFileSync(file, '{"fedlabKeyFile": 1,', { mode: 0o600 });
    expect(() => readKeyFile(file)).toThrowFedlabError('KEY_FILE_INVALID', `${file}: not a fedlab key file (invalid JSON)`);
  });

  it('refuses JSON that lacks the fedlabKeyFile marker', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    writeFileSync(file, '{"id": "node-a"}', { mode: 0o600 });
    expect(() => readKeyFile(file)).toThrowFedlabError('KEY_FILE_INVALID', `${file}: not a fedlab key file`);
  });

  it('refuses a key file version other than 1', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    writeKeyFile(file, identity);
    rewrite(file, (json) => {
      json.fedlabKeyFile = 2;
    });
    expect(() => readKeyFile(file)).toThrowFedlabError('KEY_FILE_INVALID', `${file}: not a fedlab key file`);
  });

  it('refuses a file with neither secrets nor an encrypted block', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    writeKeyFile(file, identity);
    rewrite(file, (json) => {
      delete json.secrets;
    });
    expect(() => readKeyFile(file)).toThrowFedlabError('KEY_FILE_INVALID', `${file}: key file has no secret keys`);
  });

  it('refuses a file whose signing secret key belongs to another identity', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    const other = generateIdentity('node-b', 'node');
    writeKeyFile(file, { ...identity, signSecretKey: other.signSecretKey });
    expect(() => readKeyFile(file)).toThrowFedlabError('KEY_FILE_INVALID', `${file}: secret keys do not match the public keys`);
  });

  it('refuses a file whose box secret key belongs to another identity', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    const other = generateIdentity('node-b', 'node');
    writeKeyFile(file, { ...identity, boxSecretKey: other.boxSecretKey });
    expect(() => readKeyFile(file)).toThrowFedlabError('KEY_FILE_INVALID', `${file}: secret keys do not match the public keys`);
  });

  it('refuses a file whose public box key was replaced', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    writeKeyFile(file, { ...identity, boxPublicKey: generateIdentity('node-b', 'node').boxPublicKey });
    expect(() => readKeyFile(file)).toThrowFedlabError('KEY_FILE_INVALID', `${file}: secret keys do not match the public keys`);
  });

  it('refuses an encrypted file whose secret keys do not match its public keys', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    writeKeyFile(file, { ...identity, boxSecretKey: generateIdentity('node-b', 'node').boxSecretKey }, 'correct horse');
    expect(() => readKeyFile(file, 'correct horse')).toThrowFedlabError('KEY_FILE_INVALID', `${file}: secret keys do not match the public keys`);
  });

  it('uses the id as display name when the file has none', ({ tempDir: dir }) => {
    const file = path.join(dir, 'node.key');
    writeKeyFile(file, identity);
    rewrite(file, (json) => {
      delete json.displayName;
    });
    expect(readKeyFile(file).displayName).toBe('node-a');
  });
});

describe('key files with inconsistent or malformed contents', () => {
  it('refuses a signing secret key whose seed belongs to another identity', ({ tempDir: dir }) => {
    const file = path.join(dir, 'spliced.key');
    writeKeyFile(file, identity);
    const other = generateIdentity('other', 'node');
    const spliced = Buffer.concat([Buffer.from(other.signSecretKey.subarray(0, 32)), Buffer.from(identity.signPublicKey)]);
    rewrite(file, (json) => {
      (json.secrets as Record<string, string>).signSecretKey = spliced.toString('base64');
    });
    expect(() => readKeyFile(file)).toThrowFedlabError('KEY_FILE_INVALID', `${file}: secret keys do not match the public keys`);
  });

  it('refuses a file that holds JSON null, a secret key of the wrong length, or an unknown role', ({ tempDir: dir }) => {
    const file = path.join(dir, 'odd.key');
    writeFileSync(file, 'null', { mode: 0o600 });
    expect(() => readKeyFile(file)).toThrowFedlabError('KEY_FILE_INVALID', `${file}: not a fedlab key file`);
    rmSync(file);
    writeKeyFile(file, identity);
    rewrite(file, (json) => {
      (json.secrets as Record<string, string>).signSecretKey = 'AAAA';
    });
    expect(() => readKeyFile(file)).toThrowFedlabError('KEY_FILE_INVALID', `${file}: malformed key material`);
    rmSync(file);
    writeKeyFile(file, identity);
    rewrite(file, (json) => {
      json.role = 'admin';
    });
    expect(() => readKeyFile(file)).toThrowFedlabError('KEY_FILE_INVALID', `${file}: unknown role`);
  });

  it('refuses an empty passphrase instead of writing the secret keys in clear', ({ tempDir: dir }) => {
    const file = path.join(dir, 'empty.key');
    expect(() => writeKeyFile(file, identity, '')).toThrowFedlabError('INVALID_ARGUMENT', `${file}: the passphrase must not be empty`);
  });
});
