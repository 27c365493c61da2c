import { randomBytes } from 'node:crypto';
import { signDetached, verifyDetached } from '@fedlab/crypto';
import type { AttachProof } from '@fedlab/proto';

/** Bytes of a node run's instance name (ChallengeAnswer.instance). */
export const INSTANCE_BYTES = 16;

/** A new name for this run of a node daemon: random, so no two runs share one. */
export function newNodeInstance(): Uint8Array {
  return new Uint8Array(randomBytes(INSTANCE_BYTES));
}

/**
 * What a node signs to answer the coordinator's challenge: challenge || node_id || instance ||
 * attached_at_ms (8 bytes, big-endian) under context "fedlab/v1/attach-run", or, for a node of an earlier
 * release, which names no instance, challenge || node_id under "fedlab/v1/attach". The instance and time
 * are fixed-length, so the node id before them is unambiguous; the two forms have their own contexts,
 * since an earlier-release signature over a nonce the coordinator chose could otherwise be read as the
 * newer form (a nonce ending in node_id || instance || time without the last node_id).
 */
/** The signing context of an attach answer: the run-naming form's own, or the earlier release's. */
export function attachContext(instance?: Uint8Array): 'attach' | 'attach-run' {
  return instance !== undefined && instance.length > 0 ? 'attach-run' : 'attach';
}

export function attachSignedBytes(challenge: Uint8Array, nodeId: string, instance?: Uint8Array, attachedAtMs?: bigint): Buffer {
  const parts = [Buffer.from(challenge), Buffer.from(nodeId, 'utf8')];
  if (instance !== undefined && instance.length > 0) {
    const time = Buffer.alloc(8);
    time.writeBigInt64BE(attachedAtMs ?? 0n);
    parts.push(Buffer.from(instance), time);
  }
  return Buffer.concat(parts);
}

/** A node's signed answer to `challenge`, naming its run and the time. */
export function signAttach(challenge: Uint8Array, nodeId: string, instance: Uint8Array, attachedAtMs: bigint, signSecretKey: Uint8Array): AttachProof {
  const signature = signDetached('attach-run', attachSignedBytes(challenge, nodeId, instance, attachedAtMs), signSecretKey);
  return { challenge: Buffer.from(challenge), instance: Buffer.from(instance), attachedAtMs, signature: Buffer.from(signature) };
}

/**
 * Whether `proof` shows that node `nodeId` attached again from another run, later than `own` (this run's
 * current attach): a valid signature by one of the node's keys (`publicKeys`: its own, and the roster's
 * for its id), another instance, and a later time. A coordinator cannot forge one, and replaying this
 * run's own attach or an earlier run's fails the instance or the time check.
 */
export function provesReplacement(
  proof: AttachProof | undefined,
  nodeId: string,
  own: { instance: Uint8Array; attachedAtMs: bigint },
  publicKeys: readonly Uint8Array[],
): boolean {
  if (proof === undefined || proof.instance.length !== INSTANCE_BYTES || proof.challenge.length === 0) return false;
  if (Buffer.from(proof.instance).equals(Buffer.from(own.instance)) || proof.attachedAtMs <= own.attachedAtMs) return false;
  const signed = attachSignedBytes(proof.challenge, nodeId, proof.instance, proof.attachedAtMs);
  return publicKeys.some((key) => verifyDetached('attach-run', signed, proof.signature, key));
}
