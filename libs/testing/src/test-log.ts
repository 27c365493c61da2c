import { blake2b, signDetached } from '@fedlab/crypto';
import { type Identity } from '@fedlab/governance';
import { decodeQuerySpec, encodePublicQuerySummary } from '@fedlab/wire';
import * as pb from '@fedlab/proto';
import { MemoryMerkleStore, MerkleTree, encodeTreeHead } from '@fedlab/transparency';

/**
 * A coordinator-side transparency log in memory, for tests that hand work to a node agent directly:
 * it logs queries' public summaries and builds QueryWork with real proofs and signed tree heads.
 */
export class TestLog {
  readonly tree = new MerkleTree(new MemoryMerkleStore());
  private readonly leaves: Uint8Array[] = [];

  constructor(private readonly coordinator: Identity) {}

  /** Logs a researcher-signed query as the coordinator does (its public summary) and returns its index. */
  appendQuery(query: pb.SignedEnvelope): number {
    return this.append(encodePublicQuerySummary(decodeQuerySpec(query.payload), blake2b(query.payload, 32)));
  }

  /** Logs any payload (for forged or filler entries) and returns its index. */
  append(payload: Uint8Array, kind = 'query'): number {
    const leaf = pb.LogEntry.encode({ kind, payload: Buffer.from(payload), loggedAtMs: 1n }).finish();
    this.leaves.push(leaf);
    return this.tree.append(leaf);
  }

  /** A tree head of the first `size` leaves signed by `signer` (the coordinator unless forging). */
  treeHead(size = this.tree.size, signer: Identity = this.coordinator): pb.SignedTreeHead {
    const rootHash = this.tree.rootHash(size);
    const signature = signDetached('sth', encodeTreeHead({ size, rootHash, timestampMs: 5 }), signer.signSecretKey);
    return { size: BigInt(size), rootHash: Buffer.from(rootHash), timestampMs: 5n, signature: Buffer.from(signature), signerId: signer.id };
  }

  /** Work for the query logged at `index`, with proofs relative to a node that verified `knownSize`. */
  work(queryId: string, countersigned: pb.SignedEnvelope, index: number, knownSize: number): pb.QueryWork {
    const size = this.tree.size;
    return {
      queryId,
      countersigned,
      logLeaf: Buffer.from(this.leaves[index]!),
      treeHead: this.treeHead(size),
      inclusionProof: this.tree.inclusionProof(index, size).map((h) => Buffer.from(h)),
      consistencyFrom: BigInt(knownSize),
      consistencyProof: knownSize === 0 || knownSize === size ? [] : this.tree.consistencyProof(knownSize, size).map((h) => Buffer.from(h)),
      attachment: Buffer.alloc(0),
    };
  }
}
