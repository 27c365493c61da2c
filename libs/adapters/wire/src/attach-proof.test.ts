import { randomBytes } from 'node:crypto';
import { generateIdentity, initCrypto, signDetached } from '@fedlab/crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { INSTANCE_BYTES, attachSignedBytes, newNodeInstance, provesReplacement, signAttach } from './attach-proof';

describe('attach proofs (NODE_REPLACED)', () => {
  beforeAll(async () => {
    await initCrypto();
  });

  it("signs challenge || node id || instance || time, and a node of an earlier release's challenge || node id", () => {
    const challenge = Buffer.alloc(32, 7);
    const instance = Buffer.alloc(INSTANCE_BYTES, 9);
    expect(attachSignedBytes(challenge, 'health')).toEqual(Buffer.concat([challenge, Buffer.from('health')]));
    expect(attachSignedBytes(challenge, 'health', instance, 258n)).toEqual(
      Buffer.concat([challenge, Buffer.from('health'), instance, Buffer.from([0, 0, 0, 0, 0, 0, 1, 2])]),
    );
  });

  it("proves a replacement only by another run of the node's key, attached later", () => {
    const node = generateIdentity('health', 'node');
    const stranger = generateIdentity('health', 'node');
    const own = { instance: newNodeInstance(), attachedAtMs: 1_000n };
    const keys = [node.signPublicKey];
    const challenge = randomBytes(32);
    const later = signAttach(challenge, 'health', newNodeInstance(), 2_000n, node.signSecretKey);
    expect(provesReplacement(later, 'health', own, keys)).toBe(true);

    // No proof, this run's own attach replayed, an earlier run's attach, another key, another node id.
    expect(provesReplacement(undefined, 'health', own, keys)).toBe(false);
    expect(provesReplacement(signAttach(challenge, 'health', own.instance, 2_000n, node.signSecretKey), 'health', own, keys)).toBe(false);
    expect(provesReplacement(signAttach(challenge, 'health', newNodeInstance(), 1_000n, node.signSecretKey), 'health', own, keys)).toBe(false);
    expect(provesReplacement(signAttach(challenge, 'health', newNodeInstance(), 2_000n, stranger.signSecretKey), 'health', own, keys)).toBe(false);
    expect(provesReplacement(signAttach(challenge, 'justice', newNodeInstance(), 2_000n, node.signSecretKey), 'health', own, keys)).toBe(false);
    // A later time or another instance put on a signed attach, and malformed fields.
    expect(provesReplacement({ ...later, attachedAtMs: 3_000n }, 'health', own, keys)).toBe(false);
    expect(provesReplacement({ ...later, instance: Buffer.from(newNodeInstance()) }, 'health', own, keys)).toBe(false);
    expect(provesReplacement({ ...later, instance: later.instance.subarray(1) }, 'health', own, keys)).toBe(false);
    expect(provesReplacement({ ...later, signature: later.signature.subarray(1) }, 'health', own, keys)).toBe(false);
    expect(provesReplacement({ ...later, challenge: Buffer.alloc(0) }, 'health', own, keys)).toBe(false);
    // An earlier release's attach signature (context "fedlab/v1/attach", over a nonce the coordinator chose)
    // over exactly the bytes of a newer proof: the two forms have their own contexts, so it proves nothing.
    const instance = newNodeInstance();
    const signedAsEarlier = signDetached('attach', attachSignedBytes(challenge, 'health', instance, 2_000n), node.signSecretKey);
    expect(
      provesReplacement({ challenge, instance: Buffer.from(instance), attachedAtMs: 2_000n, signature: Buffer.from(signedAsEarlier) }, 'health', own, keys),
    ).toBe(false);
    // A key the roster lists for the node counts beside its own.
    expect(provesReplacement(later, 'health', own, [stranger.signPublicKey, node.signPublicKey])).toBe(true);
  });
});
