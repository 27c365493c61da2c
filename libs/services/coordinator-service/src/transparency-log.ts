import { FedlabError } from '@fedlab/model';
import { signDetached } from '@fedlab/crypto';
import { type Identity } from '@fedlab/governance';
import * as pb from '@fedlab/proto';
import type { CoordinatorStore, LogLeafRepository } from '@fedlab/store';
import { MerkleTree, encodeTreeHead } from '@fedlab/transparency';

/** Kinds of entries in the public log. */
export type LogKind = 'query' | 'project' | 'approval' | 'revocation' | 'checkpoint';

/**
 * The coordinator's public log (DESIGN.md §7.6): an RFC 6962 Merkle tree over encoded `LogEntry`
 * leaves, persisted in the coordinator database (its leaves and Merkle hashes), with tree heads signed by the coordinator.
 */
export class TransparencyLog {
  private readonly tree: MerkleTree;
  private readonly leafStore: LogLeafRepository;
  /** Set when the log must not grow (the coordinator found itself restored from an older backup). */
  private frozen: FedlabError | undefined;

  constructor(
    store: Pick<CoordinatorStore, 'logLeaves' | 'logHashes'>,
    private readonly identity: Identity,
  ) {
    this.leafStore = store.logLeaves;
    this.tree = new MerkleTree(store.logHashes);
  }

  get size(): number {
    return this.tree.size;
  }

  /** The root hash of the log's first `size` leaves (size ≤ the log's size). */
  rootAt(size: number): Uint8Array {
    this.checkSize(size);
    return this.tree.rootHash(size);
  }

  /** From now on every append throws `error`: a log that fell behind what nodes verified must not diverge further. */
  freeze(error: FedlabError): void {
    this.frozen = error;
  }

  /** Appends an entry; call inside the caller's transaction so the entry and its subject commit together. */
  append(kind: LogKind, payload: Uint8Array, nowMs: number): { index: number; leaf: Uint8Array } {
    if (this.frozen) throw this.frozen;
    const leaf = pb.LogEntry.encode({ kind, payload: Buffer.from(payload), loggedAtMs: BigInt(nowMs) }).finish();
    const index = this.tree.size;
    this.leafStore.insert(index, kind, leaf, nowMs);
    this.tree.append(leaf);
    return { index, leaf };
  }

  leaf(index: number): Uint8Array {
    const leaf = this.leafStore.leaf(index);
    if (!leaf) throw new FedlabError('NOT_FOUND', `log entry ${index} does not exist`);
    return leaf;
  }

  leaves(start: number, end: number): Uint8Array[] {
    return this.leafStore.leaves(start, end);
  }

  /** A tree head of the current tree, signed over its canonical encoding (context "fedlab/v1/sth"). */
  treeHead(nowMs: number): pb.SignedTreeHead {
    const size = this.tree.size;
    const rootHash = this.tree.rootHash(size);
    const signature = signDetached('sth', encodeTreeHead({ size, rootHash, timestampMs: nowMs }), this.identity.signSecretKey);
    return { size: BigInt(size), rootHash: Buffer.from(rootHash), timestampMs: BigInt(nowMs), signature: Buffer.from(signature), signerId: this.identity.id };
  }

  inclusionProof(index: number, size: number): Uint8Array[] {
    this.checkSize(size);
    if (index >= size) throw new FedlabError('INVALID_ARGUMENT', `log index ${index} is not below tree size ${size}`);
    return this.tree.inclusionProof(index, size);
  }

  consistencyProof(oldSize: number, newSize: number): Uint8Array[] {
    this.checkSize(newSize);
    if (oldSize > newSize) throw new FedlabError('INVALID_ARGUMENT', `old size ${oldSize} is larger than new size ${newSize}`);
    return oldSize === 0 || oldSize === newSize ? [] : this.tree.consistencyProof(oldSize, newSize);
  }

  private checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.tree.size) {
      throw new FedlabError('INVALID_ARGUMENT', `tree size ${size} is not between 0 and ${this.tree.size}`);
    }
  }
}
